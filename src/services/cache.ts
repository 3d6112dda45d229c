// `immich cache clean`: remove derived files (thumbnails, previews, face crops, encoded video) that no
// database row references, and temporary files left by interrupted runs. Originals are never touched.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Context } from '../context.js';
import type { DB } from '../db/schema.js';
import { TMP_MARK } from '../storage/atomic.js';

const UUID_PREFIX = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
/** Unreferenced files of an existing asset may be mid-write by a worker: only removed when older. */
const GRACE_MS = 60 * 60 * 1000;
const TMP_FOLDER_GRACE_MS = 24 * 60 * 60 * 1000;

/**
 * Every library-relative path stored in the database: any text column named `path` or `*_path`
 * in any table, so files that other areas reference (face crops, ...) are never seen as orphans.
 */
export async function referencedLibraryPaths(db: Kysely<DB>, root: string): Promise<Set<string>> {
  const out = new Set<string>();
  const tables = await db.introspection.getTables();
  for (const t of tables) {
    if (t.isView || (t.schema ?? 'public') !== 'public') continue;
    for (const c of t.columns) {
      if (!/(^|_)path$/.test(c.name) || !/text|varchar|char/i.test(c.dataType)) continue;
      const rows = await (db as Kysely<any>).selectFrom(t.name).select(c.name).where(c.name, 'is not', null).execute();
      for (const r of rows) {
        const v = String((r as Record<string, unknown>)[c.name]);
        out.add(path.isAbsolute(v) ? path.relative(root, v) : path.normalize(v));
      }
    }
  }
  return out;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a temp file name written by storage/atomic.ts (`.immich-tmp-<pid>-...`). */
export function tempOwner(name: string): number | undefined {
  if (!name.startsWith(TMP_MARK)) return undefined;
  const pid = Number(name.slice(TMP_MARK.length).split('-')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export interface CleanItem {
  path: string;
  kind: 'orphaned-derived' | 'temporary';
  bytes: number;
}

export interface CleanResult {
  dry_run: boolean;
  removed: CleanItem[];
  bytes: number;
  errors: Array<{ path: string; message: string }>;
}

async function* walk(dir: string, skipDirs: Set<string> = new Set(), top = true): AsyncGenerator<{ abs: string; name: string; st: fs.Stats }> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (skipDirs.has(abs)) continue;
      // A half-written folder (embedded database restore) is a temporary too; restore makes it in
      // the library's root only, so a marked folder deeper down (the user's, in place) is walked.
      if (top && e.name.startsWith(TMP_MARK)) {
        const st = await fsp.lstat(abs).catch(() => undefined);
        if (st) yield { abs, name: e.name, st };
        continue;
      }
      yield* walk(abs, skipDirs, false);
    } else if (e.isFile() || e.isSymbolicLink()) {
      const st = await fsp.lstat(abs).catch(() => undefined);
      if (st) yield { abs, name: e.name, st };
    }
  }
}

/**
 * Temporary files of dead processes anywhere in the library (the database and backups folders
 * excluded). Only the temp-file mark matches outside tmp/, and nothing a database row points at is
 * ever a temporary, whatever its name.
 */
export async function findTemporaries(ctx: Context, referenced?: Set<string>): Promise<CleanItem[]> {
  const root = ctx.library.root;
  const out: CleanItem[] = [];
  const skip = new Set([path.join(root, 'backups'), ctx.config.database.embeddedPath, path.join(root, 'tmp')]);
  const now = Date.now();
  for await (const f of walk(root, skip)) {
    const pid = tempOwner(f.name);
    if (pid === undefined || (pid !== process.pid && pidAlive(pid)) || pid === process.pid) continue;
    out.push({ path: path.relative(root, f.abs), kind: 'temporary', bytes: f.st.isFile() ? f.st.size : 0 });
  }
  for await (const f of walk(path.join(root, 'tmp'))) {
    const pid = tempOwner(f.name);
    const stale = pid !== undefined ? pid !== process.pid && !pidAlive(pid) : now - f.st.mtimeMs > TMP_FOLDER_GRACE_MS;
    if (stale) out.push({ path: path.relative(root, f.abs), kind: 'temporary', bytes: f.st.isFile() ? f.st.size : 0 });
  }
  // Every path the database holds is read only when there is a candidate to exclude: at 1M assets
  // that set is millions of strings (most of verify's 850 MB RSS), and usually nothing is temporary.
  if (!out.length) return out;
  referenced ??= await referencedLibraryPaths(ctx.db, root);
  return out.filter((item) => !referenced!.has(item.path));
}

/** Files under thumbs/ and encoded/ that nothing in the database references. */
export async function findOrphanedDerived(ctx: Context, referenced?: Set<string>): Promise<CleanItem[]> {
  const root = ctx.library.root;
  referenced ??= await referencedLibraryPaths(ctx.db, root);
  const assets = new Set((await ctx.db.selectFrom('assets').select('id').execute()).map((a) => a.id.toLowerCase()));
  const out: CleanItem[] = [];
  const now = Date.now();
  for (const folder of ['thumbs', 'encoded'] as const) {
    for await (const f of walk(ctx.library.folder(folder))) {
      if (f.name.startsWith(TMP_MARK)) continue; // handled as a temporary
      const rel = path.relative(root, f.abs);
      if (referenced.has(rel)) continue;
      const owner = UUID_PREFIX.exec(f.name)?.[1]?.toLowerCase();
      if (owner && assets.has(owner) && now - f.st.mtimeMs < GRACE_MS) continue;
      out.push({ path: rel, kind: 'orphaned-derived', bytes: f.st.size });
    }
  }
  return out;
}

export async function cleanCache(ctx: Context, opts: { dryRun?: boolean } = {}): Promise<CleanResult> {
  const referenced = await referencedLibraryPaths(ctx.db, ctx.library.root);
  const items = [...(await findOrphanedDerived(ctx, referenced)), ...(await findTemporaries(ctx, referenced))];
  const result: CleanResult = { dry_run: Boolean(opts.dryRun), removed: [], bytes: 0, errors: [] };
  for (const item of items) {
    if (!opts.dryRun) {
      try {
        await fsp.rm(ctx.library.resolve(item.path), { recursive: true, force: true });
      } catch (err) {
        result.errors.push({ path: item.path, message: (err as Error).message });
        continue;
      }
    }
    result.removed.push(item);
    result.bytes += item.bytes;
  }
  if (!opts.dryRun) await removeEmptyDirs(ctx.library.folder('thumbs')).then(() => removeEmptyDirs(ctx.library.folder('encoded')));
  return result;
}

async function removeEmptyDirs(dir: string, top = true): Promise<boolean> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return false;
  let empty = true;
  for (const e of entries) {
    if (e.isDirectory() && (await removeEmptyDirs(path.join(dir, e.name), false))) continue;
    empty = false;
  }
  if (empty && !top) {
    await fsp.rmdir(dir).catch(() => {});
    return true;
  }
  return false;
}
