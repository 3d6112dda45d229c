// Never lose a photo (issue 13, "Data loss"): originals named like our temporary files survive the
// stale-temp cleaners and `cache clean`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tmpDir } from '../helpers/env.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

/** The pid of a process that has exited: what a temp file of a killed run carries. */
function deadPid(): number {
  return Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
}

describe('temporary files never match originals', () => {
  it('originals named decode-<pid>-… and .immich-tmp-<pid>-… survive imports and cache clean', async () => {
    const pid = deadPid();
    const src = tmpDir('immich-safety-src-');
    const lib = tmpDir('immich-safety-lib-');
    const date = '2020:02:02 10:00:00';
    await makeImage(path.join(src, `decode-${pid}-abcdef.jpg`), { color: '#aa0000', date, seed: 1 });
    await makeImage(path.join(src, `.immich-tmp-${pid}-0011-IMG_1.jpg`), { color: '#00aa00', date, seed: 2 });
    await makeImage(path.join(src, 'plain.jpg'), { color: '#0000aa', date, seed: 3 });
    const env = { UPLOAD_LOCATION: lib };
    const first = await runCli(['--json', 'import', '--skip-ml', '--include-hidden', src], env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).counts).toMatchObject({ imported: 3, failed: 0 });

    // A library written before the mark was reserved: an original that carries it, with its row.
    const legacy = `uploads/2020/2020-02-02/.immich-tmp-${pid}-0022-legacy.jpg`;
    fs.copyFileSync(path.join(lib, 'uploads/2020/2020-02-02/plain.jpg'), path.join(lib, legacy));
    await withLibraryDb(lib, (db) => db.updateTable('assets').set({ library_path: legacy }).where('library_path', '=', 'uploads/2020/2020-02-02/plain.jpg').execute());
    fs.rmSync(path.join(lib, 'uploads/2020/2020-02-02/plain.jpg'));

    // A second import into the same dated folder cleans stale temps there; then cache clean.
    const src2 = tmpDir('immich-safety-src2-');
    await makeImage(path.join(src2, 'later.jpg'), { color: '#aaaa00', date, seed: 4 });
    const second = await runCli(['import', '--skip-ml', src2], env);
    expect(second.code, second.stderr).toBe(0);
    const clean = await runCli(['--json', 'cache', 'clean'], env);
    expect(clean.code, clean.stderr).toBe(0);

    const uploads = listFiles(lib, 'uploads');
    expect(uploads).toContain(`2020/2020-02-02/decode-${pid}-abcdef.jpg`);
    // The marked name is not one the library can hold: the last dash of the mark becomes "_".
    expect(uploads).toContain(`2020/2020-02-02/.immich-tmp_${pid}-0011-IMG_1.jpg`);
    expect(uploads).toContain(legacy.slice('uploads/'.length));
    expect(uploads).toContain('2020/2020-02-02/later.jpg');
  });
});
