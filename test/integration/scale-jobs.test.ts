// The long jobs in pages, on both databases: `faces recluster` (and the deferred pass) look up the
// neighbours of 1000 faces per statement and `duplicates` those of 1000 CLIP embeddings, where they used
// to run ~4 statements per face and one per embedding (160 s for 4,500 faces; hours at 1M). Synthetic
// embeddings, no media: the paged recluster must make the same people as the face-at-a-time clustering
// (kept here as the reference) in a bounded number of statements, and the paged duplicates must find
// exactly the groups an exhaustive comparison finds.
import fs from 'node:fs';
import path from 'node:path';
import type { KyselyPlugin, RawBuilder } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { sql } from '../../src/db/kysely.js';
import { Logger } from '../../src/logger.js';
import { clusterFace, cosineDistance } from '../../src/ml/cluster.js';
import { CLIP_MAX_DISTANCE, findDuplicates, groupPairs } from '../../src/services/duplicates.js';
import { faceSettings } from '../../src/services/faces.js';
import { DbFaceStore, mergeSplitPeople, recluster } from '../../src/services/people.js';
import { createPgDatabase, pgHasVector, tmpDir } from '../helpers/env.js';

const FACE_MODEL = 'scrfd_2.5g-mobilefacenet';
const CLIP_MODEL = 'ViT-B-32__openai';

/** Deterministic uniform numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const around = (r: () => number, centre: number[], spread: number) => unit(centre.map((x) => x + spread * gauss(r)));
const randomUnit = (r: () => number, dim: number) => unit(Array.from({ length: dim }, () => gauss(r)));

/** Counts the statements a context's database runs (the test's measure of "bounded"). */
function counting(ctx: Context): { ctx: Context; statements: () => number } {
  let n = 0;
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      n++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return { ctx: Object.create(ctx, { db: { value: ctx.db.withPlugin(plugin) } }) as Context, statements: () => n };
}

async function insertAssets(ctx: Context, n: number): Promise<string[]> {
  const r = await sql<{ id: string }>`insert into assets (checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime, taken_at, local_taken_at, time_zone)
    select md5(i::text), '/src/' || i || '.jpg', i || '.jpg', 'uploads/x/' || i || '.jpg', 'copy', 'image', 'image/jpeg', 1000, now(),
           timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute', timestamp '2020-01-01 01:00:00' + i * interval '1 minute', '+01:00'
    from generate_series(1, ${n}) i returning id`.execute(ctx.db);
  return r.rows.map((x) => x.id);
}

/** People as a partition of face ids (person ids differ between runs). */
async function partition(ctx: Context): Promise<string[]> {
  const rows = await sql<{ ids: string[] }>`select array_agg(id::text) as ids from asset_faces where person_id is not null group by person_id`.execute(ctx.db);
  return rows.rows.map((r) => r.ids.sort().join(',')).sort();
}

/** The face-at-a-time recluster (the code before the paging), the reference the paged one must equal. */
async function reclusterOneByOne(ctx: Context): Promise<void> {
  const settings = faceSettings(ctx.config.raw);
  await ctx.db.transaction().execute(async (trx) => {
    await sql`update asset_faces set person_id = null, deferred = false where assigned_by = 'cluster' and person_id in (select id from people where name = '')`.execute(trx);
    await sql`update asset_faces set deferred = false where person_id is null and assigned_by = 'cluster'`.execute(trx);
    await sql`delete from people p where name = '' and not exists (select 1 from asset_faces f where f.person_id = p.id)`.execute(trx);
    const store = new DbFaceStore(trx);
    const pass = async (where: RawBuilder<unknown>, deferredPass: boolean) => {
      const faces = await sql<{ id: string; person_id: string | null; assigned_by: string }>`
        select id, person_id, assigned_by from asset_faces where ${where} order by created_at, id`.execute(trx);
      for (const f of faces.rows) await clusterFace(store, { id: f.id, personId: f.person_id, manual: f.assigned_by === 'manual' }, settings, deferredPass);
    };
    await pass(sql`person_id is null and assigned_by = 'cluster' and model = ${settings.model}`, false);
    await pass(sql`deferred and person_id is null and assigned_by = 'cluster'`, true);
    await mergeSplitPeople(trx, settings);
  });
}

const backends: Array<[string, () => Promise<{ env: Record<string, string>; drop: () => Promise<void> } | undefined>]> = [
  ['embedded', async () => ({ env: {}, drop: async () => {} })],
  ['PostgreSQL', async () => ((await pgHasVector()) ? createPgDatabase('scalejobs_test') : undefined)],
];

describe.each(backends)('long jobs in pages (%s)', (name, open) => {
  const lib = tmpDir('immich-scale-jobs-');
  const models = path.join(lib, 'models');
  let ctx: Context | undefined;
  let drop: (() => Promise<void>) | undefined;
  // Fewer faces on the embedded database: the face-at-a-time reference is slow there.
  const IDENTITIES = name === 'embedded' ? 30 : 60;

  beforeAll(async () => {
    const db = await open();
    if (!db) return;
    drop = db.drop;
    // Stand-ins: recluster only checks that the face model is installed, duplicates that the CLIP one is.
    for (const part of ['facial-recognition/scrfd_2.5g-mobilefacenet/detection', 'facial-recognition/scrfd_2.5g-mobilefacenet/recognition', `clip/${CLIP_MODEL}/visual`, `clip/${CLIP_MODEL}/textual`]) {
      fs.mkdirSync(path.join(models, part), { recursive: true });
      fs.writeFileSync(path.join(models, part, 'model.onnx'), '');
    }
    const env = { UPLOAD_LOCATION: lib, IMMICH_MODELS_DIR: models, IMMICH_MODELS_AUTO_DOWNLOAD: '0', ...db.env };
    ctx = await createContext(loadConfig({ env, cwd: lib }), new Logger('error', []), { command: 'test', concurrency: 2 });
  }, 120_000);
  afterAll(async () => {
    await ctx?.close();
    await drop?.();
    fs.rmSync(lib, { recursive: true, force: true });
  });

  it('every foreign key to assets has an index (a delete must not scan the referencing table per asset)', async (t) => {
    if (!ctx) return t.skip();
    // assets.live_photo_video_id (ON DELETE SET NULL) had none: each deleted asset scanned all assets (0220).
    const missing = await sql<{ col: string }>`
      select c.conrelid::regclass::text || '.' || a.attname as col
      from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
      where c.contype = 'f' and c.confrelid = 'assets'::regclass
        and not exists (select 1 from pg_index i where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1])`.execute(ctx!.db);
    expect(missing.rows.map((r) => r.col)).toEqual([]);
  });

  it('recluster: the same people as face-at-a-time clustering, in a bounded number of statements', { timeout: 600_000 }, async (t) => {
    if (!ctx) return t.skip();
    const r = rng(20);
    // Identities of 5-60 faces (within-identity distance ~0.25, across ~1), some in two looser
    // sub-groups (deferrals and split people to merge), plus strangers seen once.
    const faces: number[][] = [];
    for (let p = 0; p < IDENTITIES; p++) {
      const centre = randomUnit(r, 128);
      const size = 5 + Math.floor(r() * 56);
      const sub = p % 5 === 0 ? around(r, centre, 0.04) : centre;
      for (let i = 0; i < size; i++) faces.push(around(r, i % 2 && p % 5 === 0 ? sub : centre, 0.05 + (i % 7 === 0 ? 0.02 : 0)));
    }
    for (let i = 0; i < IDENTITIES; i++) faces.push(randomUnit(r, 128));
    // arrival order mixed across identities
    for (let i = faces.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [faces[i], faces[j]] = [faces[j]!, faces[i]!];
    }
    const assets = await insertAssets(ctx!, faces.length);
    const ids = (await sql<{ id: string }>`
      insert into asset_faces (asset_id, model, image_width, image_height, box_x1, box_y1, box_x2, box_y2, score, landmarks, created_at)
      select a, ${FACE_MODEL}, 100, 100, 0, 0, 1, 1, 0.9, '{}', timestamptz '2024-01-01' + o * interval '1 second'
      from unnest(${assets}::uuid[]) with ordinality as x(a, o) order by o returning id`.execute(ctx!.db)).rows.map((x) => x.id);
    await sql`insert into face_search (face_id, embedding)
      select f, e::vector from unnest(${ids}::uuid[], ${faces.map((v) => `[${v.join(',')}]`)}::text[]) as x(f, e)`.execute(ctx!.db);
    // a named person keeps its faces; a face a user unassigned stays unassigned
    const named = (await sql<{ id: string }>`insert into people (name) values ('Ada') returning id`.execute(ctx!.db)).rows[0]!.id;
    await sql`update asset_faces set person_id = ${named} where id = any(${ids.slice(0, 3)}::uuid[])`.execute(ctx!.db);
    await sql`update asset_faces set assigned_by = 'manual' where id = ${ids[3]!}`.execute(ctx!.db);

    await reclusterOneByOne(ctx!);
    const expected = await partition(ctx!);
    expect(expected.length).toBeGreaterThan(IDENTITIES / 2);

    // what recluster takes up: faces clustering gave to no one or to an unnamed person
    const todo = await sql<{ n: number }>`select count(*)::int as n from asset_faces f left join people p on p.id = f.person_id
      where f.assigned_by = 'cluster' and (f.person_id is null or p.name = '')`.execute(ctx!.db);
    const counted = counting(ctx!);
    const summary = await recluster(counted.ctx);
    expect(await partition(ctx!)).toEqual(expected);
    expect(summary.faces).toBe(todo.rows[0]!.n);
    expect(summary.assigned + summary.inNewPeople + summary.unassigned).toBe(summary.faces);
    // ~4 statements per face before; now a handful per page of 1000 faces and per 1000 rows written
    expect(counted.statements()).toBeLessThan(60);
    const kept = await sql<{ n: number }>`select count(*)::int as n from asset_faces where person_id = ${named}`.execute(ctx!.db);
    expect(kept.rows[0]!.n).toBeGreaterThanOrEqual(3);
    expect((await sql<{ p: string | null }>`select person_id as p from asset_faces where id = ${ids[3]!}`.execute(ctx!.db)).rows[0]!.p).toBeNull();
  });

  it('duplicates: the CLIP groups an exhaustive comparison finds, a page of embeddings per statement', { timeout: 600_000 }, async (t) => {
    if (!ctx) return t.skip();
    const r = rng(7);
    await sql`delete from assets`.execute(ctx!.db);
    // Events of similar photos (cosine distance ~0.1 apart, as bursts are), a few near-duplicates
    // (0.002-0.008), pairs just over the threshold, a chain a-b-c whose ends are further apart than
    // the threshold, a group of 25 (more than the 20 neighbours one look keeps), a trashed copy.
    const vectors: number[][] = [];
    const events = Array.from({ length: 60 }, () => randomUnit(r, 512));
    for (let i = 0; i < 2200; i++) vectors.push(around(r, events[i % 60]!, 0.016));
    const near = (v: number[], d: number) => {
      // a copy at cosine distance ~d: add a random direction orthogonal to v
      const o = randomUnit(r, v.length);
      const dot = o.reduce((s, x, k) => s + x * v[k]!, 0);
      const w = unit(o.map((x, k) => x - dot * v[k]!));
      const a = Math.acos(1 - d);
      return unit(v.map((x, k) => Math.cos(a) * x + Math.sin(a) * w[k]!));
    };
    for (let i = 0; i < 40; i++) vectors.push(near(vectors[i * 50]!, 0.002 + (i % 4) * 0.002));
    for (let i = 0; i < 10; i++) vectors.push(near(vectors[i * 50 + 25]!, 0.013));
    const b = near(vectors[7]!, 0.007);
    vectors.push(b, near(b, 0.007));
    for (let i = 0; i < 24; i++) vectors.push(near(vectors[11]!, 0.004));
    vectors.push(near(vectors[13]!, 0.003)); // trashed below
    const assets = await insertAssets(ctx!, vectors.length);
    await sql`insert into smart_search (asset_id, model, embedding)
      select a, ${CLIP_MODEL}, e::vector from unnest(${assets}::uuid[], ${vectors.map((v) => `[${v.join(',')}]`)}::text[]) as x(a, e)`.execute(ctx!.db);
    await sql`update assets set deleted_at = now() where id = ${assets.at(-1)!}`.execute(ctx!.db);

    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < vectors.length - 1; i++) {
      for (let j = i + 1; j < vectors.length - 1; j++) if (cosineDistance(vectors[i]!, vectors[j]!) <= CLIP_MAX_DISTANCE) pairs.push([assets[i]!, assets[j]!]);
    }
    const expected = groupPairs(pairs).map((g) => g.join(',')).sort();
    expect(expected.length).toBeGreaterThanOrEqual(40);
    expect(expected.some((g) => g.split(',').length === 25)).toBe(true);

    const counted = counting(ctx!);
    const found = await findDuplicates(counted.ctx, { method: 'clip' });
    expect(found.groups.map((g) => g.join(',')).sort()).toEqual(expected);
    const stored = await sql<{ ids: string[] }>`select array_agg(asset_id::text) as ids from asset_duplicates group by group_id`.execute(ctx!.db);
    expect(stored.rows.map((x) => x.ids.sort().join(',')).sort()).toEqual(expected);
    // one statement per embedding before; now a few per page of 1000 and per 1000 rows stored
    expect(counted.statements()).toBeLessThan(40);
  });
});
