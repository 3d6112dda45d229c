// Search latency and HNSW recall at 10k / 100k synthetic CLIP embeddings (512-d, clustered like real
// photo libraries), on the embedded database (PGlite + pgvector) and on PostgreSQL (no pgvector here:
// the non-vector query path). Run after `npm run build`:
//   node bench/search/run.mjs [sizes=10000,100000] [queries=50] [backends=embedded,pg]
// (at 100k the embedded HNSW build alone takes ~15 min here; `… 100000 30 pg` measures PostgreSQL only)
// Prints a Markdown section for bench/RESULTS.md. Search quality (OCR keyword recall and CER on the corpus,
// on clean renders and on photo-like scene text) is bench/search/ocr-quality.mjs.
import { execFileSync, spawnSync } from 'node:child_process';
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
const { search } = await import(path.join(ROOT, 'dist/services/search.js'));

const SIZES = (process.argv[2] ?? '10000,100000').split(',').map(Number);
const QUERIES = Number(process.argv[3] ?? 50);
const BACKENDS = new Set((process.argv[4] ?? 'embedded,pg').split(','));
const DIM = 512;
const MODEL = 'ViT-B-32__openai';

// Deterministic PRNG + normal variates.
let seed = 12345;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const normalise = (v) => {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
};
/** Library-like embeddings: 1 cluster per ~100 photos, spread 0.35 around each centre. */
function makeEmbeddings(n) {
  const centres = Array.from({ length: Math.max(10, Math.round(n / 100)) }, () => normalise(Array.from({ length: DIM }, gauss)));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(rand() * centres.length)];
    return Float32Array.from(normalise(c.map((x) => x + (0.35 / Math.sqrt(DIM)) * gauss() * 3)));
  });
}
const vec = (v) => '[' + Array.from(v, (x) => x.toFixed(6)).join(',') + ']';
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => `${x.toFixed(1)} ms`;

async function fill(ctx, n, withVectors) {
  const places = [['Paris', 'Île-de-France', 'France', 48.8566, 2.3522], ['Rome', 'Lazio', 'Italy', 41.89, 12.49], ['Helsinki', 'Uusimaa', 'Finland', 60.17, 24.94]];
  const words = ['parking', 'menu', 'beer', 'station', 'exit', 'sale', 'open', 'cafe', 'museum', 'street'];
  const tags = ['dog', 'cat', 'person', 'car', 'bicycle', 'horse', 'bird', 'cup', 'boat', 'chair'];
  await ctx.db.insertInto('tags').values(tags.map((name) => ({ name }))).onConflict((oc) => oc.column('name').doNothing()).execute();
  const tagIds = (await ctx.db.selectFrom('tags').select(['id', 'name']).execute()).filter((t) => tags.includes(t.name));
  const emb = withVectors ? makeEmbeddings(n) : [];
  const B = 1000;
  for (let i = 0; i < n; i += B) {
    const rows = [];
    for (let j = i; j < Math.min(n, i + B); j++) {
      rows.push({
        checksum: j.toString(16).padStart(40, '0'),
        original_path: `/photos/${j}.jpg`, original_name: `IMG_${j}.jpg`, library_path: `uploads/${j}.jpg`,
        storage_mode: 'copy', type: j % 20 === 0 ? 'video' : 'image', mime_type: 'image/jpeg', file_size: 100000,
        file_mtime: new Date(Date.UTC(2015, 0, 1) + j * 3600_000), taken_at: new Date(Date.UTC(2015, 0, 1) + j * 3600_000),
        local_taken_at: null, time_zone: null, width: 4000, height: 3000, thumbhash: null, live_photo_video_id: null,
      });
    }
    const ids = await ctx.db.insertInto('assets').values(rows).returning('id').execute();
    await ctx.db.insertInto('exif').values(ids.map(({ id }, k) => {
      const p = places[(i + k) % 3];
      return { asset_id: id, make: (i + k) % 2 ? 'Canon' : 'NIKON', model: (i + k) % 2 ? 'Canon EOS 7D' : 'D70', latitude: p[3] + rand() * 0.05, longitude: p[4] + rand() * 0.05, city: p[0], state: p[1], country: p[2] };
    })).execute();
    // Already geocoded (the synthetic places are set above): nothing pending for the first search.
    await ctx.db.insertInto('asset_geocode').values(ids.map(({ id }) => ({ asset_id: id, place_id: null, distance_km: null }))).execute();
    await ctx.db.updateTable('exif').set({ geocode_pending: false }).where('asset_id', 'in', ids.map(({ id }) => id)).execute();
    await ctx.db.insertInto('asset_tags').values(ids.map(({ id }, k) => ({ asset_id: id, tag_id: tagIds[(i + k) % tagIds.length].id, source: 'objects', score: 0.5 + rand() / 2, count: 1, box: null }))).execute();
    const ocr = ids.filter((_, k) => (i + k) % 10 === 0);
    if (ocr.length) await ctx.db.insertInto('asset_ocr').values(ocr.map(({ id }, k) => ({ asset_id: id, engine: 'paddle', text: `${words[k % 10]} ${words[(k * 7) % 10]} ${k}`, confidence: 0.9 }))).execute();
    if (withVectors) {
      const values = ids.map(({ id }, k) => sql`(${id}::uuid, ${MODEL}, ${vec(emb[i + k])}::vector)`);
      await sql`insert into smart_search (asset_id, model, embedding) values ${sql.join(values)}`.execute(ctx.db);
    }
  }
  return emb;
}

async function timeQueries(fn, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return { p50: pct(times, 50), p95: pct(times, 95) };
}

function cli(args, env, n = 5) {
  const times = [];
  let out = '';
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/immich'), ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...env }, encoding: 'utf8' });
    times.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`immich ${args.join(' ')} failed: ${r.stderr}`);
    out = r.stdout;
  }
  return { p50: pct(times, 50), min: Math.min(...times), out };
}

function bareOpen(dbDir, n = 5, flags = []) {
  const script = `
    const t0 = performance.now();
    const { PGlite } = await import('@electric-sql/pglite');
    const { vector } = await import('@electric-sql/pglite-pgvector');
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
    const { unaccent } = await import('@electric-sql/pglite/contrib/unaccent');
    const db = await PGlite.create(${JSON.stringify(dbDir)}, { extensions: { vector, pg_trgm, unaccent } });
    await db.query('select id from assets limit 10');
    await db.close();`;
  const file = path.join(ROOT, 'bench/out/bare-open.mjs');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, script);
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    execFileSync(process.execPath, [...flags, file]);
    times.push(performance.now() - t);
  }
  return { p50: pct(times, 50), min: Math.min(...times) };
}

const lines = [];
const log = (s) => {
  lines.push(s);
  process.stderr.write(s + '\n');
};
log(`machine: ${os.cpus().length} cores (nproc ${execFileSync('nproc').toString().trim()}), node ${process.version}; load at start: ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}`);

for (const n of SIZES) {
  if (BACKENDS.has('embedded')) await benchEmbedded(n);
  if (BACKENDS.has('pg')) await benchPostgres(n);
}

async function benchEmbedded(n) {
  // ---- embedded (PGlite + pgvector)
  const lib = fs.mkdtempSync(path.join(os.tmpdir(), `immich-bench-search-${n}-`));
  // A CLIP model must be "installed" for the vector path: the generated test pair stands in (the
  // bench stores 512-d embeddings under its name and queries by --similar, which needs no encoding).
  const clipDir = path.join(lib, 'models/clip', MODEL);
  for (const part of ['visual', 'textual']) {
    fs.mkdirSync(path.join(clipDir, part), { recursive: true });
    fs.writeFileSync(path.join(clipDir, part, 'model.onnx'), '');
  }
  const config = loadConfig({ env: { UPLOAD_LOCATION: lib }, cwd: lib });
  let ctx = await createContext(config, new Logger('error', []), { command: 'bench' });
  await sql`drop index smart_search_embedding_idx`.execute(ctx.db);
  let t = performance.now();
  const emb = await fill(ctx, n, true);
  const fillS = (performance.now() - t) / 1000;
  // pgvector builds the graph in maintenance_work_mem and falls back to a far slower on-disk build
  // when it does not fit (64 MB by default: ~20k 512-d vectors at ~3 KB each); give it 4 KB a row.
  const mwm = `${Math.max(64, Math.ceil((n * 4) / 1024))}MB`;
  await sql.raw(`set maintenance_work_mem = '${mwm}'`).execute(ctx.db);
  t = performance.now();
  await sql`create index smart_search_embedding_idx on smart_search using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 200)`.execute(ctx.db);
  const indexS = (performance.now() - t) / 1000;
  await sql`analyze`.execute(ctx.db);
  const ids = (await ctx.db.selectFrom('smart_search').select('asset_id').execute()).map((r) => r.asset_id);
  // queries: perturbed library vectors (like "more like this" and text queries near a cluster)
  const queries = Array.from({ length: QUERIES }, () => {
    const base = emb[Math.floor(rand() * emb.length)];
    return Float32Array.from(normalise(Array.from(base, (x) => x + 0.02 * gauss())));
  });
  const knn = async (q, k = 10) =>
    ctx.db.transaction().execute(async (trx) => {
      await sql`set local hnsw.ef_search = 40`.execute(trx);
      await sql`select set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(trx);
      return (await sql`select asset_id from smart_search where model = ${MODEL} order by embedding <=> ${vec(q)}::vector limit ${k}`.execute(trx)).rows.map((r) => r.asset_id);
    });
  const qt = await timeQueries((i) => knn(queries[i]), QUERIES);
  // recall@10 against an exact scan (in JS over the same vectors)
  let recall = 0;
  for (const q of queries) {
    const exact = emb.map((e, i) => [i, e.reduce((s, x, d) => s + x * q[d], 0)]).sort((a, b) => b[1] - a[1]).slice(0, 10).map(([i]) => ids[i]);
    const got = new Set(await knn(q));
    recall += exact.filter((id) => got.has(id)).length / 10;
  }
  recall /= queries.length;
  // The service's full query (filters + hydrate), e.g. --similar with a camera filter.
  const st = await timeQueries((i) => search(ctx, { similar: ids[i], make: 'canon', limit: 10 }), 20);
  const target = ids[0];
  await ctx.close();
  const e2e = cli(['--json', 'search', '--similar', target, '--limit', '10'], { UPLOAD_LOCATION: lib });
  const e2eText = cli(['--json', 'search', '--place', 'Paris', '--limit', '10'], { UPLOAD_LOCATION: lib });
  const bare = bareOpen(path.join(lib, 'database'));
  // The same with V8's baseline WebAssembly compiler only, as `immich search` runs PGlite.
  const bareL = bareOpen(path.join(lib, 'database'), 5, ['--liftoff-only']);
  log(`\nembedded n=${n}: fill ${fillS.toFixed(0)} s, HNSW build ${indexS.toFixed(1)} s (maintenance_work_mem ${mwm})`);
  log(`| embedded, ${n} | kNN query alone (k=10, ef_search 40) | p50 ${ms(qt.p50)}, p95 ${ms(qt.p95)} |`);
  log(`| embedded, ${n} | recall@10 vs exact scan | ${recall.toFixed(3)} |`);
  log(`| embedded, ${n} | search service: --similar + --make filter + hydrate | p50 ${ms(st.p50)}, p95 ${ms(st.p95)} |`);
  log(`| embedded, ${n} | \`immich search --similar <id>\` process start → output | p50 ${ms(e2e.p50)} (min ${ms(e2e.min)}) |`);
  log(`| embedded, ${n} | \`immich search --place Paris\` process start → output | p50 ${ms(e2eText.p50)} (min ${ms(e2eText.min)}) |`);
  log(`| embedded, ${n} | baseline: bare PGlite open + one query (node process) | p50 ${ms(bare.p50)} (min ${ms(bare.min)}) |`);
  log(`| embedded, ${n} | baseline with \`node --liftoff-only\` (as \`immich search\` runs PGlite) | p50 ${ms(bareL.p50)} (min ${ms(bareL.min)}) |`);
  log(`| embedded, ${n} | command minus baseline (--similar / --place) | ${ms(e2e.p50 - bare.p50)} / ${ms(e2eText.p50 - bare.p50)} |`);
  log(`| embedded, ${n} | command minus --liftoff-only baseline (--similar / --place) | ${ms(e2e.p50 - bareL.p50)} / ${ms(e2eText.p50 - bareL.p50)} |`);
  fs.rmSync(lib, { recursive: true, force: true });
}

async function benchPostgres(n) {
  // ---- PostgreSQL (no pgvector on this machine's server: the non-vector path)
  const dbName = `immich_bench_search_${process.pid}_${n}`;
  const admin = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const plib = fs.mkdtempSync(path.join(os.tmpdir(), `immich-bench-search-pg-`));
  const penv = { UPLOAD_LOCATION: plib, DB_HOSTNAME: '127.0.0.1', DB_USERNAME: 'postgres', DB_DATABASE_NAME: dbName };
  const ctx = await createContext(loadConfig({ env: penv, cwd: plib }), new Logger('error', []), { command: 'bench' });
  await fill(ctx, n, ctx.database.hasVector);
  await sql`analyze`.execute(ctx.db);
  const pq = await timeQueries(() => search(ctx, { query: 'dog in paris', limit: 10 }), 20);
  const pf = await timeQueries(() => search(ctx, { place: 'Rome', camera: 'canon', after: new Date('2020-01-01'), limit: 10 }), 20);
  const po = await timeQueries(() => search(ctx, { text: 'parking', limit: 10 }), 20);
  await ctx.close();
  const pe = cli(['--json', 'search', 'dog', 'in', 'paris', '--limit', '10'], penv);
  log(`| PostgreSQL 15 (no pgvector), ${n} | free text "dog in paris" (tags + places + OCR + names), service | p50 ${ms(pq.p50)}, p95 ${ms(pq.p95)} |`);
  log(`| PostgreSQL 15 (no pgvector), ${n} | --place Rome --camera canon --after 2020, service | p50 ${ms(pf.p50)}, p95 ${ms(pf.p95)} |`);
  log(`| PostgreSQL 15 (no pgvector), ${n} | --text parking (trigram), service | p50 ${ms(po.p50)}, p95 ${ms(po.p95)} |`);
  log(`| PostgreSQL 15 (no pgvector), ${n} | \`immich search dog in paris\` process start → output | p50 ${ms(pe.p50)} (min ${ms(pe.min)}) |`);
  const c = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
  await c.connect();
  await c.query(`drop database ${dbName} with (force)`);
  await c.end();
  fs.rmSync(plib, { recursive: true, force: true });
}
log(`\nload at end: ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}`);
process.stdout.write(lines.join('\n') + '\n');
