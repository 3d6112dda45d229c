// Near-duplicate detection: by CLIP embedding distance (Immich's default maxDistance 0.01) when a
// CLIP model and pgvector are there, otherwise by a 64-bit perceptual hash (dHash) of the preview.
// Exact duplicates never get here: import refuses a second file with the same checksum.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { sql } from '../db/kysely.js';
import type { Context } from '../context.js';
import { findClip, toVector } from '../ml/clip.js';

/** Immich's default duplicate threshold (cosine distance between CLIP embeddings). */
export const CLIP_MAX_DISTANCE = 0.01;
/**
 * dHash bits that may differ between two copies of one picture. Re-encoding, resizing and format
 * changes move a handful of bits (0-4 on the corpus); a different exposure of the same scene moves
 * more than ten. 6 of 64 is the conventional cut for dHash near-duplicates.
 */
export const PHASH_MAX_BITS = 6;

/**
 * dHash: greyscale 9x8, one bit per horizontal neighbour comparison → 16 hex digits. Robust to
 * scaling, recompression and metadata changes; not to crops or rotations (previews are upright).
 */
export async function dhash(file: string | Buffer): Promise<string> {
  const { default: sharp } = await import('sharp');
  const { data } = await sharp(file, { failOn: 'none' })
    .removeAlpha()
    .greyscale()
    .resize(9, 8, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  let hex = '';
  for (let row = 0; row < 8; row++) {
    let byte = 0;
    for (let col = 0; col < 8; col++) {
      byte = (byte << 1) | (data[row * 9 + col]! > data[row * 9 + col + 1]! ? 1 : 0);
    }
    hex += byte.toString(16).padStart(2, '0');
  }
  return hex;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function hamming(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 16; i += 8) d += popcount32((parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0);
  return d;
}

/** Union-find over asset ids, fed pair by pair (a large library's pairs need not be held at once). */
export class PairGroups {
  private parent = new Map<string, string>();

  private find(x: string): string {
    let root = x;
    for (let p = this.parent.get(root); p !== undefined && p !== root; p = this.parent.get(root)) root = p;
    // path compression, iteratively (a chain of a million ids would overflow a recursive find)
    for (let y = x; y !== root; ) {
      const next = this.parent.get(y)!;
      this.parent.set(y, root);
      y = next;
    }
    return root;
  }

  add(a: string, b: string): void {
    if (!this.parent.has(a)) this.parent.set(a, a);
    if (!this.parent.has(b)) this.parent.set(b, b);
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }

  /** Connected components with more than one member, each sorted, in order of their first pair. */
  groups(): string[][] {
    const groups = new Map<string, string[]>();
    for (const x of this.parent.keys()) {
      const r = this.find(x);
      const g = groups.get(r);
      if (g) g.push(x);
      else groups.set(r, [x]);
    }
    return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort());
  }
}

/** Union-find over pairs: connected components with more than one member. */
export function groupPairs(pairs: Array<[string, string]>): string[][] {
  const g = new PairGroups();
  for (const [a, b] of pairs) g.add(a, b);
  return g.groups();
}

/**
 * Set (or unset) bits below which a hash is too flat to compare: a nearly flat picture (black frame,
 * blank page) is within reach of every other flat picture whatever it shows, so it is left out.
 * Fixed, not derived from the threshold: a cut that followed the threshold let more hashes in at a
 * lower threshold, so a stricter threshold could find matches a looser one did not.
 */
export const PHASH_MIN_BITS = 2 * PHASH_MAX_BITS;

/**
 * Pairs of hashes within maxBits (all pairs; fine up to tens of thousands of assets). Monotone: every
 * pair found at a threshold is also found at any higher one.
 */
export function phashPairs(all: Array<{ id: string; hash: string }>, maxBits = PHASH_MAX_BITS): Array<[string, string]> {
  const bits = (h: string) => popcount32(parseInt(h.slice(0, 8), 16) >>> 0) + popcount32(parseInt(h.slice(8, 16), 16) >>> 0);
  const hashes = all.filter((h) => {
    const n = bits(h.hash);
    return n >= PHASH_MIN_BITS && n <= 64 - PHASH_MIN_BITS;
  });
  const words = hashes.map((h) => [parseInt(h.hash.slice(0, 8), 16) >>> 0, parseInt(h.hash.slice(8, 16), 16) >>> 0] as const);
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < hashes.length; i++) {
    const [a0, a1] = words[i]!;
    for (let j = i + 1; j < hashes.length; j++) {
      const [b0, b1] = words[j]!;
      if (popcount32((a0 ^ b0) >>> 0) + popcount32((a1 ^ b1) >>> 0) <= maxBits) pairs.push([hashes[i]!.id, hashes[j]!.id]);
    }
  }
  return pairs;
}

/** Library-absolute path of an asset's preview (or thumbnail when no preview was made). */
export async function previewFile(ctx: Context, assetId: string): Promise<string | undefined> {
  const rows = await ctx.db.selectFrom('asset_files').select(['kind', 'path']).where('asset_id', '=', assetId).where('kind', 'in', ['preview', 'thumbnail']).execute();
  const row = rows.find((r) => r.kind === 'preview') ?? rows.find((r) => r.kind === 'thumbnail');
  if (!row) return undefined;
  const abs = ctx.library.resolve(row.path);
  return fs.existsSync(abs) ? abs : undefined;
}

/** Compute and store the dHash of one asset's preview; returns it, or undefined without a preview. */
export async function hashAsset(ctx: Context, assetId: string): Promise<string | undefined> {
  const file = await previewFile(ctx, assetId);
  if (!file) return undefined;
  const hash = await dhash(file);
  await ctx.db
    .insertInto('asset_phash')
    .values({ asset_id: assetId, hash })
    .onConflict((oc) => oc.column('asset_id').doUpdateSet({ hash, updated_at: new Date() }))
    .execute();
  return hash;
}

/** Hash every image asset with a preview that has no hash yet. */
export async function hashMissing(ctx: Context, onProgress?: (done: number, total: number) => void): Promise<number> {
  const todo = await ctx.db
    .selectFrom('assets as a')
    .innerJoin('asset_files as f', (j) => j.onRef('f.asset_id', '=', 'a.id').on('f.kind', '=', 'preview'))
    .leftJoin('asset_phash as h', 'h.asset_id', 'a.id')
    .select('a.id')
    .where('h.asset_id', 'is', null)
    .where('a.is_motion_part', '=', false)
    .where('a.deleted_at', 'is', null)
    .execute();
  let done = 0;
  for (const { id } of todo) {
    await hashAsset(ctx, id).catch((err) => ctx.logger.warn(`hashing the preview of asset ${id} failed: ${(err as Error).message}`));
    onProgress?.(++done, todo.length);
  }
  return todo.length;
}

export type DuplicateMethod = 'clip' | 'phash';

export interface DuplicateOptions {
  method?: DuplicateMethod | 'auto';
  /** clip: max cosine distance; phash: max differing bits. */
  threshold?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DuplicateResult {
  method: DuplicateMethod;
  threshold: number;
  groups: string[][];
}

/** Which method applies: CLIP when a model is installed, embeddings exist and pgvector is there. */
export async function duplicateMethod(ctx: Context, wanted: DuplicateOptions['method'] = 'auto'): Promise<DuplicateMethod> {
  if (wanted === 'phash') return 'phash';
  const clip = ctx.database.hasVector ? await findClip(ctx) : undefined;
  if (wanted === 'clip') {
    if (!ctx.database.hasVector) {
      const { VectorUnavailableError } = await import('../errors.js');
      throw new VectorUnavailableError('duplicate detection by CLIP');
    }
    // Without the model there are no embeddings to compare: "no duplicates" would be a false all-clear.
    if (!clip) {
      const { CLIP_TASK, clipModelName } = await import('../ml/clip.js');
      const { ModelMissingError, modelDirs } = await import('../ml/models.js');
      throw new ModelMissingError(CLIP_TASK, clipModelName(ctx) ?? 'ViT-B-32__openai', 'visual', modelDirs(ctx));
    }
    return 'clip';
  }
  if (!clip) return 'phash';
  const any = await ctx.db.selectFrom('smart_search').select('asset_id').where('model', '=', clip.name).limit(1).executeTakeFirst();
  return any ? 'clip' : 'phash';
}

/** Embeddings whose neighbours one statement looks up (one LATERAL kNN each). */
const CLIP_PAGE = 1000;
/** Neighbours kept per embedding (a larger group is joined through its members' lists). */
const CLIP_NEIGHBOURS = 20;
/**
 * hnsw.ef_search of the first look: the nearest other embedding only. A near-duplicate lies at a
 * cosine distance of 0.01 where unrelated photos are at 0.1 and more, which a narrow graph search
 * finds; it costs a third of the default 40 (1M embeddings: the difference between 5 and 15 minutes).
 */
const CLIP_FIRST_EF = 10;
/** hnsw.ef_search of the second look, for embeddings whose nearest is within the threshold. */
const CLIP_SECOND_EF = 40;

/** How many pages are looked up at once: PostgreSQL runs each statement on one core; the embedded database has one connection. */
function clipParallelism(ctx: Context): number {
  return ctx.database.kind === 'embedded' ? 1 : Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
}

/**
 * CLIP near-duplicate groups: for each embedding, its neighbours within maxDistance through the HNSW
 * index, a page of 1000 embeddings per statement (LATERAL), a few pages at once. A first narrow look
 * asks only for the nearest other embedding; the ones with a neighbour within reach are looked up
 * again for up to 20. Pairs go straight into a union-find: no embedding reaches Node, and memory
 * holds the ids that have a duplicate plus one page of ids.
 */
async function clipGroups(ctx: Context, model: string, maxDistance: number, onProgress?: (d: number, t: number) => void): Promise<string[][]> {
  const groups = new PairGroups();
  const live = (after: string | null, limit: number) => sql<{ asset_id: string }>`
    select s.asset_id from smart_search s
    where s.model = ${model} and ${after === null ? sql`true` : sql`s.asset_id > ${after}::uuid`}
      and not exists (select 1 from assets a where a.id = s.asset_id and a.deleted_at is not null)
    order by s.asset_id limit ${limit}`;
  const total = Number((await sql<{ n: number }>`
    select count(*)::int as n from smart_search s where s.model = ${model}
      and not exists (select 1 from assets a where a.id = s.asset_id and a.deleted_at is not null)`.execute(ctx.db)).rows[0]?.n ?? 0);
  const near = (ids: string[], ef: number, limit: number) =>
    ctx.db.transaction().execute(async (trx) => {
      await sql`select set_config('hnsw.ef_search', ${String(ef)}, true)`.execute(trx);
      // The trash filter inside the scan (as the per-asset stage has it): a trashed nearest is skipped.
      return (await sql<{ a: string; b: string; d: number }>`
        select q.asset_id as a, c.asset_id as b, c.d
        from smart_search q
        cross join lateral (
          select n.asset_id, n.embedding <=> q.embedding as d from smart_search n
          where n.model = q.model and n.asset_id <> q.asset_id
            and n.asset_id not in (select id from assets where deleted_at is not null)
          order by n.embedding <=> q.embedding limit ${limit}
        ) c
        where q.asset_id = any(${ids}::uuid[]) and c.d <= ${maxDistance}`.execute(trx)).rows;
    });
  let cursor: string | null = null;
  let exhausted = false;
  let paging: Promise<unknown> = Promise.resolve();
  // Pages are read one after another (keyset on asset_id) and looked up in parallel.
  const nextPage = (): Promise<string[]> => {
    const p = paging.then(async () => {
      if (exhausted) return [];
      const ids = (await live(cursor, CLIP_PAGE).execute(ctx.db)).rows.map((r) => r.asset_id);
      if (ids.length < CLIP_PAGE) exhausted = true;
      if (ids.length) cursor = ids[ids.length - 1]!;
      return ids;
    });
    paging = p;
    return p;
  };
  let done = 0;
  const worker = async () => {
    for (let ids = await nextPage(); ids.length; ids = await nextPage()) {
      const close = await near(ids, CLIP_FIRST_EF, 1);
      if (close.length) {
        // the first look's pair too, should the wider search order its candidates differently
        for (const r of close) groups.add(r.a, r.b);
        for (const r of await near([...new Set(close.map((r) => r.a))], CLIP_SECOND_EF, CLIP_NEIGHBOURS)) groups.add(r.a, r.b);
      }
      done += ids.length;
      onProgress?.(done, total);
    }
  };
  await Promise.all(Array.from({ length: clipParallelism(ctx) }, worker));
  return groups.groups();
}

/** Recompute all duplicate groups and store them (replacing the previous ones). */
export async function findDuplicates(ctx: Context, opts: DuplicateOptions = {}): Promise<DuplicateResult> {
  const method = await duplicateMethod(ctx, opts.method ?? 'auto');
  let groups: string[][];
  let threshold: number;
  if (method === 'clip') {
    const clip = await findClip(ctx);
    threshold = opts.threshold ?? CLIP_MAX_DISTANCE;
    groups = await clipGroups(ctx, clip?.name ?? '', threshold, opts.onProgress);
  } else {
    await hashMissing(ctx, opts.onProgress);
    threshold = opts.threshold ?? PHASH_MAX_BITS;
    const hashes = await ctx.db
      .selectFrom('asset_phash as h')
      .innerJoin('assets as a', 'a.id', 'h.asset_id')
      .select(['h.asset_id as id', 'h.hash'])
      .where('a.is_motion_part', '=', false)
      .where('a.deleted_at', 'is', null)
      .execute();
    groups = groupPairs(phashPairs(hashes, threshold));
  }
  await ctx.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('duplicate_groups').execute();
    // Ids made here so that groups and members go in batches (a statement per 1000 rows, not two per group).
    const ids = groups.map(() => randomUUID());
    for (let i = 0; i < groups.length; i += 1000) {
      await trx.insertInto('duplicate_groups').values(ids.slice(i, i + 1000).map((id) => ({ id, method }))).execute();
    }
    let members: Array<{ asset_id: string; group_id: string }> = [];
    for (let i = 0; i < groups.length; i++) {
      for (const asset_id of groups[i]!) members.push({ asset_id, group_id: ids[i]! });
      if (members.length >= 1000 || i === groups.length - 1) {
        await trx.insertInto('asset_duplicates').values(members).execute();
        members = [];
      }
    }
  });
  return { method, threshold, groups };
}

/** Attach one asset to a group of its CLIP neighbours (the per-asset 'duplicates' stage). */
export async function groupAssetByClip(ctx: Context, assetId: string, model: string, embedding: ArrayLike<number>, maxDistance = CLIP_MAX_DISTANCE): Promise<string[]> {
  const v = toVector(embedding);
  const near = await sql<{ asset_id: string; d: number }>`
    select asset_id, embedding <=> ${v}::vector as d from smart_search
    where model = ${model} and asset_id <> ${assetId}
      and asset_id not in (select id from assets where deleted_at is not null)
    order by embedding <=> ${v}::vector limit 20`.execute(ctx.db);
  const ids = near.rows.filter((r) => r.d <= maxDistance).map((r) => r.asset_id);
  if (!ids.length) return [];
  await ctx.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('asset_duplicates').select(['asset_id', 'group_id']).where('asset_id', 'in', [assetId, ...ids]).execute();
    const groupIds = [...new Set(existing.map((e) => e.group_id))];
    let group = groupIds[0];
    if (!group) group = (await trx.insertInto('duplicate_groups').values({ method: 'clip' }).returning('id').executeTakeFirstOrThrow()).id;
    // Merge every group the neighbours were in into one.
    if (groupIds.length > 1) await trx.updateTable('asset_duplicates').set({ group_id: group }).where('group_id', 'in', groupIds).execute();
    for (const id of [assetId, ...ids]) {
      await trx.insertInto('asset_duplicates').values({ asset_id: id, group_id: group }).onConflict((oc) => oc.column('asset_id').doUpdateSet({ group_id: group! })).execute();
    }
    if (groupIds.length > 1) await trx.deleteFrom('duplicate_groups').where('id', 'in', groupIds.slice(1)).execute();
  });
  return ids;
}

export interface DuplicateGroupView {
  id: string;
  method: string;
  assets: Array<{ id: string; originalPath: string; originalName: string; fileSize: number; width: number | null; height: number | null; thumbnail: string | null }>;
}

/** Stored groups with their assets, largest files first in each group (the one to keep). */
export async function listDuplicateGroups(ctx: Context): Promise<DuplicateGroupView[]> {
  const rows = await ctx.db
    .selectFrom('asset_duplicates as d')
    .innerJoin('duplicate_groups as g', 'g.id', 'd.group_id')
    .innerJoin('assets as a', 'a.id', 'd.asset_id')
    .leftJoin('asset_files as t', (j) => j.onRef('t.asset_id', '=', 'a.id').on('t.kind', '=', 'thumbnail'))
    .select(['g.id as group_id', 'g.method', 'a.id', 'a.original_path', 'a.original_name', 'a.file_size', 'a.width', 'a.height', 't.path as thumb'])
    .where('a.deleted_at', 'is', null)
    .orderBy('g.created_at')
    .orderBy('a.file_size', 'desc')
    .execute();
  const groups = new Map<string, DuplicateGroupView>();
  for (const r of rows) {
    if (!groups.has(r.group_id)) groups.set(r.group_id, { id: r.group_id, method: r.method, assets: [] });
    groups.get(r.group_id)!.assets.push({
      id: r.id,
      originalPath: r.original_path,
      originalName: r.original_name,
      fileSize: r.file_size,
      width: r.width,
      height: r.height,
      thumbnail: r.thumb ? ctx.library.resolve(r.thumb) : null,
    });
  }
  // A group whose other copies are in the trash is resolved.
  return [...groups.values()].filter((g) => g.assets.length > 1);
}
