// `immich edit --tag X` on 10k and 100k synthetic assets: database time (selection + the one edit
// transaction) on the embedded database and on PostgreSQL; and XMP sidecar write throughput of
// the edit's writer against exiftool writing the same tags standalone, with the same process count,
// measured in the same run. Run after `npm run build`:
//   node bench/organize/run.mjs [sizes=10000,100000] [backends=embedded,pg] [sidecars=400]
// Prints a Markdown section for bench/RESULTS.md. Besides wall time it reports CPU time (this
// process, and the PostgreSQL backends of the bench database read from /proc), which a loaded
// machine inflates far less than wall time.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { sql } from 'kysely';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { loadConfig } = await import(path.join(ROOT, 'dist/config.js'));
const { createContext } = await import(path.join(ROOT, 'dist/context.js'));
const { Logger } = await import(path.join(ROOT, 'dist/logger.js'));
const { selectAssetIds, selectionIdsQuery, parseSelection } = await import(path.join(ROOT, 'dist/services/selection.js'));
const { editAssets, parseEditFlags } = await import(path.join(ROOT, 'dist/services/edit.js'));
const { writeSidecars } = await import(path.join(ROOT, 'dist/services/sidecars.js'));
const { exiftoolPath } = await import('exiftool-vendored');

const SIZES = (process.argv[2] ?? '10000,100000').split(',').map(Number);
const BACKENDS = new Set((process.argv[3] ?? 'embedded,pg').split(','));
const SIDECARS = Number(process.argv[4] ?? 400);
const PROCS = os.availableParallelism();
const rows = [];

/** n assets in one statement (the rows the import would make, without files). */
async function fill(ctx, n) {
  await sql`insert into assets (checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime, taken_at, local_taken_at, time_zone)
    select md5(i::text), '/src/bench/' || i || '.jpg', i || '.jpg', 'uploads/bench/' || (i % 100) || '/' || i || '.jpg', 'copy', 'image', 'image/jpeg', 1000, now(),
           timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute', timestamp '2020-01-01 01:00:00' + i * interval '1 minute', '+01:00'
    from generate_series(1, ${n}) i`.execute(ctx.db);
}

/** CPU seconds of the PostgreSQL backends serving this database (0 for the embedded one: it is this process). */
async function serverCpu(ctx, dbName) {
  if (!dbName) return 0;
  const pids = (await sql`select pid from pg_stat_activity where datname = ${dbName}`.execute(ctx.db)).rows.map((r) => r.pid);
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks / 100;
}

/** Wall ms, this process's CPU ms and the server's CPU ms of fn(). */
async function timed(ctx, dbName, fn) {
  const s0 = await serverCpu(ctx, dbName);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const server = (await serverCpu(ctx, dbName)) - s0;
  return { value, wall, cpu: (c.user + c.system) / 1000 + server * 1000 };
}

async function timeEdit(ctx, label, n, dbName) {
  const sel = await parseSelection({ all: true });
  const spec = parseEditFlags({ tag: ['Bench/Run'] });
  // as `immich edit --all --tag Bench/Run` runs it: the selection query inside the edit's statement,
  // the first 50 changes listed (the table; --json would list all)
  const opts = { skipSidecars: true, changeLimit: 50 };
  const first = await timed(ctx, dbName, async () => editAssets(ctx, await selectionIdsQuery(ctx, sel, { strict: true }), spec, opts));
  if (first.value.changed !== n) throw new Error(`${label}: ${first.value.changed} changed, expected ${n}`);
  // again: nothing to change (the re-run case)
  const again = await timed(ctx, dbName, async () => editAssets(ctx, await selectionIdsQuery(ctx, sel, { strict: true }), spec, opts));
  if (again.value.changed !== 0) throw new Error('re-run changed assets');
  rows.push({ label, n, first, again });
}

async function withEmbedded(n, fn) {
  const lib = fs.mkdtempSync(path.join(os.tmpdir(), 'organize-bench-'));
  const ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: lib }, cwd: lib }), new Logger('error', []), { command: 'bench', concurrency: PROCS });
  try {
    await fn(ctx, lib);
  } finally {
    await ctx.close();
    fs.rmSync(lib, { recursive: true, force: true });
  }
}

async function withPg(n, fn) {
  const name = `organize_bench_${process.pid}_${n}`;
  const admin = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const lib = fs.mkdtempSync(path.join(os.tmpdir(), 'organize-bench-'));
  const env = { UPLOAD_LOCATION: lib, DB_HOSTNAME: '127.0.0.1', DB_USERNAME: 'postgres', DB_DATABASE_NAME: name };
  const ctx = await createContext(loadConfig({ env, cwd: lib }), new Logger('error', []), { command: 'bench', concurrency: PROCS });
  try {
    await fn(ctx, lib, name);
  } finally {
    await ctx.close();
    await admin.query(`drop database ${name} with (force)`);
    await admin.end();
    fs.rmSync(lib, { recursive: true, force: true });
  }
}

/** Standalone exiftool: PROCS processes, each writing its share of new sidecars from one argfile. */
async function standaloneExiftool(dir, count) {
  const bin = await exiftoolPath();
  const per = Math.ceil(count / PROCS);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: PROCS }, (_, p) => {
      const lines = [];
      for (let i = p * per; i < Math.min(count, (p + 1) * per); i++) {
        lines.push('-XMP-digiKam:TagsList=Bench/Run', '-XMP-lr:HierarchicalSubject=Bench|Run', '-XMP-dc:Subject=Run',
          '-XMP-exif:DateTimeOriginal=2020:01:01 01:00:00+01:00', '-XMP-photoshop:DateCreated=2020:01:01 01:00:00+01:00',
          path.join(dir, `${i}.jpg.xmp`), '-execute');
      }
      const args = path.join(dir, `args-${p}.txt`);
      fs.writeFileSync(args, lines.join('\n') + '\n');
      return new Promise((resolve, reject) => {
        const c = spawn(bin, ['-q', '-@', args], { stdio: 'ignore' });
        c.on('error', reject);
        c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exiftool exited ${code}`))));
      });
    }),
  );
  return performance.now() - t0;
}

/** Rounds of the sidecar comparison (IMMICH_BENCH_ROUNDS): ours and standalone alternate who goes first. */
const ROUNDS = Number(process.env.IMMICH_BENCH_ROUNDS ?? 3);

async function sidecarThroughput() {
  // Ours: the edit's writer (exiftool-vendored, PROCS processes), new sidecars for SIDECARS assets.
  // Each round writes them anew (the previous round's files removed) beside a standalone exiftool
  // run, in alternating order, so a change of load during the run weighs on both.
  await withEmbedded(SIDECARS, async (ctx, lib) => {
    await fill(ctx, SIDECARS);
    const ids = await selectAssetIds(ctx, await parseSelection({ all: true }));
    await editAssets(ctx, ids, parseEditFlags({ tag: ['Bench/Run'] }), { skipSidecars: true });
    const rest = ids.slice(PROCS);
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) {
      fs.rmSync(path.join(lib, 'uploads'), { recursive: true, force: true });
      // warm the exiftool processes, as a long edit has them warm after its first files
      await writeSidecars(ctx, ids.slice(0, PROCS));
      const runOurs = async () => {
        const t0 = performance.now();
        const r = await writeSidecars(ctx, rest);
        if (r.failed.length) throw new Error(`sidecar failures: ${r.failed[0].error}`);
        return performance.now() - t0;
      };
      const runTheirs = async () => {
        const dir = path.join(lib, `standalone-${round}`);
        fs.mkdirSync(dir);
        const ms = await standaloneExiftool(dir, rest.length);
        const made = fs.readdirSync(dir).filter((f) => f.endsWith('.xmp')).length;
        if (made !== rest.length) throw new Error(`standalone exiftool wrote ${made} of ${rest.length}`);
        return ms;
      };
      let ours, theirs;
      if (round % 2 === 0) {
        ours = await runOurs();
        theirs = await runTheirs();
      } else {
        theirs = await runTheirs();
        ours = await runOurs();
      }
      rounds.push({ ours, theirs, load: os.loadavg()[0] });
    }
    rows.sidecars = { n: rest.length, rounds };
  });
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' / ');
const loadBefore = load();
for (const n of SIZES) {
  if (BACKENDS.has('embedded')) await withEmbedded(n, async (ctx) => { await fill(ctx, n); await timeEdit(ctx, 'embedded (PGlite)', n); });
  if (BACKENDS.has('pg')) await withPg(n, async (ctx, _lib, name) => { await fill(ctx, n); await sql`vacuum analyze`.execute(ctx.db); await timeEdit(ctx, 'PostgreSQL', n, name); });
}
if (SIDECARS > 0) await sidecarThroughput();

const f = (x) => `${(x / 1000).toFixed(2)} s`;
const out = [];
out.push(`## organize: edit --tag and sidecar write-back (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`, '');
out.push(`Reproduce: \`npm run build && node bench/organize/run.mjs ${SIZES.join(',')} ${[...BACKENDS].join(',')} ${SIDECARS}\``);
out.push(`Machine: ${os.availableParallelism()} cores, node ${process.version}; load average before ${loadBefore}, after ${load()}.`, '');
out.push('`immich edit --all --tag Bench/Run` on synthetic asset rows, without sidecars: names resolved, then one transaction whose one statement selects the assets (locked on PostgreSQL), adds the tag rows and marks the edits (asset_edits, sidecar state included) in id order, returning the counts and the first 50 changes (what the terminal shows; --json reads all). Target < 2 s at 100k. CPU: this process plus the PostgreSQL backends.', '');
out.push('| backend | assets | edit: wall | edit: CPU | re-run (nothing to change): wall | re-run: CPU |', '|---|---|---|---|---|---|');
for (const r of rows) out.push(`| ${r.label} | ${r.n} | ${f(r.first.wall)} | ${f(r.first.cpu)} | ${f(r.again.wall)} | ${f(r.again.cpu)} |`);
if (rows.sidecars) {
  const s = rows.sidecars;
  out.push('', `Sidecar writes: ${s.n} new XMP sidecars (tags + date with offset), ${PROCS} exiftool processes each, warm; baseline: standalone exiftool, ${PROCS} processes each writing its share from one -@ argfile, in the same run; ${s.rounds.length} rounds, alternating which goes first.`, '');
  out.push('| round | standalone exiftool -@ | files/s | immich (edit\'s writer: exiftool-vendored, merged via -o when one exists, fsync of each batch + rename, one state statement per 1000) | files/s | vs standalone | load |', '|---|---|---|---|---|---|---|');
  s.rounds.forEach((r, i) => out.push(`| ${i + 1} | ${f(r.theirs)} | ${(s.n / (r.theirs / 1000)).toFixed(1)} | ${f(r.ours)} | ${(s.n / (r.ours / 1000)).toFixed(1)} | ${(r.theirs / r.ours).toFixed(2)} | ${r.load.toFixed(2)} |`));
  const ratios = s.rounds.map((r) => r.theirs / r.ours).sort((a, b) => a - b);
  const total = s.rounds.reduce((acc, r) => ({ ours: acc.ours + r.ours, theirs: acc.theirs + r.theirs }), { ours: 0, theirs: 0 });
  out.push('', `Ratio (standalone time / ours; target ≥ 0.8): median of rounds **${ratios[Math.floor(ratios.length / 2)].toFixed(2)}**, all rounds together ${(total.theirs / total.ours).toFixed(2)}.`);
}
console.log(out.join('\n'));
