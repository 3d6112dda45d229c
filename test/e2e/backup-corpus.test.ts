// Round trip on real media from the shared corpus (duplicates and files with XMP sidecars): import,
// back up, restore into a fresh location; files, rows and names identical, verify clean.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS, noteSkip, runCli, tmpDir } from '../helpers/env.js';
import { expectCode, expectSameLibrary, json, libraryState } from './backup-helpers.js';

if (!CORPUS) noteSkip('backup-corpus', 'corpus');

describe.skipIf(!CORPUS)('immich backup / restore on corpus media', () => {
  it('import, back up, restore into a fresh library: identical; verify is clean', async () => {
    const base = tmpDir('immich-backup-corpus-');
    const lib = path.join(base, 'library');
    const imp = await runCli(['import', path.join(CORPUS!, 'duplicates'), path.join(CORPUS!, 'sidecars'), '--skip-ml'], { UPLOAD_LOCATION: lib });
    expect([0, 1]).toContain(imp.code); // a corpus file may be refused; the rest is imported
    const repo = path.join(base, 'repo');
    const b = await runCli(['--json', 'backup', repo, '--include-derived'], { UPLOAD_LOCATION: lib });
    expectCode(b, 0);
    expect(json(b).stats.files).toBeGreaterThan(5);
    const restored = path.join(base, 'restored');
    expectCode(await runCli(['restore', repo, '--to', restored], { UPLOAD_LOCATION: lib }), 0);
    expectSameLibrary(await libraryState(lib), await libraryState(restored));
    const v = await runCli(['--json', 'verify', '--no-models'], { UPLOAD_LOCATION: restored });
    expectCode(v, 0);
    expect(json(v).checks.filter((c: { status: string }) => c.status === 'error')).toEqual([]);
  });
});
