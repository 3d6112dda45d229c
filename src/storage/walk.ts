// Recursive walk of the paths given to `immich import`: NAS/macOS junk and hidden files are left
// out, --ignore globs prune files and folders, and only supported media extensions are returned.
// Entries come back sorted per folder so every run sees the files in the same order.
import fs from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { isSupported } from '../media/formats.js';

/** Names never imported, even with --include-hidden (Synology thumbnails, recycle bins, macOS metadata). */
export const DEFAULT_EXCLUDES = ['@eaDir', '#recycle', '#snapshot', '.DS_Store', '._*', '.@__thumb', 'Thumbs.db'];

export interface WalkOptions {
  includeHidden?: boolean;
  /** Globs matched against the path relative to the argument it was found under; globs without a slash match the name. */
  ignore?: string[];
  /** Absolute folders never entered (the library itself, when a parent of it is imported). */
  excludeDirs?: string[];
}

export interface WalkEntry {
  /** Absolute path. */
  path: string;
  size: number;
  mtime: Date;
}

export type SkipReason = 'excluded' | 'hidden' | 'ignored' | 'unsupported' | 'unreadable' | 'not-a-file';

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
  const excludeDirs = new Set((opts.excludeDirs ?? []).map((d) => path.resolve(d)));
  const ignore = ignoreMatcher(opts.ignore ?? []);

  const addFile = async (abs: string) => {
    if (seen.has(abs)) return;
    seen.add(abs);
    if (!isSupported(abs)) {
      skipped.push({ path: abs, reason: 'unsupported' });
      return;
    }
    try {
      const st = await fs.stat(abs);
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
    if (excludeDirs.has(dir)) return;
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      skipped.push({ path: dir, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? String(err) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      const rel = path.relative(root, abs).split(path.sep).join('/');
      if (isDefaultExcluded(e.name)) {
        skipped.push({ path: abs, reason: 'excluded' });
        continue;
      }
      if (!opts.includeHidden && e.name.startsWith('.')) {
        skipped.push({ path: abs, reason: 'hidden' });
        continue;
      }
      if (ignore && ignore(rel)) {
        skipped.push({ path: abs, reason: 'ignored' });
        continue;
      }
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        // Symlinked files are imported; symlinked folders are not followed (loops).
        const st = await fs.stat(abs).catch(() => undefined);
        isDir = false;
        isFile = Boolean(st?.isFile());
        if (st?.isDirectory()) {
          skipped.push({ path: abs, reason: 'not-a-file', detail: 'symbolic link to a folder' });
          continue;
        }
      }
      if (isDir) await visitDir(abs, root);
      else if (isFile) await addFile(abs);
      else if (isSupported(abs)) skipped.push({ path: abs, reason: 'not-a-file' });
    }
  };

  for (const p of paths) {
    const abs = path.resolve(p);
    const st = await fs.stat(abs);
    if (st.isDirectory()) await visitDir(abs, abs);
    else await addFile(abs);
  }
  return { files, skipped };
}
