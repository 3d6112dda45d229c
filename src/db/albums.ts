// Albums repository: nested albums addressed by path ('Trips/2024/Lisbon') or id, and membership.
// Every function takes a Kysely handle so callers can run several in one transaction.
import type { Kysely } from 'kysely';
import { sql } from './kysely.js';
import type { DB } from './schema.js';
import { UsageError } from '../errors.js';

type Db = Kysely<DB>;

export interface AlbumRow {
  id: string;
  parentId: string | null;
  name: string;
  /** Full path from the root, names joined by '/'. */
  path: string;
  description: string | null;
  coverAssetId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AlbumSummary extends AlbumRow {
  /** Assets directly in the album. */
  assetCount: number;
  /** Direct children. */
  childCount: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHUNK = 5000;

/** 'Trips / 2024/' → ['Trips', '2024']; empty names are a usage error. */
export function splitAlbumPath(value: string): string[] {
  const parts = value.split('/').map((s) => s.trim());
  if (!value.trim() || parts.some((p) => !p)) throw new UsageError(`${JSON.stringify(value)} is not an album path (names separated by "/", none empty)`);
  return parts;
}

/** Album id → { id, path } from names and parents alone (no counts): for labelling assets. */
export async function albumPathIndex(db: Db): Promise<Map<string, { id: string; path: string }>> {
  const rows = await db.selectFrom('albums').select(['id', 'parent_id', 'name']).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out = new Map<string, { id: string; path: string }>();
  for (const r of rows) {
    const parts: string[] = [];
    for (let x: typeof r | undefined = r; x; x = x.parent_id ? byId.get(x.parent_id) : undefined) parts.unshift(x.name);
    out.set(r.id, { id: r.id, path: parts.join('/') });
  }
  return out;
}

/**
 * Every album with its full path (albums are few: one query, paths built here). The member counts
 * cost a join per album over its members (15–25 s for 500 albums of 250k members at 1M assets under
 * load): `countsFor` limits them to those albums (the others get 0), as finding one album needs none.
 */
export async function listAlbums(db: Db, countsFor?: string[]): Promise<AlbumSummary[]> {
  const rows = await db
    .selectFrom('albums as al')
    .select(['al.id', 'al.parent_id', 'al.name', 'al.description', 'al.cover_asset_id', 'al.created_at', 'al.updated_at'])
    .execute();
  const counts = new Map<string, number>();
  if (!countsFor || countsFor.length) {
    let q = db
      .selectFrom('album_assets as aa')
      .innerJoin('assets as ta', 'ta.id', 'aa.asset_id')
      .select(['aa.album_id', sql<number>`count(*)::int`.as('n')])
      // Trashed assets are hidden from albums (trash area).
      .where('ta.deleted_at', 'is', null)
      .groupBy('aa.album_id');
    if (countsFor) q = q.where('aa.album_id', 'in', countsFor);
    for (const r of await q.execute()) counts.set(r.album_id, Number(r.n));
  }
  const children = new Map<string, number>();
  for (const r of rows) if (r.parent_id) children.set(r.parent_id, (children.get(r.parent_id) ?? 0) + 1);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const pathOf = (id: string): string => {
    const parts: string[] = [];
    for (let r = byId.get(id); r; r = r.parent_id ? byId.get(r.parent_id) : undefined) parts.unshift(r.name);
    return parts.join('/');
  };
  return rows
    .map((r) => ({
      id: r.id,
      parentId: r.parent_id,
      name: r.name,
      path: pathOf(r.id),
      description: r.description,
      coverAssetId: r.cover_asset_id,
      createdAt: new Date(r.created_at),
      updatedAt: new Date(r.updated_at),
      assetCount: counts.get(r.id) ?? 0,
      childCount: children.get(r.id) ?? 0,
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** An album by id, or by path (exact names first, then ignoring case when that is unambiguous). */
export async function findAlbum(db: Db, ref: string): Promise<AlbumRow | undefined> {
  const found = pickAlbum(await listAlbums(db, []), ref);
  return found && (await listAlbums(db, [found.id])).find((a) => a.id === found.id);
}

function pickAlbum(all: AlbumSummary[], ref: string): AlbumSummary | undefined {
  if (UUID.test(ref)) {
    const byId = all.find((a) => a.id === ref.toLowerCase());
    if (byId) return byId;
  }
  let parts: string[];
  try {
    parts = splitAlbumPath(ref);
  } catch {
    return undefined;
  }
  const want = parts.join('/');
  const exact = all.find((a) => a.path === want);
  if (exact) return exact;
  const folded = all.filter((a) => a.path.toLowerCase() === want.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

/** Create an album and any missing parents; returns it and whether anything was created. */
export async function ensureAlbum(db: Db, albumPath: string): Promise<{ album: AlbumRow; created: boolean }> {
  const parts = splitAlbumPath(albumPath);
  let parentId: string | null = null;
  let created = false;
  for (const name of parts) {
    let q = db.selectFrom('albums').select('id').where('name', '=', name);
    q = parentId ? q.where('parent_id', '=', parentId) : q.where('parent_id', 'is', null);
    const found: { id: string } | undefined = await q.executeTakeFirst();
    if (found) {
      parentId = found.id;
      continue;
    }
    const row: { id: string } = await db.insertInto('albums').values({ parent_id: parentId, name }).returning('id').executeTakeFirstOrThrow();
    parentId = row.id;
    created = true;
  }
  const album = await findAlbum(db, parentId!);
  return { album: album!, created };
}

/** Ids of an album and (recursive) every album below it. */
export async function albumTree(db: Db, albumId: string): Promise<string[]> {
  const all = await db.selectFrom('albums').select(['id', 'parent_id']).execute();
  const out = [albumId];
  for (let i = 0; i < out.length; i++) for (const a of all) if (a.parent_id === out[i]) out.push(a.id);
  return out;
}

/** Rename or move: the new path's parent must exist (or is created); the name must be free there. */
export async function moveAlbum(db: Db, albumId: string, newPath: string): Promise<AlbumRow> {
  const parts = splitAlbumPath(newPath);
  const name = parts.pop()!;
  let parentId: string | null = null;
  if (parts.length) {
    const parent = await ensureAlbum(db, parts.join('/'));
    parentId = parent.album.id;
    if ((await albumTree(db, albumId)).includes(parentId)) throw new UsageError(`cannot move an album into itself (${newPath})`);
  }
  const clash = await findAlbum(db, newPath);
  if (clash && clash.id !== albumId) throw new UsageError(`an album ${clash.path} already exists`);
  await db.updateTable('albums').set({ name, parent_id: parentId, updated_at: new Date() }).where('id', '=', albumId).execute();
  return (await findAlbum(db, albumId))!;
}

export async function describeAlbum(db: Db, albumId: string, description: string | null): Promise<void> {
  await db.updateTable('albums').set({ description, updated_at: new Date() }).where('id', '=', albumId).execute();
}

/** Delete an album (its children go with it: the foreign key cascades). Assets stay in the library. */
export async function deleteAlbum(db: Db, albumId: string): Promise<void> {
  await db.deleteFrom('albums').where('id', '=', albumId).execute();
}

/** Add assets; returns how many were not in it yet. */
export async function addToAlbum(db: Db, albumId: string, assetIds: string[]): Promise<number> {
  let added = 0;
  for (let i = 0; i < assetIds.length; i += CHUNK) {
    const ids = assetIds.slice(i, i + CHUNK);
    const r = await db
      .insertInto('album_assets')
      .columns(['album_id', 'asset_id'])
      .expression(sql`select ${albumId}::uuid, unnest(${sql.val(ids)}::uuid[])`)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    added += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  if (added) await db.updateTable('albums').set({ updated_at: new Date() }).where('id', '=', albumId).execute();
  return added;
}

/** Remove assets; returns how many were in it. */
export async function removeFromAlbum(db: Db, albumId: string, assetIds: string[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < assetIds.length; i += CHUNK) {
    const r = await db.deleteFrom('album_assets').where('album_id', '=', albumId).where('asset_id', 'in', assetIds.slice(i, i + CHUNK)).executeTakeFirst();
    removed += Number(r.numDeletedRows ?? 0);
  }
  if (removed) await db.updateTable('albums').set({ updated_at: new Date() }).where('id', '=', albumId).execute();
  return removed;
}

/** Assets of albums (several: an album and its children), newest first, each once. */
export async function albumAssetIds(db: Db, albumIds: string[]): Promise<string[]> {
  if (!albumIds.length) return [];
  const rows = await db
    .selectFrom('album_assets as aa')
    .innerJoin('assets as a', 'a.id', 'aa.asset_id')
    .select('a.id')
    .distinct()
    .select(sql<Date>`coalesce(a.taken_at, a.file_mtime)`.as('t'))
    .where('aa.album_id', 'in', albumIds)
    .where('a.deleted_at', 'is', null)
    .orderBy('t', 'desc')
    .orderBy('a.id')
    .execute();
  return rows.map((r) => r.id);
}

/** Album paths of each asset. */
export async function albumsOfAssets(db: Db, assetIds: string[]): Promise<Map<string, Array<{ id: string; path: string }>>> {
  const out = new Map<string, Array<{ id: string; path: string }>>();
  if (!assetIds.length) return out;
  // Paths only: listAlbums' per-album counts scan every membership (seconds at 100k assets).
  const all = await albumPathIndex(db);
  for (let i = 0; i < assetIds.length; i += CHUNK) {
    const rows = await db.selectFrom('album_assets').select(['asset_id', 'album_id']).where('asset_id', 'in', assetIds.slice(i, i + CHUNK)).execute();
    for (const r of rows) {
      const a = all.get(r.album_id);
      if (!a) continue;
      const list = out.get(r.asset_id) ?? [];
      list.push({ id: a.id, path: a.path });
      out.set(r.asset_id, list);
    }
  }
  for (const list of out.values()) list.sort((x, y) => (x.path < y.path ? -1 : 1));
  return out;
}
