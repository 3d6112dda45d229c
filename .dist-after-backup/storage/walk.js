// Recursive walk of the paths given to `immich import`: NAS/macOS junk and hidden files are left
// out, --ignore globs prune files and folders, and only supported media extensions are returned.
// Entries come back sorted per folder so every run sees the files in the same order.
import fs from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { isSupported } from '../media/formats.js';
/** Names never imported, even with --include-hidden (Synology thumbnails, recycle bins, macOS metadata). */
export const DEFAULT_EXCLUDES = ['@eaDir', '#recycle', '#snapshot', '.DS_Store', '._*', '.@__thumb', 'Thumbs.db'];
const isDefaultExcluded = picomatch(DEFAULT_EXCLUDES, { dot: true });
export async function walk(paths, opts = {}) {
    const files = [];
    const skipped = [];
    const seen = new Set();
    const excludeDirs = new Set((opts.excludeDirs ?? []).map((d) => path.resolve(d)));
    const ignore = opts.ignore?.length ? picomatch(opts.ignore, { dot: true, basename: true }) : undefined;
    const addFile = async (abs) => {
        if (seen.has(abs))
            return;
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
        }
        catch (err) {
            skipped.push({ path: abs, reason: 'unreadable', detail: err.code ?? String(err) });
        }
    };
    const visitDir = async (dir, root) => {
        if (excludeDirs.has(dir))
            return;
        let entries;
        try {
            entries = await fs.readdir(dir, { withFileTypes: true });
        }
        catch (err) {
            skipped.push({ path: dir, reason: 'unreadable', detail: err.code ?? String(err) });
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
            if (isDir)
                await visitDir(abs, root);
            else if (isFile)
                await addFile(abs);
            else if (isSupported(abs))
                skipped.push({ path: abs, reason: 'not-a-file' });
        }
    };
    for (const p of paths) {
        const abs = path.resolve(p);
        const st = await fs.stat(abs);
        if (st.isDirectory())
            await visitDir(abs, abs);
        else
            await addFile(abs);
    }
    return { files, skipped };
}
//# sourceMappingURL=walk.js.map