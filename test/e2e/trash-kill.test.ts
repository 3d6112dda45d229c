// The trash's retention (IMMICH_TRASH_DAYS against a fake clock, IMMICH_NOW) in the maintenance that
// import runs, and kill safety: SIGKILL `trash empty` while it deletes files, and at every point no
// row lacks its files unless it is marked for purging, no file lacks its row, and the next run
// (import's maintenance, then trash empty) finishes the job.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli, tmpDir, type CliResult } from '../helpers/env.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

const json = (r: CliResult) => JSON.parse(r.stdout);
function ok(r: CliResult, code = 0): CliResult {
  expect(r.code, `exit ${r.code}\n${r.stderr}\n${r.stdout}`).toBe(code);
  return r;
}

async function images(n: number, size = 160): Promise<string> {
  const src = tmpDir('immich-trash-kill-src-');
  for (let i = 0; i < n; i++) {
    const c = (i * 37) % 256;
    await makeImage(path.join(src, `P_${String(i).padStart(3, '0')}.jpg`), {
      color: `rgb(${c}, ${(c * 7) % 256}, ${(c * 13) % 256})`, seed: i + 1, width: size, height: size, date: `2022:05:0${1 + (i % 9)} 12:00:00`,
    });
  }
  return src;
}

describe('trash retention and kill safety', () => {
  it('purges by IMMICH_TRASH_DAYS on the clock of IMMICH_NOW; 0 deletes at once', async () => {
    const src = await images(3);
    const lib = tmpDir('immich-trash-ret-');
    const empty = tmpDir('immich-trash-empty-');
    const at = (now: string, extra: Record<string, string> = {}) => ({ UPLOAD_LOCATION: lib, IMMICH_NOW: now, ...extra });
    ok(await runCli(['import', '--skip-ml', src], { UPLOAD_LOCATION: lib }));
    ok(await runCli(['rm', path.join(src, 'P_000.jpg')], at('2024-01-01T00:00:00Z')));
    ok(await runCli(['rm', path.join(src, 'P_001.jpg')], at('2024-01-25T00:00:00Z')));
    const listed = json(ok(await runCli(['--json', 'trash', 'list'], at('2024-01-26T00:00:00Z'))));
    expect(listed.assets.map((a: { deletedAt: string; purgeAt: string }) => [a.deletedAt, a.purgeAt])).toEqual([
      ['2024-01-01T00:00:00.000Z', '2024-01-31T00:00:00.000Z'],
      ['2024-01-25T00:00:00.000Z', '2024-02-24T00:00:00.000Z'],
    ]);
    const file0 = listed.assets[0].path;

    // Day 35 for the first, day 11 for the second: the import's maintenance purges the first only.
    ok(await runCli(['import', '--skip-ml', empty], at('2024-02-05T00:00:00Z')));
    const after = json(ok(await runCli(['--json', 'trash', 'list'], at('2024-02-05T00:00:00Z'))));
    expect(after.assets.map((a: { originalName: string }) => a.originalName)).toEqual(['P_001.jpg']);
    expect(fs.existsSync(file0)).toBe(false);
    // A shorter retention reaches the second too.
    ok(await runCli(['import', '--skip-ml', empty], at('2024-02-05T00:00:00Z', { IMMICH_TRASH_DAYS: '10' })));
    expect(json(ok(await runCli(['--json', 'trash', 'list'], at('2024-02-05T00:00:00Z')))).count).toBe(0);

    // No trash: rm deletes at once.
    const now = json(ok(await runCli(['--json', 'rm', path.join(src, 'P_002.jpg')], { UPLOAD_LOCATION: lib, IMMICH_TRASH_DAYS: '0' })));
    expect(now.purge).toMatchObject({ purged: 1, originalsDeleted: 1, failures: [] });
    expect(listFiles(lib, 'uploads')).toEqual([]);
    expect(listFiles(lib, 'thumbs')).toEqual([]);
    expect((await runCli(['trash', 'list'], { UPLOAD_LOCATION: lib, IMMICH_TRASH_DAYS: 'soon' })).code).toBe(2);
    expect((await runCli(['trash', 'empty', '--older-than', 'yesterday'], { UPLOAD_LOCATION: lib })).code).toBe(2);
  }, 600_000);

  it('a purge killed with SIGKILL leaves no row without its files (unless marked) and no file without its row; the next run finishes', async () => {
    const n = 40;
    const src = await images(n);
    const lib = tmpDir('immich-trash-kill-');
    const env = { UPLOAD_LOCATION: lib };
    ok(await runCli(['import', '--skip-ml', src], env));
    const uploads0 = listFiles(lib, 'uploads').length;
    const thumbs0 = listFiles(lib, 'thumbs').length;
    expect(uploads0).toBe(n);
    ok(await runCli(['rm', '--path', 'P_*.jpg'], env));

    /** Run `trash empty`, SIGKILL it once `due()` says so. */
    const killedEmpty = (due: () => boolean) =>
      new Promise<boolean>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'trash', 'empty'], { env: { ...process.env, ...env, CI: 'true' }, cwd: os.tmpdir() });
        child.stdout.resume();
        child.stderr.resume();
        let killed = false;
        const timer = setInterval(() => {
          if (!killed && due()) {
            killed = true;
            child.kill('SIGKILL');
          }
        }, 2);
        child.on('error', reject);
        child.on('close', (_code, signal) => {
          clearInterval(timer);
          resolve(killed && signal === 'SIGKILL');
        });
      });

    /** Rows and files agree: files of unmarked rows exist; every file has a row. */
    const checkInvariant = async () =>
      withLibraryDb(lib, async (db) => {
        const rows = await db.selectFrom('assets').leftJoin('asset_purge', 'asset_purge.asset_id', 'assets.id').select(['assets.id', 'assets.library_path', 'asset_purge.asset_id as marked']).execute();
        const derived = await db.selectFrom('asset_files').select(['asset_id', 'path']).execute();
        const marked = new Set(rows.filter((r) => r.marked).map((r) => r.id));
        for (const r of rows) if (!r.marked) expect(fs.existsSync(path.join(lib, r.library_path)), r.library_path).toBe(true);
        for (const d of derived) if (!marked.has(d.asset_id)) expect(fs.existsSync(path.join(lib, d.path)), d.path).toBe(true);
        const known = new Set([...rows.map((r) => r.library_path), ...derived.map((d) => d.path)]);
        for (const f of [...listFiles(lib, 'uploads').map((p) => path.join('uploads', p)), ...listFiles(lib, 'thumbs').map((p) => path.join('thumbs', p))]) {
          expect(known.has(f), `file without a row: ${f}`).toBe(true);
        }
        return { rows: rows.length, marked: marked.size };
      });

    let kills = 0;
    // While derived files go, then while originals go.
    for (const due of [() => listFiles(lib, 'thumbs').length < thumbs0, () => listFiles(lib, 'uploads').length < uploads0]) {
      if (await killedEmpty(due)) kills++;
      await checkInvariant();
    }
    expect(kills).toBeGreaterThanOrEqual(1);
    // The import's maintenance finishes the marked purges (and leaves the rest in the trash).
    ok(await runCli(['import', '--skip-ml', tmpDir('immich-trash-none-')], env));
    const mid = await checkInvariant();
    expect(mid.marked).toBe(0);
    expect(json(ok(await runCli(['--json', 'trash', 'list'], env))).count).toBe(mid.rows);
    ok(await runCli(['trash', 'empty'], env));
    expect(await checkInvariant()).toEqual({ rows: 0, marked: 0 });
    expect(listFiles(lib, 'uploads')).toEqual([]);
    expect(listFiles(lib, 'thumbs')).toEqual([]);
  }, 600_000);
});
