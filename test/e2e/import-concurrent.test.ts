// Several `immich import` processes at once on one PostgreSQL database (the multi-process mode), on
// overlapping folders whose files collide by name and date: every photo ends up in the library
// exactly once, every row has its file with its checksum, no file is left without a row, nothing is
// missing from source + library after --move, and no claim is left behind.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

const sha1 = (file: string) => crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex');

/** a/ and b/ hold the same names on the same day with other content; c/ repeats some of a/'s bytes. */
async function fixtures(): Promise<string> {
  const src = tmpDir('immich-conc-src-');
  for (let i = 0; i < 6; i++) {
    const date = `2022:05:0${1 + (i % 2)} 12:00:00`;
    await makeImage(path.join(src, 'a', `IMG_${i}.jpg`), { color: '#a04040', seed: 10 + i, date });
    await makeImage(path.join(src, 'b', `IMG_${i}.jpg`), { color: '#40a040', seed: 20 + i, date });
  }
  fs.mkdirSync(path.join(src, 'c'));
  for (const i of [0, 3]) fs.copyFileSync(path.join(src, 'a', `IMG_${i}.jpg`), path.join(src, 'c', `copy-${i}.jpg`));
  return src;
}

function copyTree(from: string): string {
  const to = tmpDir('immich-conc-move-');
  fs.cpSync(from, to, { recursive: true });
  return to;
}

const allSums = (dir: string) => listFiles(dir).map((f) => sha1(path.join(dir, f)));

describe('concurrent imports on PostgreSQL', () => {
  let src: string;
  let expected: string[];
  const drops: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    src = await fixtures();
    expected = [...new Set(allSums(src))].sort();
  });
  afterAll(async () => {
    for (const d of drops) await d();
  });

  async function race(runs: number, move: boolean): Promise<{ lib: string; source: string; env: Record<string, string>; codes: number[]; out: string }> {
    const { name, drop } = await createPgDatabase('trust_data_conc');
    drops.push(drop);
    const lib = tmpDir('immich-conc-lib-');
    const env = { UPLOAD_LOCATION: lib, ...pgEnv(name) };
    // Create the schema first: the race is about files, not about migrating.
    const init = await runCli(['verify', '--no-models'], env);
    expect(init.code, init.stdout + init.stderr).not.toBe(3);
    const source = move ? copyTree(src) : src;
    // Overlapping selections: the whole tree, and its folders in other orders.
    const selections = [[source], [path.join(source, 'b'), path.join(source, 'a')], [path.join(source, 'c'), source], [path.join(source, 'a')]];
    const results = await Promise.all(
      Array.from({ length: runs }, (_, k) => runCli(['import', '--skip-ml', '-j', '1', ...(move ? ['--move'] : []), ...selections[k]!], env)),
    );
    return { lib, source, env, codes: results.map((r) => r.code), out: results.map((r) => r.stderr).join('\n') };
  }

  async function check(r: Awaited<ReturnType<typeof race>>, move: boolean): Promise<void> {
    expect(r.codes, r.out).toEqual(r.codes.map(() => 0));
    const rows = await withLibraryDb(r.lib, (db) => db.selectFrom('assets').select(['checksum', 'library_path']).execute(), r.env);
    const claims = await withLibraryDb(r.lib, (db) => db.selectFrom('import_claims').selectAll().execute(), r.env);
    // Every photo exactly once, each row's file there with its bytes, no file without its row.
    expect(rows.map((a) => a.checksum).sort()).toEqual(expected);
    for (const a of rows) expect(sha1(path.join(r.lib, a.library_path)), a.library_path).toBe(a.checksum);
    expect(listFiles(r.lib, 'uploads').map((f) => path.join('uploads', f)).sort()).toEqual(rows.map((a) => a.library_path).sort());
    expect(claims).toEqual([]);
    if (move) {
      // Nothing lost: every source's content is in the library, and the moved ones left the source.
      const left = allSums(r.source);
      expect([...new Set([...left, ...rows.map((a) => a.checksum)])].sort()).toEqual(expected);
      expect(left.filter((s) => !expected.includes(s))).toEqual([]);
    }
  }

  it('2 at once, copy and --move', async () => {
    const [copy, moved] = await Promise.all([race(2, false), race(2, true)]);
    await check(copy, false);
    await check(moved, true);
  });

  it('4 at once, copy and --move', async () => {
    const [copy, moved] = await Promise.all([race(4, false), race(4, true)]);
    await check(copy, false);
    await check(moved, true);
  });
});
