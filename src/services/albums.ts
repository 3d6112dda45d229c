// Album use cases for `immich album` (and the server): nested albums by path, membership by selection.
import path from 'node:path';
import type { Context } from '../context.js';
import * as repo from '../db/albums.js';
import { UsageError } from '../errors.js';
import { selectAssetIds, type Selection } from './selection.js';

export type { AlbumRow, AlbumSummary } from '../db/albums.js';

export async function requireAlbum(ctx: Context, ref: string): Promise<repo.AlbumRow> {
  const album = await repo.findAlbum(ctx.db, ref);
  if (!album) throw new UsageError(`album ${ref}: no such album (see immich album list)`);
  return album;
}

/** Create an album (and missing parents). Returns whether it was new. */
export async function createAlbum(ctx: Context, albumPath: string, description?: string): Promise<{ album: repo.AlbumRow; created: boolean }> {
  return ctx.db.transaction().execute(async (trx) => {
    const r = await repo.ensureAlbum(trx, albumPath);
    if (description !== undefined) await repo.describeAlbum(trx, r.album.id, description || null);
    return { album: { ...r.album, description: description ?? r.album.description }, created: r.created };
  });
}

/** Albums under `parent` (all with recursive), or every album when no parent is given. */
export async function listAlbums(ctx: Context, parent?: string, recursive = false): Promise<repo.AlbumSummary[]> {
  const all = await repo.listAlbums(ctx.db);
  if (!parent) return all;
  const p = await requireAlbum(ctx, parent);
  return all.filter((a) => (recursive ? a.path.startsWith(p.path + '/') : a.parentId === p.id));
}

export interface AlbumDetail {
  album: repo.AlbumSummary;
  children: repo.AlbumSummary[];
  assetIds: string[];
}

export async function showAlbum(ctx: Context, ref: string, recursive: boolean): Promise<AlbumDetail> {
  const a = await requireAlbum(ctx, ref);
  // member counts for this album and its children only
  const shown = [a.id, ...(await repo.listAlbums(ctx.db, [])).filter((x) => x.parentId === a.id).map((x) => x.id)];
  const all = await repo.listAlbums(ctx.db, shown);
  const album = all.find((x) => x.id === a.id)!;
  const children = all.filter((x) => x.parentId === a.id);
  const ids = recursive ? await repo.albumTree(ctx.db, a.id) : [a.id];
  return { album, children, assetIds: await repo.albumAssetIds(ctx.db, ids) };
}

export async function renameAlbum(ctx: Context, ref: string, newPath: string): Promise<{ from: string; album: repo.AlbumRow }> {
  const a = await requireAlbum(ctx, ref);
  // a bare name renames in place; a path moves
  const target = newPath.includes('/') ? newPath : [...a.path.split('/').slice(0, -1), newPath.trim()].join('/');
  return ctx.db.transaction().execute(async (trx) => ({ from: a.path, album: await repo.moveAlbum(trx, a.id, target) }));
}

export async function describeAlbum(ctx: Context, ref: string, text: string): Promise<repo.AlbumRow> {
  const a = await requireAlbum(ctx, ref);
  await repo.describeAlbum(ctx.db, a.id, text.trim() || null);
  return { ...a, description: text.trim() || null };
}

/** Delete an album; one with sub-albums only with recursive. Assets stay in the library. */
export async function deleteAlbum(ctx: Context, ref: string, recursive: boolean): Promise<{ albums: string[] }> {
  const a = await requireAlbum(ctx, ref);
  const tree = await repo.albumTree(ctx.db, a.id);
  if (tree.length > 1 && !recursive) throw new UsageError(`album ${a.path} has ${tree.length - 1} sub-albums: delete them too with --recursive`);
  const all = await repo.listAlbums(ctx.db, []);
  const paths = all.filter((x) => tree.includes(x.id)).map((x) => x.path);
  await repo.deleteAlbum(ctx.db, a.id);
  return { albums: paths };
}

export async function addToAlbum(ctx: Context, ref: string, sel: Selection, opts: { create?: boolean } = {}): Promise<{ album: repo.AlbumRow; selected: number; added: number }> {
  const album = opts.create ? (await createAlbum(ctx, ref)).album : await requireAlbum(ctx, ref);
  const ids = await selectAssetIds(ctx, sel, { strict: true });
  const added = await ctx.db.transaction().execute((trx) => repo.addToAlbum(trx, album.id, ids));
  return { album, selected: ids.length, added };
}

export async function removeFromAlbum(ctx: Context, ref: string, sel: Selection): Promise<{ album: repo.AlbumRow; selected: number; removed: number }> {
  const album = await requireAlbum(ctx, ref);
  const ids = await selectAssetIds(ctx, sel, { strict: true });
  const removed = await ctx.db.transaction().execute((trx) => repo.removeFromAlbum(trx, album.id, ids));
  return { album, selected: ids.length, removed };
}

/**
 * `immich import --album` / `--album-from-folder`: put imported files (and files already in the
 * library, so a re-run is complete) into an album, or into one per folder named after the folder
 * (nested under `album` when both are given). Returns album path → assets added.
 */
export async function addImportedToAlbums(
  ctx: Context,
  files: Array<{ path: string; assetId: string }>,
  opts: { album?: string; fromFolder?: boolean },
): Promise<Map<string, number>> {
  const byAlbum = new Map<string, string[]>();
  for (const f of files) {
    let name = opts.album;
    if (opts.fromFolder) {
      const folder = path.basename(path.dirname(path.resolve(f.path))).replace(/\//g, '_') || 'root';
      name = name ? `${name}/${folder}` : folder;
    }
    if (!name) continue;
    (byAlbum.get(name) ?? byAlbum.set(name, []).get(name)!).push(f.assetId);
  }
  const added = new Map<string, number>();
  for (const [name, ids] of byAlbum) {
    const n = await ctx.db.transaction().execute(async (trx) => {
      const { album } = await repo.ensureAlbum(trx, name);
      return repo.addToAlbum(trx, album.id, ids);
    });
    added.set(name, n);
  }
  return added;
}
