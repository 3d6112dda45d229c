// The export state on disk: the compact snapshot (version 2) round-trips every field, version 1 is
// still read, and the log of an uncommitted run is re-verified file by file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadState, saveState, STATE_FILE, STATE_LOG, type ExportedFile } from '../../src/services/export/state.js';

const sha1 = (b: string) => crypto.createHash('sha1').update(b).digest('hex');
const entry = (p: string, body: string, extra: Partial<ExportedFile> = {}): ExportedFile => ({
  path: p, assetId: `id-${p}`, kind: 'original', base: p, checksum: sha1(body), editedAt: null, variant: 'copy', layout: 'L', sha1: sha1(body), size: body.length, ...extra,
});

describe('export state', () => {
  it('writes a compact version 2 snapshot that reads back field for field; reads version 1', async () => {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'export-state-'));
    const files = [
      entry('a.jpg', 'aaa'),
      entry('b-1.jpg', 'bbb', { base: 'b.jpg', editedAt: '2026-01-01T00:00:00.000Z', pathDeps: 'p', deps: 'd', variant: 'copy+embed', sha1: sha1('other') }),
      entry('b-1.jpg.xmp', 'x', { kind: 'sidecar', variant: 'xmp', damaged: true }),
    ];
    await saveState(dest, { files: new Map(files.map((f) => [f.path, f])) });
    const raw = JSON.parse(fs.readFileSync(path.join(dest, STATE_FILE), 'utf8'));
    expect(raw.version).toBe(2);
    expect(raw.files[0]).toEqual(['a.jpg', 'id-a.jpg', sha1('aaa'), 3, 'original', 'copy', 'L']);
    expect([...(await loadState(dest)).files.values()]).toEqual(files.sort((x, y) => (x.path < y.path ? -1 : 1)));
    fs.writeFileSync(path.join(dest, STATE_FILE), JSON.stringify({ kind: 'immich-export', version: 1, files: [files[0]] }));
    expect([...(await loadState(dest)).files.keys()]).toEqual(['a.jpg']);
    fs.writeFileSync(path.join(dest, STATE_FILE), JSON.stringify({ kind: 'immich-export', version: 9, files: [] }));
    await expect(loadState(dest)).rejects.toThrow(/version 9 is not known/);
  });

  it('an uncommitted log: intact files are kept, a file emptied by a crash is ours and marked damaged, a user\'s file is not', async () => {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'export-state-'));
    await saveState(dest, { files: new Map() });
    fs.writeFileSync(path.join(dest, 'ok.jpg'), 'ok');
    fs.writeFileSync(path.join(dest, 'empty.jpg'), '');
    fs.writeFileSync(path.join(dest, 'mine.jpg'), 'a different, longer file');
    const log = [entry('ok.jpg', 'ok'), entry('empty.jpg', 'data'), entry('mine.jpg', 'data'), entry('never.jpg', 'data')];
    fs.writeFileSync(path.join(dest, STATE_LOG), log.map((put) => JSON.stringify({ put })).join('\n') + '\n{"put":{"pa');
    const state = await loadState(dest);
    expect(state.uncommitted).toBe(true);
    expect(state.files.get('ok.jpg')?.damaged).toBeUndefined();
    expect(state.files.get('empty.jpg')?.damaged).toBe(true);
    expect(state.files.has('mine.jpg')).toBe(false);
    expect(state.files.has('never.jpg')).toBe(false);
  });
});
