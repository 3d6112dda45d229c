// Keeping XMP sidecars in step with the database: every edit is written to the asset's sidecar
// (`immich edit`, `immich metadata sync --to-files`); sidecars edited outside are read back
// (`immich metadata sync --from-files`, `immich index`). The state per asset is asset_sidecars.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import { sql } from '../db/kysely.js';
import { errorMessage, UsageError } from '../errors.js';
import { formatOffset, zoneOffsetAt } from '../media/metadata.js';
import { readXmpSidecar, writeXmpSidecars, type XmpFields } from '../media/xmp.js';
import { setAssetTagsFromSource, userTagsOfAssets } from '../db/user-tags.js';
import { getExifTool } from './media.js';
import { fsPath, withToolPath } from '../storage/raw-path.js';

/** IMMICH_SIDECAR_LOCATION: 'beside' (default: photo.jpg.xmp next to the library file) or 'library'
 * (in-place files on read-only storage: UPLOAD_LOCATION/sidecars/ab/<id>.xmp). */
export function sidecarLocation(ctx: Context): 'beside' | 'library' {
  const v = (ctx.config.raw.IMMICH_SIDECAR_LOCATION ?? 'beside').trim().toLowerCase();
  if (v !== 'beside' && v !== 'library') throw new UsageError(`IMMICH_SIDECAR_LOCATION must be beside or library (got ${v})`);
  return v;
}

export interface SidecarFailure {
  id: string;
  file: string;
  error: string;
}

export interface AssetForSidecar {
  id: string;
  library_path: string;
  storage_mode: string;
  sidecar_path: string | null;
  state_path: string | null;
}

/** Where an asset's sidecar is written: where we wrote it before, the sidecar it came with, or the default. */
export function sidecarTarget(ctx: Context, a: AssetForSidecar): string {
  return targetFor(ctx, a, sidecarLocation(ctx));
}

function targetFor(ctx: Context, a: AssetForSidecar, location: 'beside' | 'library'): string {
  if (a.state_path) return a.state_path;
  if (a.sidecar_path) return a.sidecar_path;
  if (a.storage_mode === 'in-place' && location === 'library') return path.join('sidecars', a.id.slice(0, 2), `${a.id}.xmp`);
  return `${a.library_path}.xmp`;
}

const CHUNK = 1000;

/** Mark assets' sidecars as behind the database (in the edit's transaction). */
export async function markPending(db: Context['db'], ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 20000) {
    // path '' until the first write picks the target (it needs the library settings)
    await db
      .insertInto('asset_sidecars')
      .columns(['asset_id', 'path', 'state'])
      .expression(sql`select unnest(${sql.val(ids.slice(i, i + 20000))}::uuid[]), '', 'pending'`)
      .onConflict((oc) => oc.column('asset_id').doUpdateSet({ state: 'pending' }))
      .execute();
  }
}

/** The XMP fields of assets as the database has them. */
async function fieldsOf(ctx: Context, ids: string[]): Promise<Map<string, { asset: AssetForSidecar; fields: XmpFields }>> {
  const rows = await ctx.db
    .selectFrom('assets as a')
    .leftJoin('exif as e', 'e.asset_id', 'a.id')
    .leftJoin('asset_sidecars as s', 's.asset_id', 'a.id')
    .select([
      'a.id', 'a.library_path', 'a.storage_mode', 'a.taken_at', 'a.time_zone', 'e.sidecar_path', 's.path as state_path',
      sql<string | null>`nullif(coalesce(a.description, e.description), '')`.as('description'),
      sql<number | null>`coalesce(a.rating, e.rating)`.as('rating'),
      sql<string | null>`to_char(a.local_taken_at, 'YYYY-MM-DD"T"HH24:MI:SS')`.as('local_iso'),
      'e.latitude', 'e.longitude',
    ])
    .where(sql<boolean>`a.id = any(${sql.val(ids)}::uuid[])`)
    .execute();
  const tags = await userTagsOfAssets(ctx.db, ids);
  return new Map(
    rows.map((r) => {
      let offset: string | null = null;
      if (r.time_zone && /^[+-]\d{2}:\d{2}$/.test(r.time_zone)) offset = r.time_zone;
      else if (r.time_zone && r.taken_at) {
        const m = zoneOffsetAt(r.time_zone, new Date(r.taken_at));
        if (m !== undefined) offset = formatOffset(m);
      }
      return [r.id, {
        asset: { id: r.id, library_path: r.library_path, storage_mode: r.storage_mode, sidecar_path: r.sidecar_path ?? null, state_path: r.state_path || null },
        fields: {
          description: r.description,
          rating: r.rating === null ? null : Number(r.rating),
          localTakenAt: r.taken_at ? r.local_iso : null,
          offset,
          latitude: r.latitude ?? null,
          longitude: r.longitude ?? null,
          tags: (tags.get(r.id) ?? []).map((t) => t.value),
        },
      }];
    }),
  );
}

/**
 * Write the sidecars of these assets from the database. A failure (read-only folder, disk full)
 * leaves the asset 'pending' with the cause; the database change stands.
 */
export async function writeSidecars(
  ctx: Context,
  ids: string[],
  onProgress?: (done: number, total: number) => void,
): Promise<{ written: number; failed: SidecarFailure[] }> {
  const location = sidecarLocation(ctx);
  const et = await getExifTool(ctx);
  const failed: SidecarFailure[] = [];
  let written = 0;
  let done = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    const info = await fieldsOf(ctx, chunk);
    const todo = chunk.flatMap((id) => {
      const it = info.get(id);
      if (!it) return [];
      const rel = targetFor(ctx, it.asset, location);
      return [{ id, rel, target: ctx.library.resolve(rel), fields: it.fields }];
    });
    // Many files: one argfile per exiftool process; a few: the warm processes, each with a next file queued
    const results = await writeXmpSidecars(et, todo, { concurrency: 2 * Math.max(1, ctx.concurrency), procs: Math.max(1, ctx.concurrency), onDone: () => onProgress?.(++done, ids.length) });
    done += chunk.length - todo.length;
    const rows = todo.map((t, k) => {
      const r = results[k]!;
      if ('error' in r) {
        const error = errorMessage(r.error);
        failed.push({ id: t.id, file: t.target, error });
        return { id: t.id, path: t.rel, state: 'pending', error, mtime: null, size: null, synced_at: null };
      }
      written++;
      return { id: t.id, path: t.rel, state: 'synced', error: null, mtime: r.mtime.toISOString(), size: r.size, synced_at: new Date().toISOString() };
    });
    if (!rows.length) continue;
    // One statement for the chunk's state rows (one array per column). A failure keeps the last
    // successful write's mtime, size and synced_at, so the edit stays pending (pendingSidecars).
    await sql`insert into asset_sidecars (asset_id, path, state, error, mtime, size, synced_at)
      select * from unnest(${sql.val(rows.map((r) => r.id))}::uuid[], ${sql.val(rows.map((r) => r.path))}::text[], ${sql.val(rows.map((r) => r.state))}::text[],
        ${sql.val(rows.map((r) => r.error))}::text[], ${sql.val(rows.map((r) => r.mtime))}::timestamptz[], ${sql.val(rows.map((r) => r.size))}::bigint[],
        ${sql.val(rows.map((r) => r.synced_at))}::timestamptz[])
      on conflict (asset_id) do update set path = excluded.path, state = excluded.state, error = excluded.error,
        mtime = coalesce(excluded.mtime, asset_sidecars.mtime), size = coalesce(excluded.size, asset_sidecars.size),
        synced_at = coalesce(excluded.synced_at, asset_sidecars.synced_at)`.execute(ctx.db);
  }
  return { written, failed };
}

/**
 * Assets whose sidecar is behind the database: a failed write (state 'pending'), or an XMP field
 * edited after the sidecar was last written or read (asset_edits.xmp_edited_at, migration 0112: an
 * edit killed before its sidecar writes, or one that never wrote them).
 */
export async function pendingSidecars(ctx: Context): Promise<string[]> {
  const rows = await sql<{ asset_id: string }>`
    select asset_id from asset_sidecars where state = 'pending'
    union
    select ae.asset_id from asset_edits ae left join asset_sidecars s on s.asset_id = ae.asset_id
     where ae.xmp_edited_at is not null and (s.synced_at is null or s.synced_at < ae.xmp_edited_at)`.execute(ctx.db);
  return rows.rows.map((r) => r.asset_id);
}

/** The sidecar state an asset shows (info): the row's, or 'pending' while an XMP edit is newer than its last sync. */
export function sidecarState(row: { state: string | null; synced_at: Date | null }, xmpEditedAt: Date | null): 'synced' | 'pending' {
  if (row.state === 'pending') return 'pending';
  if (xmpEditedAt && (!row.synced_at || new Date(row.synced_at).getTime() < new Date(xmpEditedAt).getTime())) return 'pending';
  return 'synced';
}

export interface SidecarReadResult {
  id: string;
  file: string;
  changed: string[];
}

/**
 * Sidecars changed outside since we last wrote or read them (other mtime or size), or every known
 * sidecar of `ids` with force: read their fields into the database (the sidecar wins, as at import).
 */
export async function readChangedSidecars(ctx: Context, ids?: string[], opts: { force?: boolean } = {}): Promise<{ read: SidecarReadResult[]; failed: SidecarFailure[] }> {
  let q = ctx.db
    .selectFrom('assets as a')
    .leftJoin('exif as e', 'e.asset_id', 'a.id')
    .leftJoin('asset_sidecars as s', 's.asset_id', 'a.id')
    .select(['a.id', 'a.library_path', 'e.sidecar_path', 'e.updated_at as read_at', 's.path as state_path', 's.mtime', 's.size'])
    // Only assets with a sidecar, found through 0202's partial index and asset_sidecars' key: an OR
    // over the joined rows read every asset and its exif (3.5 s at 1M for a library without any).
    .where((eb) =>
      eb('a.id', 'in', eb.selectFrom('exif').select('asset_id').where('sidecar_path', 'is not', null).union(eb.selectFrom('asset_sidecars').select('asset_id').where('path', '<>', ''))),
    )
    .where((eb) => eb.or([eb('e.sidecar_path', 'is not', null), eb('s.path', '<>', '')]));
  if (ids) q = q.where(sql<boolean>`a.id = any(${sql.val(ids)}::uuid[])`);
  const rows = await q.execute();
  const read: SidecarReadResult[] = [];
  const failed: SidecarFailure[] = [];
  const et = await getExifTool(ctx);
  for (const r of rows) {
    const rel = r.state_path || r.sidecar_path!;
    const abs = ctx.library.resolve(rel);
    const st = await fsp.stat(fsPath(abs)).catch(() => undefined);
    if (!st) continue;
    // Known state: the same mtime and size. A sidecar only read at import: not modified since.
    const same = r.mtime
      ? new Date(r.mtime).getTime() === st.mtime.getTime() && Number(r.size) === st.size
      : Boolean(r.read_at) && st.mtime.getTime() <= new Date(r.read_at!).getTime();
    if (same && !opts.force) continue;
    try {
      const x = await withToolPath(abs, ctx.library.folder('tmp'), (p) => readXmpSidecar(et, p));
      const before = (await fieldsOf(ctx, [r.id])).get(r.id)!.fields;
      const changed: string[] = [];
      const assetSet: Record<string, unknown> = {};
      if ((x.description ?? null) !== before.description) {
        assetSet.description = x.description ?? '';
        changed.push('description');
      }
      if ((x.rating ?? null) !== before.rating) {
        assetSet.rating = x.rating ?? null;
        changed.push('rating');
      }
      const tagsBefore = [...before.tags].sort().join('\n');
      const tagsAfter = [...new Set(x.tags ?? [])].sort().join('\n');
      // A date changed in the sidecar: its wall clock, with its offset (else the zone known so far).
      if (x.localTakenAt && (x.localTakenAt !== before.localTakenAt || (x.offset && x.offset !== before.offset))) {
        const offset = x.offset ?? before.offset;
        const minutes = offset ? (offset.startsWith('-') ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6))) : 0;
        assetSet.taken_at = new Date(Date.parse(`${x.localTakenAt}Z`) - minutes * 60_000);
        assetSet.local_taken_at = x.localTakenAt;
        if (x.offset) assetSet.time_zone = x.offset;
        // null: the file's metadata or its sidecar gave the date (migration 0063)
        assetSet.date_source = null;
        changed.push('takenAt');
      }
      await ctx.db.transaction().execute(async (trx) => {
        if (changed.length) await trx.updateTable('assets').set({ ...assetSet, edited_at: new Date() }).where('id', '=', r.id).execute();
        if (x.hasGps && (x.latitude !== before.latitude || x.longitude !== before.longitude)) {
          await trx.updateTable('exif').set({ latitude: x.latitude!, longitude: x.longitude! }).where('asset_id', '=', r.id).execute();
          changed.push('location');
        }
        if (tagsBefore.toLowerCase() !== tagsAfter.toLowerCase()) {
          // Tags in the sidecar are the asset's tags: all sources but takeout are replaced by them.
          await trx.deleteFrom('asset_user_tags').where('asset_id', '=', r.id).where('source', '=', 'user').execute();
          await setAssetTagsFromSource(trx, r.id, x.tags ?? [], 'xmp');
          changed.push('tags');
        }
        const row = { path: rel, state: 'synced' as const, error: null, mtime: st.mtime, size: st.size, synced_at: new Date() };
        await trx.insertInto('asset_sidecars').values({ asset_id: r.id, ...row }).onConflict((oc) => oc.column('asset_id').doUpdateSet(row)).execute();
      });
      if (changed.length) read.push({ id: r.id, file: abs, changed });
    } catch (err) {
      failed.push({ id: r.id, file: abs, error: errorMessage(err) });
    }
  }
  return { read, failed };
}
