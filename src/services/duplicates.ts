// Near-duplicate detection: by CLIP embedding distance (Immich's default maxDistance 0.01) when a
// CLIP model and pgvector are there, otherwise by a 64-bit perceptual hash (dHash) of the preview.
// Exact duplicates never get here: import refuses a second file with the same checksum.
import fs from 'node:fs';
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

/** Union-find over pairs: connected components with more than one member. */
export function groupPairs(pairs: Array<[string, string]>): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let p = parent.get(x) ?? x;
    if (p !== x) {
      p = find(p);
      parent.set(x, p);
    }
    return p;
  };
  for (const [a, b] of pairs) {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
  const groups = new Map<string, Set<string>>();
  for (const x of pairs.flat()) {
    const r = find(x);
    if (!groups.has(r)) groups.set(r, new Set());
    groups.get(r)!.add(x);
  }
  return [...groups.values()].filter((g) => g.size > 1).map((g) => [...g].sort());
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

/** CLIP pairs: for each embedding, its neighbours within maxDistance through the HNSW index. */
async function clipPairs(ctx: Context, model: string, maxDistance: number, onProgress?: (d: number, t: number) => void): Promise<Array<[string, string]>> {
  const rows = await ctx.db
    .selectFrom('smart_search')
    .innerJoin('assets', 'assets.id', 'smart_search.asset_id')
    .select(['asset_id', 'embedding'])
    .where('model', '=', model)
    .where('assets.deleted_at', 'is', null)
    .execute();
  const pairs: Array<[string, string]> = [];
  let done = 0;
  for (const r of rows) {
    const near = await sql<{ asset_id: string; d: number }>`
      select asset_id, embedding <=> ${r.embedding}::vector as d from smart_search
      where model = ${model} and asset_id <> ${r.asset_id}
        and asset_id not in (select id from assets where deleted_at is not null)
      order by embedding <=> ${r.embedding}::vector limit 20`.execute(ctx.db);
    for (const n of near.rows) if (n.d <= maxDistance && r.asset_id < n.asset_id) pairs.push([r.asset_id, n.asset_id]);
    onProgress?.(++done, rows.length);
  }
  return pairs;
}

/** Recompute all duplicate groups and store them (replacing the previous ones). */
export async function findDuplicates(ctx: Context, opts: DuplicateOptions = {}): Promise<DuplicateResult> {
  const method = await duplicateMethod(ctx, opts.method ?? 'auto');
  let pairs: Array<[string, string]>;
  let threshold: number;
  if (method === 'clip') {
    const clip = await findClip(ctx);
    threshold = opts.threshold ?? CLIP_MAX_DISTANCE;
    pairs = await clipPairs(ctx, clip?.name ?? '', threshold, opts.onProgress);
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
    pairs = phashPairs(hashes, threshold);
  }
  const groups = groupPairs(pairs);
  await ctx.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('duplicate_groups').execute();
    for (const g of groups) {
      const { id } = await trx.insertInto('duplicate_groups').values({ method }).returning('id').executeTakeFirstOrThrow();
      await trx.insertInto('asset_duplicates').values(g.map((asset_id) => ({ asset_id, group_id: id }))).execute();
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
