#!/usr/bin/env node
// Backup and verify throughput beside the plain tools, in the same run:
//   1. first backup of N originals (MB/s) vs `cp -r` of the same uploads/ folder
//   2. incremental backup after adding one file
//   3. verify's checksum pass (MB/s) vs `sha1sum` of the same files
//   4. incremental backup with one new file in a 10k-file library (target < 2 s)
//   5. the same 10k incremental on PostgreSQL (pg_dump is a separate process there), when reachable
//   6. first backup with a cold page cache (as a nightly cron job finds the library) beside `cp -r`
//      and `cp -r && sync` with a cold cache too, for growing library sizes, in interleaved rounds
//      (root only: it drops the page cache before each timed run)
// Usage: npm run build && node bench/backup/run.mjs [files=200] [sizeMiB=2] [small=10000]
//   IMMICH_BENCH_COLD=200,1000,3000 sets the library sizes (in files of sizeMiB) of step 6
//   (default: files and 5 × files; 0 skips it), IMMICH_BENCH_ROUNDS its rounds (default 3).
//   IMMICH_BENCH_DIST=<folder> runs another build of dist/ kept beside it (e.g. ./dist-old, so that
//   ../migrations resolves) for a before/after in one sitting (compare.mjs interleaves the two);
//   IMMICH_BENCH_PG=0 skips step 5.
// Timings of the service exclude process start and opening the database (they are the same for any
// library size and are reported separately as the CLI's wall time). The targets compare with `cp -r`
// (as the issue asks); `cp -r && sync` is reported beside it because a backup must be durable before
// its snapshot exists, which a bare cp -r (data left in the page cache) is not.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedAssets } from './seed.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = path.resolve(process.env.IMMICH_BENCH_DIST || path.join(ROOT, 'dist'));
const dist = (p) => import(path.join(DIST, p));
const { loadConfig } = await dist('config.js');
const { createContext } = await dist('context.js');
const { Logger } = await dist('logger.js');
const { runBackup } = await dist('services/backup.js');
const { verifyLibrary } = await dist('services/verify.js');

const N = Number(process.argv[2] ?? 200);
const SIZE = Number(process.argv[3] ?? 2) * 1024 * 1024;
const SMALL = Number(process.argv[4] ?? 10_000);
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-backup-'));
// Phase timings of the last runBackup (debug records), to show where an incremental's time goes.
let phases = [];
const logger = new Logger('debug', [(r) => r.msg.startsWith('backup phase ') && phases.push(`${r.msg.slice(13)} ${r.fields?.ms}`)]);
const MB = 1024 * 1024;

function sync() {
  spawnSync('sync');
}
function time(fn) {
  const t = performance.now();
  const r = fn();
  return r instanceof Promise ? r.then((v) => ({ ms: performance.now() - t, v })) : { ms: performance.now() - t, v: r };
}

async function seed(lib, count, size, prefix) {
  return seedEnv({ UPLOAD_LOCATION: lib }, lib, count, size, prefix);
}

async function withCtxEnv(env, fn) {
  const ctx = await createContext(loadConfig({ env }), logger, { command: 'bench' });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

async function seedEnv(env, lib, count, size, prefix) {
  const ctx = await createContext(loadConfig({ env }), logger, { command: 'bench' });
  try {
    await seedAssets(ctx, lib, count, size, prefix);
  } finally {
    await ctx.close();
  }
}

async function withCtx(lib, fn) {
  const ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: lib } }), logger, { command: 'bench' });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

function cli(args, lib) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/immich'), ...args], { env: { ...process.env, UPLOAD_LOCATION: lib, CI: 'true' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`immich ${args.join(' ')} failed: ${r.stderr}`);
  return { ms: performance.now() - t, out: r.stdout };
}

const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' / ');
const rows = [];
const report = (name, value, baseline, note = '') => rows.push({ name, value, baseline, note });

// ---- 1-3: large files ----
const lib = path.join(base, 'lib');
await seed(lib, N, SIZE, 'big');
const totalMB = (N * SIZE) / MB;
execFileSync('sh', ['-c', `cat ${path.join(lib, 'uploads')}/big/* > /dev/null`]); // warm the page cache for both
sync();
const cp = time(() => execFileSync('cp', ['-r', path.join(lib, 'uploads'), path.join(base, 'cp-copy')]));
sync();
// A backup must be durable before its snapshot exists; cp -r followed by sync is the durable baseline.
const cpSync = time(() => execFileSync('sh', ['-c', `cp -r '${path.join(lib, 'uploads')}' '${path.join(base, 'cp-copy2')}' && sync`]));
sync();
const loadBefore = load();
phases = [];
const first = await withCtx(lib, (ctx) => time(() => runBackup(ctx, { repository: path.join(base, 'repo') })));
const firstPhases = phases.join(', ');
const copyPhase = phases.find((p) => p.startsWith('files stored'));
const cpRate = totalMB / (cp.ms / 1000);
const firstRate = totalMB / (first.ms / 1000);
const cpSyncRate = totalMB / (cpSync.ms / 1000);
report(`first backup, ${N} × ${SIZE / MB} MiB`, `${firstRate.toFixed(0)} MB/s (${(first.ms / 1000).toFixed(2)} s)`, `cp -r ${cpRate.toFixed(0)} MB/s (${(cp.ms / 1000).toFixed(2)} s)`, `ratio ${(firstRate / cpRate).toFixed(2)} (target ≥ 0.8)`);
report(`first backup, ${N} × ${SIZE / MB} MiB (durable baseline)`, `${firstRate.toFixed(0)} MB/s`, `cp -r && sync ${cpSyncRate.toFixed(0)} MB/s (${(cpSync.ms / 1000).toFixed(2)} s)`, `ratio ${(firstRate / cpSyncRate).toFixed(2)}`);

if (copyPhase) {
  const ms = Number(copyPhase.split(' ').pop());
  const rate = totalMB / (ms / 1000);
  report(`first backup, copy+hash of the files alone (overlaps the database dump)`, `${rate.toFixed(0)} MB/s (${(ms / 1000).toFixed(2)} s)`, `cp -r ${cpRate.toFixed(0)} MB/s`, `ratio ${(rate / cpRate).toFixed(2)}`);
}

const encRepo = path.join(base, 'repo-enc');
sync();
const enc = await withCtx(lib, (ctx) => time(() => runBackup(ctx, { repository: encRepo, passphrase: 'bench' })));
const encRate = totalMB / (enc.ms / 1000);
report('first backup, encrypted (AES-256-GCM)', `${encRate.toFixed(0)} MB/s (${(enc.ms / 1000).toFixed(2)} s)`, `cp -r ${cpRate.toFixed(0)} MB/s`, `ratio ${(encRate / cpRate).toFixed(2)}`);

await seed(lib, 1, SIZE, 'one-more');
sync();
const incr = await withCtx(lib, (ctx) => time(() => runBackup(ctx, { repository: path.join(base, 'repo') })));
report(`incremental, +1 file of ${SIZE / MB} MiB`, `${(incr.ms / 1000).toFixed(2)} s, ${incr.v.stats.new_files} file copied`, '', `${N + 1} files unchanged-checked by size+mtime`);

const sha = time(() => execFileSync('sh', ['-c', `cd ${path.join(lib, 'uploads')} && find . -type f -print0 | xargs -0 sha1sum > /dev/null`]));
const ver = await withCtx(lib, (ctx) => time(() => verifyLibrary(ctx, { models: false })));
const shaRate = ((N + 1) * SIZE) / MB / (sha.ms / 1000);
const verRate = ((N + 1) * SIZE) / MB / (ver.ms / 1000);
report(`verify checksums, ${N + 1} files`, `${verRate.toFixed(0)} MB/s (${(ver.ms / 1000).toFixed(2)} s)`, `sha1sum ${shaRate.toFixed(0)} MB/s (${(sha.ms / 1000).toFixed(2)} s)`, `ratio ${(verRate / shaRate).toFixed(2)} (target ≥ 0.9)`);

// ---- 4: 10k small files ----
const small = path.join(base, 'small');
await seed(small, SMALL, 4096, 'many');
const smallRepo = path.join(base, 'repo-small');
cli(['backup', smallRepo], small);
await seed(small, 1, 4096, 'new');
sync();
phases = [];
const inc10k = await withCtx(small, (ctx) => time(() => runBackup(ctx, { repository: smallRepo })));
const inc10kPhases = phases.join(', ');
const cliInc = (await seed(small, 1, 4096, 'new2'), cli(['--json', 'backup', smallRepo], small));
report(`incremental, ${SMALL} files + 1 new (service)`, `${(inc10k.ms / 1000).toFixed(2)} s, ${inc10k.v.stats.new_files} copied`, '', 'target < 2 s');
report(`incremental, ${SMALL} files + 1 new (\`immich backup\` wall)`, `${(cliInc.ms / 1000).toFixed(2)} s, ${JSON.parse(cliInc.out).stats.new_files} copied`, '', 'includes node start, opening the embedded database and its dump');

// ---- 5: the same on PostgreSQL ----
if (process.env.IMMICH_BENCH_PG !== '0') {
  const name = `immich_bench_backup_${process.pid}`;
  const admin = (q) => spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qAtc', q], { encoding: 'utf8' });
  if (admin(`create database ${name}`).status === 0) {
    try {
      const pgLib = path.join(base, 'pg');
      const env = { UPLOAD_LOCATION: pgLib, DB_URL: `postgresql://postgres@127.0.0.1:5432/${name}` };
      const pgCtx = (fn) => withCtxEnv(env, fn);
      await seedEnv(env, pgLib, SMALL, 4096, 'many');
      const pgRepo = path.join(base, 'repo-pg');
      await pgCtx((ctx) => runBackup(ctx, { repository: pgRepo }));
      await seedEnv(env, pgLib, 1, 4096, 'new');
      sync();
      phases = [];
      const pgInc = await pgCtx((ctx) => time(() => runBackup(ctx, { repository: pgRepo })));
      report(`incremental, ${SMALL} files + 1 new, PostgreSQL 15 (service)`, `${(pgInc.ms / 1000).toFixed(2)} s, ${pgInc.v.stats.new_files} copied`, '', 'target < 2 s');
    } finally {
      admin(`drop database if exists ${name} with (force)`);
    }
  }
}

// ---- 6: cold page cache, growing library ----
const coldSizes = (process.env.IMMICH_BENCH_COLD ?? `${N},${5 * N}`).split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b);
const ROUNDS = Number(process.env.IMMICH_BENCH_ROUNDS ?? 3);
const DROP = '/proc/sys/vm/drop_caches';
let canDrop = false;
try {
  fs.accessSync(DROP, fs.constants.W_OK);
  canDrop = true;
} catch {
  if (coldSizes.length) rows.push({ name: 'cold page cache', value: 'skipped', baseline: '', note: `${DROP} is not writable (run as root)` });
}
const coldRows = [];
let diskProbe = '';
if (canDrop && coldSizes.length) {
  const cold = path.join(base, 'cold');
  const scratch = path.join(base, 'cold-scratch');
  const drop = () => {
    sync();
    fs.writeFileSync(DROP, '3');
  };
  const clean = () => fs.rmSync(scratch, { recursive: true, force: true });
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // Does this disk read and write at once? A cold read of 1 GiB, a durable write of 1 GiB (its source
  // in memory), then both together, median of 3. If together costs the sum, reads and writes share
  // one budget, and no durable copy on this disk can beat `cp -r && sync` by overlapping them.
  {
    const probe = path.join(base, 'disk-probe');
    fs.mkdirSync(path.join(probe, 'in'), { recursive: true });
    for (let i = 0; i < 256; i++) fs.writeFileSync(path.join(probe, 'in', `f${i}`), crypto.randomBytes(4 * MB));
    const hot = path.join(probe, 'hot');
    const out = path.join(probe, 'out');
    fs.writeFileSync(hot, crypto.randomBytes(1024 * MB));
    const sh = (cmd) => execFileSync('sh', ['-c', cmd]);
    const readCold = `cat '${path.join(probe, 'in')}'/* > /dev/null`;
    const writeDurable = `cp '${hot}' '${out}' && sync '${out}'`;
    const t = { read: [], write: [], both: [] };
    for (let r = 0; r < 3; r++) {
      drop();
      t.read.push(time(() => sh(readCold)).ms);
      sh(`cat '${hot}' > /dev/null; rm -f '${out}'`);
      sync();
      t.write.push(time(() => sh(writeDurable)).ms);
      fs.rmSync(out, { force: true });
      drop();
      sh(`cat '${hot}' > /dev/null`);
      t.both.push(time(() => sh(`(${readCold}) & (${writeDurable}) & wait`)).ms);
      fs.rmSync(out, { force: true });
    }
    fs.rmSync(probe, { recursive: true, force: true });
    const [rd, wr, both] = [med(t.read), med(t.write), med(t.both)].map((ms) => ms / 1000);
    diskProbe = `disk: cold read of 1 GiB ${rd.toFixed(2)} s, durable write of 1 GiB ${wr.toFixed(2)} s, both at once ${both.toFixed(2)} s (${((both / (rd + wr)) * 100).toFixed(0)}% of their sum; 50% would mean they overlap fully)`;
  }
  let seeded = 0;
  for (const count of coldSizes) {
    await seed(cold, count - seeded, SIZE, `cold${seeded}`);
    seeded = count;
    const t = { cp: [], cpSync: [], backup: [] };
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order so that neither side always runs right after the other's writes.
      const steps = [
        () => { clean(); drop(); t.cp.push(time(() => execFileSync('cp', ['-r', path.join(cold, 'uploads'), scratch])).ms); },
        () => { clean(); drop(); t.cpSync.push(time(() => execFileSync('sh', ['-c', `cp -r '${path.join(cold, 'uploads')}' '${scratch}' && sync`])).ms); },
        async () => {
          clean();
          t.backup.push(await withCtx(cold, async (ctx) => (drop(), (await time(() => runBackup(ctx, { repository: scratch }))).ms)));
        },
      ];
      for (const step of r % 2 ? [...steps].reverse() : steps) await step();
    }
    clean();
    const mb = (count * SIZE) / MB;
    const [cpMs, cpSyncMs, backupMs] = [med(t.cp), med(t.cpSync), med(t.backup)];
    const rate = (ms) => `${(mb / (ms / 1000)).toFixed(0)} MB/s (${(ms / 1000).toFixed(2)} s)`;
    coldRows.push(`| ${count} × ${SIZE / MB} MiB (${(mb / 1024).toFixed(1)} GiB) | ${rate(backupMs)} | ${rate(cpMs)} | ${rate(cpSyncMs)} | **${(cpMs / backupMs).toFixed(2)}** (${(cpSyncMs / backupMs).toFixed(2)}) | ${(cpMs / cpSyncMs).toFixed(2)} | ${t.backup.map((x) => (x / 1000).toFixed(2)).join(' / ')} vs ${t.cp.map((x) => (x / 1000).toFixed(2)).join(' / ')} |`);
  }
}

const lines = [
  `machine: ${os.cpus().length} cores (nproc ${execFileSync('nproc').toString().trim()}), node ${process.version}, load average ${loadBefore} at start, ${load()} at end`,
  '',
  '| measurement | immich | baseline (same run) | note |',
  '|---|---|---|---|',
  ...rows.map((r) => `| ${r.name} | ${r.value} | ${r.baseline} | ${r.note} |`),
  '',
  `phases of the first backup (ms): ${firstPhases || 'n/a (this build logs none)'}`,
  `phases of the embedded ${SMALL}-file incremental (ms): ${inc10kPhases || 'n/a (this build logs none)'}`,
  ...(coldRows.length
    ? [
        '',
        `first backup with a cold page cache (median of ${ROUNDS} interleaved rounds; the page cache is dropped before each run):`,
        '',
        diskProbe,
        '',
        '| library | immich backup | cp -r | cp -r && sync | ratio to cp -r (to cp -r && sync), target ≥ 0.8 | cp -r && sync itself, to cp -r | each round: backup vs cp -r (s) |',
        '|---|---|---|---|---|---|---|',
        ...coldRows,
      ]
    : []),
];
console.log(lines.join('\n'));
fs.rmSync(base, { recursive: true, force: true });
