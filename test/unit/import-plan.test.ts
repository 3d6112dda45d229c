// Pure decisions of `immich import` and the walk's filtering, without the CLI.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatOf, isSupported } from '../../src/media/formats.js';
import { assetIdFor, calendarDateOf, candidateName, libraryName, libraryTarget, pendingStages, wallClockOf, stagesFor, tempFileOwner, Turnstile } from '../../src/services/import-plan.js';
import { tempPathFor } from '../../src/storage/atomic.js';
import { parseTemplate, storageTemplateFrom } from '../../src/storage/template.js';
import { walk } from '../../src/storage/walk.js';
import { tmpDir } from '../helpers/env.js';

describe('import plan', () => {
  it('names folders by the local capture date, Immich style', () => {
    const f = { date: wallClockOf('2019:07:04 23:30:00')!, name: 'IMG_1.JPG', type: 'image' as const, assetId: assetIdFor('ab'.repeat(20)) };
    expect(libraryTarget(storageTemplateFrom({}), f)).toBe('uploads/2019/2019-07-04/IMG_1.JPG');
    expect(libraryTarget(parseTemplate('{{y}}/{{assetId}}'), f)).toBe(`uploads/2019/${f.assetId}.JPG`);
    expect(f.assetId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(assetIdFor('ab'.repeat(20))).toBe(f.assetId);
    expect(calendarDateOf('2019-07-04T23:30:00.000')).toEqual({ year: 2019, month: 7, day: 4 });
    expect(calendarDateOf('2019:07:04 10:00:00')).toEqual({ year: 2019, month: 7, day: 4 });
    expect(calendarDateOf(new Date('2020-02-29T12:00:00Z'))).toEqual({ year: 2020, month: 2, day: 29 });
    expect(calendarDateOf('0000:00:00 00:00:00')).toBeUndefined();
    expect(calendarDateOf(new Date('nope'))).toBeUndefined();
  });

  it('suffixes colliding names with +n before the extension', () => {
    expect(candidateName('IMG_1.JPG', 0)).toBe('IMG_1.JPG');
    expect(candidateName('IMG_1.JPG', 2)).toBe('IMG_1+2.JPG');
    expect(candidateName('noext', 1)).toBe('noext+1');
  });

  it('resumes an asset at the first unfinished stages of its pipeline', () => {
    expect(stagesFor('video')).toEqual(expect.arrayContaining(['metadata', 'thumbnails', 'video']));
    expect(stagesFor('image')).not.toContain('video');
    const s = (o: Record<string, string>) => new Map(Object.entries(o));
    expect(pendingStages('image', s({}))).toEqual(['metadata']);
    expect(pendingStages('image', s({ metadata: 'running' }))).toEqual(['metadata']);
    expect(pendingStages('video', s({ metadata: 'done' }))).toEqual(['thumbnails', 'video']);
    expect(pendingStages('video', s({ metadata: 'done', thumbnails: 'done', video: 'failed' }), new Set(['metadata', 'thumbnails', 'video']))).toEqual(['video']);
    const ml = pendingStages('image', s({ metadata: 'done', thumbnails: 'done' }));
    expect(ml).toEqual(expect.arrayContaining(['smart-search', 'face-detection']));
    expect(ml).not.toContain('duplicates'); // waits for smart-search
    expect(pendingStages('image', s({ metadata: 'done', thumbnails: 'done' }), new Set(['metadata', 'thumbnails', 'video']))).toEqual([]);
  });

  it('reads the owner pid of atomic temp files', () => {
    expect(tempFileOwner(path.basename(tempPathFor('/lib/uploads/a.jpg')))).toBe(process.pid);
    expect(tempFileOwner('a.jpg')).toBeUndefined();
    expect(tempFileOwner('decode-123-abcdef.png', { decoders: true })).toBe(123);
    // Outside the library's tmp/ folder a decoder-like name is an original's.
    expect(tempFileOwner('decode-123-abcdef.png')).toBeUndefined();
    expect(libraryName('.immich-tmp-1-2-a.jpg')).toBe('.immich-tmp_1-2-a.jpg');
    expect(tempFileOwner(libraryName('.immich-tmp-1-2-a.jpg'))).toBeUndefined();
  });

  it('maps supported extensions to type and MIME type, case-insensitively', () => {
    expect(formatOf('x/IMG.HEIC')).toEqual({ type: 'image', mime: 'image/heic' });
    expect(formatOf('a.NEF')).toMatchObject({ type: 'image', raw: true });
    expect(formatOf('clip.MTS')).toEqual({ type: 'video', mime: 'video/mp2t' });
    for (const ext of ['jpg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif', 'jxl', 'dng', 'cr2', 'cr3', 'arw', 'raf', 'rw2', 'orf', 'mp4', 'mov', 'm4v', 'mkv', 'webm', 'avi', '3gp']) {
      expect(isSupported(`f.${ext}`), ext).toBe(true);
    }
    expect(isSupported('photo.jpg.xmp')).toBe(false);
    expect(isSupported('notes.txt')).toBe(false);
  });
});

describe('walk', () => {
  it('leaves out junk, hidden files and --ignore matches; returns files in a stable order', async () => {
    const root = tmpDir();
    const touch = (p: string) => {
      fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
      fs.writeFileSync(path.join(root, p), p);
    };
    for (const p of ['b.jpg', 'a.JPG', 'sub/c.mov', 'sub/c.mov.xmp', '@eaDir/x.jpg', '#recycle/y.jpg', '._a.jpg', '.DS_Store', '.h/z.jpg', '.z.png', 'skip/me.jpg', 'deep/skip/me2.jpg', 'raw/d.CR3', 'lib/uploads/in-library.jpg']) touch(p);
    const r = await walk([root], { ignore: ['skip', '*.CR3'], excludeDirs: [path.join(root, 'lib')] });
    expect(r.files.map((f) => path.relative(root, f.path))).toEqual(['a.JPG', 'b.jpg', 'sub/c.mov']);
    const reasons = Object.fromEntries(r.skipped.map((s) => [path.relative(root, s.path), s.reason]));
    expect(reasons).toMatchObject({
      '@eaDir': 'excluded', '#recycle': 'excluded', '._a.jpg': 'excluded', '.DS_Store': 'excluded',
      '.h': 'hidden', '.z.png': 'hidden', skip: 'ignored', 'deep/skip': 'ignored', 'raw/d.CR3': 'ignored', 'sub/c.mov.xmp': 'unsupported',
    });
    const hidden = await walk([root], { includeHidden: true });
    expect(hidden.files.map((f) => path.relative(root, f.path))).toEqual(expect.arrayContaining(['.h/z.jpg', '.z.png', 'lib/uploads/in-library.jpg']));
    expect(hidden.files.some((f) => f.path.includes('@eaDir') || f.path.includes('._a'))).toBe(false);
    // A file named on the command line is taken even inside a folder that a walk would skip.
    const explicit = await walk([path.join(root, '.h/z.jpg')]);
    expect(explicit.files).toHaveLength(1);
  });

  it('lets file i through only after every earlier file, even when a later one is done early', async () => {
    // A duplicate (file 2) finishes before files 0 and 1 took their turn: file 3 must still wait for
    // them, or it could take the plain name in a dated folder before file 0 (a race seen in CI).
    const gate = new Turnstile();
    const order: number[] = [];
    const third = gate.wait(3).then(() => order.push(3));
    gate.pass(2);
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    await gate.wait(0);
    order.push(0);
    gate.pass(0);
    await gate.wait(1);
    order.push(1);
    gate.pass(1);
    await third;
    expect(order).toEqual([0, 1, 3]);
  });
});
