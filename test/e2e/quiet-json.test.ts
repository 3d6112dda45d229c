// Issue 14: "N of M shown" for ranked searches too (free text counts its matches; a similarity
// search ranks every photo and says so), and one key style: every command's --json is camelCase,
// backup's included (its manifest on disk keeps snake_case).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tmpDir, type CliResult } from '../helpers/env.js';
import { json } from './backup-helpers.js';
import { makeImage } from './import-helpers.js';

let base: string;
let env: Record<string, string>;
let photos: string;
beforeAll(async () => {
  base = tmpDir('immich-quiet-json-');
  photos = path.join(base, 'photos');
  env = { UPLOAD_LOCATION: path.join(base, 'library'), HOME: base };
  await makeImage(path.join(photos, 'cat-one.jpg'), { color: '#c03030', seed: 1, date: '2024:01:02 10:00:00' });
  await makeImage(path.join(photos, 'cat-two.jpg'), { color: '#30a040', seed: 2, date: '2024:01:03 10:00:00' });
  await makeImage(path.join(photos, 'cat_three.jpg'), { color: '#3050d0', seed: 3, date: '2024:01:04 10:00:00' });
  await makeImage(path.join(photos, 'dog.jpg'), { color: '#d0a020', seed: 4, date: '2024:01:05 10:00:00' });
  const imp = await runCli(['import', '--skip-ml', photos], env);
  expect(imp.code, imp.stderr).toBe(0);
}, 300_000);
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

/** Keys of lower-case words joined by "_" (new_files), anywhere in a JSON value; `skip` names data-keyed maps. */
function snakeKeys(value: unknown, where = '$', skip: RegExp = /^$/): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => snakeKeys(v, `${where}[${i}]`, skip));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
    const at = `${where}.${k}`;
    const own = /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(k) ? [at] : [];
    return skip.test(at) ? own.filter(() => false) : [...own, ...snakeKeys(v, at, skip)];
  });
}

describe('ranked searches say how many there are', () => {
  it('free text: "1 of 3 shown", with the total in --json', { timeout: 120_000 }, async () => {
    const cut = await runCli(['search', 'cat', '--limit', '1'], env);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stderr).toBe('1 of 3 shown (--limit <n> shows more)\n');
    const all = json(await runCli(['--json', 'search', 'cat', '--limit', '1'], env));
    expect(all).toMatchObject({ mode: 'text', count: 1, total: 3 });
    // Not cut: no note.
    const whole = await runCli(['search', 'cat'], env);
    expect(whole.stderr).toBe('');
  });

  it('--similar ranks every photo: "the 1 most similar shown", ranked in --json', { timeout: 120_000 }, async () => {
    const ref = path.join(photos, 'cat-one.jpg');
    const cut = await runCli(['search', '--similar', ref, '--limit', '1'], env);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stderr).toBe('the 1 most similar shown (similarity ranks every photo; --limit <n> shows more)\n');
    const j = json(await runCli(['--json', 'search', '--similar', ref, '--limit', '1'], env));
    expect(j).toMatchObject({ mode: 'similar-phash', count: 1, ranked: true });
    expect(j.total).toBeUndefined();
  });
});

describe('every --json is camelCase', () => {
  it('backup, backup list, forget, repair, cache clean and the read-only commands', { timeout: 400_000 }, async () => {
    const repo = path.join(base, 'repo');
    const keyFile = path.join(base, 'key');
    fs.writeFileSync(keyFile, 'correct horse battery staple\n');
    const k = ['--key-file', keyFile];
    const outputs: Array<[string, CliResult]> = [];
    const run = async (args: string[], codes = [0]) => {
      const r = await runCli(['--json', ...args], env);
      expect(codes, `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
      outputs.push([args.join(' '), r]);
      return json(r);
    };
    const b = await run(['backup', repo, ...k]);
    // The camelCase forms, and none of the manifest's keys.
    expect(b.stats).toMatchObject({ newFiles: 4, storedBytes: expect.any(Number), newBytes: expect.any(Number), durationMs: expect.any(Number) });
    expect(b.database.dumpBytes).toEqual(expect.any(Number));
    const list = await run(['backup', 'list', repo, ...k]);
    expect(list.snapshots[0]).toMatchObject({ shortId: expect.any(String), includeDerived: false, newFiles: 4, storedBytes: expect.any(Number) });
    // The manifest on disk is unchanged (snake_case), so older repositories stay readable.
    expect(fs.readdirSync(path.join(repo, 'snapshots')).length).toBe(1);
    const forget = await run(['backup', 'forget', repo, ...k, '--keep-last', '1', '--dry-run']);
    expect(forget.dryRun).toBe(true);
    await run(['backup', 'repair', repo, ...k]);
    const cache = await run(['cache', 'clean', '--dry-run']);
    expect(cache.dryRun).toBe(true);
    for (const args of [
      ['stats'],
      ['search', 'cat'],
      ['search', '--limit', '2'],
      ['info', '--path', '*cat*'],
      ['album', 'list'],
      ['trash', 'list'],
      ['stack', 'list'],
      ['jobs'],
      ['models', 'list'],
      ['duplicates'],
      ['import', photos],
      ['index', '--jobs', 'metadata'],
      ['export', path.join(base, 'out'), '--dry-run'],
      ['edit', '--path', '*dog*', '--rating', '3'],
      ['metadata', 'sync', '--to-files', '--all'],
    ]) {
      await run(args, [0, 1, 3]);
    }
    await run(['verify'], [0, 1]);
    const bad = outputs.flatMap(([cmd, r]) => (r.stdout.trim() ? snakeKeys(JSON.parse(r.stdout)).map((k) => `${cmd}: ${k}`) : []));
    expect(bad).toEqual([]);
  });
});
