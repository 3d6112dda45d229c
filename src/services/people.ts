// People: clustering faces into people (incremental per asset, deferred pass, full recluster) on pgvector,
// and the user's operations (name, merge, unassign, split, export crops). Named people and manual
// assignments are never changed by clustering.
import { randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { sql } from '../db/kysely.js';
import type { Kysely } from 'kysely';
import type { Context } from '../context.js';
import type { DB } from '../db/schema.js';
import { UsageError } from '../errors.js';
import type { JobOutcome } from '../jobs/types.js';
import { clusterFace, type ClusterParams, type FaceStore, type Neighbour } from '../ml/cluster.js';
import { faceSettings, faceModelsInstalledOrSkip, faceModelsOrSkip, isOutcome } from './faces.js';

/** Serialises clustering across processes (BullMQ workers) and connections. */
const CLUSTER_LOCK = 727_275;

/** FaceStore over asset_faces + face_search, with kNN through the per-dimension HNSW index. */
export class DbFaceStore implements FaceStore {
  private cache = new Map<string, { dim: number; model: string; embedding: string }>();
  constructor(private readonly db: Kysely<DB>) {}

  private async query(faceId: string): Promise<{ dim: number; model: string; embedding: string } | undefined> {
    let q = this.cache.get(faceId);
    if (!q) {
      const r = await sql<{ d: number; model: string; e: string }>`
        select vector_dims(s.embedding) as d, f.model, s.embedding::text as e
        from face_search s join asset_faces f on f.id = s.face_id where s.face_id = ${faceId}`.execute(this.db);
      const row = r.rows[0];
      if (!row) return undefined;
      q = { dim: Number(row.d), model: row.model, embedding: row.e };
      this.cache.set(faceId, q);
    }
    return q;
  }

  async neighbours(faceId: string, limit: number, maxDistance: number, opts: { withPerson?: boolean } = {}): Promise<Neighbour[]> {
    const q = await this.query(faceId);
    if (!q || !Number.isInteger(q.dim) || q.dim <= 0) return [];
    // The query vector is a parameter so the partial HNSW index for this dimension can serve the
    // ORDER BY ... LIMIT; person/model filters apply to a wider candidate list.
    const cast = sql.raw(`::vector(${q.dim})`);
    const candidates = opts.withPerson ? 400 : Math.max(limit * 8, 64);
    const r = await sql<{ face_id: string; person_id: string | null; distance: number }>`
      select f.id as face_id, f.person_id, c.distance
      from (
        select face_id, embedding${cast} <=> ${q.embedding}${cast} as distance
        from face_search
        where vector_dims(embedding) = ${sql.raw(String(q.dim))}
        order by embedding${cast} <=> ${q.embedding}${cast}
        limit ${candidates}
      ) c join asset_faces f on f.id = c.face_id
      where f.model = ${q.model} and c.distance <= ${maxDistance}
        ${opts.withPerson ? sql`and f.person_id is not null` : sql``}
      order by c.distance
      limit ${limit}`.execute(this.db);
    return r.rows.map((x) => ({ faceId: x.face_id, personId: x.person_id, distance: Number(x.distance) }));
  }

  async assign(faceId: string, personId: string): Promise<void> {
    await this.db.updateTable('asset_faces').set({ person_id: personId, assigned_by: 'cluster' }).where('id', '=', faceId).execute();
  }

  async createPerson(faceId: string): Promise<string> {
    const p = await this.db.insertInto('people').values({ cover_face_id: faceId }).returning('id').executeTakeFirstOrThrow();
    await this.assign(faceId, p.id);
    return p.id;
  }

  async setDeferred(faceId: string, deferred: boolean): Promise<void> {
    await this.db.updateTable('asset_faces').set({ deferred }).where('id', '=', faceId).execute();
  }
}

/**
 * Candidates per face that a page's kNN fetches: pgvector's default hnsw.ef_search, which is also all
 * that DbFaceStore's per-face query got (an HNSW scan returns at most ef_search rows), so a paged run
 * sees the same neighbours as the face-at-a-time one.
 */
const PAGE_CANDIDATES = 40;
/** Faces whose neighbours one statement fetches (one LATERAL kNN per face). */
const PAGE_SIZE = 1000;
/** hnsw.ef_search of the second search for a face with too few candidates (see prefetch). */
const RETRY_EF_SEARCH = 400;

/**
 * FaceStore for a pass over many faces (recluster, the deferred pass): the neighbours of a page of
 * faces come from one statement (a LATERAL kNN per face through the HNSW index) instead of one or two
 * per face. Each face's person is kept in memory (the faces that had one when the pass began, plus the
 * pass's own assignments), so the order-dependent clustering sees what the per-face store would, and
 * the kNN reads nothing the pass writes: on PostgreSQL the next pages' lookups run on other pool
 * connections while this page is clustered. Writes are flushed in bulk once per page, in the pass's
 * transaction. Memory: a few pages' candidate lists plus one id → person entry per face with a
 * person; no embedding reaches Node.
 */
export class PagedFaceStore implements FaceStore {
  private lists = new Map<string, Neighbour[]>();
  /** Person of each face that has one (faces of other models are never candidates). */
  private persons = new Map<string, string>();
  private dirty = new Map<string, { person?: string; deferred?: boolean }>();
  private newPeople: Array<{ id: string; cover_face_id: string }> = [];
  /** Statements run, and faces searched a second time (for the tests and the bench's log). */
  queries = 0;
  retried = 0;
  knnMs = 0;
  flushMs = 0;

  /**
   * `knnDb`: where the lookups run — the pass's transaction, or (PostgreSQL) the pool, `ahead` pages
   * in advance; face_search is not written by the pass, so both read the same rows.
   */
  constructor(
    private readonly trx: Kysely<DB>,
    private readonly params: ClusterParams & { model: string },
    private readonly knnDb: Kysely<DB> = trx,
    readonly ahead = 0,
  ) {}

  /** The people faces have as the pass begins (after recluster's reset), read in the pass's transaction. */
  async load(): Promise<void> {
    const rows = await sql<{ id: string; person_id: string }>`
      select id, person_id from asset_faces where person_id is not null and model = ${this.params.model}`.execute(this.trx);
    this.queries++;
    for (const r of rows.rows) this.persons.set(r.id, r.person_id);
  }

  /**
   * The candidate lists of these faces (one statement per embedding dimension). A face with fewer than
   * minFaces candidates is searched again with a wider HNSW candidate list: between tight, well
   * separated groups of faces the graph search at ef_search 40 can end in another person's group and
   * return nobody within reach (3% of the bench's faces at 100k), which would leave the face without a
   * person.
   */
  async knn(ids: string[]): Promise<Map<string, Neighbour[]>> {
    const lists = new Map<string, Neighbour[]>();
    if (!ids.length) return lists;
    const t0 = performance.now();
    const run = async (db: Kysely<DB>) => {
      await this.fetch(db, ids, PAGE_CANDIDATES, lists);
      const short = ids.filter((id) => (lists.get(id)?.length ?? 0) < this.params.minFaces);
      if (short.length) {
        for (const id of short) lists.delete(id);
        await this.fetch(db, short, RETRY_EF_SEARCH, lists);
        this.retried += short.length;
      }
    };
    // set_config(…, true) lasts until the end of the transaction: the pass's own, or one per lookup.
    if (this.knnDb === this.trx) await run(this.trx);
    else await this.knnDb.transaction().execute(run);
    this.knnMs += performance.now() - t0;
    return lists;
  }

  /** Serve neighbours from these lists (a page's, from knn()). */
  use(lists: Map<string, Neighbour[]>): void {
    this.lists = lists;
  }

  private async fetch(db: Kysely<DB>, ids: string[], ef: number, into: Map<string, Neighbour[]>): Promise<void> {
    await sql`select set_config('hnsw.ef_search', ${String(ef)}, true)`.execute(db);
    const dims = await sql<{ d: number; ids: string[] }>`
      select vector_dims(embedding) as d, array_agg(face_id::text) as ids from face_search
      where face_id = any(${ids}::uuid[]) group by 1`.execute(db);
    this.queries += 2;
    for (const { d, ids: part } of dims.rows) {
      const dim = Number(d);
      if (!Number.isInteger(dim) || dim <= 0) continue;
      const cast = sql.raw(`::vector(${dim})`);
      // The outer vector is a parameter of each inner scan, which the partial HNSW index serves.
      const r = await sql<{ q: string; face_id: string; distance: number }>`
        select q.face_id::text as q, c.face_id, c.distance
        from face_search q
        cross join lateral (
          select n.face_id, n.embedding${cast} <=> q.embedding${cast} as distance
          from face_search n
          where vector_dims(n.embedding) = ${sql.raw(String(dim))}
          order by n.embedding${cast} <=> q.embedding${cast}
          limit ${PAGE_CANDIDATES}
        ) c
        join asset_faces f on f.id = c.face_id
        where q.face_id = any(${part}::uuid[]) and f.model = ${this.params.model} and c.distance <= ${this.params.maxDistance}
        order by q.face_id, c.distance, c.face_id`.execute(db);
      this.queries++;
      for (const row of r.rows) {
        let list = into.get(row.q);
        if (!list) into.set(row.q, (list = []));
        list.push({ faceId: row.face_id, personId: null, distance: Number(row.distance) });
      }
    }
  }

  async neighbours(faceId: string, limit: number, maxDistance: number, opts: { withPerson?: boolean } = {}): Promise<Neighbour[]> {
    const out: Neighbour[] = [];
    for (const n of this.lists.get(faceId) ?? []) {
      if (n.distance > maxDistance) continue;
      const personId = this.persons.get(n.faceId) ?? null;
      if (opts.withPerson && !personId) continue;
      out.push({ ...n, personId });
      if (out.length === limit) break;
    }
    return out;
  }

  async assign(faceId: string, personId: string): Promise<void> {
    this.persons.set(faceId, personId);
    this.dirty.set(faceId, { ...this.dirty.get(faceId), person: personId });
  }

  async createPerson(faceId: string): Promise<string> {
    const id = randomUUID();
    this.newPeople.push({ id, cover_face_id: faceId });
    await this.assign(faceId, id);
    return id;
  }

  async setDeferred(faceId: string, deferred: boolean): Promise<void> {
    this.dirty.set(faceId, { ...this.dirty.get(faceId), deferred });
  }

  /** Write the people made and the faces changed since the last flush: a statement per 1000 rows. */
  async flush(): Promise<void> {
    const t0 = performance.now();
    for (let i = 0; i < this.newPeople.length; i += PAGE_SIZE) {
      await this.trx.insertInto('people').values(this.newPeople.slice(i, i + PAGE_SIZE)).execute();
      this.queries++;
    }
    this.newPeople = [];
    const rows = [...this.dirty];
    this.dirty.clear();
    for (let i = 0; i < rows.length; i += PAGE_SIZE) {
      const page = rows.slice(i, i + PAGE_SIZE);
      await sql`
        update asset_faces f set
          person_id = coalesce(v.person, f.person_id),
          assigned_by = case when v.person is null then f.assigned_by else 'cluster' end,
          deferred = coalesce(v.deferred, f.deferred)
        from unnest(${page.map(([id]) => id)}::uuid[], ${page.map(([, c]) => c.person ?? null)}::uuid[], ${page.map(([, c]) => c.deferred ?? null)}::boolean[]) as v(id, person, deferred)
        where f.id = v.id`.execute(this.trx);
      this.queries++;
    }
    this.flushMs += performance.now() - t0;
  }
}

/** A PagedFaceStore for a pass in `trx`, its lookups on the pool two pages ahead on PostgreSQL. */
async function pagedStore(ctx: Context, trx: Kysely<DB>, settings: ClusterParams & { model: string }): Promise<PagedFaceStore> {
  const store = ctx.database.kind === 'postgres' ? new PagedFaceStore(trx, settings, ctx.db, 2) : new PagedFaceStore(trx, settings);
  await store.load();
  return store;
}

async function withClusterLock<T>(ctx: Context, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  return ctx.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${CLUSTER_LOCK})`.execute(trx);
    return fn(trx);
  });
}

export interface ClusterSummary {
  assigned: number;
  created: number;
  deferred: number;
  unmatched: number;
}

const emptySummary = (): ClusterSummary => ({ assigned: 0, created: 0, deferred: 0, unmatched: 0 });

function count(s: ClusterSummary, r: string): void {
  if (r === 'assigned' || r === 'created' || r === 'deferred' || r === 'unmatched') s[r]++;
}

async function clusterIds(store: DbFaceStore, trx: Kysely<DB>, ids: string[], params: ClusterParams, deferredPass: boolean, summary: ClusterSummary): Promise<string[]> {
  if (!ids.length) return [];
  const faces = await trx.selectFrom('asset_faces').select(['id', 'person_id', 'assigned_by']).where('id', 'in', ids).execute();
  const clustered: string[] = [];
  for (const f of faces) {
    const { result } = await clusterFace(store, { id: f.id, personId: f.person_id, manual: f.assigned_by === 'manual' }, params, deferredPass);
    count(summary, result);
    if (result === 'assigned' || result === 'created') clustered.push(f.id);
  }
  return clustered;
}

/**
 * clusterIds for many faces, in arrival order, a page at a time: one statement for the page's faces,
 * one or two for their neighbours (PagedFaceStore), the writes flushed per page. The bulk passes
 * (recluster, the deferred pass) take 300k faces this way in a few hundred statements where the
 * face-at-a-time loop made ~4 round trips per face (and bound every id of the pass as one parameter list).
 */
async function clusterPaged(store: PagedFaceStore, trx: Kysely<DB>, ids: string[], params: ClusterParams, deferredPass: boolean, summary: ClusterSummary, onProgress?: (done: number, total: number) => void): Promise<void> {
  const pages: string[][] = [];
  for (let i = 0; i < ids.length; i += PAGE_SIZE) pages.push(ids.slice(i, i + PAGE_SIZE));
  const lookups = new Map<number, Promise<Map<string, Neighbour[]>>>();
  // A lookup that fails while an earlier page is clustered is reported when its page comes.
  const lookup = (k: number) => {
    if (k < pages.length && !lookups.has(k)) {
      const p = store.knn(pages[k]!);
      p.catch(() => {});
      lookups.set(k, p);
    }
  };
  let done = 0;
  for (let k = 0; k < pages.length; k++) {
    for (let j = k; j <= k + store.ahead; j++) lookup(j);
    const page = pages[k]!;
    const rows = new Map((await trx.selectFrom('asset_faces').select(['id', 'person_id', 'assigned_by']).where('id', 'in', page).execute()).map((r) => [r.id, r]));
    store.use(await lookups.get(k)!);
    lookups.delete(k);
    for (const id of page) {
      const f = rows.get(id);
      if (!f) continue;
      const { result } = await clusterFace(store, { id, personId: f.person_id, manual: f.assigned_by === 'manual' }, params, deferredPass);
      count(summary, result);
    }
    await store.flush();
    done += page.length;
    onProgress?.(done, ids.length);
  }
}

/**
 * The face-recognition stage for one asset: cluster its unassigned faces, then look again at deferred
 * faces near the ones that found a person (a newcomer can give them the neighbours they lacked).
 */
export async function recognizeAssetFaces(ctx: Context, assetId: string): Promise<JobOutcome> {
  const settings = faceSettings(ctx.config.raw);
  const models = await faceModelsOrSkip(ctx, settings);
  if (isOutcome(models)) return models;
  const summary = emptySummary();
  await withClusterLock(ctx, async (trx) => {
    const store = new DbFaceStore(trx);
    const ids = (await trx.selectFrom('asset_faces').select('id').where('asset_id', '=', assetId).where('person_id', 'is', null).where('assigned_by', '=', 'cluster').execute()).map((r) => r.id);
    const clustered = await clusterIds(store, trx, ids, settings, false, summary);
    const revisit = new Set<string>();
    for (const id of clustered) {
      for (const n of await store.neighbours(id, 50, settings.maxDistance)) if (!n.personId && n.faceId !== id) revisit.add(n.faceId);
    }
    const deferred = revisit.size
      ? (await trx.selectFrom('asset_faces').select('id').where('id', 'in', [...revisit]).where('deferred', '=', true).where('assigned_by', '=', 'cluster').execute()).map((r) => r.id)
      : [];
    const before = summary.deferred;
    await clusterIds(store, trx, deferred, settings, false, summary);
    summary.deferred = before; // re-deferred faces were already counted when first seen
  });
  ctx.logger.debug(`face-recognition ${assetId}: ${describeSummary(summary)}`);
  return { status: 'success' };
}

function describeSummary(s: ClusterSummary): string {
  return `${s.assigned} assigned, ${s.created} new people, ${s.deferred} deferred`;
}

/** Deferred faces get their second chance: they may join an existing person, never start one. */
export async function deferredPass(ctx: Context): Promise<ClusterSummary> {
  const settings = faceSettings(ctx.config.raw);
  const summary = emptySummary();
  if (!ctx.database.hasVector) return summary;
  await withClusterLock(ctx, async (trx) => {
    const store = await pagedStore(ctx, trx, settings);
    const ids = (await trx.selectFrom('asset_faces').select('id').where('deferred', '=', true).where('person_id', 'is', null).where('assigned_by', '=', 'cluster').orderBy('created_at').orderBy('id').execute()).map((r) => r.id);
    await clusterPaged(store, trx, ids, settings, true, summary);
    await mergeSplitPeople(trx, settings);
  });
  return summary;
}

/**
 * Incremental clustering depends on arrival order: two dense groups of one identity (say, photos
 * from different years) can each start a person before a face links them. Merge unnamed people made
 * only by clustering whose mean embeddings lie within the clustering distance; named people and
 * manual assignments are left alone. Returns the number of people merged away.
 */
export async function mergeSplitPeople(trx: Kysely<DB>, settings: { model: string; maxDistance: number }): Promise<number> {
  const rows = (
    await sql<{ person_id: string; n: number; e: string }>`
      select f.person_id, count(*)::int as n, avg(s.embedding)::text as e
      from asset_faces f
      join face_search s on s.face_id = f.id
      join people p on p.id = f.person_id
      where p.name = '' and f.model = ${settings.model}
      group by f.person_id
      having bool_and(f.assigned_by = 'cluster')`.execute(trx)
  ).rows;
  const centres = rows.map((r) => {
    const v = JSON.parse(r.e) as number[];
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  });
  const parent = rows.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      const a = centres[i]!;
      const b = centres[j]!;
      if (a.length !== b.length) continue;
      let dot = 0;
      for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
      if (1 - dot < settings.maxDistance) {
        const [ri, rj] = [find(i), find(j)];
        if (ri !== rj) parent[rj] = ri;
      }
    }
  }
  const groups = new Map<number, number[]>();
  rows.forEach((_, i) => {
    const g = groups.get(find(i));
    if (g) g.push(i);
    else groups.set(find(i), [i]);
  });
  // person merged away → the person that keeps its faces, written 1000 at a time
  const moves: Array<[string, string]> = [];
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    // The largest person keeps its id (and its cover face).
    members.sort((x, y) => rows[y]!.n - rows[x]!.n);
    const keep = rows[members[0]!]!.person_id;
    for (const m of members.slice(1)) moves.push([rows[m]!.person_id, keep]);
  }
  for (let i = 0; i < moves.length; i += 1000) {
    const page = moves.slice(i, i + 1000);
    await sql`update asset_faces f set person_id = m.keep from unnest(${page.map(([gone]) => gone)}::uuid[], ${page.map(([, keep]) => keep)}::uuid[]) as m(gone, keep)
      where f.person_id = m.gone`.execute(trx);
    await trx.deleteFrom('people').where('id', 'in', page.map(([gone]) => gone)).execute();
  }
  return moves.length;
}

/**
 * Full pass: clustering's own assignments to unnamed people are undone, those people removed, and every
 * face not assigned by hand is clustered again, then the deferred pass. Named people keep their faces.
 */
/**
 * What `faces recluster` did to the faces it took up, by where each one ended (after the deferred
 * pass and the merge of split people): every face is counted once, so
 * assigned + inNewPeople + unassigned = faces, and newPeople is how many people the run made that
 * still exist. (The clustering events themselves count a deferred face twice, once when it waits and
 * once when the second pass places it; they are not a summary.)
 */
export interface ReclusterSummary {
  faces: number;
  /** Joined a person who existed before the run (a named person, or one with manual faces). */
  assigned: number;
  /** In a person this run made. */
  inNewPeople: number;
  newPeople: number;
  /** Still without a person: too few similar faces yet (deferred ones included). */
  unassigned: number;
}

export async function recluster(ctx: Context, opts: { onProgress?: (done: number, total: number) => void } = {}): Promise<ReclusterSummary> {
  const settings = faceSettings(ctx.config.raw);
  const summary = emptySummary();
  const missing = await faceModelsInstalledOrSkip(ctx, settings);
  if (missing) throw new (await import('../errors.js')).EnvironmentError(`cannot recluster: ${missing.message}`);
  let result: ReclusterSummary = { faces: 0, assigned: 0, inNewPeople: 0, newPeople: 0, unassigned: 0 };
  await withClusterLock(ctx, async (trx) => {
    const unnamed = trx.selectFrom('people').select('id').where('name', '=', '');
    await trx.updateTable('asset_faces').set({ person_id: null, deferred: false }).where('assigned_by', '=', 'cluster').where('person_id', 'in', unnamed).execute();
    await trx.updateTable('asset_faces').set({ deferred: false }).where('person_id', 'is', null).where('assigned_by', '=', 'cluster').execute();
    await trx.deleteFrom('people').where('name', '=', '').where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('asset_faces').select('asset_faces.id').whereRef('asset_faces.person_id', '=', 'people.id'))),
    ).execute();
    const before = new Set((await trx.selectFrom('people').select('id').execute()).map((r) => r.id));
    const ids = (await trx.selectFrom('asset_faces').select('id').where('person_id', 'is', null).where('assigned_by', '=', 'cluster').where('model', '=', settings.model).orderBy('created_at').orderBy('id').execute()).map((r) => r.id);
    const store = await pagedStore(ctx, trx, settings);
    const t = performance.now();
    const lap = (what: string) => ctx.logger.debug(`recluster: ${what} after ${((performance.now() - t) / 1000).toFixed(1)} s (${store.queries} statements, ${store.retried} faces searched again; kNN ${(store.knnMs / 1000).toFixed(1)} s, ahead of the clustering on PostgreSQL; writes ${(store.flushMs / 1000).toFixed(1)} s)`);
    await clusterPaged(store, trx, ids, settings, false, summary, opts.onProgress);
    lap(`${ids.length} faces clustered`);
    const deferred = (await trx.selectFrom('asset_faces').select('id').where('deferred', '=', true).where('person_id', 'is', null).where('assigned_by', '=', 'cluster').orderBy('created_at').orderBy('id').execute()).map((r) => r.id);
    await clusterPaged(store, trx, deferred, settings, true, emptySummary());
    lap(`${deferred.length} deferred faces`);
    const merged = await mergeSplitPeople(trx, settings);
    lap(`${merged} split people merged`);
    // Where each face ended, in pages (a large library has many faces).
    result = { faces: ids.length, assigned: 0, inNewPeople: 0, newPeople: 0, unassigned: 0 };
    const made = new Set<string>();
    for (let i = 0; i < ids.length; i += 1000) {
      const rows = await trx.selectFrom('asset_faces').select('person_id').where('id', 'in', ids.slice(i, i + 1000)).execute();
      for (const r of rows) {
        if (!r.person_id) result.unassigned++;
        else if (before.has(r.person_id)) result.assigned++;
        else {
          result.inNewPeople++;
          made.add(r.person_id);
        }
      }
    }
    result.newPeople = made.size;
  });
  return result;
}

// ---------------------------------------------------------------------------------------------------
// People operations

export interface PersonRow {
  id: string;
  name: string;
  faces: number;
  assets: number;
  sampleAssetId: string | null;
  samplePath: string | null;
  coverCrop: string | null;
}

export async function listPeople(ctx: Context, opts: { includeEmpty?: boolean } = {}): Promise<PersonRow[]> {
  // Faces per (person, asset) first, then per person: two hash aggregates over the faces instead of
  // a count(distinct) that sorts every person's faces (300k faces: 4 s under load at 1M).
  const perAsset = ctx.db
    .selectFrom('asset_faces as f')
    .select((eb) => ['f.person_id', 'f.asset_id', eb.fn.countAll<number>().as('n')])
    .where('f.person_id', 'is not', null)
    // Faces on trashed assets do not count (the trash hides its assets from people too).
    .where('f.asset_id', 'not in', (eb) => eb.selectFrom('assets').select('id').where('deleted_at', 'is not', null))
    .groupBy(['f.person_id', 'f.asset_id']);
  const perPerson = ctx.db
    .selectFrom(perAsset.as('x'))
    .select((eb) => [
      'x.person_id',
      eb.fn.sum<number>('x.n').as('faces'),
      eb.fn.countAll<number>().as('assets'),
      eb.fn.min(sql<string>`x.asset_id::text`).as('any_asset'),
    ])
    .groupBy('x.person_id');
  const rows = await ctx.db
    .selectFrom('people as p')
    .leftJoin(perPerson.as('fc'), 'fc.person_id', 'p.id')
    .leftJoin('asset_faces as c', 'c.id', 'p.cover_face_id')
    .leftJoin('assets as a', 'a.id', 'c.asset_id')
    .select([
      'p.id', 'p.name', 'p.created_at', 'fc.faces', 'fc.assets', 'fc.any_asset',
      // The library's file (the source may be gone after an import --move or a clean-up).
      'c.asset_id as cover_asset', 'c.crop_path as cover_crop', 'a.library_path as sample_path',
    ])
    .execute();
  return rows
    .map((r) => ({
      id: r.id,
      name: r.name,
      faces: Number(r.faces ?? 0),
      assets: Number(r.assets ?? 0),
      sampleAssetId: r.cover_asset ?? r.any_asset ?? null,
      samplePath: r.sample_path ? ctx.library.resolve(r.sample_path) : null,
      coverCrop: r.cover_crop ?? null,
      created: r.created_at,
    }))
    .filter((r) => opts.includeEmpty || r.faces > 0)
    .sort((a, b) => b.faces - a.faces || (a.name || '~').localeCompare(b.name || '~') || a.id.localeCompare(b.id))
    .map(({ created: _c, ...r }) => r);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A person by id, unique id prefix (≥ 4 characters) or name (case-insensitive). */
export async function findPerson(ctx: Context, ref: string): Promise<{ id: string; name: string }> {
  const r = ref.trim();
  if (!r) throw new UsageError('person must be an id or a name');
  if (UUID.test(r)) {
    const p = await ctx.db.selectFrom('people').select(['id', 'name']).where('id', '=', r.toLowerCase()).executeTakeFirst();
    if (p) return p;
  }
  const byName = await ctx.db.selectFrom('people').select(['id', 'name']).where(sql`lower(name)`, '=', r.toLowerCase()).execute();
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) throw new UsageError(`${byName.length} people are named "${r}": use an id (${byName.map((p) => p.id.slice(0, 8)).join(', ')})`);
  if (/^[0-9a-f-]{4,}$/i.test(r)) {
    const byPrefix = await ctx.db.selectFrom('people').select(['id', 'name']).where(sql`id::text`, 'like', `${r.toLowerCase()}%`).execute();
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw new UsageError(`id prefix ${r} matches ${byPrefix.length} people; give more characters`);
  }
  throw new UsageError(`no person with id or name "${r}" (see immich faces people)`);
}

export async function findFace(ctx: Context, ref: string): Promise<{ id: string; person_id: string | null }> {
  const r = ref.trim().toLowerCase();
  if (!/^[0-9a-f-]{4,}$/.test(r)) throw new UsageError(`"${ref}" is not a face id`);
  const rows = UUID.test(r)
    ? await ctx.db.selectFrom('asset_faces').select(['id', 'person_id']).where('id', '=', r).execute()
    : await ctx.db.selectFrom('asset_faces').select(['id', 'person_id']).where(sql`id::text`, 'like', `${r}%`).limit(2).execute();
  if (rows.length === 1) return rows[0]!;
  if (rows.length > 1) throw new UsageError(`face id prefix ${ref} is ambiguous; give more characters`);
  throw new UsageError(`no face with id ${ref}`);
}

export interface PersonAsset {
  assetId: string;
  /** The file in the library (absolute); originalPath: where it was imported from. */
  path: string;
  originalPath: string;
  takenAt: Date | null;
  faceId: string;
  box: [number, number, number, number];
  score: number;
  assignedBy: string;
}

export async function personAssets(ctx: Context, personId: string): Promise<PersonAsset[]> {
  const rows = await ctx.db
    .selectFrom('asset_faces as f')
    .innerJoin('assets as a', 'a.id', 'f.asset_id')
    .select(['a.id as asset_id', 'a.original_path', 'a.library_path', 'a.taken_at', 'f.id as face_id', 'f.box_x1', 'f.box_y1', 'f.box_x2', 'f.box_y2', 'f.score', 'f.assigned_by'])
    .where('f.person_id', '=', personId)
    .where('a.deleted_at', 'is', null)
    .orderBy('a.taken_at', 'desc')
    .orderBy('a.original_path')
    .execute();
  return rows.map((r) => ({
    assetId: r.asset_id, path: ctx.library.resolve(r.library_path), originalPath: r.original_path, takenAt: r.taken_at, faceId: r.face_id,
    box: [r.box_x1, r.box_y1, r.box_x2, r.box_y2], score: r.score, assignedBy: r.assigned_by,
  }));
}

export async function namePerson(ctx: Context, personId: string, name: string): Promise<void> {
  const n = name.trim();
  if (!n) throw new UsageError('a name must not be empty');
  await ctx.db.updateTable('people').set({ name: n, updated_at: new Date() }).where('id', '=', personId).execute();
}

/** Move every face of `from` into `into` (as manual assignments) and delete `from`. */
export async function mergePeople(ctx: Context, intoId: string, fromId: string): Promise<{ moved: number; name: string }> {
  if (intoId === fromId) throw new UsageError('cannot merge a person into itself');
  return ctx.db.transaction().execute(async (trx) => {
    const [into, from] = await Promise.all([
      trx.selectFrom('people').select(['id', 'name', 'cover_face_id']).where('id', '=', intoId).executeTakeFirstOrThrow(),
      trx.selectFrom('people').select(['id', 'name', 'cover_face_id']).where('id', '=', fromId).executeTakeFirstOrThrow(),
    ]);
    const moved = await trx.updateTable('asset_faces').set({ person_id: intoId, assigned_by: 'manual', deferred: false }).where('person_id', '=', fromId).executeTakeFirst();
    const name = into.name || from.name;
    await trx.updateTable('people').set({ name, cover_face_id: into.cover_face_id ?? from.cover_face_id, updated_at: new Date() }).where('id', '=', intoId).execute();
    await trx.deleteFrom('people').where('id', '=', fromId).execute();
    return { moved: Number(moved.numUpdatedRows), name };
  });
}

/** Take a face away from its person; clustering will not give it a person again. */
export async function unassignFace(ctx: Context, faceId: string): Promise<{ personId: string | null }> {
  return ctx.db.transaction().execute(async (trx) => {
    const face = await trx.selectFrom('asset_faces').select(['person_id']).where('id', '=', faceId).executeTakeFirstOrThrow();
    await trx.updateTable('asset_faces').set({ person_id: null, assigned_by: 'manual', deferred: false }).where('id', '=', faceId).execute();
    if (face.person_id) await fixCover(trx, face.person_id);
    return { personId: face.person_id };
  });
}

/** Move chosen faces of a person to a new person (optionally named). */
export async function splitPerson(ctx: Context, personId: string, faceIds: string[], name?: string): Promise<{ id: string; moved: number }> {
  if (!faceIds.length) throw new UsageError('split needs at least one face (--faces <id,...>)');
  return ctx.db.transaction().execute(async (trx) => {
    const faces = await trx.selectFrom('asset_faces').select(['id', 'person_id']).where('id', 'in', faceIds).execute();
    const foreign = faceIds.filter((id) => !faces.some((f) => f.id === id && f.person_id === personId));
    if (foreign.length) throw new UsageError(`face ${foreign[0]} does not belong to person ${personId}`);
    const p = await trx.insertInto('people').values({ name: name?.trim() ?? '', cover_face_id: faceIds[0]! }).returning('id').executeTakeFirstOrThrow();
    await trx.updateTable('asset_faces').set({ person_id: p.id, assigned_by: 'manual', deferred: false }).where('id', 'in', faceIds).execute();
    await fixCover(trx, personId);
    return { id: p.id, moved: faceIds.length };
  });
}

/** Keep a person's cover face one of its own faces. */
async function fixCover(trx: Kysely<DB>, personId: string): Promise<void> {
  const p = await trx.selectFrom('people').select('cover_face_id').where('id', '=', personId).executeTakeFirst();
  if (!p) return;
  const own = p.cover_face_id
    ? await trx.selectFrom('asset_faces').select('id').where('id', '=', p.cover_face_id).where('person_id', '=', personId).executeTakeFirst()
    : undefined;
  if (own) return;
  const next = await trx.selectFrom('asset_faces').select('id').where('person_id', '=', personId).orderBy('score', 'desc').executeTakeFirst();
  await trx.updateTable('people').set({ cover_face_id: next?.id ?? null }).where('id', '=', personId).execute();
}

/** Copy a person's face crops into `dir` as <asset name>-<face id>.jpg; returns the files written. */
export async function exportCrops(ctx: Context, personId: string, dir: string): Promise<{ written: string[]; missing: string[] }> {
  await fsp.mkdir(dir, { recursive: true });
  const rows = await ctx.db
    .selectFrom('asset_faces as f')
    .innerJoin('assets as a', 'a.id', 'f.asset_id')
    .select(['f.id', 'f.crop_path', 'a.original_name'])
    .where('f.person_id', '=', personId)
    .where('a.deleted_at', 'is', null)
    .orderBy('a.original_name')
    .execute();
  const written: string[] = [];
  const missing: string[] = [];
  for (const r of rows) {
    if (!r.crop_path) { missing.push(r.id); continue; }
    const base = path.parse(r.original_name).name.replace(/[^\w.-]+/g, '_');
    const target = path.join(dir, `${base}-${r.id.slice(0, 8)}.jpg`);
    try {
      await fsp.copyFile(ctx.library.resolve(r.crop_path), target);
      written.push(target);
    } catch {
      missing.push(r.id);
    }
  }
  return { written, missing };
}
