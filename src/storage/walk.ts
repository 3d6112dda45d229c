// Recursive walk of the paths given to `immich import`: NAS/macOS junk and hidden files are left
// out, --ignore globs prune files and folders, and only supported media extensions are returned.
// Entries come back sorted per folder so every run sees the files in the same order.
import fs from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { isSupported } from '../media/formats.js';
import { fsPath, textFromBytes } from './raw-path.js';

/** Names never imported, even with --include-hidden (Synology thumbnails, recycle bins, macOS metadata). */
export const DEFAULT_EXCLUDES = ['@eaDir', '#recycle', '#snapshot', '.DS_Store', '._*', '.@__thumb', 'Thumbs.db'];

export interface WalkOptions {
  includeHidden?: boolean;
  /** Globs matched against the path relative to the argument it was found under; globs without a slash match the name. */
  ignore?: string[];
  /**
   * Absolute folders never entered (the library itself, when a parent of it is imported), compared
   * by real path: a library reached through a symbolic link is still recognised.
   */
  excludeDirs?: string[];
  /**
   * --move: a symbolic link is never imported (moving its target would leave it dangling, and
   * moving the link would put a link into the library); its target is, when the walk reaches it.
   */
  noLinks?: boolean;
}

export interface WalkEntry {
  /** Absolute path. */
  path: string;
  size: number;
  mtime: Date;
}

export type SkipReason = 'excluded' | 'hidden' | 'ignored' | 'unsupported' | 'unreadable' | 'not-a-file' | 'link-outside';

/**
 * Skips the user must hear about (each listed, exit 1): files and folders that exist but could not be
 * looked at, and links that lead out of the imported folders. (A name that is not UTF-8 is walked by
 * its bytes, raw-path.ts: never a skip.)
 */
export const REPORTED_SKIPS: ReadonlySet<SkipReason> = new Set(['unreadable', 'link-outside']);

export interface WalkSkip {
  path: string;
  reason: SkipReason;
  detail?: string;
}

export interface WalkResult {
  files: WalkEntry[];
  skipped: WalkSkip[];
}

const isDefaultExcluded = picomatch(DEFAULT_EXCLUDES, { dot: true });

/**
 * --ignore globs: one without "/" matches a file or folder name anywhere (`*.mov`, `drafts`); one with
 * "/" matches the path relative to the folder given to import (`trip/*.jpg`, `2019/raw/**`).
 * (picomatch's basename option alone never matches a pattern that has a slash.)
 */
export function ignoreMatcher(globs: string[]): ((rel: string) => boolean) | undefined {
  if (!globs.length) return undefined;
  const names = globs.filter((g) => !g.includes('/'));
  const paths = globs.filter((g) => g.includes('/')).map((g) => g.replace(/^\.\//, ''));
  const byName = names.length ? picomatch(names, { dot: true, basename: true }) : undefined;
  const byPath = paths.length ? picomatch(paths, { dot: true }) : undefined;
  return (rel) => Boolean(byName?.(rel) || byPath?.(rel));
}

export async function walk(paths: string[], opts: WalkOptions = {}): Promise<WalkResult> {
  const files: WalkEntry[] = [];
  const skipped: WalkSkip[] = [];
  const seen = new Set<string>();
  const real = (p: string) => {
    try {
      return textFromBytes(realpathSync(fsPath(p), { encoding: 'buffer' }));
    } catch {
      return path.resolve(p);
    }
  };
  const excludeDirs = new Set((opts.excludeDirs ?? []).map(real));
  // Real paths of the folders given: a link may lead anywhere inside them, never out.
  const roots: string[] = [];
  const inside = (p: string) => roots.some((r) => p === r || p.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
  const ignore = ignoreMatcher(opts.ignore ?? []);

  const addFile = async (abs: string) => {
    if (seen.has(abs)) return;
    seen.add(abs);
    if (!isSupported(abs)) {
      skipped.push({ path: abs, reason: 'unsupported' });
      return;
    }
    try {
      const st = await fs.stat(fsPath(abs));
      if (!st.isFile()) {
        skipped.push({ path: abs, reason: 'not-a-file' });
        return;
      }
      files.push({ path: abs, size: st.size, mtime: st.mtime });
    } catch (err) {
      skipped.push({ path: abs, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? String(err) });
    }
  };

  const visitDir = async (dir: string, root: string): Promise<void> => {
    if (excludeDirs.size && excludeDirs.has(real(dir))) return;
    let dirents;
    try {
      // Names as bytes: one that is not valid UTF-8 keeps them (in its text form, raw-path.ts).
      dirents = await fs.readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      skipped.push({ path: dir, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? String(err) });
      return;
    }
    const entries = dirents.map((d) => ({ d, name: textFromBytes(d.name) }));
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { d: e, name } of entries) {
      const abs = path.join(dir, name);
      const rel = path.relative(root, abs).split(path.sep).join('/');
      if (isDefaultExcluded(name)) {
        skipped.push({ path: abs, reason: 'excluded' });
        continue;
      }
      if (!opts.includeHidden && name.startsWith('.')) {
        skipped.push({ path: abs, reason: 'hidden' });
        continue;
      }
      if (ignore && ignore(rel)) {
        skipped.push({ path: abs, reason: 'ignored' });
        continue;
      }
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      let target = abs;
      if (e.isSymbolicLink()) {
        // Symlinked files are imported by their real path (so a file linked twice is one file), and
        // only when it lies inside the imported folders; symlinked folders are not followed (loops).
        const st = await fs.stat(fsPath(abs)).catch((err: NodeJS.ErrnoException) => err);
        if (st instanceof Error) {
          if (isSupported(abs)) skipped.push({ path: abs, reason: 'unreadable', detail: `broken symbolic link (${st.code ?? st.message})` });
          continue;
        }
        isDir = false;
        isFile = st.isFile();
        if (st.isDirectory()) {
          skipped.push({ path: abs, reason: 'not-a-file', detail: 'symbolic link to a folder' });
          continue;
        }
        if (isFile) {
          target = real(abs);
          if (!inside(target)) {
            skipped.push({ path: abs, reason: 'link-outside', detail: `symbolic link to ${target}, outside the imported folders: not followed` });
            continue;
          }
          if (opts.noLinks) {
            skipped.push({ path: abs, reason: 'not-a-file', detail: 'symbolic link: not moved (its target is imported where the walk finds it)' });
            continue;
          }
        }
      }
      if (isDir) await visitDir(abs, root);
      else if (isFile) await addFile(target);
      else if (isSupported(abs)) skipped.push({ path: abs, reason: 'not-a-file' });
    }
  };

  for (const p of paths) roots.push(real(p));
  for (const p of paths) {
    const abs = path.resolve(p);
    const st = await fs.stat(fsPath(abs));
    if (st.isDirectory()) await visitDir(abs, abs);
    else if (opts.noLinks && (await fs.lstat(fsPath(abs))).isSymbolicLink()) {
      skipped.push({ path: abs, reason: 'link-outside', detail: `symbolic link to ${real(abs)}: --move would leave it dangling; import the file it points to` });
    } else await addFile(abs);
  }
  return { files, skipped };
}
