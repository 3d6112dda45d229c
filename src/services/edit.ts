// `immich edit`: favorites, archive, rating, description, user tags, capture date and time zone,
// location; for many assets at once, in one transaction, then written to each asset's XMP sidecar.
// The decisions (what each asset's new values are) are pure functions below; editAssets applies them.
import type { Context } from '../context.js';
import type { RawBuilder, SelectQueryBuilder } from 'kysely';
import { sql } from '../db/kysely.js';
import { UsageError } from '../errors.js';
import { ensureTags, findUserTag, normaliseTag } from '../db/user-tags.js';
import { markEdited } from '../db/asset-edits.js';
import { zoneOffsetAt } from '../media/metadata.js';
import { ensurePlaces, nearestPlace } from './places.js';
import { likeEscape } from './selection.js';
import { writeSidecars, type SidecarFailure } from './sidecars.js';

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
  /** The changes, or the first `changeLimit` of them. */
  changes: Change[];
  /** How many changes there are in all (changes.length unless cut by changeLimit). */
  changeCount: number;
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

/**
 * What an edit acts on: asset ids (the server, uploads), or the selection as a query of `a.id` over
 * `assets a` (the CLI: it runs inside the edit's own statement, so no id list travels from Node).
 */
export type EditTarget = string[] | SelectQueryBuilder<any, any, { id: string }>;

/**
 * The target as SQL yielding `id` and `library_path`. On PostgreSQL each asset is locked FOR KEY
 * SHARE, so a concurrent delete waits for the edit and then removes its new rows too (migration
 * 0112: asset_user_tags and asset_edits have a delete trigger on assets instead of a foreign key).
 * The embedded database is one session whose transactions run one after the other: nothing can
 * delete an asset while the edit's statement runs, and locking 100k rows there cost ~0.3 s.
 */
function targetSql(ctx: Context, target: EditTarget): RawBuilder<unknown> {
  const lock = ctx.config.database.kind === 'postgres';
  if (Array.isArray(target)) {
    return sql`select a.id, a.library_path from assets a where a.id = any(${sql.val(target)}::uuid[])${lock ? sql` for key share of a` : sql``}`;
  }
  const q = target.select('a.library_path' as never);
  return sql`${lock ? q.forKeyShare(['a'] as never) : q}`;
}

async function loadCurrent(ctx: Context | { db: Context['db'] }, ids: string[]): Promise<Current[]> {
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

/**
 * Rows of the combined statement: one per change kind and asset (or the first `limit` of them), each
 * with the counts: the selection's size, the change rows and the assets changed.
 */
interface CombinedRow {
  n: number;
  changes: number;
  changed: number;
  id: string | null;
  k: string | null;
  library_path: string | null;
  is_favorite: boolean | null;
  is_archived: boolean | null;
  rating: number | null;
  description: string | null;
}

/**
 * Favorite, archive, rating, description, tags and untags of every selected asset in ONE statement:
 * the selection (`sel`: id and library_path), each change as a data-modifying CTE that returns the
 * assets it changed, and the edit mark (asset_edits, with xmp_edited_at when an XMP field changed:
 * the sidecar is then behind) for all of them. One snapshot, one round trip, no per-row triggers.
 * Rows are inserted in id order: the primary keys' B-trees then take them page after page (at 100k
 * new rows into a fresh index, ~25% less time than in the selection's order). With `limit`, only
 * that many change rows come back (with the counts; `nf` is the number of fields a 'flags' row
 * changed): the terminal shows the first ones, and 100k rows read into Node cost more than the
 * statement's sort and index work.
 */
function combinedEdit(sel: RawBuilder<unknown>, spec: EditSpec, tagIds: string[], now: Date, limit: number | undefined, plain: boolean): RawBuilder<CombinedRow> {
  const newDesc = spec.description === undefined ? undefined : spec.description.trim() || null;
  const sets: RawBuilder<unknown>[] = [];
  const diffs: RawBuilder<unknown>[] = [];
  const xmpDiffs: RawBuilder<unknown>[] = [];
  if (spec.favorite !== undefined) {
    sets.push(sql`is_favorite = ${spec.favorite}`);
    diffs.push(sql`o.is_favorite <> ${spec.favorite}`);
  }
  if (spec.archive !== undefined) {
    sets.push(sql`is_archived = ${spec.archive}`);
    diffs.push(sql`o.is_archived <> ${spec.archive}`);
  }
  if (spec.rating !== undefined) {
    sets.push(sql`rating = ${spec.rating}::smallint`);
    diffs.push(sql`coalesce(o.rating, 0) <> ${spec.rating}`);
    xmpDiffs.push(sql`coalesce(o.rating, 0) <> ${spec.rating}`);
  }
  if (newDesc !== undefined) {
    // '' (not null) records "cleared by the user": null would fall back to the file's description
    sets.push(sql`description = ${newDesc ?? ''}::text`);
    diffs.push(sql`o.description is distinct from ${newDesc}::text`);
    xmpDiffs.push(sql`o.description is distinct from ${newDesc}::text`);
  }
  const ctes: RawBuilder<unknown>[] = [];
  const kinds: RawBuilder<unknown>[] = [];
  if (sets.length) {
    ctes.push(sql`flags as (update assets a set ${sql.join(sets)} from old o where a.id = o.id and (${sql.join(diffs, sql` or `)})
      returning a.id, ${xmpDiffs.length ? sql`(${sql.join(xmpDiffs, sql` or `)})` : sql`false`} as xmp,
        ${sql.join(diffs.map((d) => sql`(${d})::int`), sql` + `)} as nf)`);
    kinds.push(sql`select id, 'flags' as k, xmp, nf from flags`);
  }
  spec.tag.forEach((_, i) => {
    const tagId = tagIds[i]!;
    const name = sql.raw(`tag${i}`);
    if (plain) {
      // A tag no asset has yet (the usual bulk case: a new tag): plain inserts, about half the cost
      // of ON CONFLICT's speculative insertion. Otherwise (the uncorrelated test is evaluated once,
      // before the first row, in the statement's snapshot) ON CONFLICT below. A row inserted
      // meanwhile by another session fails the statement with a unique violation: editAssets then
      // runs it again with plain = false.
      ctes.push(sql`${sql.raw(`tag${i}p`)} as (insert into asset_user_tags (asset_id, tag_id, source)
        select o.id, ${tagId}::uuid, 'user' from old o where not exists (select 1 from asset_user_tags t where t.tag_id = ${tagId}::uuid)
        order by o.id returning asset_id)`);
    }
    // ON CONFLICT alone (a primary-key probe per row): a NOT EXISTS per row here was planned, on a
    // table with no rows yet, as a nested loop re-scanning the very pages this statement fills.
    ctes.push(sql`${name} as (insert into asset_user_tags (asset_id, tag_id, source)
      select o.id, ${tagId}::uuid, 'user' from old o
      ${plain ? sql`where exists (select 1 from asset_user_tags t where t.tag_id = ${tagId}::uuid)` : sql``}
      order by o.id on conflict do nothing returning asset_id)`);
    kinds.push(sql`select asset_id, ${`tag${i}`}::text, true, 1 from ${name}`);
    if (plain) kinds.push(sql`select asset_id, ${`tag${i}`}::text, true, 1 from ${sql.raw(`tag${i}p`)}`);
  });
  spec.untag.forEach((tag, i) => {
    const v = tag.toLowerCase();
    ctes.push(sql`${sql.raw(`untag${i}`)} as (delete from asset_user_tags t using old o
      where t.asset_id = o.id and t.tag_id in (select id from user_tags where lower(value) = ${v} or lower(value) like ${likeEscape(v) + '/%'})
      returning t.asset_id)`);
    kinds.push(sql`select distinct asset_id, ${`untag${i}`}::text, true, 1 from ${sql.raw(`untag${i}`)}`);
  });
  // Flags compare with the current values; tags only need the selection itself.
  const old = sets.length
    ? sql`old as materialized (select a.id, a.library_path, a.is_favorite, a.is_archived, coalesce(a.rating, e.rating) as rating,
        nullif(coalesce(a.description, e.description), '') as description from sel join assets a on a.id = sel.id left join exif e on e.asset_id = a.id)`
    : sql`old as not materialized (select id, library_path, null::boolean as is_favorite, null::boolean as is_archived, null::int as rating,
        null::text as description from sel)`;
  const shown = limit === undefined ? sql`ch` : sql`(select * from ch limit ${limit})`;
  // One kind of change: each asset is in ch once (no grouping), and after a tag's insert in id order already.
  const single = (sets.length ? 1 : 0) + spec.tag.length + spec.untag.length === 1;
  const markRows = (where: RawBuilder<unknown>) =>
    single
      ? sql`select id, ${now}::timestamptz, case when xmp then ${now}::timestamptz end from ch ${where} ${spec.tag.length ? sql`` : sql`order by id`}`
      : sql`select id, ${now}::timestamptz, case when bool_or(xmp) then ${now}::timestamptz end from ch ${where} group by id order by id`;
  return sql<CombinedRow>`with sel as materialized (select s.id, s.library_path from (${sel}) s),
    ${old},
    ${sql.join(ctes)},
    ch (id, k, xmp, nf) as (${sql.join(kinds, sql` union all `)}),
    ${plain ? sql`
    -- none of the changed assets has an edit row yet (one ordered index scan of their ids): plain inserts
    fresh as materialized (select not exists (select 1 from asset_edits ae where ae.asset_id = any(array(select id from ch))) as yes),
    mark_new as (insert into asset_edits (asset_id, edited_at, xmp_edited_at) ${markRows(sql`where (select yes from fresh)`)} returning asset_id),` : sql``}
    mark as (insert into asset_edits (asset_id, edited_at, xmp_edited_at) ${markRows(plain ? sql`where not (select yes from fresh)` : sql``)}
      on conflict (asset_id) do update set edited_at = excluded.edited_at, xmp_edited_at = coalesce(excluded.xmp_edited_at, asset_edits.xmp_edited_at)
      returning asset_id)
    select c.n, c.changes, c.changed, d.id, d.k, d.library_path, d.is_favorite, d.is_archived, d.rating, d.description
      from (select (select count(*)::int from sel) as n, (select coalesce(sum(nf), 0)::int from ch) as changes, (select count(*)::int from ${plain ? sql`(select asset_id from mark union all select asset_id from mark_new)` : sql`mark`} m) as changed) c
      left join (select c2.id, c2.k, o.library_path, o.is_favorite, o.is_archived, o.rating, o.description from ${shown} c2 join old o on o.id = c2.id) d on true`;
}

/** Tells the transaction of a dry run to roll back once the changes are known. */
class DryRun extends Error {}

/**
 * Apply an edit to the selected assets: one transaction for the database (a dry run rolls it back),
 * then the sidecars of the assets whose XMP fields changed. A sidecar that cannot be written is
 * listed; the database change stands.
 */
export async function editAssets(
  ctx: Context,
  target: EditTarget,
  spec: EditSpec,
  opts: {
    dryRun?: boolean;
    onSidecarProgress?: (done: number, total: number) => void;
    skipSidecars?: boolean;
    /** List only the first n changes (the counts stay exact): a terminal shows a few of 100k. */
    changeLimit?: number;
  } = {},
): Promise<EditResult> {
  const place = spec.location && 'name' in spec.location ? await resolvePlaceName(ctx, spec.location.name) : undefined;
  const coords = spec.location === null ? null : place ? { lat: place.lat, lon: place.lon } : (spec.location as { lat: number; lon: number } | undefined);
  const geo = coords ? place ?? (await ensurePlaces(ctx).then(() => nearestPlace(ctx, coords.lat, coords.lon))) : undefined;
  // Removing a tag nobody has is a mistake in the name (exit 2, nothing changed), as for --has-tag.
  for (const tag of spec.untag) {
    if (!(await findUserTag(ctx.db, tag))) throw new UsageError(`--untag ${tag}: no such tag (see immich tags list)`);
  }
  const t0 = performance.now();
  const now = new Date();
  const changes: Change[] = [];
  const xmpChanged = new Set<string>();
  const touched = new Set<string>();
  let selected = 0;
  const newDesc = spec.description === undefined ? undefined : spec.description.trim() || null;
  const combined = spec.favorite !== undefined || spec.archive !== undefined || spec.rating !== undefined || newDesc !== undefined || spec.tag.length > 0 || spec.untag.length > 0;
  const perAsset = Boolean(spec.date || spec.shiftMs || spec.tz) || spec.location !== undefined;

  // Dates and places need every changed asset in Node; favorites, flags and tags do not.
  const limit = perAsset ? undefined : opts.changeLimit;
  let counts: { changes: number; changed: number } | undefined;

  const run = async (trx: Context['db']) => {
    const tagIds: string[] = [];
    if (spec.tag.length) {
      const byPath = await ensureTags(trx, spec.tag);
      for (const t of spec.tag) tagIds.push(byPath.get(t.toLowerCase())!);
    }
    let sel = targetSql(ctx, target);
    let ids: string[] = [];
    if (perAsset) {
      // Dates and places are computed per asset here: read the selection once, then act on these ids.
      ids = (await sql<{ id: string }>`select s.id from (${sel}) s`.execute(trx)).rows.map((r) => r.id);
      sel = sql`select a.id, a.library_path from assets a where a.id = any(${sql.val(ids)}::uuid[])`;
      selected = ids.length;
    }
    if (combined) {
      // Sorts and hashes of 100k ids in memory, not in temp files (4 MB by default); this transaction only.
      await sql`set local work_mem = '64MB'`.execute(trx);
      let rows: CombinedRow[];
      await sql`savepoint immich_edit`.execute(trx);
      try {
        rows = (await combinedEdit(sel, spec, tagIds, now, limit, true).execute(trx)).rows;
      } catch (err) {
        // another session added one of these tag or edit rows since the statement's snapshot
        if ((err as { code?: string }).code !== '23505') throw err;
        await sql`rollback to savepoint immich_edit`.execute(trx);
        rows = (await combinedEdit(sel, spec, tagIds, now, limit, false).execute(trx)).rows;
      }
      selected = rows[0]?.n ?? 0;
      if (limit !== undefined) counts = { changes: rows[0]?.changes ?? 0, changed: rows[0]?.changed ?? 0 };
      for (const r of rows) {
        if (!r.id) continue;
        const file = ctx.library.resolve(r.library_path!);
        const push = (field: string, from: unknown, to: unknown) => changes.push({ id: r.id!, file, field, from, to });
        if (r.k === 'flags') {
          if (spec.favorite !== undefined && r.is_favorite !== spec.favorite) push('favorite', r.is_favorite, spec.favorite);
          if (spec.archive !== undefined && r.is_archived !== spec.archive) push('archived', r.is_archived, spec.archive);
          const rating = r.rating === null ? null : Number(r.rating);
          if (spec.rating !== undefined && (rating ?? 0) !== spec.rating) push('rating', rating, spec.rating);
          if (newDesc !== undefined && r.description !== newDesc) push('description', r.description, newDesc);
        } else if (r.k!.startsWith('untag')) push('untag', spec.untag[Number(r.k!.slice(5))], null);
        else push('tag', null, spec.tag[Number(r.k!.slice(3))]);
      }
    }
    if (perAsset && ids.length) await editPerAsset(ctx, trx, ids, spec, { coords, geo, now, changes });
    for (const ch of changes) {
      touched.add(ch.id);
      if (ch.field !== 'favorite' && ch.field !== 'archived') xmpChanged.add(ch.id);
    }
  };
  if (!opts.dryRun) await ctx.db.transaction().execute(run);
  else {
    await ctx.db
      .transaction()
      .execute(async (trx) => {
        await run(trx);
        throw new DryRun();
      })
      .catch((err) => {
        if (!(err instanceof DryRun)) throw err;
      });
  }
  const dbMs = performance.now() - t0;
  let sidecarsWritten = 0;
  let sidecarFailures: SidecarFailure[] = [];
  if (!opts.dryRun && !opts.skipSidecars && (counts ? counts.changed > 0 : xmpChanged.size > 0)) {
    // With a change limit Node has only the first changes: the assets whose sidecars are now behind
    // are those this edit marked (a later edit of the same asset writes that sidecar itself).
    const todo = counts
      ? (await sql<{ asset_id: string }>`select asset_id from asset_edits where xmp_edited_at = ${now}::timestamptz`.execute(ctx.db)).rows.map((r) => r.asset_id)
      : [...xmpChanged];
    if (todo.length) {
      const r = await writeSidecars(ctx, todo, opts.onSidecarProgress);
      sidecarsWritten = r.written;
      sidecarFailures = r.failed;
    }
  }
  return {
    selected,
    changed: counts ? counts.changed : touched.size,
    changes: limit !== undefined ? changes.slice(0, limit) : changes,
    changeCount: counts ? counts.changes : changes.length,
    dryRun: Boolean(opts.dryRun),
    sidecarsWritten,
    sidecarFailures,
    dbMs,
  };
}

/** --date/--shift/--tz and --location: new values computed per asset (newDate), written with one array per column. */
async function editPerAsset(
  ctx: Context,
  trx: Context['db'],
  ids: string[],
  spec: EditSpec,
  o: { coords: { lat: number; lon: number } | null | undefined; geo: { city: string | null; state: string | null; country: string | null } | undefined; now: Date; changes: Change[] },
): Promise<void> {
  const { coords, geo } = o;
  const cur = await loadCurrent({ db: trx }, ids);
  const changed = new Set<string>();
  const push = (c: Current, field: string, from: unknown, to: unknown) => {
    changed.add(c.id);
    o.changes.push({ id: c.id, file: ctx.library.resolve(c.library_path), field, from, to });
  };
  const dates: Array<{ id: string; s: DateState }> = [];
  if (spec.date || spec.shiftMs || spec.tz) {
    for (const c of cur) {
      const takenAt = new Date(c.taken_at ?? c.file_mtime);
      const before: DateState = { takenAt, local: c.local_iso ?? takenAt.toISOString().slice(0, 19), zone: c.time_zone };
      const after = newDate(before, spec);
      if (after.takenAt.getTime() !== before.takenAt.getTime() || after.local !== before.local || after.zone !== before.zone) {
        dates.push({ id: c.id, s: after });
        push(c, 'takenAt', `${before.local}${before.zone ? ` ${before.zone}` : ''}`, `${after.local} ${after.zone ?? ''}`.trim());
      }
    }
  }
  const locIds: string[] = [];
  if (spec.location !== undefined) {
    for (const c of cur) {
      if (coords ? c.latitude === coords.lat && c.longitude === coords.lon : c.latitude === null) continue;
      locIds.push(c.id);
      push(c, 'location', c.latitude === null ? null : `${c.latitude},${c.longitude}`, coords ? `${coords.lat},${coords.lon}${geo ? ` (${[geo.city, geo.country].filter(Boolean).join(', ')})` : ''}` : null);
    }
  }
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
  for (let i = 0; i < locIds.length; i += CHUNK) {
    const c = locIds.slice(i, i + CHUNK);
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
  }
  // In the narrow asset_edits table, not assets.edited_at: see src/db/asset-edits.ts. Both are XMP fields.
  await markEdited(trx, [...changed], o.now, { xmp: true });
}
