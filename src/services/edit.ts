// `immich edit`: favorites, archive, rating, description, user tags, capture date and time zone,
// location; for many assets at once, in one transaction, then written to each asset's XMP sidecar.
// The decisions (what each asset's new values are) are pure functions below; editAssets applies them.
import type { Context } from '../context.js';
import { sql } from '../db/kysely.js';
import { UsageError } from '../errors.js';
import { tagAssets, untagAssets, normaliseTag } from '../db/user-tags.js';
import { markEdited } from '../db/asset-edits.js';
import { zoneOffsetAt } from '../media/metadata.js';
import { ensurePlaces, nearestPlace } from './places.js';
import { markPending, writeSidecars, type SidecarFailure } from './sidecars.js';

export type LocationEdit = { lat: number; lon: number } | { name: string } | null;

export interface EditSpec {
  favorite?: boolean;
  archive?: boolean;
  rating?: number;
  /** '' clears it. */
  description?: string;
  tag: string[];
  untag: string[];
  /** --date: an instant with the offset it was taken at. */
  date?: { local: string; offset: string };
  shiftMs?: number;
  tz?: { zone: string; keep: 'wall-clock' | 'instant' };
  /** undefined: unchanged; null: remove. */
  location?: LocationEdit;
}

export interface EditFlags {
  favorite?: boolean;
  archive?: boolean;
  unarchive?: boolean;
  rating?: string;
  description?: string;
  tag?: string[];
  untag?: string[];
  date?: string;
  shift?: string;
  tz?: string;
  keepWallClock?: boolean;
  keepInstant?: boolean;
  location?: string | boolean;
}

const DATE_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?(?:\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** '2024-05-01T10:00:00+01:00' → wall clock and offset; an offset is required (the zone is part of the fact). */
export function parseEditDate(value: string): { local: string; offset: string } {
  const m = DATE_RE.exec(value.trim());
  const d = m ? new Date(value.trim()) : undefined;
  if (!m || !d || Number.isNaN(d.getTime())) {
    throw new UsageError(`--date ${value}: not an ISO date and time with an offset, e.g. 2024-05-01T10:00:00+01:00 or 2024-05-01T09:00:00Z`);
  }
  let offset = m[4]!.toUpperCase();
  if (offset === 'Z') offset = '+00:00';
  else if (/^[+-]\d{2}$/.test(offset)) offset += ':00';
  else if (/^[+-]\d{4}$/.test(offset)) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`;
  const local = `${m[1]}T${m[2]}${m[3] ?? ':00'}`;
  // 2024-02-30 parses in JS by rolling over: compare the wall clock back
  const wall = new Date(`${local}Z`);
  if (Number.isNaN(wall.getTime()) || wall.toISOString().slice(0, 19) !== local) throw new UsageError(`--date ${value}: no such date`);
  return { local, offset };
}

/** '+1h30m', '-2d', '45s' → milliseconds. */
export function parseShift(value: string): number {
  const m = /^([+-])?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value.trim());
  if (!m || !(m[2] || m[3] || m[4] || m[5])) throw new UsageError(`--shift ${value}: not a duration like +1h30m, -2d or 45s`);
  const ms = ((Number(m[2] ?? 0) * 24 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0)) * 60_000 + Number(m[5] ?? 0) * 1000;
  return m[1] === '-' ? -ms : ms;
}

/** A zone is an offset ('+02:00') or an IANA name the runtime knows ('Europe/Lisbon'). */
export function parseZone(value: string): string {
  const v = value.trim();
  const off = /^([+-])(\d{2}):?(\d{2})$/.exec(v);
  if (off) {
    if (Number(off[2]) > 14 || Number(off[3]) > 59) throw new UsageError(`--tz ${value}: not a UTC offset`);
    return `${off[1]}${off[2]}:${off[3]}`;
  }
  if (v === 'UTC' || v === 'Z') return '+00:00';
  if (zoneOffsetAt(v, new Date()) === undefined) throw new UsageError(`--tz ${value}: unknown time zone (use a name like Europe/Lisbon or an offset like +01:00)`);
  return v;
}

export function parseLocation(value: string): LocationEdit {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(value);
  if (m) {
    const lat = Number(m[1]);
    const lon = Number(m[2]);
    if (Math.abs(lat) > 90) throw new UsageError(`--location ${value}: latitude ${lat} is outside -90..90`);
    if (Math.abs(lon) > 180) throw new UsageError(`--location ${value}: longitude ${lon} is outside -180..180`);
    return { lat, lon };
  }
  if (!value.trim() || /^[\d\s.,+-]+$/.test(value)) throw new UsageError(`--location ${value}: not "lat,lon" in decimal degrees or a place name like "Lisbon, Portugal"`);
  return { name: value.trim() };
}

/** Flags → a validated EditSpec (UsageError, exit 2, before anything is read or changed). */
export function parseEditFlags(f: EditFlags): EditSpec {
  if (f.archive && f.unarchive) throw new UsageError('--archive and --unarchive exclude each other');
  if (f.keepWallClock && f.keepInstant) throw new UsageError('--keep-wall-clock and --keep-instant exclude each other');
  if (f.tz && !f.keepWallClock && !f.keepInstant) throw new UsageError('--tz needs --keep-wall-clock (same local time, another instant) or --keep-instant (same instant, another local time)');
  if (!f.tz && (f.keepWallClock || f.keepInstant)) throw new UsageError('--keep-wall-clock and --keep-instant go with --tz');
  let rating: number | undefined;
  if (f.rating !== undefined) {
    rating = Number(f.rating);
    if (!Number.isInteger(rating) || rating < 0 || rating > 5) throw new UsageError(`--rating ${f.rating}: must be an integer from 0 (none) to 5`);
  }
  const spec: EditSpec = {
    favorite: f.favorite,
    archive: f.archive ? true : f.unarchive ? false : undefined,
    rating,
    description: f.description,
    tag: (f.tag ?? []).map((t) => normaliseTagFlag('--tag', t)),
    untag: (f.untag ?? []).map((t) => normaliseTagFlag('--untag', t)),
    date: f.date !== undefined ? parseEditDate(f.date) : undefined,
    shiftMs: f.shift !== undefined ? parseShift(f.shift) : undefined,
    tz: f.tz !== undefined ? { zone: parseZone(f.tz), keep: f.keepWallClock ? 'wall-clock' : 'instant' } : undefined,
    location: f.location === false ? null : typeof f.location === 'string' ? parseLocation(f.location) : undefined,
  };
  if (f.location === true) throw new UsageError('--location needs "lat,lon" or a place name');
  if (!hasEdits(spec)) throw new UsageError('nothing to change: give --favorite, --archive, --rating, --description, --tag, --date, --shift, --tz or --location');
  return spec;
}

function normaliseTagFlag(flag: string, t: string): string {
  try {
    return normaliseTag(t);
  } catch {
    throw new UsageError(`${flag} ${JSON.stringify(t)}: not a tag (names separated by "/", none empty)`);
  }
}

export function hasEdits(s: EditSpec): boolean {
  return s.favorite !== undefined || s.archive !== undefined || s.rating !== undefined || s.description !== undefined || s.tag.length > 0 ||
    s.untag.length > 0 || s.date !== undefined || s.shiftMs !== undefined || s.tz !== undefined || s.location !== undefined;
}

export interface ResolvedPlace {
  lat: number;
  lon: number;
  city: string;
  state: string | null;
  country: string | null;
}

/**
 * "Lisbon" or "Lisbon, Portugal" (or "Springfield, Illinois, US") → coordinates from the shipped
 * GeoNames data. Several distinct places → a usage error listing them, so the user can add the
 * state or country.
 */
export async function resolvePlaceName(ctx: Context, name: string): Promise<ResolvedPlace> {
  await ensurePlaces(ctx);
  const [city, ...qualifiers] = name.split(',').map((s) => s.trim()).filter(Boolean);
  const rows = await ctx.db
    .selectFrom('places')
    .select(['name', 'admin1', 'country', 'country_code', 'latitude', 'longitude'])
    .where(sql<boolean>`immich_fold(name) = immich_fold(${city!})`)
    .orderBy('id')
    .execute();
  const fold = (s: string | null) => (s ?? '').normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  const matches = rows.filter((r) => qualifiers.every((q) => [r.admin1, r.country, r.country_code].some((v) => fold(v) === fold(q))));
  // The same town listed twice (a city and its district) is one place: within 20 km.
  const distinct: typeof matches = [];
  for (const r of matches) {
    if (!distinct.some((d) => Math.abs(d.latitude - r.latitude) < 0.2 && Math.abs(d.longitude - r.longitude) < 0.2)) distinct.push(r);
  }
  const label = (r: (typeof rows)[number]) => [r.name, r.admin1, r.country ?? r.country_code].filter(Boolean).join(', ');
  if (!distinct.length) throw new UsageError(`--location ${name}: no such place in the GeoNames data (give "lat,lon" instead)`);
  if (distinct.length > 1) {
    const shown = distinct.slice(0, 10).map((r) => `  ${label(r)} (${r.latitude.toFixed(4)},${r.longitude.toFixed(4)})`).join('\n');
    throw new UsageError(`--location ${name}: ${distinct.length} places have that name; add the state or country:\n${shown}${distinct.length > 10 ? `\n  ... and ${distinct.length - 10} more` : ''}`);
  }
  const r = distinct[0]!;
  return { lat: r.latitude, lon: r.longitude, city: r.name, state: r.admin1, country: r.country };
}

export interface Change {
  id: string;
  file: string;
  field: string;
  from: unknown;
  to: unknown;
}

export interface EditResult {
  /** Assets selected. */
  selected: number;
  /** Assets with at least one change. */
  changed: number;
  changes: Change[];
  dryRun: boolean;
  sidecarsWritten: number;
  sidecarFailures: SidecarFailure[];
  /** Milliseconds in the database transaction (bench/organize). */
  dbMs: number;
}

interface Current {
  id: string;
  library_path: string;
  is_favorite: boolean;
  is_archived: boolean;
  rating: number | null;
  description: string | null;
  taken_at: Date | null;
  file_mtime: Date;
  local_iso: string | null;
  time_zone: string | null;
  latitude: number | null;
  longitude: number | null;
}

const localMs = (local: string) => Date.parse(`${local}Z`);
const fmtLocal = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const offsetMinutes = (o: string) => (o.startsWith('-') ? -1 : 1) * (Number(o.slice(1, 3)) * 60 + Number(o.slice(4, 6)));

/** Offset in minutes of a zone (an offset or an IANA name) at an instant. */
function zoneMinutes(zone: string, instant: Date): number {
  if (/^[+-]\d{2}:\d{2}$/.test(zone)) return offsetMinutes(zone);
  return zoneOffsetAt(zone, instant) ?? 0;
}

export interface DateState {
  takenAt: Date;
  local: string;
  zone: string | null;
}

/** The new capture date of one asset: --date, then --shift, then --tz. Pure. */
export function newDate(cur: DateState, spec: Pick<EditSpec, 'date' | 'shiftMs' | 'tz'>): DateState {
  let s = { ...cur };
  if (spec.date) {
    s = { takenAt: new Date(localMs(spec.date.local) - offsetMinutes(spec.date.offset) * 60_000), local: spec.date.local, zone: spec.date.offset };
  }
  if (spec.shiftMs) s = { takenAt: new Date(s.takenAt.getTime() + spec.shiftMs), local: fmtLocal(localMs(s.local) + spec.shiftMs), zone: s.zone };
  if (spec.tz) {
    const zone = spec.tz.zone;
    if (spec.tz.keep === 'instant') {
      s = { takenAt: s.takenAt, local: fmtLocal(s.takenAt.getTime() + zoneMinutes(zone, s.takenAt) * 60_000), zone };
    } else {
      // the offset in force at that wall-clock time (one correction step covers DST edges)
      let guess = new Date(localMs(s.local) - zoneMinutes(zone, new Date(localMs(s.local))) * 60_000);
      guess = new Date(localMs(s.local) - zoneMinutes(zone, guess) * 60_000);
      s = { takenAt: guess, local: s.local, zone };
    }
  }
  return s;
}

const CHUNK = 20000;
const anyId = (col: string, ids: string[]) => sql<boolean>`${sql.ref(col)} = any(${sql.val(ids)}::uuid[])`;

async function loadCurrent(ctx: Context, ids: string[]): Promise<Current[]> {
  const out: Current[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await ctx.db
      .selectFrom('assets as a')
      .leftJoin('exif as e', 'e.asset_id', 'a.id')
      .select([
        'a.id', 'a.library_path', 'a.is_favorite', 'a.is_archived', 'a.taken_at', 'a.file_mtime', 'a.time_zone', 'e.latitude', 'e.longitude',
        sql<number | null>`coalesce(a.rating, e.rating)`.as('rating'),
        sql<string | null>`nullif(coalesce(a.description, e.description), '')`.as('description'),
        sql<string | null>`to_char(a.local_taken_at, 'YYYY-MM-DD"T"HH24:MI:SS')`.as('local_iso'),
      ])
      .where(anyId('a.id', ids.slice(i, i + CHUNK)))
      .execute();
    out.push(...(rows as Current[]));
  }
  return out;
}

/** Assets among `ids` that carry a user tag (or, with below, one under it). */
async function taggedWith(ctx: Context, ids: string[], tag: string, below: boolean): Promise<Set<string>> {
  const v = tag.toLowerCase();
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await ctx.db
      .selectFrom('asset_user_tags as at')
      .innerJoin('user_tags as t', 't.id', 'at.tag_id')
      .select('at.asset_id')
      .distinct()
      .where(anyId('at.asset_id', ids.slice(i, i + CHUNK)))
      .where((eb) => {
        const exact = eb(sql`lower(t.value)`, '=', v);
        return below ? eb.or([exact, eb(sql`lower(t.value)`, 'like', v.replace(/[\\%_]/g, (m) => '\\' + m) + '/%')]) : exact;
      })
      .execute();
    for (const r of rows) out.add(r.asset_id);
  }
  return out;
}

/**
 * Apply an edit to the selected assets: one transaction for the database, then the sidecars of the
 * assets whose XMP fields changed. A sidecar that cannot be written is listed; the database change stands.
 */
export async function editAssets(
  ctx: Context,
  ids: string[],
  spec: EditSpec,
  opts: { dryRun?: boolean; onSidecarProgress?: (done: number, total: number) => void; skipSidecars?: boolean } = {},
): Promise<EditResult> {
  const place = spec.location && 'name' in spec.location ? await resolvePlaceName(ctx, spec.location.name) : undefined;
  const coords = spec.location === null ? null : place ? { lat: place.lat, lon: place.lon } : (spec.location as { lat: number; lon: number } | undefined);
  const geo = coords ? place ?? (await ensurePlaces(ctx).then(() => nearestPlace(ctx, coords.lat, coords.lon))) : undefined;
  const t0 = performance.now();
  const cur = await loadCurrent(ctx, ids);
  const changes: Change[] = [];
  const fileOf = new Map(cur.map((c) => [c.id, ctx.library.resolve(c.library_path)]));
  const push = (id: string, field: string, from: unknown, to: unknown) => changes.push({ id, file: fileOf.get(id)!, field, from, to });
  const xmpChanged = new Set<string>();
  const touched = new Set<string>();

  const favIds = spec.favorite === undefined ? [] : cur.filter((c) => c.is_favorite !== spec.favorite).map((c) => c.id);
  for (const id of favIds) push(id, 'favorite', !spec.favorite, spec.favorite);
  const archIds = spec.archive === undefined ? [] : cur.filter((c) => c.is_archived !== spec.archive).map((c) => c.id);
  for (const id of archIds) push(id, 'archived', !spec.archive, spec.archive);
  const ratingIds = spec.rating === undefined ? [] : cur.filter((c) => (c.rating ?? 0) !== spec.rating).map((c) => c.id);
  const ratingSet = new Set(ratingIds);
  for (const c of cur) if (ratingSet.has(c.id)) push(c.id, 'rating', c.rating, spec.rating);
  const newDesc = spec.description === undefined ? undefined : spec.description.trim() || null;
  const descIds = spec.description === undefined ? [] : cur.filter((c) => c.description !== newDesc).map((c) => c.id);
  const descSet = new Set(descIds);
  for (const c of cur) if (descSet.has(c.id)) push(c.id, 'description', c.description, newDesc);

  const dates: Array<{ id: string; s: DateState }> = [];
  if (spec.date || spec.shiftMs || spec.tz) {
    for (const c of cur) {
      const takenAt = new Date(c.taken_at ?? c.file_mtime);
      const before: DateState = { takenAt, local: c.local_iso ?? takenAt.toISOString().slice(0, 19), zone: c.time_zone };
      const after = newDate(before, spec);
      if (after.takenAt.getTime() !== before.takenAt.getTime() || after.local !== before.local || after.zone !== before.zone) {
        dates.push({ id: c.id, s: after });
        push(c.id, 'takenAt', `${before.local}${before.zone ? ` ${before.zone}` : ''}`, `${after.local} ${after.zone ?? ''}`.trim());
      }
    }
  }
  const locIds =
    spec.location === undefined ? [] : cur.filter((c) => (coords ? c.latitude !== coords.lat || c.longitude !== coords.lon : c.latitude !== null)).map((c) => c.id);
  const locSet = new Set(locIds);
  for (const c of cur) {
    if (!locSet.has(c.id)) continue;
    push(c.id, 'location', c.latitude === null ? null : `${c.latitude},${c.longitude}`, coords ? `${coords.lat},${coords.lon}${geo ? ` (${[geo.city, geo.country].filter(Boolean).join(', ')})` : ''}` : null);
  }
  const tagAdds: Array<{ tag: string; ids: string[] }> = [];
  for (const tag of spec.tag) {
    const have = await taggedWith(ctx, ids, tag, false);
    const add = ids.filter((id) => !have.has(id));
    tagAdds.push({ tag, ids: add });
    for (const id of add) push(id, 'tag', null, tag);
  }
  const tagRemoves: Array<{ tag: string; ids: string[] }> = [];
  for (const tag of spec.untag) {
    const have = await taggedWith(ctx, ids, tag, true);
    const rm = ids.filter((id) => have.has(id));
    tagRemoves.push({ tag, ids: rm });
    for (const id of rm) push(id, 'untag', tag, null);
  }
  for (const ch of changes) {
    touched.add(ch.id);
    if (ch.field !== 'favorite' && ch.field !== 'archived') xmpChanged.add(ch.id);
  }

  if (!opts.dryRun && touched.size) {
    const now = new Date();
    await ctx.db.transaction().execute(async (trx) => {
      const inChunks = async (list: string[], fn: (chunk: string[]) => Promise<unknown>) => {
        for (let i = 0; i < list.length; i += CHUNK) await fn(list.slice(i, i + CHUNK));
      };
      await inChunks(favIds, (c) => trx.updateTable('assets').set({ is_favorite: spec.favorite! }).where(anyId('id', c)).execute());
      await inChunks(archIds, (c) => trx.updateTable('assets').set({ is_archived: spec.archive! }).where(anyId('id', c)).execute());
      await inChunks(ratingIds, (c) => trx.updateTable('assets').set({ rating: spec.rating! }).where(anyId('id', c)).execute());
      // '' (not null) records "cleared by the user": null would fall back to the file's description
      await inChunks(descIds, (c) => trx.updateTable('assets').set({ description: newDesc ?? '' }).where(anyId('id', c)).execute());
      for (let i = 0; i < dates.length; i += CHUNK) {
        const d = dates.slice(i, i + CHUNK);
        await trx
          .updateTable('assets')
          .from(
            sql<{ id: string; t: Date; l: string; z: string | null }>`(select unnest(${sql.val(d.map((x) => x.id))}::uuid[]) as id,
              unnest(${sql.val(d.map((x) => x.s.takenAt.toISOString()))}::timestamptz[]) as t,
              unnest(${sql.val(d.map((x) => x.s.local))}::timestamp[]) as l,
              unnest(${sql.val(d.map((x) => x.s.zone))}::text[]) as z)`.as('v'),
          )
          .set({ taken_at: sql`v.t`, local_taken_at: sql`v.l`, time_zone: sql`v.z`, date_source: 'edit' })
          .whereRef('assets.id', '=', sql`v.id`)
          .execute();
      }
      if (locIds.length) {
        await inChunks(locIds, async (c) => {
          // an asset whose metadata stage has not run yet has no exif row
          await trx.insertInto('exif').columns(['asset_id']).expression(sql`select unnest(${sql.val(c)}::uuid[])`).onConflict((oc) => oc.doNothing()).execute();
          await trx.updateTable('exif').set({ latitude: coords?.lat ?? null, longitude: coords?.lon ?? null, gps_source: coords ? 'edit' : null }).where(anyId('asset_id', c)).execute();
          // Place names now (one lookup for all), so no search has to geocode these again; a separate
          // update, as the GPS trigger (migration 0027) flags every update of the position as pending.
          await trx
            .updateTable('exif')
            .set({ city: geo?.city ?? null, state: geo?.state ?? null, country: geo?.country ?? null, geocode_pending: false })
            .where(anyId('asset_id', c))
            .execute();
        });
      }
      for (const t of tagAdds) if (t.ids.length) await tagAssets(trx, t.ids, t.tag, 'user');
      for (const t of tagRemoves) if (t.ids.length) await untagAssets(trx, t.ids, t.tag);
      // In the narrow asset_edits table, not assets.edited_at: see src/db/asset-edits.ts.
      await markEdited(trx, [...touched], now);
      await markPending(trx, [...xmpChanged]);
    });
  }
  const dbMs = performance.now() - t0;
  let sidecarsWritten = 0;
  let sidecarFailures: SidecarFailure[] = [];
  if (!opts.dryRun && !opts.skipSidecars && xmpChanged.size) {
    const r = await writeSidecars(ctx, [...xmpChanged], opts.onSidecarProgress);
    sidecarsWritten = r.written;
    sidecarFailures = r.failed;
  }
  return { selected: ids.length, changed: touched.size, changes, dryRun: Boolean(opts.dryRun), sidecarsWritten, sidecarFailures, dbMs };
}

