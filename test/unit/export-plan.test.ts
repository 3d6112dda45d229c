// Pure decisions of `immich export`: names, collisions, what --update writes, what --cleanup may remove.
import { describe, expect, it } from 'vitest';
import { attachedPaths, planExport, unchangedBases, indexByAsset, type PlanAsset, type PlanOptions } from '../../src/services/export/plan.js';
import { emptyState, type ExportedFile, type ExportState } from '../../src/services/export/state.js';

const opts: PlanOptions = { update: true, cleanup: false, variant: 'copy', liveVariant: 'copy' };
const asset = (id: string, bases: string[], extra: Partial<PlanAsset> = {}): PlanAsset => ({ id, checksum: `c-${id}`, editedAt: null, bases, ...extra });
const file = (p: string, a: PlanAsset, extra: Partial<ExportedFile> = {}): ExportedFile => ({
  path: p, assetId: a.id, kind: 'original', base: a.bases[0]!, checksum: a.checksum, editedAt: a.editedAt, variant: 'copy', layout: 'L', sha1: 's', size: 10, ...extra,
});
const stateOf = (...files: ExportedFile[]): ExportState => ({ files: new Map(files.map((f) => [f.path, f])) });

describe('export plan', () => {
  it('numbers colliding names -1, -2 in the given order, around files it did not write', () => {
    const a = asset('a', ['x/IMG.jpg']);
    const b = asset('b', ['x/IMG.jpg']);
    const c = asset('c', ['x/IMG.jpg']);
    const onDisk = new Set(['x/IMG-1.jpg']); // someone else's file
    const plan = planExport([a, b, c], emptyState(), opts, (p) => (onDisk.has(p) ? 5 : undefined));
    expect(plan.files.map((f) => `${f.assetId} ${f.path}`)).toEqual(['a x/IMG.jpg', 'b x/IMG-2.jpg', 'c x/IMG-3.jpg']);
    expect(planExport([asset('d', ['.immich-export.json'])], emptyState(), opts, () => undefined).files[0]!.path).toBe('.immich-export-1.json');
  });

  it('keeps the names it gave before, even when a newcomer sorts first', () => {
    const b = asset('b', ['IMG.jpg']);
    const state = stateOf(file('IMG-1.jpg', b));
    const a = asset('a', ['IMG.jpg']);
    const plan = planExport([a, b], state, opts, (p) => (p === 'IMG-1.jpg' ? 10 : undefined));
    expect(plan.files.map((f) => `${f.assetId} ${f.path} ${f.action}`)).toEqual(['b IMG-1.jpg skip', 'a IMG.jpg write']);
  });

  it('--update writes what is new, changed (an edit, another variant) or missing; without it, everything', () => {
    const a = asset('a', ['a.jpg']);
    const b = asset('b', ['b.jpg'], { editedAt: '2026-01-01T00:00:00.000Z' });
    const c = asset('c', ['c.jpg']);
    const d = asset('d', ['d.jpg']);
    const state = stateOf(file('a.jpg', a), file('b.jpg', b, { editedAt: null }), file('c.jpg', c, { variant: 'link' }), file('d.jpg', d));
    const size = (p: string) => (p === 'd.jpg' ? undefined : 10);
    const plan = planExport([a, b, c, d], state, opts, size);
    expect(plan.files.map((f) => `${f.path} ${f.action} ${f.reason ?? ''}`.trim())).toEqual(['a.jpg skip', 'b.jpg write changed', 'c.jpg write changed', 'd.jpg write missing']);
    expect(planExport([a], state, { ...opts, update: false }, size).files[0]).toMatchObject({ action: 'write', reason: 'again' });
  });

  it('sidecars and Live Photo videos follow their original\'s final name; stale files are listed for --cleanup', () => {
    const a = asset('a', ['IMG.HEIC'], { liveExt: 'MOV' });
    const other = asset('o', ['IMG.HEIC']);
    const plan = planExport([other, a], emptyState(), { ...opts, sidecar: 'xmp' }, () => undefined);
    expect(plan.files.map((f) => f.path)).toEqual(['IMG.HEIC', 'IMG.HEIC.xmp', 'IMG-1.HEIC', 'IMG-1.MOV', 'IMG-1.HEIC.xmp']);
    expect(attachedPaths('a/b.c/IMG', { liveExt: 'MOV' }, undefined)).toEqual([{ path: 'a/b.c/IMG.MOV', kind: 'live' }]);
    const gone = asset('g', ['old.jpg']);
    const stale = planExport([], stateOf(file('old.jpg', gone)), opts, () => 10).stale;
    expect(stale.map((f) => f.path)).toEqual(['old.jpg']);
  });

  it('reuses recorded paths only for an unchanged asset under the same layout', () => {
    const a = asset('a', ['2020/a.jpg']);
    const by = indexByAsset(stateOf(file('2020/a.jpg', a)));
    expect(unchangedBases(by, a, 'L')).toEqual(['2020/a.jpg']);
    expect(unchangedBases(by, a, 'other layout')).toBeUndefined();
    expect(unchangedBases(by, { ...a, editedAt: '2026-01-01T00:00:00.000Z' }, 'L')).toBeUndefined();
  });

  it('a new path fingerprint renders paths again; a new content fingerprint rewrites sidecars and embedded copies only', () => {
    const a = asset('a', ['Trips/a.jpg'], { pathDeps: 'p1', contentDeps: 'c1' });
    const by = indexByAsset(stateOf(file('Trips/a.jpg', a, { pathDeps: 'p1' })));
    expect(unchangedBases(by, a, 'L')).toEqual(['Trips/a.jpg']);
    expect(unchangedBases(by, { ...a, pathDeps: 'p2' }, 'L')).toBeUndefined(); // an album renamed
    const state = stateOf(
      file('a.jpg', a, { base: 'a.jpg' }),
      file('a.jpg.xmp', a, { kind: 'sidecar', base: 'a.jpg.xmp', variant: 'xmp', deps: 'c1' }),
      file('e.jpg', a, { base: 'e.jpg', variant: 'copy+embed', deps: 'c1' }),
    );
    const size = (p: string) => (state.files.has(p) ? 10 : undefined);
    const same = planExport([{ ...a, bases: ['a.jpg'] }], state, { ...opts, sidecar: 'xmp' }, size);
    expect(same.files.map((f) => `${f.path} ${f.action}`)).toEqual(['a.jpg skip', 'a.jpg.xmp skip']);
    const renamed = { ...a, bases: ['a.jpg'], contentDeps: 'c2' }; // a person renamed
    const plan = planExport([renamed], state, { ...opts, sidecar: 'xmp' }, size);
    expect(plan.files.map((f) => `${f.path} ${f.action}`)).toEqual(['a.jpg skip', 'a.jpg.xmp write']);
    const embed = planExport([{ ...renamed, bases: ['e.jpg'] }], state, { ...opts, variant: 'copy+embed' }, size);
    expect(embed.files.map((f) => `${f.path} ${f.action} ${f.reason}`)).toEqual(['e.jpg write changed']);
  });
});
