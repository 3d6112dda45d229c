// What the web gallery and Immich's clients read and change that the CLI's other services do not
// cover yet: the timeline by month, one asset's details and files, albums, and the favorite /
// archive / trash flags (migration 0060). The organize area owns albums and flags for the CLI:
// once it lands, these album and flag functions are to be replaced by calls to its services.
import path from 'node:path';
import { sql } from '../db/kysely.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';

/** The timeline's date: capture time, else the file's time (as `immich search` orders). */
const WHEN = sql<Date>`coalesce(${sql.ref('a.taken_at')}, ${sql.ref('a.file_mtime')})`;

export type TimelineFilter = 'timeline' | 'archive' | 'favorites' | 'trash';

function visible<Q extends { where: (...a: any[]) => Q }>(q: Q, filter: TimelineFilter): Q {
  let r = q.where('a.is_motion_part', '=', false);
  if (filter === 'trash') return r.where('a.deleted_at', 'is not', null);
  r = r.where('a.deleted_at', 'is', null);
  if (filter === 'archive') return r.where('a.is_archived', '=', true);
  if (filter === 'favorites') return r.where('a.is_favorite', '=', true);
  return r.where('a.is_archived', '=', false);
}

export interface TimelineBucket {
  /** First day of the month, 'YYYY-MM-01' (UTC). */
  timeBucket: string;
  count: number;
}

export async function timelineBuckets(ctx: Context, filter: TimelineFilter = 'timeline'): Promise<TimelineBucket[]> {
  const month = sql<string>`to_char(date_trunc('month', ${WHEN} at time zone 'UTC'), 'YYYY-MM-01')`;
  const rows = await visible(ctx.db.selectFrom('assets as a'), filter)
    .select([month.as('bucket'), (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(month)
    .orderBy(month, 'desc')
    .execute();
  return rows.map((r) => ({ timeBucket: r.bucket, count: Number(r.n) }));
}

export interface TimelineAsset {
  id: string;
  type: 'image' | 'video';
  width: number | null;
  height: number | null;
  thumbhash: string | null;
  takenAt: string;
  isFavorite: boolean;
  isArchived: boolean;
  isTrashed: boolean;
  duration: number | null;
}

/** The assets of one month, newest first. */
export async function timelineBucket(ctx: Context, timeBucket: string, filter: TimelineFilter = 'timeline'): Promise<TimelineAsset[]> {
  const m = /^(\d{4})-(\d{2})-01$/.exec(timeBucket);
  if (!m) throw new UsageError(`timeBucket must be YYYY-MM-01 (got ${timeBucket})`);
  const start = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
  const end = new Date(Date.UTC(Number(m[1]), Number(m[2]), 1));
  const rows = await visible(ctx.db.selectFrom('assets as a'), filter)
    .leftJoin('exif as e', 'e.asset_id', 'a.id')
    .select(['a.id', 'a.type', 'a.width', 'a.height', 'a.thumbhash', 'a.is_favorite', 'a.is_archived', 'a.deleted_at', 'e.duration', WHEN.as('when')])
    .where(WHEN, '>=', start)
    .where(WHEN, '<', end)
    .orderBy(WHEN, 'desc')
    .orderBy('a.id')
    .execute();
  return rows.map(toTimelineAsset);
}

function toTimelineAsset(r: {
  id: string; type: 'image' | 'video'; width: number | null; height: number | null; thumbhash: string | null;
  is_favorite: boolean; is_archived: boolean; deleted_at: Date | null; duration: number | null; when: Date;
}): TimelineAsset {
  return {
    id: r.id, type: r.type, width: r.width, height: r.height, thumbhash: r.thumbhash, takenAt: new Date(r.when).toISOString(),
    isFavorite: r.is_favorite, isArchived: r.is_archived, isTrashed: r.deleted_at !== null, duration: r.duration,
  };
}

export interface AssetDetails extends TimelineAsset {
  originalName: string;
  mimeType: string;
  fileSize: number;
  exif: Record<string, string | number | null>;
  place: { city: string | null; state: string | null; country: string | null; latitude: number | null; longitude: number | null };
  people: Array<{ id: string; name: string }>;
  albums: Array<{ id: string; name: string }>;
  hasPreview: boolean;
  hasEncodedVideo: boolean;
}

export async function assetDetails(ctx: Context, id: string): Promise<AssetDetails | undefined> {
  const r = await ctx.db
    .selectFrom('assets as a')
    .leftJoin('exif as e', 'e.asset_id', 'a.id')
    .selectAll('e')
    .select(['a.id', 'a.type', 'a.width', 'a.height', 'a.thumbhash', 'a.is_favorite', 'a.is_archived', 'a.deleted_at', WHEN.as('when'),
      'a.original_name', 'a.mime_type', 'a.file_size'])
    .where('a.id', '=', id)
    .executeTakeFirst();
  if (!r) return undefined;
  const [people, albums, files] = await Promise.all([
    ctx.db.selectFrom('asset_faces as f').innerJoin('people as p', 'p.id', 'f.person_id').select(['p.id', 'p.name']).distinct().where('f.asset_id', '=', id).execute(),
    ctx.db.selectFrom('album_assets as aa').innerJoin('albums as al', 'al.id', 'aa.album_id').select(['al.id', 'al.name']).where('aa.asset_id', '=', id).execute(),
    ctx.db.selectFrom('asset_files').select('kind').where('asset_id', '=', id).execute(),
  ]);
  const exposure = r.exposure_time ? `${r.exposure_time} s` : null;
  return {
    ...toTimelineAsset({ ...r, id }),
    originalName: r.original_name,
    mimeType: r.mime_type,
    fileSize: Number(r.file_size),
    exif: {
      make: r.make, model: r.model, lens: r.lens_model, iso: r.iso, fNumber: r.f_number, exposureTime: exposure,
      focalLength: r.focal_length, dateTimeOriginal: r.date_time_original ? new Date(r.date_time_original).toISOString() : null,
      timeZone: r.time_zone, description: r.description, videoCodec: r.video_codec, fps: r.fps,
    },
    place: { city: r.city ?? null, state: r.state ?? null, country: r.country ?? null, latitude: r.latitude, longitude: r.longitude },
    people: people.map((p) => ({ id: p.id, name: p.name })),
    albums: albums.map((a) => ({ id: a.id, name: a.name })),
    hasPreview: files.some((f) => f.kind === 'preview'),
    hasEncodedVideo: files.some((f) => f.kind === 'encoded_video'),
  };
}

export type AssetFileKind = 'thumbnail' | 'preview' | 'original' | 'playback';

/**
 * The absolute path of one of an asset's files, only ever inside the library (or, for an in-place
 * asset's original, exactly the file the library references). Undefined when there is none.
 */
export async function assetFilePath(ctx: Context, id: string, kind: AssetFileKind): Promise<{ path: string; mime: string } | undefined> {
  const a = await ctx.db.selectFrom('assets').select(['library_path', 'mime_type', 'type', 'storage_mode']).where('id', '=', id).executeTakeFirst();
  if (!a) return undefined;
  const derived = async (k: 'thumbnail' | 'preview' | 'encoded_video') =>
    (await ctx.db.selectFrom('asset_files').select('path').where('asset_id', '=', id).where('kind', '=', k).executeTakeFirst())?.path;
  const original = () => (a.storage_mode === 'in-place' ? { path: a.library_path, mime: a.mime_type } : inLibrary(ctx, a.library_path, a.mime_type));
  switch (kind) {
    case 'thumbnail': {
      const p = await derived('thumbnail');
      return p ? inLibrary(ctx, p, mimeOf(p)) : undefined;
    }
    case 'preview': {
      const p = await derived('preview');
      return p ? inLibrary(ctx, p, mimeOf(p)) : a.type === 'image' ? original() : undefined;
    }
    case 'playback': {
      if (a.type !== 'video') return undefined;
      const p = await derived('encoded_video');
      return p ? inLibrary(ctx, p, 'video/mp4') : original();
    }
    case 'original':
      return original();
  }
}

function mimeOf(p: string): string {
  const ext = path.extname(p).toLowerCase();
  return ext === '.webp' ? 'image/webp' : ext === '.mp4' ? 'video/mp4' : 'image/jpeg';
}

function inLibrary(ctx: Context, rel: string, mime: string): { path: string; mime: string } | undefined {
  if (path.isAbsolute(rel)) return undefined;
  const abs = path.resolve(ctx.library.root, rel);
  const inside = path.relative(ctx.library.root, abs);
  if (!inside || inside.startsWith('..') || path.isAbsolute(inside)) return undefined;
  return { path: abs, mime };
}

// ---- flags --------------------------------------------------------------------------------------

export interface AssetFlags {
  isFavorite?: boolean;
  isArchived?: boolean;
}

export async function updateAssets(ctx: Context, ids: string[], flags: AssetFlags): Promise<number> {
  if (!ids.length || (flags.isFavorite === undefined && flags.isArchived === undefined)) return 0;
  const r = await ctx.db
    .updateTable('assets')
    .set({
      ...(flags.isFavorite !== undefined ? { is_favorite: flags.isFavorite } : {}),
      ...(flags.isArchived !== undefined ? { is_archived: flags.isArchived } : {}),
      edited_at: new Date(),
    })
    .where('id', 'in', ids)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Move to the trash (files stay until the trash is emptied), or back out of it. */
export async function trashAssets(ctx: Context, ids: string[], trashed: boolean): Promise<number> {
  if (!ids.length) return 0;
  const r = await ctx.db
    .updateTable('assets')
    .set({ deleted_at: trashed ? new Date() : null })
    .where('id', 'in', ids)
    .where('deleted_at', trashed ? 'is' : 'is not', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

// ---- albums -------------------------------------------------------------------------------------

export interface AlbumSummary {
  id: string;
  name: string;
  description: string;
  assetCount: number;
  coverAssetId: string | null;
  createdAt: string;
  updatedAt: string;
  startDate: string | null;
  endDate: string | null;
}

export async function listAlbums(ctx: Context, opts: { assetId?: string; name?: string } = {}): Promise<AlbumSummary[]> {
  let q = ctx.db
    .selectFrom('albums as al')
    .leftJoin('album_assets as aa', 'aa.album_id', 'al.id')
    .leftJoin('assets as a', (j) => j.onRef('a.id', '=', 'aa.asset_id').on('a.deleted_at', 'is', null))
    .select((eb) => [
      'al.id', 'al.name', 'al.description', 'al.cover_asset_id', 'al.created_at', 'al.updated_at',
      eb.fn.count<number>('a.id').as('n'),
      eb.fn.min(sql<string>`a.id::text`).as('any_asset'),
      eb.fn.min(WHEN).as('start'),
      eb.fn.max(WHEN).as('end'),
    ])
    .groupBy('al.id')
    .orderBy('al.name');
  if (opts.name) q = q.where('al.name', '=', opts.name);
  if (opts.assetId) q = q.where('al.id', 'in', ctx.db.selectFrom('album_assets').select('album_id').where('asset_id', '=', opts.assetId));
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id, name: r.name, description: r.description ?? '', assetCount: Number(r.n),
    coverAssetId: r.cover_asset_id ?? r.any_asset ?? null,
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
    startDate: r.start ? new Date(r.start).toISOString() : null, endDate: r.end ? new Date(r.end).toISOString() : null,
  }));
}

export async function getAlbum(ctx: Context, id: string): Promise<AlbumSummary | undefined> {
  return (await listAlbums(ctx)).find((a) => a.id === id);
}

export async function albumAssets(ctx: Context, id: string): Promise<TimelineAsset[]> {
  const rows = await ctx.db
    .selectFrom('album_assets as aa')
    .innerJoin('assets as a', 'a.id', 'aa.asset_id')
    .leftJoin('exif as e', 'e.asset_id', 'a.id')
    .select(['a.id', 'a.type', 'a.width', 'a.height', 'a.thumbhash', 'a.is_favorite', 'a.is_archived', 'a.deleted_at', 'e.duration', WHEN.as('when')])
    .where('aa.album_id', '=', id)
    .where('a.deleted_at', 'is', null)
    .orderBy(WHEN, 'desc')
    .execute();
  return rows.map(toTimelineAsset);
}

/** A top-level album (Immich's albums are flat). */
export async function createAlbum(ctx: Context, name: string, opts: { description?: string; assetIds?: string[] } = {}): Promise<AlbumSummary> {
  const clean = name.trim();
  if (!clean || clean.includes('/')) throw new UsageError(`album name "${name}" must be non-empty and without "/"`);
  const existing = await ctx.db.selectFrom('albums').select('id').where('parent_id', 'is', null).where('name', '=', clean).executeTakeFirst();
  if (existing) throw new UsageError(`an album named "${clean}" exists already`);
  const row = await ctx.db.insertInto('albums').values({ name: clean, description: opts.description ?? null }).returning('id').executeTakeFirstOrThrow();
  if (opts.assetIds?.length) await addToAlbum(ctx, row.id, opts.assetIds);
  return (await getAlbum(ctx, row.id))!;
}

export interface MembershipResult {
  id: string;
  success: boolean;
  error?: 'duplicate' | 'not_found';
}

export async function addToAlbum(ctx: Context, albumId: string, assetIds: string[]): Promise<MembershipResult[]> {
  const ids = [...new Set(assetIds)];
  if (!ids.length) return [];
  const [assets, members] = await Promise.all([
    ctx.db.selectFrom('assets').select('id').where('id', 'in', ids).execute(),
    ctx.db.selectFrom('album_assets').select('asset_id').where('album_id', '=', albumId).where('asset_id', 'in', ids).execute(),
  ]);
  const exists = new Set(assets.map((a) => a.id));
  const already = new Set(members.map((m) => m.asset_id));
  const add = ids.filter((id) => exists.has(id) && !already.has(id));
  if (add.length) {
    await ctx.db.insertInto('album_assets').values(add.map((asset_id) => ({ album_id: albumId, asset_id }))).onConflict((oc) => oc.doNothing()).execute();
    await ctx.db.updateTable('albums').set({ updated_at: new Date() }).where('id', '=', albumId).execute();
  }
  return ids.map((id) =>
    !exists.has(id) ? { id, success: false, error: 'not_found' as const } : already.has(id) ? { id, success: false, error: 'duplicate' as const } : { id, success: true },
  );
}

export async function removeFromAlbum(ctx: Context, albumId: string, assetIds: string[]): Promise<MembershipResult[]> {
  const ids = [...new Set(assetIds)];
  if (!ids.length) return [];
  const removed = await ctx.db.deleteFrom('album_assets').where('album_id', '=', albumId).where('asset_id', 'in', ids).returning('asset_id').execute();
  const gone = new Set(removed.map((r) => r.asset_id));
  if (gone.size) await ctx.db.updateTable('albums').set({ updated_at: new Date() }).where('id', '=', albumId).execute();
  return ids.map((id) => (gone.has(id) ? { id, success: true } : { id, success: false, error: 'not_found' as const }));
}
