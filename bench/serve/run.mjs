#!/usr/bin/env node
// bench/serve: `immich serve` on loopback.
//  1. a synthetic library of --assets (default 100 000) rows on the embedded database, 100 real
//     WebP thumbnails shared round-robin: the timeline's first page (month list + newest month) as
//     the web app loads it, cold then p50/p95; thumbnails of random assets with autocannon at
//     --connections (50) for --seconds (10): p50/p99 latency and requests/s;
//  2. upload throughput: the same --files (default 60) real JPEGs through @immich/cli 3.x
//     (`upload --recursive`, its default concurrency) against `immich serve`, until every upload's
//     thumbnail is made, versus `immich import` of the same files (which also waits for its stages),
//     each into a fresh library, in the same run. Ratio = import time / upload time (target >= 0.7).
//
//   npm run build && node bench/serve/run.mjs [--assets 100000] [--files 60] [--connections 50] [--seconds 10] [--append]
//   node bench/serve/run.mjs --timeline-only      # part 1's timeline rows only (~2 min at 100k): the quick re-run
//
// --append adds the figures as a dated section at the end of bench/RESULTS.md. The timeline's first
// page is also given as the server's CPU time per page (from /proc, load-independent on a busy machine).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import sharp from 'sharp';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/immich');
const CORPUS = process.env.IMMICH_TEST_CORPUS ?? path.resolve(ROOT, '../shared/corpus');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const ASSETS = Number(opt('--assets', '100000'));
const FILES = Number(opt('--files', '60'));
const CONNECTIONS = Number(opt('--connections', '50'));
const SECONDS = Number(opt('--seconds', '10'));
const LOADS = Number(opt('--loads', '100'));
const TIMELINE_ONLY = args.includes('--timeline-only');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-serve-'));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)));

const ms = (t0) => performance.now() - t0;
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const cli = (lib, argv, input) => execFileSync(process.execPath, [BIN, ...argv], { env: { ...cleanEnv, UPLOAD_LOCATION: lib, HOME: work }, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });

function serve(lib) {
  // Its log goes to our stderr (a pipe nobody reads would fill and stall the server).
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--log-level', 'warn'], { env: { ...cleanEnv, UPLOAD_LOCATION: lib, HOME: work }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /immich serve: (\S+)/.exec(out);
      if (m) resolve({ url: m[1], cpuMs: proc.cpuMs, stop: () => new Promise((r) => { proc.on('close', r); proc.kill('SIGTERM'); }) });
    });
    proc.on('close', (code) => reject(new Error(`serve exited ${code}`)));
    proc.cpuMs = () => {
      // utime + stime of the server process, in clock ticks (100 per second on Linux).
      const f = fs.readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) * 10;
    };
  });
}

// ---- 1. timeline and thumbnails at ASSETS assets ----
async function seedLibrary(lib) {
  cli(lib, ['--json', 'keys', 'create', '--name', 'seed']); // creates the library and runs the migrations
  const { loadConfig } = await import(path.join(ROOT, 'dist/config.js'));
  const { openDatabase } = await import(path.join(ROOT, 'dist/db/connect.js'));
  const { sql } = await import(path.join(ROOT, 'dist/db/kysely.js'));
  const database = await openDatabase(loadConfig({ env: { UPLOAD_LOCATION: lib }, cwd: lib }).database, { command: 'bench' });
  const t0 = performance.now();
  // Ten years of photos, newest now; sizes and thumbhashes like real rows.
  await sql`insert into assets (checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime, taken_at, width, height, thumbhash)
    select encode(sha256(i::text::bytea), 'hex'), '/bench/' || i || '.jpg', i || '.jpg', 'uploads/bench/' || i || '.jpg', 'copy',
      case when i % 20 = 0 then 'video' else 'image' end, 'image/jpeg', 2000000, now(), now() - (i * (3650.0 / ${ASSETS})) * interval '1 day',
      4000, 3000, '1QcSHQRnh493V4dIh4eXh1h4kJUI'
    from generate_series(1, ${ASSETS}) i`.execute(database.db);
  const thumbs = path.join(lib, 'thumbs', 'bench');
  fs.mkdirSync(thumbs, { recursive: true });
  for (let i = 0; i < 100; i++) {
    await sharp({ create: { width: 250, height: 188, channels: 3, background: { r: i * 2, g: 120, b: 255 - i * 2 } } }).webp({ quality: 80 }).toFile(path.join(thumbs, `${i}.webp`));
  }
  await sql`insert into asset_files (asset_id, kind, path, width, height, file_size)
    select id, 'thumbnail', 'thumbs/bench/' || (row_number() over () % 100) || '.webp', 250, 188, 6000 from assets`.execute(database.db);
  await sql`analyze`.execute(database.db);
  const ids = (await database.db.selectFrom('assets').select('id').execute()).map((r) => r.id);
  await database.close();
  return { ids, seedMs: ms(t0) };
}

async function timelineAndThumbs() {
  const lib = path.join(work, 'big');
  const { ids, seedMs } = await seedLibrary(lib);
  const key = JSON.parse(cli(lib, ['--json', 'keys', 'create', '--name', 'bench'])).secret;
  const server = await serve(lib);
  const headers = { 'x-api-key': key };
  const firstPage = async () => {
    const t0 = performance.now();
    const buckets = await (await fetch(`${server.url}/api/timeline/buckets`, { headers })).json();
    const assets = await (await fetch(`${server.url}/api/timeline/bucket?timeBucket=${buckets[0].timeBucket}`, { headers })).json();
    return { ms: ms(t0), months: buckets.length, first: assets.length };
  };
  const cold = await firstPage();
  const warm = [];
  const me = [];
  // Baseline of the same run: one authenticated request with one small query (two of them make a page).
  for (let i = 0; i < 10; i++) await firstPage();
  let pageCpu = 0;
  for (let i = 0; i < LOADS; i++) {
    const c0 = server.cpuMs();
    warm.push((await firstPage()).ms);
    pageCpu += server.cpuMs() - c0;
    const t0 = performance.now();
    await (await fetch(`${server.url}/api/users/me`, { headers })).json();
    me.push(ms(t0));
  }
  if (TIMELINE_ONLY) {
    await server.stop();
    fs.rmSync(lib, { recursive: true, force: true });
    return { meP50: pct(me, 50), seedMs, months: cold.months, firstMonthAssets: cold.first, coldMs: cold.ms, p50: pct(warm, 50), p95: pct(warm, 95), p99: pct(warm, 99), cpuPerPage: pageCpu / LOADS };
  }
  // Warm-up: the first requests compile the server's code paths and fill the page cache.
  for (let i = 0; i < 50; i++) await (await fetch(`${server.url}/api/assets/${ids[i * 7]}/thumbnail`, { headers })).arrayBuffer();
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers,
    requests: [{ setupRequest: (req) => ({ ...req, path: `/api/assets/${ids[Math.floor(Math.random() * ids.length)]}/thumbnail` }) }],
  });
  // Baseline of the same run: the framework alone (no database, no file) at the same concurrency.
  const ping = await autocannon({ url: `${server.url}/api/server/ping`, connections: CONNECTIONS, duration: Math.min(SECONDS, 5) });
  await server.stop();
  fs.rmSync(lib, { recursive: true, force: true });
  return {
    meP50: pct(me, 50), ping: { p50: ping.latency.p50, p99: ping.latency.p99, rps: ping.requests.average },
    seedMs, months: cold.months, firstMonthAssets: cold.first, coldMs: cold.ms, p50: pct(warm, 50), p95: pct(warm, 95), p99: pct(warm, 99), cpuPerPage: pageCpu / LOADS,
    thumbs: { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average, non2xx: result.non2xx, errors: result.errors },
  };
}

// ---- 2. upload throughput: @immich/cli against serve vs immich import ----
function makeInput() {
  const dir = path.join(work, 'input');
  fs.mkdirSync(dir, { recursive: true });
  const jpegs = [];
  const visit = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && e.name !== 'broken') visit(p);
      else if (/\.jpe?g$/i.test(e.name)) jpegs.push(p);
    }
  };
  if (fs.existsSync(CORPUS)) visit(CORPUS);
  if (!jpegs.length) throw new Error(`no JPEGs in ${CORPUS} (set IMMICH_TEST_CORPUS)`);
  jpegs.sort();
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    // Bytes after EOI are ignored by decoders: a valid JPEG with its own checksum.
    const out = Buffer.concat([fs.readFileSync(jpegs[i % jpegs.length]), Buffer.from(`immich-bench-${i}`)]);
    fs.writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}-${path.basename(jpegs[i % jpegs.length])}`), out);
    bytes += out.length;
  }
  return { dir, bytes };
}

async function uploadVsImport() {
  const input = makeInput();
  // immich import (waits for its stages).
  const libA = path.join(work, 'import-lib');
  let t0 = performance.now();
  cli(libA, ['import', input.dir]);
  const importMs = ms(t0);
  fs.rmSync(libA, { recursive: true, force: true });

  // @immich/cli upload, then until every upload's thumbnail exists (the server's stages).
  const libB = path.join(work, 'serve-lib');
  cli(libB, ['stats', '--no-storage']);
  const key = JSON.parse(cli(libB, ['--json', 'keys', 'create', '--name', 'bench'])).secret;
  const server = await serve(libB);
  const cfg = path.join(work, 'cli-config');
  const immichCli = (argv) => execFileSync(process.execPath, ['--import', path.join(ROOT, 'test/helpers/node20-iterator-helpers.mjs'), path.join(ROOT, 'node_modules/@immich/cli/dist/index.js'), '-d', cfg, ...argv], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: work }, maxBuffer: 64 << 20 });
  immichCli(['login', server.url, key]);
  t0 = performance.now();
  const out = immichCli(['upload', '--recursive', '--json-output', '--no-progress', input.dir]);
  const uploadedMs = ms(t0);
  const json = JSON.parse(out.slice(out.indexOf('{\n'), out.indexOf('\n}', out.indexOf('{\n')) + 2));
  for (const a of json.newAssets) {
    while ((await fetch(`${server.url}/api/assets/${a.id}/thumbnail`, { method: 'HEAD', headers: { 'x-api-key': key } })).status !== 200) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const uploadMs = ms(t0);
  await server.stop();
  fs.rmSync(libB, { recursive: true, force: true });
  return { files: FILES, mb: input.bytes / 1e6, importMs, uploadedMs, uploadMs, uploaded: json.newAssets.length, ratio: importMs / uploadMs };
}

const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' / ');
const loadBefore = load();
const big = await timelineAndThumbs();
// --skip-upload: part 1 only.
const up = args.includes('--skip-upload') || TIMELINE_ONLY ? undefined : await uploadVsImport();
const loadAfter = load();
fs.rmSync(work, { recursive: true, force: true });

const f = (x) => (typeof x === 'number' ? x.toFixed(1) : String(x));
const section = `
## serve (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)

Reproduce: \`npm run build && node bench/serve/run.mjs --assets ${ASSETS}${TIMELINE_ONLY ? ` --loads ${LOADS} --timeline-only` : ` --files ${FILES} --connections ${CONNECTIONS} --seconds ${SECONDS}${up ? '' : ' --skip-upload'}`} --append\`.
Machine: ${os.availableParallelism()} cores, Node ${process.version}, embedded database; load average before ${loadBefore}, after ${loadAfter}.

| what | figure |
|---|---|
| library | ${ASSETS} synthetic assets (seeded in ${f(big.seedMs / 1000)} s), ${big.months} months, newest month ${big.firstMonthAssets} assets |
| timeline first page (GET /api/timeline/buckets + newest /bucket), cold | ${f(big.coldMs)} ms |
| timeline first page, warm, ${LOADS} loads | p50 ${f(big.p50)} ms, p95 ${f(big.p95)} ms, p99 ${f(big.p99)} ms (target < 100 ms) |
| server CPU time per first page (utime + stime of \`immich serve\`) | ${f(big.cpuPerPage)} ms |
| baseline: GET /api/users/me (auth + one query), same run | p50 ${f(big.meP50)} ms (the page is 2 such requests: ${f(big.p50 / (2 * big.meP50))}x of 2 baselines) |
${big.thumbs ? `| baseline: GET /api/server/ping (no database), ${CONNECTIONS} connections | p50 ${big.ping.p50} ms, p99 ${big.ping.p99} ms, ${f(big.ping.rps)} req/s |
| thumbnails, random assets, ${CONNECTIONS} connections, ${SECONDS} s | p50 ${big.thumbs.p50} ms, p99 ${big.thumbs.p99} ms, ${f(big.thumbs.rps)} req/s (non-2xx ${big.thumbs.non2xx}, errors/timeouts ${big.thumbs.errors}); ${(big.thumbs.rps / big.ping.rps).toFixed(3)} of ping's req/s |
` : ''}
${up ? `| \`immich import\` of ${up.files} JPEGs (${f(up.mb)} MB), stages included | ${f(up.importMs / 1000)} s |
| @immich/cli 3.2.2 \`upload --recursive\` to \`immich serve\` (${up.uploaded} uploaded), until every thumbnail exists | ${f(up.uploadMs / 1000)} s (CLI itself done after ${f(up.uploadedMs / 1000)} s) |
| upload throughput vs import (import time / upload time) | **${up.ratio.toFixed(2)}** (target >= 0.7) |
` : ''}`;
process.stdout.write(section);
if (args.includes('--append')) fs.appendFileSync(path.join(ROOT, 'bench/RESULTS.md'), section);
