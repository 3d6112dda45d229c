#!/usr/bin/env node
// bench/scale: whole-command time and peak RSS of interactive and maintenance commands on a large
// library seeded by bench/scale/seed.mjs, plus kNN latency and recall@10 against an exact scan.
// Each command is the real bin/immich (node start-up included), run `--rounds` times; the median
// counts. Peak RSS is GNU time's maximum resident set size of the command's process.
//
//   node bench/scale/seed.mjs --assets 1000000           # once (PostgreSQL), then:
//   node bench/scale/run.mjs --assets 1000000 [--rounds 3] [--only search,knn] [--slow]
//   node bench/scale/run.mjs --assets 100000 --embedded /tmp/immich-scale-emb
//   node bench/scale/run.mjs --assets 1000000 --only knn --ef 40,100,200   # recall/latency per hnsw.ef_search
//
// --slow adds the long ones: faces recluster, duplicates, backup (PostgreSQL: its database part, the
// same pg_dump | gzip the backup runs), index enqueueing every asset into Redis (PostgreSQL; the
// jobs are removed again), and the import of --import-photos (1000) new generated photos into this
// library against the same import into an empty one (media stages; the imported assets are deleted
// again afterwards, so the library stays as seeded). Prints a Markdown section for bench/RESULTS.md.
import { execSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import sharp from 'sharp';
import { ROOT, BIN, args, opt, cleanEnv } from './cli.mjs';

const N = Number(opt('assets', '100000'));
const ROUNDS = Number(opt('rounds', '3'));
const embedded = opt('embedded');
const only = opt('only') ? new Set(opt('only').split(',')) : undefined;
const slow = args.includes('--slow');
const IMPORT_PHOTOS = Number(opt('import-photos', '1000'));
const library = path.resolve(opt('library', embedded ?? `/tmp/immich-scale-${N}`));
const dbName = opt('db', `immich_scale_${N}`);
const env = {
  ...cleanEnv,
  UPLOAD_LOCATION: library,
  IMMICH_MODELS_DIR: path.join(library, 'models'),
  // no network here: a free-text search of the seeded embeddings would try to fetch their CLIP model
  IMMICH_MODELS_AUTO_DOWNLOAD: '0',
  ...(embedded ? {} : { DB_HOSTNAME: '127.0.0.1', DB_PORT: '5432', DB_USERNAME: 'postgres', DB_DATABASE_NAME: dbName }),
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** One command: median wall time over the rounds, max peak RSS, exit code of the last run. */
function run(label, argv, { rounds = ROUNDS, target, env: runEnv = env } = {}) {
  const times = [];
  let rss = 0;
  let code = 0;
  let out = '';
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    const p = spawnSync('/usr/bin/time', ['-f', '%M', BIN, ...argv], { env: runEnv, encoding: 'utf8', maxBuffer: 1 << 28 });
    times.push(performance.now() - t);
    const lines = p.stderr.trim().split('\n');
    rss = Math.max(rss, Number(lines.at(-1)) / 1024);
    code = p.status;
    out = p.stdout;
    if (code !== 0 && code !== 1) {
      process.stderr.write(`${label}: exit ${code}: ${lines.slice(-4, -1).join(' | ')}\n`);
      break;
    }
  }
  const row = { label, command: `immich ${argv.join(' ')}`, ms: median(times), rss, code, target, load: os.loadavg()[0] };
  process.stderr.write(`${label}: ${row.ms.toFixed(0)} ms, ${rss.toFixed(0)} MB, exit ${code}\n`);
  rows.push(row);
  return out;
}

const rows = [];
const imports = {};
const want = (k) => !only || only.has(k);

const client = embedded ? undefined : new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: dbName });
await client?.connect();
const someAsset = client
  ? (await client.query(`select id from assets order by checksum limit 1 offset ${Math.min(12345, Math.floor(N / 2))}`)).rows[0].id
  : JSON.parse(spawnSync(BIN, ['--json', 'search', '--camera', 'nikon d750', '--limit', '1'], { env, encoding: 'utf8' }).stdout || '[]')[0]?.id;
const somePerson = client ? (await client.query(`select name from people where name <> '' order by name limit 1`)).rows[0].name : 'Person 4';

// The floor every whole-command figure stands on: node start-up and module loading (no database).
if (want('baseline')) run('baseline: start-up only', ['--version']);
if (want('search')) {
  run('search: camera', ['--json', 'search', '--camera', 'nikon d750'], { target: 300 });
  run('search: date range', ['--json', 'search', '--after', '2012-03', '--before', '2012-05'], { target: 300 });
  run('search: place', ['--json', 'search', '--place', 'Lisbon'], { target: 300 });
  run('search: near', ['--json', 'search', '--near', '60.17,24.94,5'], { target: 300 });
  run('search: tag', ['--json', 'search', '--tag', 'bicycle'], { target: 300 });
  run('search: OCR text', ['--json', 'search', '--text', 'pharmacy'], { target: 300 });
  run('search: person', ['--json', 'search', '--person', somePerson], { target: 300 });
  run('search: free text (no CLIP model)', ['--json', 'search', 'bakery lisbon'], { target: 300 });
  run('search: type video', ['--json', 'search', '--type', 'video'], { target: 300 });
}
if (want('similar') && someAsset) {
  // --similar of a stored asset queries with its stored embedding and loads no model; it only needs
  // the CLIP model to be installed (else it compares perceptual hashes, hashing every preview first).
  // The real ViT-B-32 weights are not on this machine: an empty stand-in file marks it installed.
  const models = path.join(library, 'bench-clip-models');
  const visual = path.join(models, 'clip/ViT-B-32__openai/visual/model.onnx');
  fs.mkdirSync(path.dirname(visual), { recursive: true });
  fs.writeFileSync(visual, '');
  const clipEnv = { ...env, IMMICH_MODELS_DIR: models };
  run('search: CLIP kNN (--similar)', ['--json', 'search', '--similar', someAsset], { target: 300, env: clipEnv });
  run('search: CLIP kNN + filters', ['--json', 'search', '--similar', someAsset, '--after', '2010', '--camera', 'iphone'], { target: 300, env: clipEnv });
}
if (want('people')) run('faces people', ['--json', 'faces', 'people'], { target: 300 });
if (want('album')) run('album show', ['--json', 'album', 'show', 'Album 7'], { target: 300 });
if (want('info') && someAsset) run('info (one asset)', ['--json', 'info', someAsset], { target: 300 });
if (want('stats')) run('stats', ['--json', 'stats'], { target: 300 });
if (want('jobs')) run('jobs', ['--json', 'jobs'], { target: 300 });
if (want('verify')) run('verify --sample 1%', ['--json', 'verify', '--sample', '1%', '--no-models'], { rounds: 1 });
if (want('index')) run('index --missing (nothing to do)', ['--json', 'index', '--missing', '--no-sync'], { rounds: 1 });

// kNN latency and recall@10 in SQL against an exact scan, for 50 stored vectors: plain, at each
// hnsw.ef_search of --ef (default: pgvector's 40 and what search.ts sets for 10 rows), and filtered
// (a selective filter, ~0.5%: videos from one camera make), with the iterative scan search.ts turns
// on and without it, to show what a post-filter loses.
const knn = { rows: [] };
if (client && want('knn')) {
  const { knnEfSearch } = await import(path.join(ROOT, 'dist/services/search.js'));
  const efs = (opt('ef') ?? `40,${knnEfSearch(10)}`).split(',').map(Number);
  const qs = (await client.query(`select embedding::text as e from smart_search order by asset_id limit 50 offset 1000`)).rows.map((r) => r.e);
  const plain = `select s.asset_id from smart_search s order by s.embedding <=> $1::vector limit 10`;
  const filtered = `select s.asset_id from smart_search s join assets a on a.id = s.asset_id left join exif e on e.asset_id = a.id
    where a.type = 'video' and immich_camera(e.make, e.model) like '%nikon%' order by s.embedding <=> $1::vector limit 10`;
  const measure = async (label, query, settings, exact) => {
    const lat = [];
    let recall = 0;
    let returned = 0;
    for (const [k, q] of qs.entries()) {
      await client.query('begin');
      for (const s of settings) await client.query(s);
      const t = performance.now();
      const approx = (await client.query(query, [q])).rows.map((r) => r.asset_id);
      lat.push(performance.now() - t);
      await client.query('commit');
      returned += approx.length;
      recall += approx.filter((a) => exact[k].includes(a)).length / Math.max(1, exact[k].length);
    }
    const row = { label, p50: pct(lat, 50), p95: pct(lat, 95), recall: recall / qs.length, returned: returned / qs.length };
    process.stderr.write(`kNN ${label}: p50 ${row.p50.toFixed(1)} ms, p95 ${row.p95.toFixed(1)} ms, recall@10 ${row.recall.toFixed(3)}, ${row.returned.toFixed(1)} rows\n`);
    knn.rows.push(row);
  };
  const exactOf = async (query) => {
    const out = [];
    for (const q of qs) {
      await client.query('begin');
      await client.query('set local enable_indexscan = off');
      out.push((await client.query(query, [q])).rows.map((r) => r.asset_id));
      await client.query('commit');
    }
    return out;
  };
  const exactPlain = await exactOf(plain);
  for (const ef of efs) await measure(`ef_search ${ef}`, plain, [`set local hnsw.ef_search = ${ef}`], exactPlain);
  const exactFiltered = await exactOf(filtered);
  const ef = knnEfSearch(10);
  await measure(`filtered (~0.5%), ef_search ${ef}, no iterative scan`, filtered, [`set local hnsw.ef_search = ${ef}`], exactFiltered);
  await measure(`filtered (~0.5%), ef_search ${ef}, iterative_scan relaxed_order (search.ts)`, filtered, [`set local hnsw.ef_search = ${ef}`, `set local hnsw.iterative_scan = relaxed_order`], exactFiltered);
}

/** A shell pipeline under GNU time (peak RSS of the largest process in it is not summed). */
function runShell(label, command, { target } = {}) {
  const t = performance.now();
  const p = spawnSync('/bin/sh', ['-c', command], { env: { ...cleanEnv, PGHOST: '127.0.0.1', PGUSER: 'postgres', PGDATABASE: dbName }, encoding: 'utf8' });
  const ms = performance.now() - t;
  process.stderr.write(`${label}: ${ms.toFixed(0)} ms, exit ${p.status} ${p.stderr.trim().slice(-300)}\n`);
  rows.push({ label, command, ms, rss: 0, code: p.status, target, load: os.loadavg()[0] });
}

/** Generated photos for the import comparison: distinct 1600x1200 JPEGs with camera and date. */
async function importPhotos(n) {
  const dir = path.join(os.tmpdir(), `immich-scale-import-${n}`);
  fs.mkdirSync(dir, { recursive: true });
  for (let i = fs.readdirSync(dir).length; i < n; i++) {
    const stamp = new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString().slice(0, 19).replace('T', ' ').replace(/-/g, ':');
    await sharp({ create: { width: 1600, height: 1200, channels: 3, noise: { type: 'gaussian', mean: 40 + (i % 170), sigma: 30 } } })
      .withExif({ IFD0: { Make: 'FUJIFILM', Model: 'X-T5', DateTime: stamp }, IFD2: { DateTimeOriginal: stamp } })
      .jpeg({ quality: 80 })
      .toFile(path.join(dir, `IMPORT_${String(i).padStart(5, '0')}.jpg`));
  }
  return dir;
}

/**
 * Empty stand-ins for model files the command only needs to find installed (recluster and duplicates
 * compare stored embeddings; --similar queries with a stored one): the weights are not on this machine.
 */
function standInModels(parts) {
  const models = path.join(library, 'bench-models');
  for (const part of parts) {
    const file = path.join(models, part, 'model.onnx');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (!fs.existsSync(file)) fs.writeFileSync(file, '');
  }
  return { ...env, IMMICH_MODELS_DIR: models };
}

if (slow) {
  const faceModels = ['detection', 'recognition'].map((p) => `facial-recognition/scrfd_2.5g-mobilefacenet/${p}`);
  if (want('recluster')) run('faces recluster', ['--json', 'faces', 'recluster'], { rounds: 1, target: 600_000, env: standInModels(faceModels) });
  // with the CLIP model installed (else it hashes every preview for the perceptual-hash method)
  if (want('duplicates')) run('duplicates (CLIP)', ['--json', 'duplicates'], { rounds: 1, target: 300_000, env: standInModels(['clip/ViT-B-32__openai/visual']) });
  if (want('backup')) {
    if (client) runShell('backup, database part (pg_dump | gzip as the backup runs it)', 'pg_dump --no-owner --no-privileges --format=plain --inserts --rows-per-insert=500 | gzip -6 | wc -c');
    else run('backup (whole command; the seeded originals are shared files)', ['--json', 'backup', path.join(os.tmpdir(), `immich-scale-repo-${N}`)], { rounds: 1 });
  }
  if (client && want('enqueue')) {
    // Every asset's OCR stage into Redis (no worker runs them), then the jobs are removed.
    const prefix = `scale-enqueue-${process.pid}`;
    const redisEnv = { ...env, REDIS_HOSTNAME: '127.0.0.1', REDIS_PORT: '6379', IMMICH_REDIS_PREFIX: prefix };
    run(`index --force --jobs ocr --no-wait (enqueue ${N.toLocaleString('en')} into Redis)`, ['--json', 'index', '--force', '--jobs', 'ocr', '--no-wait', '--no-sync'], { rounds: 1, env: redisEnv });
    execSync(`redis-cli --scan --pattern '${prefix}:*' | xargs -r -n 1000 redis-cli del > /dev/null`);
  }
  if (want('import')) {
    const dir = await importPhotos(IMPORT_PHOTOS);
    const emptyLib = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-scale-empty-'));
    const emptyDb = `${dbName}_empty_${process.pid}`;
    const emptyEnv = { ...env, UPLOAD_LOCATION: emptyLib, ...(client ? { DB_DATABASE_NAME: emptyDb } : {}) };
    const forget = async () => {
      // the imported assets out of the big library again (rows cascade; files under uploads/2026)
      if (client) await client.query(`delete from assets where original_path like $1`, [`${dir}/%`]);
      else spawnSync(BIN, ['rm', '--path', `${dir}/*`], { env: { ...env, IMMICH_TRASH_DAYS: '0' }, encoding: 'utf8' });
      fs.rmSync(path.join(library, 'uploads/2026'), { recursive: true, force: true });
    };
    await forget();
    const before = rows.length;
    for (let r = 0; r < Number(opt('import-rounds', '1')); r++) {
      if (client) await client.query(`create database ${emptyDb}`);
      run(`import ${IMPORT_PHOTOS} photos into an empty library`, ['--json', 'import', dir, '--skip-ml'], { rounds: 1, env: emptyEnv });
      if (client) await client.query(`drop database ${emptyDb}`);
      fs.rmSync(emptyLib, { recursive: true, force: true });
      run(`import ${IMPORT_PHOTOS} photos into this library`, ['--json', 'import', dir, '--skip-ml'], { rounds: 1 });
      await forget();
    }
    const best = (re) => Math.min(...rows.slice(before).filter((x) => re.test(x.label)).map((x) => x.ms));
    imports.ratio = best(/empty/) / best(/this library/);
    process.stderr.write(`import speed into ${N} vs empty: ${imports.ratio.toFixed(3)}\n`);
  }
}
await client?.end();

const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
const backend = embedded ? 'embedded (PGlite)' : 'PostgreSQL 15 + pgvector 0.8.0';
console.log(`## scale: ${N.toLocaleString('en')} assets on ${backend} (${when} UTC)\n`);
console.log(`\`node bench/scale/run.mjs --assets ${N}${embedded ? ` --embedded ${embedded}` : ''}${slow ? ' --slow' : ''}\`, median of ${ROUNDS}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}\n`);
console.log('| command | whole command | target | peak RSS | exit | load |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const t = r.ms >= 10_000 ? `${(r.ms / 1000).toFixed(1)} s` : `${r.ms.toFixed(0)} ms`;
  const target = r.target ? (r.target >= 10_000 ? `< ${r.target / 1000} s` : `< ${r.target} ms`) : '';
  console.log(`| ${r.label}: \`${r.command.replace(/\|/g, '\\|')}\` | ${t} | ${target} | ${r.rss ? `${r.rss.toFixed(0)} MB` : ''} | ${r.code} | ${r.load.toFixed(1)} |`);
}
if (imports.ratio !== undefined) console.log(`\nImport of ${IMPORT_PHOTOS} new photos: speed into this library / into an empty one = ${imports.ratio.toFixed(3)} (target ≥ 0.95).`);
if (knn.rows.length) {
  console.log('\n| CLIP kNN in SQL, top 10 (50 stored vectors as queries) | p50 | p95 | recall@10 vs exact | rows returned |');
  console.log('|---|---|---|---|---|');
  for (const r of knn.rows) console.log(`| ${r.label} | ${r.p50.toFixed(1)} ms | ${r.p95.toFixed(1)} ms | ${r.recall.toFixed(3)} | ${r.returned.toFixed(1)} |`);
  console.log('\nTargets: p50 < 20 ms, recall@10 >= 0.95 at 1M.');
}
