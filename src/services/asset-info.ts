// Everything known about assets, as one record per asset: `immich info` prints it, `immich search
// --json` and `immich edit --json` carry the same keys (AssetInfo), documented in man immich-info(1).
import type { Context } from '../context.js';
import { lastEdited } from '../db/asset-edits.js';
import { sql } from '../db/kysely.js';
import { albumsOfAssets } from '../db/albums.js';
import { userTagsOfAssets } from '../db/user-tags.js';
import { sidecarState, sidecarTarget } from './sidecars.js';

export interface AssetTagInfo {
  name: string;
  /** user, xmp, takeout (user tags); object, scene (detectors). */
  source: string;
  score?: number;
}

export interface AssetInfo {
  id: string;
  checksum: string;
  originalName: string;
  originalPath: string;
  /** The file the library serves (absolute). */
  libraryPath: string;
  storageMode: string;
  type: 'image' | 'video';
  mimeType: string;
  fileSize: number;
  width: number | null;
  height: number | null;
  /** UTC instant, ISO 8601. */
  takenAt: string | null;
  /** Wall-clock time where it was taken, ISO 8601 without offset. */
  localTakenAt: string | null;
  timeZone: string | null;
  /** edit, takeout, exif, sidecar, file mtime. */
  dateSource: string;
  latitude: number | null;
  longitude: number | null;
  city: string | null;
  state: string | null;
  country: string | null;
  make: string | null;
  model: string | null;
  lensModel: string | null;
  iso: number | null;
  fNumber: number | null;
  exposureTime: string | null;
  focalLength: number | null;
  duration: number | null;
  description: string | null;
  /** 0-5, the user's or else the file's. */
  rating: number | null;
  favorite: boolean;
  archived: boolean;
  trashedAt: string | null;
  editedAt: string | null;
  tags: AssetTagInfo[];
  albums: Array<{ id: string; path: string }>;
  people: Array<{ id: string | null; name: string | null; box: { x1: number; y1: number; x2: number; y2: number } }>;
  ocrText: string | null;
  stack: { id: string; primaryAssetId: string } | null;
  livePhotoVideoId: string | null;
  files: Array<{ kind: string; path: string }>;
  stages: Array<{ stage: string; status: string; error: string | null }>;
  sidecar: { path: string; state: string; error: string | null } | null;
}

const CHUNK = 2000;
const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

/** AssetInfo for each id, in the order given (unknown ids are left out). */
export async function describeAssets(ctx: Context, ids: string[]): Promise<AssetInfo[]> {
  const out: AssetInfo[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) out.push(...(await describeChunk(ctx, ids.slice(i, i + CHUNK))));
  return out;
}

async function describeChunk(ctx: Context, ids: string[]): Promise<AssetInfo[]> {
  if (!ids.length) return [];
  const db = ctx.db;
  const anyId = (col: string) => sql<boolean>`${sql.ref(col)} = any(${sql.val(ids)}::uuid[])`;
  const [rows, albums, userTags, labels, faces, ocr, files, stages, sidecars] = await Promise.all([
    db
      .selectFrom('assets as a')
      .leftJoin('exif as e', 'e.asset_id', 'a.id')
      .leftJoin('stack_assets as sa', 'sa.asset_id', 'a.id')
      .leftJoin('stacks as s', 's.id', 'sa.stack_id')
      .selectAll('a')
      .select([
        'e.make', 'e.model', 'e.lens_model', 'e.iso', 'e.f_number', 'e.exposure_time', 'e.focal_length', 'e.duration',
        'e.latitude', 'e.longitude', 'e.city', 'e.state', 'e.country', 'e.description as exif_description',
        'e.rating as exif_rating', 'e.date_time_original', 'e.sidecar_path', 's.primary_asset_id', 'sa.stack_id',
        // as text: the driver would read a zone-less timestamp in the process's zone
        sql<string | null>`to_char(a.local_taken_at, 'YYYY-MM-DD"T"HH24:MI:SS')`.as('local_iso'),
        lastEdited('a').as('last_edited'),
        sql<Date | null>`(select ae.xmp_edited_at from asset_edits ae where ae.asset_id = a.id)`.as('xmp_edited_at'),
      ])
      .where(anyId('a.id'))
      .execute(),
    albumsOfAssets(db, ids),
    userTagsOfAssets(db, ids),
    db
      .selectFrom('asset_tags as at')
      .innerJoin('tags as t', 't.id', 'at.tag_id')
      .select(['at.asset_id', 't.name', 'at.source', 'at.score'])
      .where(anyId('at.asset_id'))
      .orderBy('at.score', 'desc')
      .execute(),
    db
      .selectFrom('asset_faces as f')
      .leftJoin('people as p', 'p.id', 'f.person_id')
      .select(['f.asset_id', 'p.id', 'p.name', 'f.box_x1', 'f.box_y1', 'f.box_x2', 'f.box_y2'])
      .where(anyId('f.asset_id'))
      .where('f.deferred', '=', false)
      .orderBy('f.box_x1')
      .execute(),
    db.selectFrom('asset_ocr').select(['asset_id', 'text']).where(anyId('asset_id')).execute(),
    db.selectFrom('asset_files').select(['asset_id', 'kind', 'path']).where(anyId('asset_id')).orderBy('kind').execute(),
    db.selectFrom('asset_job_status').select(['asset_id', 'stage', 'status', 'error']).where(anyId('asset_id')).orderBy('stage').execute(),
    db.selectFrom('asset_sidecars').select(['asset_id', 'path', 'state', 'error', 'synced_at']).where(anyId('asset_id')).execute(),
  ]);
  const group = <T extends { asset_id: string }>(list: T[]) => {
    const m = new Map<string, T[]>();
    for (const r of list) (m.get(r.asset_id) ?? m.set(r.asset_id, []).get(r.asset_id)!).push(r);
    return m;
  };
  const [labelsBy, facesBy, ocrBy, filesBy, stagesBy] = [group(labels), group(faces), group(ocr), group(files), group(stages)];
  const sidecarBy = new Map(sidecars.map((s) => [s.asset_id, s]));
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id): AssetInfo[] => {
    const r = byId.get(id);
    if (!r) return [];
    const sc = sidecarBy.get(id);
    const dateSource = r.date_source ?? (r.date_time_original ? (r.sidecar_path ? 'sidecar' : 'exif') : r.taken_at ? 'exif' : 'file mtime');
    return [{
      id: r.id,
      checksum: r.checksum,
      originalName: r.original_name,
      originalPath: r.original_path,
      libraryPath: ctx.library.resolve(r.library_path),
      storageMode: r.storage_mode,
      type: r.type,
      mimeType: r.mime_type,
      fileSize: Number(r.file_size),
      width: r.width,
      height: r.height,
      takenAt: iso(r.taken_at),
      localTakenAt: r.local_iso,
      timeZone: r.time_zone,
      dateSource,
      latitude: r.latitude ?? null,
      longitude: r.longitude ?? null,
      city: r.city ?? null,
      state: r.state ?? null,
      country: r.country ?? null,
      make: r.make ?? null,
      model: r.model ?? null,
      lensModel: r.lens_model ?? null,
      iso: r.iso ?? null,
      fNumber: r.f_number ?? null,
      exposureTime: r.exposure_time ?? null,
      focalLength: r.focal_length ?? null,
      duration: r.duration ?? null,
      description: (r.description ?? r.exif_description) || null,
      rating: r.rating ?? r.exif_rating ?? null,
      favorite: r.is_favorite,
      archived: r.is_archived,
      trashedAt: iso(r.deleted_at),
      editedAt: iso(r.last_edited),
      tags: [
        ...(userTags.get(id) ?? []).map((t) => ({ name: t.value, source: t.source })),
        ...(labelsBy.get(id) ?? []).map((t) => ({ name: t.name, source: t.source === 'objects' ? 'object' : t.source === 'clip' ? 'scene' : t.source, ...(t.score !== null ? { score: Math.round(t.score * 1000) / 1000 } : {}) })),
      ],
      albums: albums.get(id) ?? [],
      people: (facesBy.get(id) ?? []).map((f) => ({ id: f.id ?? null, name: f.name || null, box: { x1: f.box_x1, y1: f.box_y1, x2: f.box_x2, y2: f.box_y2 } })),
      ocrText: ocrBy.get(id)?.[0]?.text ?? null,
      stack: r.stack_id && r.primary_asset_id ? { id: r.stack_id, primaryAssetId: r.primary_asset_id } : null,
      livePhotoVideoId: r.live_photo_video_id,
      files: (filesBy.get(id) ?? []).map((f) => ({ kind: f.kind, path: ctx.library.resolve(f.path) })),
      stages: (stagesBy.get(id) ?? []).map((s) => ({ stage: s.stage, status: s.status, error: s.error })),
      sidecar: sidecarInfo(ctx, r, sc),
    }];
  });
}

/** The sidecar line of info: where it is (or will be written) and whether it has every edit (see pendingSidecars). */
function sidecarInfo(
  ctx: Context,
  r: { id: string; library_path: string; storage_mode: string; sidecar_path: string | null; xmp_edited_at: Date | null },
  sc: { path: string; state: string; error: string | null; synced_at: Date | null } | undefined,
): AssetInfo['sidecar'] {
  if (!sc && !r.xmp_edited_at) return null;
  const state = sidecarState({ state: sc?.state ?? null, synced_at: sc?.synced_at ?? null }, r.xmp_edited_at);
  const rel = sc?.path || sidecarTarget(ctx, { id: r.id, library_path: r.library_path, storage_mode: r.storage_mode, sidecar_path: r.sidecar_path, state_path: null });
  return { path: ctx.library.resolve(rel), state, error: sc?.error ?? null };
}
