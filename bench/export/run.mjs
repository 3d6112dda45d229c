#!/usr/bin/env node
// `immich export` beside the plain tool, in the same run:
//   1. export of `files × MiB` random originals against `cp -r` of the same uploads/ folder, like with
//      like: `export --no-flush` vs `cp -r` (both end with the copies in the page cache; target ≥ 0.9),
//      the default export (flushed before its state is committed) vs `cp -r && sync`, and
//      `export --verify` (every byte hashed) beside them; every job starts with the library's files in
//      the page cache and nothing dirty; rounds in alternating order;
//   2. `immich export --update` with nothing new over `updateN` exported assets (synthetic rows and
//      a state file, written by the tool's own saveState, with a file on disk for each; the tables
//      are ANALYZEd as autovacuum would have done; target < 3 s for 100k), CLI wall and CPU time.
// Usage: npm run build && node bench/export/run.mjs [files=500] [sizeMiB=4] [updateN=100000]
//   IMMICH_BENCH_ROUNDS (default 3); IMMICH_BENCH_PG=0 uses the embedded database instead of the
//   PostgreSQL server at 127.0.0.1:5432 (a database export_bench_<pid> that is dropped at the end).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedAssets } from '../backup/seed.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (p) => import(path.join(ROOT, 'dist', p));
const { loadConfig } = await dist('config.js');
const { createContext } = await dist('context.js');
const { Logger } = await dist('logger.js');
const { runExport } = await dist('services/export/export.js');
const { layoutKey } = await dist('services/export/plan.js');
const { saveState } = await dist('services/export/state.js');
const { sql } = await dist('db/kysely.js');

const FILES = Number(process.argv[2] ?? 500);
const SIZE = Number(process.argv[3] ?? 4) * 1024 * 1024;
const UPDATE_N = Number(process.argv[4] ?? 100_000);
const ROUNDS = Number(process.env.IMMICH_BENCH_ROUNDS ?? 3);
const USE_PG = process.env.IMMICH_BENCH_PG !== '0';
// IMMICH_BENCH_ONLY=copy|update runs one half; IMMICH_BENCH_KEEP=1 leaves the folders (and databases) for profiling.
const ONLY = process.env.IMMICH_BENCH_ONLY;
const KEEP = process.env.IMMICH_BENCH_KEEP === '1';
const MB = 1024 * 1024;
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-export-'));
const dbs = [];

async function database(name) {
  if (!USE_PG) return {};
  const pg = (await import('pg')).default;
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  dbs.push(name);
  return { DB_HOSTNAME: '127.0.0.1', DB_PORT: '5432', DB_USERNAME: 'postgres', DB_DATABASE_NAME: name };
}

async function dropDatabases() {
  if (!dbs.length) return;
  const pg = (await import('pg')).default;
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  for (const d of dbs) await c.query(`drop database if exists ${d} with (force)`);
  await c.end();
}

async function withCtx(env, fn) {
  const config = loadConfig({ env: { ...env }, cwd: base });
  const ctx = await createContext(config, new Logger('warn', []), { command: 'bench' });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

function cli(args, env) {
  const clean = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)) clean[k] = v;
  // CPU seconds too (GNU time): on a shared, loaded machine the wall time says more about the load.
  const timeFile = path.join(base, 'time.txt');
  const t = performance.now();
  const r = fs.existsSync('/usr/bin/time')
    ? spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, process.execPath, path.join(ROOT, 'bin/immich'), ...args], { env: { ...clean, ...env }, encoding: 'utf8' })
    : spawnSync(process.execPath, [path.join(ROOT, 'bin/immich'), ...args], { env: { ...clean, ...env }, encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`immich ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const cpu = fs.existsSync(timeFile) ? fs.readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number).reduce((a, b) => a + b, 0) * 1000 : NaN;
  return { ms, cpu, stdout: r.stdout };
}

function timed(fn) {
  const t = performance.now();
  const v = fn();
  return v instanceof Promise ? v.then(() => performance.now() - t) : performance.now() - t;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];

// 1. Throughput
if (ONLY !== 'update') {
  const lib = path.join(base, 'lib');
  const env = { UPLOAD_LOCATION: lib, ...(await database(`export_bench_${process.pid}_a`)) };
  await withCtx(env, (ctx) => seedAssets(ctx, lib, FILES, SIZE, 'bench'));
  const total = FILES * SIZE;
  const cp = [], cpSync = [], exp = [], expNoFlush = [], expVerify = [];
  const hashed = [];
  // Every job starts from the same state: the library's files in the page cache (read once here),
  // nothing dirty (sync, and the previous job's output removed and synced away).
  for (const f of fs.readdirSync(path.join(lib, 'uploads', 'bench'))) fs.readFileSync(path.join(lib, 'uploads', 'bench', f));
  const exportJob = (dest, extra) => withCtx(env, async (ctx) => {
    const t = performance.now();
    const res = await runExport(ctx, { dest, directory: '{{y}}/{{y}}-{{MM}}-{{dd}}', ...extra });
    hashed.push(res.hashed);
    return performance.now() - t;
  });
  for (let r = 0; r < ROUNDS; r++) {
    const jobs = ['cp', 'export-noflush', 'cpsync', 'export', 'export-verify'];
    const order = r % 2 ? [...jobs].reverse() : jobs;
    for (const what of order) {
      const dest = path.join(base, `out-${what}-${r}`);
      spawnSync('sync');
      if (what === 'cp') cp.push(timed(() => spawnSync('cp', ['-r', path.join(lib, 'uploads'), dest])));
      else if (what === 'cpsync') cpSync.push(timed(() => { spawnSync('cp', ['-r', path.join(lib, 'uploads'), dest]); spawnSync('sync'); }));
      else if (what === 'export') exp.push(await exportJob(dest, {}));
      else if (what === 'export-noflush') expNoFlush.push(await exportJob(dest, { flush: false }));
      else expVerify.push(await exportJob(dest, { verify: true }));
      fs.rmSync(dest, { recursive: true, force: true });
      spawnSync('sync');
    }
  }
  const wall = cli(['export', path.join(base, 'out-cli'), '--json'], env);
  fs.rmSync(path.join(base, 'out-cli'), { recursive: true, force: true });
  const mbs = (ms) => (total / MB / (ms / 1000)).toFixed(0);
  const ms = (xs) => `median ${median(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')}), ${mbs(median(xs))} MB/s`;
  rows.push([`export --no-flush of ${FILES} × ${SIZE / MB} MiB (${(total / MB / 1024).toFixed(2)} GiB), service`, ms(expNoFlush)]);
  rows.push(['cp -r of the same uploads/ (page cache, no flush)', ms(cp)]);
  rows.push(['**export --no-flush / cp -r** (both end with the copies in the page cache; target ≥ 0.9)', `**${(median(cp) / median(expNoFlush)).toFixed(2)}**`]);
  rows.push(['export (default: flushed before the state is committed), service', ms(exp)]);
  rows.push(['cp -r && sync', ms(cpSync)]);
  rows.push(['**export / (cp -r && sync)** (both durable at the end)', `**${(median(cpSync) / median(exp)).toFixed(2)}**`]);
  rows.push(['export / cp -r (durable export against a copy left in the page cache)', (median(cp) / median(exp)).toFixed(2)]);
  rows.push(['export --verify (every byte hashed), service', ms(expVerify)]);
  rows.push(['export --verify / (cp -r && sync)', (median(cpSync) / median(expVerify)).toFixed(2)]);
  rows.push(['originals hashed per export (--verify runs included)', hashed.join(', ')]);
  rows.push(['`immich export` CLI wall time, same export', `${wall.ms.toFixed(0)} ms`]);
  fs.rmSync(lib, { recursive: true, force: true });
  // Printed as soon as known: the --update half takes minutes more on a loaded machine.
  for (const [a, b] of rows) console.error(`${a}: ${b}`);
}

// 2. --update with nothing new over UPDATE_N exported assets
if (ONLY !== 'copy') {
  const lib = path.join(base, 'lib-update');
  const dest = path.join(base, 'out-update');
  const env = { UPLOAD_LOCATION: lib, ...(await database(`export_bench_${process.pid}_b`)) };
  fs.mkdirSync(dest, { recursive: true });
  const layout = layoutKey(JSON.stringify({ d: null, f: null, o: false, c: null }));
  const files = [];
  await withCtx(env, async (ctx) => {
    let batch = [];
    for (let i = 0; i < UPDATE_N; i++) {
      const checksum = crypto.createHash('sha1').update(`asset ${i}`).digest('hex');
      const name = `f${String(i).padStart(6, '0')}.jpg`;
      batch.push({
        checksum, original_path: `/src/${name}`, original_name: name, library_path: `uploads/x/${name}`, storage_mode: 'copy',
        type: 'image', mime_type: 'image/jpeg', file_size: 1, file_mtime: new Date(Date.UTC(2020, 0, 1, 0, 0, i % 86400)),
      });
      if (batch.length === 5000 || i === UPDATE_N - 1) {
        const ids = await ctx.db.insertInto('assets').values(batch).returning(['id', 'checksum', 'original_name']).execute();
        for (const r of ids) {
          fs.writeFileSync(path.join(dest, r.original_name), 'x');
          files.push({ path: r.original_name, assetId: r.id, kind: 'original', base: r.original_name, checksum: r.checksum, editedAt: null, variant: 'copy', layout, sha1: crypto.createHash('sha1').update('x').digest('hex'), size: 1 });
        }
        batch = [];
      }
    }
    // A library that has lived a minute has statistics (autovacuum); a fresh seed has none, and
    // the planner then picks a nested loop per asset.
    if (USE_PG) await sql`analyze`.execute(ctx.db);
  });
  await saveState(dest, { files: new Map(files.map((f) => [f.path, f])) });
  const runs = [];
  const cpus = [];
  for (let r = 0; r < ROUNDS; r++) {
    const { ms, cpu, stdout } = cli(['export', dest, '--update'], env);
    cpus.push(cpu);
    if (!/exported 0 file\(s\).*, (\d+) unchanged/.test(stdout) || Number(/, (\d+) unchanged/.exec(stdout)[1]) !== UPDATE_N) throw new Error(`unexpected: ${stdout}`);
    runs.push(ms);
  }
  const version = cli(['--version'], env);
  rows.push([`\`immich export --update\`, nothing new, ${UPDATE_N} assets, CLI wall time (target < 3 s)`, `median **${median(runs).toFixed(0)} ms** (${runs.map((x) => x.toFixed(0)).join(', ')})`]);
  rows.push(['the same, CPU time of the process (user + sys)', `median ${median(cpus).toFixed(0)} ms`]);
  rows.push(['`immich --version` (process start, for scale): wall, CPU', `${version.ms.toFixed(0)} ms, ${version.cpu.toFixed(0)} ms`]);
}

if (KEEP) console.error(`kept ${base} and databases ${dbs.join(', ')}`);
else {
  await dropDatabases();
  fs.rmSync(base, { recursive: true, force: true });
}
const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
console.log(`database: ${USE_PG ? 'PostgreSQL 127.0.0.1' : 'embedded'}; rounds ${ROUNDS}; load ${load}\n`);
console.log('| what | figure |\n|---|---|');
for (const [a, b] of rows) console.log(`| ${a} | ${b} |`);
