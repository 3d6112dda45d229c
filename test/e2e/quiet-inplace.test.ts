// Issue 14, in-place folders and --ignore: a glob with "/" matches the path relative to the folder
// given to import; index finds new folders directly under an imported root; a changed file whose
// content now equals another asset is one clear line (not a unique-constraint error); offline
// files leave search results; a --limit that cuts the list says "N of M shown".
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tmpDir } from '../helpers/env.js';
import { json } from './backup-helpers.js';
import { makeImage } from './import-helpers.js';

let base: string;
beforeAll(() => {
  base = tmpDir('immich-quiet-inplace-');
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('in-place folders', () => {
  it('--ignore dir/*.jpg, new sub-folders, content equal to another asset, offline files out of search', { timeout: 300_000 }, async () => {
    const root = path.join(base, 'photos');
    const env = { UPLOAD_LOCATION: path.join(base, 'library'), HOME: base };
    await makeImage(path.join(root, 'a/one.jpg'), { color: '#c03030', seed: 1, date: '2024:01:02 10:00:00' });
    await makeImage(path.join(root, 'a/two.jpg'), { color: '#30a040', seed: 2, date: '2024:01:03 10:00:00' });
    await makeImage(path.join(root, 'skip/x.jpg'), { color: '#3050d0', seed: 3 });
    await makeImage(path.join(root, 'keep/y.jpg'), { color: '#d0a020', seed: 4 });
    await makeImage(path.join(root, 'keep/skip/z.jpg'), { color: '#7030a0', seed: 5 });

    const imp = await runCli(['--json', 'import', '--in-place', '--skip-ml', '--ignore', 'skip/*.jpg', root], env);
    expect(imp.code, imp.stderr).toBe(0);
    const s = json(imp);
    // Relative to the folder given: skip/x.jpg is left out, keep/skip/z.jpg is not.
    expect(s.counts.imported).toBe(4);
    expect(s.skippedByReason.ignored).toBe(1);
    expect(s.imported.map((i: { path: string }) => path.relative(root, i.path)).sort()).toEqual(['a/one.jpg', 'a/two.jpg', 'keep/skip/z.jpg', 'keep/y.jpg']);

    // A folder created directly under the imported root after the import.
    await makeImage(path.join(root, 'new/three.jpg'), { color: '#20a0a0', seed: 6 });
    // two.jpg now holds one.jpg's content (an edit made later than the import).
    fs.copyFileSync(path.join(root, 'a/one.jpg'), path.join(root, 'a/two.jpg'));
    const later = new Date(Date.now() + 10_000);
    fs.utimesSync(path.join(root, 'a/two.jpg'), later, later);
    fs.rmSync(path.join(root, 'keep/y.jpg'));

    const idx = await runCli(['--json', 'index', '--jobs', 'metadata,thumbnails'], env);
    expect(idx.code).toBe(1);
    const r = json(idx);
    expect(r.inPlace).toMatchObject({ new: 1, offline: 1 });
    expect(r.failures).toEqual([
      {
        path: path.join(root, 'a/two.jpg'),
        stage: 'in-place',
        reason: `changed, and its content is now the same as ${path.join(root, 'a/one.jpg')}, which is already in the library: keep one of the two files (or restore the old content)`,
      },
    ]);
    expect(idx.stderr).not.toMatch(/duplicate key|unique constraint/i);

    const found = json(await runCli(['--json', 'search', '--limit', '50'], env));
    const paths = found.results.map((h: { path: string }) => h.path);
    expect(paths).toContain(path.join(root, 'new/three.jpg'));
    expect(paths).not.toContain(path.join(root, 'keep/y.jpg'));
    expect(found.count).toBe(4);

    // A limit that cuts the list says so, with the total; the table fits 100 columns.
    const cut = await runCli(['search', '--limit', '1'], env);
    expect(cut.code).toBe(0);
    expect(cut.stderr).toBe('1 of 4 shown (--limit <n> shows more)\n');
    for (const line of cut.stdout.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });
});
