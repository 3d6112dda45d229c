// Atomic writes: write to a temp file beside the target, fsync, rename. A crash leaves either the
// old file or the new one, plus at most a *.tmp-<pid> that `immich cache clean` removes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fsPath } from './raw-path.js';

export const TMP_MARK = '.immich-tmp-';

/**
 * The pid that wrote a temp file: src/storage/atomic.ts's `.immich-tmp-<pid>-<rand>-<name>`, or, with
 * `decoders` (only for the library's own tmp/ folder, where no original ever lives), a decoder's
 * `decode-<pid>-<rand>.<ext>`. Folders that hold originals only ever match the mark, which no
 * library name can carry (see libraryName).
 */
export function tempFileOwner(name: string, opts: { decoders?: boolean } = {}): number | undefined {
  const m = name.startsWith(TMP_MARK) ? /^(\d+)-/.exec(name.slice(TMP_MARK.length)) : opts.decoders ? /^decode-(\d+)-/.exec(name) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * A hidden temp name beside `target`. It ends in `.tmp`, not in the target's extension, so readers
 * that glob a folder (node_exporter's textfile collector reads *.prom) never see a half-written file.
 */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}-${path.basename(target)}.tmp`);
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = await fsp.open(dir, 'r').catch(() => undefined);
  if (!fd) return;
  try { await fd.sync(); } catch { /* not supported on every filesystem */ } finally { await fd.close(); }
}

/**
 * Mode of a library copy of a source file: group and others get no more than the source gave them
 * (a 0600 photo stays private); the owner can always read and write the library's own copy.
 */
export function libraryMode(sourceMode: number): number {
  return (sourceMode & 0o644) | 0o600;
}

export async function writeFileAtomic(target: string, data: Buffer | Uint8Array | string, mode = 0o644): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const fh = await fsp.open(tmp, 'w', mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    // A full disk (ENOSPC) or an I/O error: no half-written temp file is left behind.
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  try {
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(target));
}

/**
 * Copy src to target atomically while hashing the bytes written; the file only takes its final name
 * when the hash of what was written equals `expectedSha1` (the checksum taken at import).
 */
export async function copyFileVerified(src: string, target: string, expectedSha1: string, mode = 0o644): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const hash = crypto.createHash('sha1');
  try {
    const out = fs.createWriteStream(tmp, { mode });
    await pipeline(
      fs.createReadStream(fsPath(src), { highWaterMark: 1 << 20 }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      },
      out,
    );
    const got = hash.digest('hex');
    if (got !== expectedSha1) throw new Error(`checksum changed while copying (${got} != ${expectedSha1}): file modified during import?`);
    const fh = await fsp.open(tmp, 'r+');
    try { await fh.sync(); } finally { await fh.close(); }
    await fsp.rename(tmp, target);
    await fsyncDir(path.dirname(target));
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Move within a filesystem by rename; across filesystems copy+verify then unlink. */
export async function moveFileVerified(src: string, target: string, expectedSha1: string): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  try {
    await fsp.link(fsPath(src), target); // atomic publish, keeps the source until it is safe to drop
    await fsp.unlink(fsPath(src));
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
  }
  await copyFileVerified(src, target, expectedSha1);
  await fsp.unlink(fsPath(src));
}
