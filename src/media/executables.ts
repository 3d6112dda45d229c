// Locating external tools (ffmpeg, heif-convert, djxl) on the system.
import fs from 'node:fs';
import path from 'node:path';

/** The first executable `name` in `dirs` (folders, or PATH-style strings joined with ':'). */
export function findExecutable(name: string, dirs: Array<string | undefined>): string | undefined {
  for (const dir of dirs.flatMap((d) => (d ?? '').split(path.delimiter)).filter(Boolean)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return undefined;
}
