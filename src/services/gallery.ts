// What the web gallery and Immich's clients read and change that the CLI's other services do not
// cover yet: the timeline by month, one asset's details and files, albums, and the favorite /
// trash (migration 0060). Albums go through organize's album service and repository, favorite and
// archive through its edit service (src/services/edit.ts), the trash through src/services/trash.ts.
import path from 'node:path';
import { sql } from '../db/kysely.js';
import type { Context } from '../context.js';
import * as albumsRepo from '../db/albums.js';
import * as albumService from './albums.js';
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

/** Months with assets, newest first, from the trigger-kept counts (migration 0101). */
export async function timelineBuckets(ctx: Context, filter: TimelineFilter = 'timeline'): Promise<TimelineBucket[]> {
  let q = ctx.db
    .selectFrom('timeline_months')
    .select([sql<string>`to_char(month, 'YYYY-MM-DD')`.as('bucket'), sql<number>`sum(count)::int`.as('n')])
    .groupBy('month')
    .having(sql`sum(count)`, '>', 0)
    .orderBy('month', 'desc');
  if (filter === 'trash') q = q.where('is_trashed', '=', true);
  else {
    q = q.where('is_trashed', '=', false);
    if (filter === 'archive') q = q.where('is_archived', '=', true);
    else if (filter === 'favorites') q = q.where('is_favorite', '=', true);
    else q = q.where('is_archived', '=', false);
  }
  const rows = await q.execute();
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
  // The month's range on assets_when_idx; exif is read only for videos (their duration badge), not
  // joined for every photo.
  const rows = await visible(ctx.db.selectFrom('assets as a'), filter)
    .select(['a.id', 'a.type', 'a.width', 'a.height', 'a.thumbhash', 'a.is_favorite', 'a.is_archived', 'a.deleted_at', WHEN.as('when')])
    .select(sql<number | null>`case when ${sql.ref('a.type')} = 'video' then (select e.duration from exif e where e.asset_id = ${sql.ref('a.id')}) end`.as('duration'))
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
    albumsRepo.albumsOfAssets(ctx.db, [id]),
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
    albums: (albums.get(id) ?? []).map((a) => ({ id: a.id, name: a.path })),
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
  // One statement per file request (thumbnails are asked for by the hundred).
  const fileKind = kind === 'thumbnail' ? 'thumbnail' : kind === 'preview' ? 'preview' : 'encoded_video';
  const a = await ctx.db
    .selectFrom('assets as a')
    .select(['a.library_path', 'a.mime_type', 'a.type', 'a.storage_mode'])
    .select((eb) => eb.selectFrom('asset_files as f').select('f.path').whereRef('f.asset_id', '=', 'a.id').where('f.kind', '=', fileKind).as('derived'))
    .where('a.id', '=', id)
    .executeTakeFirst();
  if (!a) return undefined;
  const derived = a.derived;
  const original = () => (a.storage_mode === 'in-place' ? { path: a.library_path, mime: a.mime_type } : inLibrary(ctx, a.library_path, a.mime_type));
  switch (kind) {
    case 'thumbnail':
      return derived ? inLibrary(ctx, derived, mimeOf(derived)) : undefined;
    case 'preview':
      return derived ? inLibrary(ctx, derived, mimeOf(derived)) : a.type === 'image' ? original() : undefined;
    case 'playback':
      if (a.type !== 'video') return undefined;
      return derived ? inLibrary(ctx, derived, 'video/mp4') : original();
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

// ---- albums (organize's repository, src/db/albums.ts) --------------------------------------------

export interface AlbumSummary {
  id: string;
  /** The album's path ('Trips/2024'): Immich's album name. */
  name: string;
  description: string;
  assetCount: number;
  coverAssetId: string | null;
  createdAt: string;
  updatedAt: string;
  startDate: string | null;
  endDate: string | null;
}

/** Albums with what Immich's album list shows (a cover, the date range), optionally only those holding an asset or with a name. */
export async function listAlbums(ctx: Context, opts: { assetId?: string; name?: string } = {}): Promise<AlbumSummary[]> {
  let albums = await albumsRepo.listAlbums(ctx.db);
  if (opts.name) albums = albums.filter((a) => a.path === opts.name);
  if (opts.assetId) {
    const holding = new Set((await albumsRepo.albumsOfAssets(ctx.db, [opts.assetId])).get(opts.assetId)?.map((a) => a.id) ?? []);
    albums = albums.filter((a) => holding.has(a.id));
  }
  const extra = albums.length
    ? await ctx.db
        .selectFrom('album_assets as aa')
        .innerJoin('assets as a', 'a.id', 'aa.asset_id')
        .select((eb) => ['aa.album_id', eb.fn.min(sql<string>`a.id::text`).as('any_asset'), eb.fn.min(WHEN).as('start'), eb.fn.max(WHEN).as('end')])
        .where('aa.album_id', 'in', albums.map((a) => a.id))
        .where('a.deleted_at', 'is', null)
        .groupBy('aa.album_id')
        .execute()
    : [];
  const byAlbum = new Map(extra.map((e) => [e.album_id, e]));
  return albums.map((a) => {
    const e = byAlbum.get(a.id);
    return {
      id: a.id, name: a.path, description: a.description ?? '', assetCount: a.assetCount,
      coverAssetId: a.coverAssetId ?? e?.any_asset ?? null,
      createdAt: a.createdAt.toISOString(), updatedAt: a.updatedAt.toISOString(),
      startDate: e?.start ? new Date(e.start).toISOString() : null, endDate: e?.end ? new Date(e.end).toISOString() : null,
    };
  });
}

export async function getAlbum(ctx: Context, id: string): Promise<AlbumSummary | undefined> {
  return (await listAlbums(ctx)).find((a) => a.id === id);
}

export async function albumAssets(ctx: Context, id: string): Promise<TimelineAsset[]> {
  const ids = await albumsRepo.albumAssetIds(ctx.db, [id]);
  if (!ids.length) return [];
  const rows = await ctx.db
    .selectFrom('assets as a')
    .leftJoin('exif as e', 'e.asset_id', 'a.id')
    .select(['a.id', 'a.type', 'a.width', 'a.height', 'a.thumbhash', 'a.is_favorite', 'a.is_archived', 'a.deleted_at', 'e.duration', WHEN.as('when')])
    .where('a.id', 'in', ids)
    .where('a.deleted_at', 'is', null)
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((i) => (byId.has(i) ? [toTimelineAsset(byId.get(i)!)] : []));
}

/** A new album (its path may nest: 'Trips/2024'); an existing path is refused, as a second album of that name cannot exist. */
export async function createAlbum(ctx: Context, name: string, opts: { description?: string; assetIds?: string[] } = {}): Promise<AlbumSummary> {
  const { album, created } = await albumService.createAlbum(ctx, name, opts.description);
  if (!created) throw new UsageError(`an album named "${album.path}" exists already`);
  if (opts.assetIds?.length) await addToAlbum(ctx, album.id, opts.assetIds);
  return (await getAlbum(ctx, album.id))!;
}

export interface MembershipResult {
  id: string;
  success: boolean;
  error?: 'duplicate' | 'not_found';
}

/** Immich's per-asset answer: added, already there (duplicate), or no such asset. */
export async function addToAlbum(ctx: Context, albumId: string, assetIds: string[]): Promise<MembershipResult[]> {
  const ids = [...new Set(assetIds)];
  if (!ids.length) return [];
  const [assets, members] = await Promise.all([
    ctx.db.selectFrom('assets').select('id').where('id', 'in', ids).execute(),
    ctx.db.selectFrom('album_assets').select('asset_id').where('album_id', '=', albumId).where('asset_id', 'in', ids).execute(),
  ]);
  const exists = new Set(assets.map((a) => a.id));
  const already = new Set(members.map((m) => m.asset_id));
  await albumsRepo.addToAlbum(ctx.db, albumId, ids.filter((id) => exists.has(id) && !already.has(id)));
  return ids.map((id) =>
    !exists.has(id) ? { id, success: false, error: 'not_found' as const } : already.has(id) ? { id, success: false, error: 'duplicate' as const } : { id, success: true },
  );
}

export async function removeFromAlbum(ctx: Context, albumId: string, assetIds: string[]): Promise<MembershipResult[]> {
  const ids = [...new Set(assetIds)];
  if (!ids.length) return [];
  const members = await ctx.db.selectFrom('album_assets').select('asset_id').where('album_id', '=', albumId).where('asset_id', 'in', ids).execute();
  const present = new Set(members.map((m) => m.asset_id));
  await albumsRepo.removeFromAlbum(ctx.db, albumId, [...present]);
  return ids.map((id) => (present.has(id) ? { id, success: true } : { id, success: false, error: 'not_found' as const }));
}
