// Worker thread for `immich export`: one plain copy per task. A kernel copy (copy_file_range, as
// cp does: the bytes never pass through JavaScript), then the SHA-1 of the copy as written, read
// back from the page cache it was just written to. Hashing is the CPU cost of an export; a pool of
// these spreads it over every core while the main thread plans and renames.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { fsPath } from '../../storage/raw-path.js';

export interface CopyTask {
  id: number;
  src: string;
  /** A fresh temporary name beside the target (created exclusively). */
  tmp: string;
}

export interface CopyResult {
  id: number;
  sha1?: string;
  size?: number;
  error?: string;
  code?: string;
}

const buf = Buffer.allocUnsafe(1 << 20);

export function copyAndHash(src: string, tmp: string): { sha1: string; size: number } {
  fs.copyFileSync(fsPath(src), tmp, fs.constants.COPYFILE_EXCL);
  const hash = crypto.createHash('sha1');
  const fd = fs.openSync(tmp, 'r');
  let size = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (!n) break;
      hash.update(buf.subarray(0, n));
      size += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { sha1: hash.digest('hex'), size };
}

parentPort?.on('message', (t: CopyTask) => {
  let out: CopyResult;
  try {
    out = { id: t.id, ...copyAndHash(t.src, t.tmp) };
  } catch (err) {
    out = { id: t.id, error: (err as Error).message, code: (err as NodeJS.ErrnoException).code };
  }
  parentPort!.postMessage(out);
});
