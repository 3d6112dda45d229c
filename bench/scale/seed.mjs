#!/usr/bin/env node
// Write a realistic synthetic library straight into a database, for bench/scale: N assets with exif
// (cameras, dates over 20 years, GPS around real cities with their names), object tags, OCR text,
// 512-d CLIP embeddings that behave like real ones (topics, events, bursts, per-photo noise: see below), faces (0.3 per
// asset) with 128-d embeddings clustered by person (N/500 people), albums, favorites, archive, and
// thumbnail/preview rows pointing at a few real shared files. Everything is generated inside the
// server (generate_series), so 1M rows cost no client round trips; the vector indexes are dropped
// for the load and rebuilt once at the end (a build is far cheaper than 1M index inserts).
//
//   node bench/scale/seed.mjs --assets 1000000 [--db <name>] [--embedded <library>] [--clip-dims 48]
//   node bench/scale/seed.mjs --assets 1000000 --only-clip --clip-dims 0   # re-generate the CLIP vectors only
//
// PostgreSQL: DB_* as for immich (default 127.0.0.1:5432 postgres, database immich_scale_<N>).
// --embedded <library>: the library's PGlite database instead (100k there takes minutes).
// The library folder gets uploads/ and thumbs/ with a few real files the rows point at.
// --log <file>: each step with its UTC time (and, on PostgreSQL, index build progress every 60 s).
// --maintenance-mem 6GB (PostgreSQL): the session's maintenance_work_mem, so an HNSW graph stays in memory
// (1M x 512-d needs ~3 GB; past the limit pgvector falls back to a far slower on-disk build).
//
// Load order for speed (PostgreSQL): every index that does not back a constraint is dropped first and
// rebuilt after the data (btree first, then the HNSW ones: faces, then CLIP); foreign-key checks and
// triggers are off for the load (session_replication_role = replica: the rows are consistent by
// construction), and what the triggers maintain (exif.geocode_pending, timeline_months, job_status_counts, job_run_totals) is written
// by the seed itself with the migrations' own queries. The indexes rebuilt are the migrations'
// definitions, read back from pg_indexes (nothing is built cheaper than a real library has).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { loadConfig } = await import(path.join(ROOT, 'dist/config.js'));
const { openDatabase } = await import(path.join(ROOT, 'dist/db/connect.js'));
// every stage of the pipeline done, as `immich index --missing` finds a fully processed library
const { stagesFor } = await import(path.join(ROOT, 'dist/services/import-plan.js'));
const { sql } = await import('kysely');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const N = Number(opt('assets', '100000'));
const embedded = opt('embedded');
const library = path.resolve(opt('library', embedded ?? `/tmp/immich-scale-${N}`));
const dbName = opt('db', `immich_scale_${N}`);
const REAL_FILES = Number(opt('real-files', '2000'));
const PEOPLE = Math.max(20, Math.round(N / 500));
const FACES = Math.round(N * 0.3);
const NOISES = 1000; // face embeddings: a person centre + one of these
const ALBUMS = Math.max(10, Math.round(N / 2000));

const env = embedded
  ? { UPLOAD_LOCATION: library }
  : { UPLOAD_LOCATION: library, DB_HOSTNAME: process.env.DB_HOSTNAME ?? '127.0.0.1', DB_PORT: process.env.DB_PORT ?? '5432', DB_USERNAME: process.env.DB_USERNAME ?? 'postgres', DB_DATABASE_NAME: dbName };
fs.mkdirSync(library, { recursive: true });
const t0 = performance.now();
const logFile = opt('log');
if (logFile) fs.mkdirSync(path.dirname(path.resolve(logFile)), { recursive: true });
const log = (line) => {
  const text = `${new Date().toISOString().slice(0, 19).replace('T', ' ')} ${line}\n`;
  process.stderr.write(text);
  if (logFile) fs.appendFileSync(logFile, text);
};
const step = async (what, fn) => {
  const t = performance.now();
  log(`start ${what}`);
  await fn();
  log(`done  ${what}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
};

// A few real files: the rows for asset i point at file i % REAL_FILES.
await step(`real files (${REAL_FILES})`, async () => {
  const dir = path.join(library, 'uploads/scale');
  const thumbs = path.join(library, 'thumbs/scale');
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(thumbs, { recursive: true });
  for (let i = 0; i < REAL_FILES; i++) {
    const f = path.join(dir, `p${i}.jpg`);
    if (fs.existsSync(f)) continue;
    const bg = { r: (i * 37) % 255, g: (i * 91) % 255, b: (i * 53) % 255 };
    await sharp({ create: { width: 64, height: 48, channels: 3, background: bg } }).jpeg().toFile(f);
    await sharp({ create: { width: 32, height: 24, channels: 3, background: bg } }).webp().toFile(path.join(thumbs, `t${i}.webp`));
    await sharp({ create: { width: 64, height: 48, channels: 3, background: bg } }).jpeg().toFile(path.join(thumbs, `v${i}.jpg`));
  }
});

const database = await openDatabase(loadConfig({ env, cwd: library }).database, { command: 'import' });
const db = database.db;
if (!database.hasVector) throw new Error(`${database.target}: pgvector is missing (scripts/install-pgvector.sh)`);
const exec = (q) => q.execute(db);
// n random vectors of dim components uniform in ±spread/2 (CLIP levels, face centres and noises)
const randomVectors = (table, n, dim, spread) => exec(sql`create temp table ${sql.id(table)} as
  select k, (select array_agg(((random() - 0.5) * ${spread})::real) from generate_series(1, ${dim} + 0 * k))::vector as v
  from generate_series(0, ${n - 1}) k`);

const existing = Number((await exec(sql`select count(*)::int as n from assets`)).rows[0].n);
if (args.includes('--only-clip')) {
  // Another generator on a seeded library: its CLIP embeddings only, and their index rebuilt.
  await exec(sql.raw(`set maintenance_work_mem = '${opt('maintenance-mem', embedded ? '1GB' : '6GB')}'`)).catch(() => {});
  await exec(sql.raw(`set max_parallel_maintenance_workers = ${Number(opt('parallel', embedded ? '0' : '2'))}`)).catch(() => {});
  const ix = (await exec(sql`select indexdef from pg_indexes where indexname = 'smart_search_embedding_idx'`)).rows[0];
  await exec(sql`drop index if exists smart_search_embedding_idx`);
  await exec(sql`truncate smart_search`);
  await exec(sql`create temp table seq as select id, row_number() over (order by checksum) as i from assets`);
  await exec(sql`create index on seq (i)`);
  await clipEmbeddings();
  // (a run stopped after the drop leaves none: the migrations' definition then, 0024 with 0201's option)
  const def = ix?.indexdef ?? 'create index smart_search_embedding_idx on smart_search using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 64)';
  await step('vector index smart_search_embedding_idx', () => exec(sql.raw(def)));
  await exec(sql`vacuum analyze smart_search`).catch(() => exec(sql`analyze smart_search`));
  await database.close();
  log(`re-embedded ${existing} assets in ${database.target}`);
  process.exit(0);
}
if (existing >= N) {
  process.stderr.write(`${database.target} already has ${existing} assets\n`);
  await database.close();
  process.exit(0);
}
if (existing > 0) throw new Error(`${database.target} has ${existing} assets: seed an empty database`);

const onPg = !embedded;
await exec(sql.raw(`set maintenance_work_mem = '${opt('maintenance-mem', onPg ? '6GB' : '1GB')}'`)).catch(() => {});
// embedded: no parallel build (PGlite has one process; a parallel HNSW build asked for a shared segment it could not map)
await exec(sql.raw(`set max_parallel_maintenance_workers = ${Number(opt('parallel', embedded ? '0' : '2'))}`)).catch(() => {});
if (onPg) await exec(sql`set synchronous_commit = off`);
// No FK checks, no triggers (see the header), on both databases: a row trigger that adds to one counter
// row (0101's months, 0200's status counts) is quadratic inside one transaction (each update walks the
// row's versions): the embedded seed spent over 30 min in its 600k status rows.
await exec(sql`set session_replication_role = replica`);
// Indexes that back no constraint are rebuilt at the end with the migrations' definitions (embedded:
// only the vector ones, as before).
const allIndexes = (await exec(sql`
  select i.indexname, i.indexdef from pg_indexes i
  where i.schemaname = current_schema() and i.indexname not in (select conname from pg_constraint)
    and i.tablename <> 'schema_migrations'`)).rows;
const vectorIndexes = allIndexes.filter((ix) => /using hnsw/i.test(ix.indexdef))
  .sort((a, b) => Number(/smart_search/.test(a.indexdef)) - Number(/smart_search/.test(b.indexdef)));
const plainIndexes = onPg ? allIndexes.filter((ix) => !/using hnsw/i.test(ix.indexdef)) : [];
for (const ix of [...vectorIndexes, ...plainIndexes]) await exec(sql`drop index ${sql.id(ix.indexname)}`);
log(`dropped ${vectorIndexes.length} vector and ${plainIndexes.length} other indexes for the load`);

// Index build progress (pgvector reports its HNSW phases and tuples here), from a second connection.
let progressTimer;
if (onPg && logFile) {
  const { default: pg } = await import('pg');
  const mon = new pg.Client({ host: env.DB_HOSTNAME, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: dbName });
  await mon.connect();
  progressTimer = setInterval(async () => {
    const r = await mon.query(`select p.phase, p.tuples_done, p.tuples_total, p.blocks_done, p.blocks_total, c.relname
      from pg_stat_progress_create_index p left join pg_class c on c.oid = p.index_relid where p.datname = current_database()`).catch(() => ({ rows: [] }));
    for (const x of r.rows) log(`  progress ${x.relname ?? '?'}: ${x.phase} tuples ${x.tuples_done}/${x.tuples_total} blocks ${x.blocks_done}/${x.blocks_total} (load ${(await import('node:os')).loadavg()[0].toFixed(1)})`);
  }, 60_000);
  progressTimer.unref();
}

const CITIES = [
  ['Paris', 'Île-de-France', 'France', 48.8566, 2.3522], ['Rome', 'Lazio', 'Italy', 41.8933, 12.4829],
  ['Lisbon', 'Lisbon', 'Portugal', 38.7223, -9.1393], ['Helsinki', 'Uusimaa', 'Finland', 60.1699, 24.9384],
  ['New York City', 'New York', 'United States', 40.7128, -74.006], ['Tokyo', 'Tokyo', 'Japan', 35.6762, 139.6503],
  ['Istanbul', 'Istanbul', 'Turkey', 41.0082, 28.9784], ['Berlin', 'Berlin', 'Germany', 52.52, 13.405],
];
const cityValues = sql.join(CITIES.map((c, i) => sql`(${i}::int, ${c[0]}::text, ${c[1]}::text, ${c[2]}::text, ${c[3]}::float8, ${c[4]}::float8)`));
const CAMERAS = [['Apple', 'iPhone 12'], ['Apple', 'iPhone 15 Pro'], ['Canon', 'Canon EOS 5D Mark IV'], ['NIKON CORPORATION', 'NIKON D750'], ['SONY', 'ILCE-7M3'], ['Google', 'Pixel 7'], ['samsung', 'SM-S911B'], ['FUJIFILM', 'X-T4']];
const cameraValues = sql.join(CAMERAS.map((c, i) => sql`(${i}::int, ${c[0]}::text, ${c[1]}::text)`));
const WORDS = ['parking', 'menu', 'beer', 'station', 'exit', 'sale', 'open', 'cafe', 'museum', 'street', 'pharmacy', 'bakery', 'hotel', 'bus', 'taxi', 'platform', 'tickets', 'closed', 'welcome', 'market'];
const OBJECTS = ['person', 'dog', 'cat', 'car', 'bicycle', 'bird', 'cup', 'boat', 'chair', 'bench', 'umbrella', 'bottle'];

await step(`assets (${N})`, () => exec(sql`
  insert into assets (id, checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime,
    taken_at, local_taken_at, time_zone, width, height, is_favorite, is_archived)
  select gen_random_uuid(), md5('scale-' || i) || left(md5('s' || i), 8),
    '/photos/' || (2005 + i % 20) || '/IMG_' || lpad(i::text, 7, '0') || '.jpg', 'IMG_' || lpad(i::text, 7, '0') || '.jpg',
    'scale/' || i || '.jpg', 'copy', case when i % 25 = 0 then 'video' else 'image' end,
    case when i % 25 = 0 then 'video/mp4' else 'image/jpeg' end, 1000000 + (i::bigint * 7919) % 5000000,
    timestamptz '2005-01-01' + (i::bigint * 631) * interval '1 second',
    timestamptz '2005-01-01' + (i::bigint * 631) * interval '1 second',
    timestamp '2005-01-01' + (i::bigint * 631) * interval '1 second' + interval '1 hour', '+01:00', 4032, 3024,
    i % 20 = 0, i % 50 = 1
  from generate_series(1, ${N}) i`));
// The timeline trigger did not fire (replica role): its counts, with 0101's own query.
await step('timeline months', () => exec(sql`
  insert into timeline_months (month, is_archived, is_favorite, is_trashed, count)
  select (date_trunc('month', coalesce(taken_at, file_mtime) at time zone 'UTC'))::date, is_archived, is_favorite, deleted_at is not null, count(*)
  from assets where not is_motion_part group by 1, 2, 3, 4`));
// a dense number per asset for the joins below
await exec(sql`create temp table seq as select id, row_number() over (order by checksum) as i from assets`);
await exec(sql`create index on seq (i)`);

await step('exif', () => exec(sql`
  with cities (k, city, state, country, lat, lon) as (values ${cityValues}),
       cams (k, make, model) as (values ${cameraValues})
  insert into exif (asset_id, make, model, lens_model, date_time_original, offset_time, time_zone, latitude, longitude, iso, f_number,
    exposure_time, focal_length, exif_image_width, exif_image_height, city, state, country, geocode_pending)
  select s.id, cams.make, cams.model, null, timestamptz '2005-01-01' + (s.i * 631) * interval '1 second', '+01:00', '+01:00',
    case when s.i % 3 = 0 then null else cities.lat + ((s.i * 13) % 100 - 50) / 1000.0 end,
    case when s.i % 3 = 0 then null else cities.lon + ((s.i * 17) % 100 - 50) / 1000.0 end,
    100 * (1 + s.i % 32), 1.8, '1/125', 26,
    4032, 3024,
    case when s.i % 3 = 0 then null else cities.city end, case when s.i % 3 = 0 then null else cities.state end,
    case when s.i % 3 = 0 then null else cities.country end, false
  from seq s join cities on cities.k = s.i % ${CITIES.length} join cams on cams.k = (s.i / 7) % ${CAMERAS.length}`));

// Geocoded as the metadata stage leaves it (the trigger marks new GPS rows pending; the seed already
// wrote the names): otherwise the first search would geocode the whole library.
await step('geocode markers', async () => {
  await exec(sql`alter table exif disable trigger exif_geocode_pending`);
  await exec(sql`update exif set geocode_pending = false where geocode_pending`);
  await exec(sql`alter table exif enable trigger exif_geocode_pending`);
  await exec(sql`insert into asset_geocode (asset_id, place_id, distance_km) select asset_id, null, 0 from exif where latitude is not null`);
});

await step('files and stage status', async () => {
  await exec(sql`
    insert into asset_files (asset_id, kind, path, width, height, file_size)
    select s.id, k.kind, case k.kind when 'thumbnail' then 'thumbs/scale/t' || (s.i % ${REAL_FILES}) || '.webp' else 'thumbs/scale/v' || (s.i % ${REAL_FILES}) || '.jpg' end,
      case k.kind when 'thumbnail' then 333 else 1920 end, case k.kind when 'thumbnail' then 250 else 1440 end, 20000
    from seq s cross join (values ('thumbnail'), ('preview')) k(kind)`);
  await exec(sql`
    insert into asset_job_status (asset_id, stage, status, duration_ms)
    select a.id, st.stage, 'done', 10 from assets a
    cross join unnest(case when a.type = 'video' then ${stagesFor('video')}::text[] else ${stagesFor('image')}::text[] end) st(stage)`);
  // the counts 0200's trigger keeps (it did not fire: replica role), with the migration's own query
  await exec(sql`insert into job_status_counts (stage, status, shard, n) select stage, status, 0, count(*) from asset_job_status group by stage, status`);
  // the job history a processed library has (job_runs is never pruned: one row per finished job), and
  // the totals 0250's statement triggers keep, with the migration's own query
  await exec(sql`
    insert into job_runs (stage, asset_id, status, duration_ms, finished_at)
    select stage, asset_id, 'done', 5 + (hashtext(asset_id::text || stage) & 1023), now() - interval '1 second' * (hashtext(asset_id::text) & 65535)
    from asset_job_status`);
  await exec(sql`insert into job_run_totals (stage, status, shard, n, ms) select stage, status, 0, count(*), coalesce(sum(duration_ms), 0) from job_runs group by stage, status`);
});

await step('tags and OCR', async () => {
  await exec(sql`insert into tags (name) select unnest(${OBJECTS}::text[]) on conflict do nothing`);
  await exec(sql`
    insert into asset_tags (asset_id, tag_id, source, score, count)
    select s.id, t.id, 'objects', 0.5 + (s.i % 50) / 100.0, 1 + s.i % 3
    from seq s join (select id, row_number() over (order by name) - 1 as k from tags where name = any(${OBJECTS}::text[])) t
      on t.k = s.i % ${OBJECTS.length} or t.k = (s.i / 3) % ${OBJECTS.length}`);
  await exec(sql`
    insert into asset_ocr (asset_id, engine, text, confidence)
    select s.id, 'paddle', upper((${WORDS}::text[])[1 + s.i % ${WORDS.length}] || ' ' || (${WORDS}::text[])[1 + (s.i / 7) % ${WORDS.length}]), 0.9
    from seq s where s.i % 5 = 0`);
});

// Vectors that behave like a real library's CLIP embeddings (unit length, cosine similarity ~0.4 between
// unrelated photos, ~0.9 within an event, as ViT-B-32 gives): a library-wide mean + a topic (N/1000 of
// them, a few popular) + an event (25 consecutive photos) + a burst (3) + per-photo noise at one of 16
// scales (0.3x-1.6x), so a photo's neighbours are at spread-out distances. The old "centre + one of
// 1,000 shared noise vectors" made every cluster's members near-equidistant: top-10 was a tie among
// ~100, which no ANN index reproduces (recall@10 plateaued at 0.93 for any ef_search) and the HNSW
// build took 2.8x longer (bench/RESULTS.md, 2026-12-07 scale).
// --clip-dims D (default 48): the variation (topic, event, burst, noise) lives in a D-dimensional
// subspace plus a small full-rank residual, as real embeddings have a low intrinsic dimension (a few
// dozen); 0 draws every level isotropically in 512-d (the hardest case for any ANN index).
// Each level is one vector addition per row (pgvector's vector + vector); the burst and noise levels
// are sums of two tables (1009 x 1013 distinct pairs) instead of one random vector per row.
async function clipEmbeddings() {
  const DIMS = Number(opt('clip-dims', '48'));
  if (DIMS) await randomVectors('clip_basis', DIMS, 512, 1);
  // The same norm as randomVectors(spread): D basis vectors of |b|^2 = 512/12, coefficients of
  // variance c^2/12, so c = spread * sqrt(12 / D).
  const levelVectors = (table, n, spread) =>
    DIMS
      ? exec(sql`create temp table ${sql.id(table)} as
          select g.k, sum(b.v * array_fill(((random() - 0.5) * ${spread * Math.sqrt(12 / DIMS)})::real, array[512])::vector) as v
          from generate_series(0, ${n - 1}) g(k) cross join clip_basis b group by g.k`)
      : randomVectors(table, n, 512, spread);
  // Per-dimension spreads for uniform noise: |v|^2 = 512 * spread^2 / 12 (mean 0.40, topic 0.22, event
  // 0.16, burst 0.06, noise 0.16 x scale^2, residual 0.02 before normalising).
  const TOPICS = Math.max(10, Math.round(N / 1000));
  const EVENTS = Math.ceil(N / 25) + 1;
  await step(`CLIP embeddings (${N} x 512, ${TOPICS} topics, ${EVENTS} events, ${DIMS || 512} dimensions of variation)`, async () => {
    await randomVectors('clip_mean', 1, 512, 0.0968);
    await levelVectors('topics', TOPICS, 0.0718);
    await levelVectors('events', EVENTS, 0.0612);
    await levelVectors('burst1', 1009, 0.0265);
    await levelVectors('burst2', 1013, 0.0265);
    await levelVectors('noise1', 1009, 0.0433);
    await levelVectors('noise2', 1013, 0.0433);
    await randomVectors('resid1', 1009, 512, DIMS ? 0.0153 : 0);
    await randomVectors('resid2', 1013, 512, DIMS ? 0.0153 : 0);
    await exec(sql`create temp table noise_scale as
      select j, array_fill((0.3 * power(1.6 / 0.3, j / 15.0))::real, array[512])::vector as v from generate_series(0, 15) j`);
    await exec(sql`
      insert into smart_search (asset_id, model, embedding)
      select s.id, 'ViT-B-32__openai', l2_normalize(m.v + t.v + e.v + b1.v + b2.v + (n1.v + n2.v) * ns.v + r1.v + r2.v)
      from seq s cross join clip_mean m
      join events e on e.k = s.i / 25
      join topics t on t.k = floor(${TOPICS} * power(((s.i / 25) * 2654435761 % 1000003) / 1000003.0, 2))::int
      join burst1 b1 on b1.k = (s.i / 3) % 1009 join burst2 b2 on b2.k = (s.i / 3 / 1009) % 1013
      join noise_scale ns on ns.j = (s.i * 7919) % 16
      join noise1 n1 on n1.k = s.i % 1009 join noise2 n2 on n2.k = (s.i / 1009) % 1013
      join resid1 r1 on r1.k = s.i % 1009 join resid2 r2 on r2.k = (s.i / 1009) % 1013`);
    const spread = (await exec(sql`
      select round(avg(1 - (a.embedding <=> b.embedding))::numeric, 2) as random,
        (select round(avg(1 - (a.embedding <=> b.embedding))::numeric, 2) from seq x join seq y on y.i = x.i + 4 and x.i % 25 < 20
           join smart_search a on a.asset_id = x.id join smart_search b on b.asset_id = y.id where x.i % 97 = 0) as event
      from seq x join seq y on y.i = (x.i * 7 + ${Math.floor(N / 2)}) % ${N} + 1
      join smart_search a on a.asset_id = x.id join smart_search b on b.asset_id = y.id where x.i % 97 = 0`)).rows[0];
    log(`  cosine similarity: unrelated photos ${spread.random}, same event ${spread.event}`);
  });
}
await clipEmbeddings();

await step(`people (${PEOPLE}) and faces (${FACES} x 128)`, async () => {
  await exec(sql`insert into people (name) select case when p % 4 = 0 then 'Person ' || p else '' end from generate_series(1, ${PEOPLE}) p`);
  await exec(sql`create temp table pseq as select id, row_number() over (order by id) - 1 as k from people`);
  await randomVectors('pcentres', PEOPLE, 128, 1);
  await randomVectors('pnoises', NOISES, 128, 0.3);
  await exec(sql`
    insert into asset_faces (asset_id, person_id, model, image_width, image_height, box_x1, box_y1, box_x2, box_y2, score, landmarks)
    select s.id, p.id, 'scrfd_2.5g-mobilefacenet', 1920, 1440, 0.3, 0.3, 0.45, 0.5, 0.9, '{}'::real[]
    from seq s join pseq p on p.k = (s.i * 7) % ${PEOPLE}
    where s.i <= ${FACES}`);
  await exec(sql`
    insert into face_search (face_id, embedding)
    select f.id, c.v + n.v
    from (select id, person_id, row_number() over (order by id) as j from asset_faces) f
    join pseq p on p.id = f.person_id join pcentres c on c.k = p.k join pnoises n on n.k = f.j % ${NOISES}`);
  // one join (the person_id index is not built yet: a sub-query per person would scan all faces each time)
  await exec(sql`update people set cover_face_id = f.id
    from (select distinct on (person_id) person_id, id from asset_faces order by person_id, id) f where f.person_id = people.id`);
});

await step(`albums (${ALBUMS})`, async () => {
  await exec(sql`insert into albums (name) select 'Album ' || a from generate_series(1, ${ALBUMS}) a`);
  await exec(sql`
    insert into album_assets (album_id, asset_id)
    select al.id, s.id from seq s join (select id, row_number() over (order by name) - 1 as k from albums where parent_id is null) al
      on al.k = s.i % ${ALBUMS} where s.i % 4 = 0`);
});

await exec(sql`set session_replication_role = origin`);
for (const ix of plainIndexes) await step(`index ${ix.indexname}`, () => exec(sql.raw(ix.indexdef)));
// vacuumed as a library is in steady state (visibility map for index-only scans), before the HNSW builds
await step(onPg ? 'vacuum analyze' : 'analyze', () => exec(onPg ? sql`vacuum analyze` : sql`analyze`));
for (const ix of vectorIndexes) await step(`vector index ${ix.indexname}`, () => exec(sql.raw(ix.indexdef)));
await step('analyze', () => exec(sql`analyze`));
clearInterval(progressTimer);
await database.close();
log(`seeded ${N} assets into ${database.target} (library ${library}) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
process.exit(0);
