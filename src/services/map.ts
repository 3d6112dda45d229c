// The map's markers: every shown asset with a GPS position, in the shape of Immich's
// GET /map/markers (id, lat, lon and the offline reverse-geocoded city/state/country).
import { sql } from '../db/kysely.js';
import type { Context } from '../context.js';

export interface MapMarker {
  id: string;
  lat: number;
  lon: number;
  city: string | null;
  state: string | null;
  country: string | null;
}

export interface MapMarkerFilter {
  /** Immich's meaning: true = the archive too, otherwise the timeline only. */
  isArchived?: boolean;
  /** true = favorites only. */
  isFavorite?: boolean;
  /** Capture time (else the file's time) bounds, as the timeline orders. */
  fileCreatedAfter?: Date;
  fileCreatedBefore?: Date;
}

const WHEN = sql<Date>`coalesce(${sql.ref('a.taken_at')}, ${sql.ref('a.file_mtime')})`;

/** Newest first, so a crowded spot opens on its latest photo. (0, 0) is "no position" (as Takeout writes it). */
export async function mapMarkers(ctx: Context, f: MapMarkerFilter = {}): Promise<MapMarker[]> {
  let q = ctx.db
    .selectFrom('exif as e')
    .innerJoin('assets as a', 'a.id', 'e.asset_id')
    .select(['a.id', 'e.latitude', 'e.longitude', 'e.city', 'e.state', 'e.country'])
    .where('e.latitude', 'is not', null)
    .where('e.longitude', 'is not', null)
    .where((eb) => eb.or([eb('e.latitude', '<>', 0), eb('e.longitude', '<>', 0)]))
    .where('a.deleted_at', 'is', null)
    .where('a.is_motion_part', '=', false);
  if (f.isArchived !== true) q = q.where('a.is_archived', '=', false);
  if (f.isFavorite === true) q = q.where('a.is_favorite', '=', true);
  if (f.fileCreatedAfter) q = q.where(WHEN, '>=', f.fileCreatedAfter);
  if (f.fileCreatedBefore) q = q.where(WHEN, '<=', f.fileCreatedBefore);
  const rows = await q.orderBy(WHEN, 'desc').orderBy('a.id').execute();
  return rows.flatMap((r) =>
    Math.abs(r.latitude!) <= 90 && Math.abs(r.longitude!) <= 180
      ? [{ id: r.id, lat: r.latitude!, lon: r.longitude!, city: r.city ?? null, state: r.state ?? null, country: r.country ?? null }]
      : [],
  );
}
