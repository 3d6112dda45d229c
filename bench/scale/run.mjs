#!/usr/bin/env node
// bench/scale: whole-command time and peak RSS of interactive and maintenance commands on a large
// library seeded by bench/scale/seed.mjs, plus kNN latency and recall@10 against an exact scan.
// Each command is the real bin/immich (node start-up included), run `--rounds` times; the median
// counts. Peak RSS is GNU time's maximum resident set size of the command's process.
//
//   node bench/scale/seed.mjs --assets 1000000           # once (PostgreSQL), then:
//   node bench/scale/run.mjs --assets 1000000 [--rounds 3] [--only search,knn] [--slow]
//   node bench/scale/run.mjs --assets 100000 --embedded /tmp/immich-scale-emb
//
// --slow adds the long ones (index --force enqueue, faces recluster, duplicates, backup, import 1k).
// Prints a Markdown section for bench/RESULTS.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/immich');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const N = Number(opt('assets', '100000'));
const ROUNDS = Number(opt('rounds', '3'));
const embedded = opt('embedded');
const only = opt('only') ? new Set(opt('only').split(',')) : undefined;
const slow = args.includes('--slow');
const library = path.resolve(opt('library', embedded ?? `/tmp/immich-scale-${N}`));
const dbName = opt('db', `immich_scale_${N}`);
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k))),
  UPLOAD_LOCATION: library,
  IMMICH_MODELS_DIR: path.join(library, 'models'),
  ...(embedded ? {} : { DB_HOSTNAME: '127.0.0.1', DB_PORT: '5432', DB_USERNAME: 'postgres', DB_DATABASE_NAME: dbName }),
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** One command: median wall time over the rounds, max peak RSS, exit code of the last run. */
function run(label, argv, { rounds = ROUNDS, target } = {}) {
  const times = [];
  let rss = 0;
  let code = 0;
  let out = '';
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    const p = spawnSync('/usr/bin/time', ['-f', '%M', BIN, ...argv], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
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
  const row = { label, command: `immich ${argv.join(' ')}`, ms: median(times), rss, code, target };
  process.stderr.write(`${label}: ${row.ms.toFixed(0)} ms, ${rss.toFixed(0)} MB, exit ${code}\n`);
  rows.push(row);
  return out;
}

const rows = [];
const want = (k) => !only || only.has(k);

const client = embedded ? undefined : new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: dbName });
await client?.connect();
const someAsset = client ? (await client.query(`select id from assets order by checksum limit 1 offset 12345`)).rows[0].id : undefined;
const somePerson = client ? (await client.query(`select name from people where name <> '' order by name limit 1`)).rows[0].name : 'Person 4';

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
  if (someAsset) {
    run('search: CLIP kNN (--similar)', ['--json', 'search', '--similar', someAsset], { target: 300 });
    run('search: CLIP kNN + filters', ['--json', 'search', '--similar', someAsset, '--after', '2010', '--camera', 'iphone'], { target: 300 });
  }
}
if (want('people')) run('faces people', ['--json', 'faces', 'people'], { target: 300 });
if (want('stats')) run('stats', ['--json', 'stats'], { target: 300 });
if (want('jobs')) run('jobs', ['--json', 'jobs'], { target: 300 });
if (want('verify')) run('verify --sample 1%', ['--json', 'verify', '--sample', '1%', '--no-models'], { rounds: 1 });
if (want('index')) run('index --missing (nothing to do)', ['--json', 'index', '--missing', '--no-sync'], { rounds: 1 });

// kNN latency and recall@10 in SQL: the HNSW index against an exact scan, for 50 stored vectors.
const knn = {};
if (client && want('knn')) {
  const qs = (await client.query(`select embedding::text as e from smart_search order by asset_id limit 50 offset 1000`)).rows.map((r) => r.e);
  const lat = [];
  let recall = 0;
  for (const q of qs) {
    await client.query('begin');
    const t = performance.now();
    const approx = (await client.query(`select asset_id from smart_search order by embedding <=> $1::vector limit 10`, [q])).rows.map((r) => r.asset_id);
    lat.push(performance.now() - t);
    await client.query('set local enable_indexscan = off');
    const exact = (await client.query(`select asset_id from smart_search order by embedding <=> $1::vector limit 10`, [q])).rows.map((r) => r.asset_id);
    await client.query('commit');
    recall += approx.filter((a) => exact.includes(a)).length / 10;
  }
  knn.p50 = pct(lat, 50);
  knn.p95 = pct(lat, 95);
  knn.recall = recall / qs.length;
  process.stderr.write(`kNN: p50 ${knn.p50.toFixed(1)} ms, p95 ${knn.p95.toFixed(1)} ms, recall@10 ${knn.recall.toFixed(3)}\n`);
}

if (slow) {
  run('faces recluster', ['--json', 'faces', 'recluster'], { rounds: 1, target: 600_000 });
  run('duplicates (CLIP)', ['--json', 'duplicates'], { rounds: 1, target: 300_000 });
  run('backup (database dump part)', ['--json', 'backup', path.join(os.tmpdir(), `immich-scale-repo-${N}`)], { rounds: 1 });
}
await client?.end();

const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
const backend = embedded ? 'embedded (PGlite)' : 'PostgreSQL 15 + pgvector 0.8.0';
console.log(`## scale: ${N.toLocaleString('en')} assets on ${backend} (${when} UTC)\n`);
console.log(`\`node bench/scale/run.mjs --assets ${N}${embedded ? ` --embedded ${embedded}` : ''}${slow ? ' --slow' : ''}\`, median of ${ROUNDS}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}\n`);
console.log('| command | whole command | target | peak RSS | exit |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  const t = r.ms >= 10_000 ? `${(r.ms / 1000).toFixed(1)} s` : `${r.ms.toFixed(0)} ms`;
  const target = r.target ? (r.target >= 10_000 ? `< ${r.target / 1000} s` : `< ${r.target} ms`) : '';
  console.log(`| \`${r.command.replace(/\|/g, '\\|')}\` | ${t} | ${target} | ${r.rss.toFixed(0)} MB | ${r.code} |`);
}
if (knn.p50 !== undefined) console.log(`\nCLIP kNN in SQL (HNSW, top 10 of 50 stored vectors): p50 ${knn.p50.toFixed(1)} ms, p95 ${knn.p95.toFixed(1)} ms (target p50 < 20 ms); recall@10 against an exact scan ${knn.recall.toFixed(3)} (target ≥ 0.95).`);
