// Shared by the backup suites: a small library built with `immich import` plus people, tags, albums and edits,
// and comparisons of two libraries (files by checksum, every table's row count, names).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { addToAlbum, ensureAlbum, listAlbums } from '../../src/db/albums.js';
import { tagAssets, userTagsOfAssets } from '../../src/db/user-tags.js';
import { countRows } from '../../src/services/backup.js';
import { runCli, type CliResult } from '../helpers/env.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

export const sha1 = (file: string) => crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex');

export function json<T = any>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}

export function expectCode(r: CliResult, code: number): void {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

/** Import `n` generated photos into `lib`, then name two people and tag the assets. */
export async function buildLibrary(lib: string, src: string, env: Record<string, string>, n = 4): Promise<void> {
  const colors = ['#c03030', '#30a040', '#3050d0', '#d0a020', '#7030a0', '#20a0a0'];
  for (let i = 0; i < n; i++) {
    await makeImage(path.join(src, `photo-${i}.jpg`), { color: colors[i % colors.length]!, seed: i + 1, date: `2024:0${(i % 9) + 1}:1${i % 10} 10:00:00` });
  }
  expectCode(await runCli(['import', src, '--skip-ml'], { UPLOAD_LOCATION: lib, ...env }), 0);
  await withLibraryDb(
    lib,
    async (db) => {
      const assets = await db.selectFrom('assets').select('id').orderBy('library_path').execute();
      await db.insertInto('people').values([{ name: 'Ada Lovelace' }, { name: 'Émile Zola' }, { name: '' }]).execute();
      const tags = await db.insertInto('tags').values([{ name: 'dog' }, { name: 'beach' }]).returning(['id', 'name']).execute();
      await db
        .insertInto('asset_tags')
        .values(assets.map((a, i) => ({ asset_id: a.id, tag_id: tags[i % 2]!.id, source: 'user' as const, score: 0.5 + i / 10, count: 1, box: [0.1, 0.2, 0.3, 0.4] })))
        .execute();
      // Organize: nested albums, flags, rating, description, an edited date, hierarchical user tags.
      const { album } = await ensureAlbum(db, 'Trips/2024/Lisbon');
      await addToAlbum(db, album.id, assets.slice(0, 2).map((a) => a.id));
      await tagAssets(db, assets.slice(1).map((a) => a.id), 'Trips/2024/Lisbon');
      await db.updateTable('assets').set({ is_favorite: true, rating: 5, description: 'Tram 28', edited_at: new Date(), date_source: 'edit' }).where('id', '=', assets[0]!.id).execute();
      await db.updateTable('assets').set({ is_archived: true }).where('id', '=', assets[1]!.id).execute();
    },
    env,
  );
}

/**
 * Trash and stack state on a buildLibrary library, through the CLI: photo-1 and photo-2 (and photo-3
 * when there is one) stacked with photo-2 as primary, then photo-2 trashed alone, so photo-1 leads the
 * stack and photo-2 is remembered as its former primary; photo-0 trashed too.
 */
export async function trashAndStack(lib: string, src: string, env: Record<string, string>): Promise<void> {
  const e = { UPLOAD_LOCATION: lib, ...env };
  const photo = (i: number) => path.join(src, `photo-${i}.jpg`);
  const members = [1, 2, 3].map(photo).filter((f) => fs.existsSync(f));
  expectCode(await runCli(['stack', 'create', ...members, '--primary', photo(2)], e), 0);
  expectCode(await runCli(['rm', '--primary-only', photo(2), photo(0)], e), 0);
}

export interface LibraryState {
  files: Record<string, string>;
  rows: Record<string, number>;
  people: string[];
  tags: string[];
  assetTags: string[];
  /** Per asset: favorite, archived, rating, description, date source, albums, user tags. */
  organize: string[];
  /** Trashed assets: checksum and when they were trashed. */
  trash: string[];
  /** Per stack: primary, members and former (trashed) primary, by checksum. */
  stacks: string[];
}

/** Files (path → SHA-1) under the given folders, row counts of every table, names. */
export async function libraryState(lib: string, env: Record<string, string> = {}, folders = ['uploads', 'thumbs']): Promise<LibraryState> {
  const files: Record<string, string> = {};
  for (const f of folders) for (const rel of listFiles(lib, f)) files[path.join(f, rel)] = sha1(path.join(lib, f, rel));
  return withLibraryDb(
    lib,
    async (db) => {
      const rows = await countRows(db);
      const people = (await db.selectFrom('people').select('name').execute()).map((p) => p.name).sort();
      const tags = (await db.selectFrom('tags').select('name').execute()).map((t) => t.name).sort();
      const assetTags = (
        await db.selectFrom('asset_tags').innerJoin('assets', 'assets.id', 'asset_tags.asset_id').innerJoin('tags', 'tags.id', 'asset_tags.tag_id')
          .select(['assets.checksum', 'tags.name', 'asset_tags.score']).execute()
      ).map((r) => `${r.checksum}:${r.name}:${r.score}`).sort();
      const albums = new Map((await listAlbums(db)).map((a) => [a.id, a.path]));
      const assets = await db.selectFrom('assets').select(['id', 'checksum', 'is_favorite', 'is_archived', 'rating', 'description', 'date_source']).execute();
      const ids = assets.map((a) => a.id);
      const inAlbums = ids.length ? await db.selectFrom('album_assets').select(['asset_id', 'album_id']).where('asset_id', 'in', ids).execute() : [];
      const userTags = await userTagsOfAssets(db, ids);
      const organize = assets.map((a) => [
        a.checksum, a.is_favorite, a.is_archived, a.rating, a.description, a.date_source,
        inAlbums.filter((x) => x.asset_id === a.id).map((x) => albums.get(x.album_id)).sort().join('|'),
        (userTags.get(a.id) ?? []).map((t) => `${t.value}:${t.source}`).join('|'),
      ].join(' ')).sort();
      const checksum = new Map(assets.map((a) => [a.id, a.checksum]));
      const trash = (await db.selectFrom('assets').select(['checksum', 'deleted_at']).where('deleted_at', 'is not', null).execute())
        .map((a) => `${a.checksum} ${new Date(a.deleted_at!).toISOString()}`).sort();
      const members = (await db.selectFrom('stack_assets').select(['asset_id', 'stack_id']).execute()).map((m) => ({ id: m.asset_id, stack_id: m.stack_id }));
      const former = new Map((await db.selectFrom('stack_former_primaries').select(['stack_id', 'asset_id']).execute()).map((f) => [f.stack_id, f.asset_id]));
      const stacks = (await db.selectFrom('stacks').select(['id', 'primary_asset_id']).execute()).map((st) => [
        checksum.get(st.primary_asset_id),
        members.filter((m) => m.stack_id === st.id).map((m) => checksum.get(m.id)).sort().join('|'),
        checksum.get(former.get(st.id) ?? '') ?? '-',
      ].join(' ')).sort();
      return { files, rows, people, tags, assetTags, organize, trash, stacks };
    },
    env,
  );
}

export function expectSameLibrary(a: LibraryState, b: LibraryState): void {
  expect(Object.keys(b.files).length).toBeGreaterThan(0);
  expect(b.files).toEqual(a.files);
  expect(b.rows).toEqual(a.rows);
  expect(b.people).toEqual(a.people);
  expect(b.tags).toEqual(a.tags);
  expect(b.assetTags).toEqual(a.assetTags);
  // (buildLibrary's libraries carry nested albums, flags and user tags; the corpus one has none.)
  expect(b.organize).toEqual(a.organize);
  expect(b.trash).toEqual(a.trash);
  expect(b.stacks).toEqual(a.stacks);
}

/** Object files in a repository with their sizes. */
export function repoObjects(repo: string): Map<string, number> {
  const out = new Map<string, number>();
  const data = path.join(repo, 'data');
  for (const d of fs.existsSync(data) ? fs.readdirSync(data) : []) {
    for (const f of fs.readdirSync(path.join(data, d))) out.set(f, fs.statSync(path.join(data, d, f)).size);
  }
  return out;
}

/** Every file under dir (for "nothing written outside" checks). */
export function allFiles(dir: string): string[] {
  return fs.existsSync(dir) ? listFiles(dir) : [];
}
