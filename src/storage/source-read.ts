// Reading a small file that sits in a source folder (a sidecar, .picasa.ini, a Photo Details CSV)
// without trusting it: never through a symbolic link (`photo.jpg.xmp -> /etc/shadow` must not bring a
// root-only file into the library, its database or a backup), only a regular file (a FIFO would block
// the import), and never more than `maxBytes` into memory.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { fsPath } from './raw-path.js';

export class SourceFileError extends Error {}

/** The bytes and mode of a regular file of at most `maxBytes`, not read through a link. */
export async function readSourceFile(file: string, maxBytes: number): Promise<{ data: Buffer; mode: number }> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(fsPath(file), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new SourceFileError('a symbolic link (never followed)');
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SourceFileError('not a regular file');
    if (st.size > maxBytes) throw new SourceFileError(`larger than ${maxBytes} bytes`);
    // One byte more than allowed: a file that grew past the limit since fstat is caught too.
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (!bytesRead) break;
      n += bytesRead;
    }
    if (n > maxBytes) throw new SourceFileError(`larger than ${maxBytes} bytes`);
    return { data: buf.subarray(0, n), mode: st.mode };
  } finally {
    await fh.close();
  }
}
