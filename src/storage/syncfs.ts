// Flushing a whole filesystem at once (syncfs, through `sync -f`): one journal commit for a batch of
// files instead of an fsync each (backup objects, export copies, sidecar batches).
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import { fsPath } from './raw-path.js';

/** syncfs of the filesystem holding `dir`; false where that could not be done (no `sync`, a name it cannot take). */
export function syncFs(dir: string): Promise<boolean> {
  if (typeof fsPath(dir) !== 'string') return Promise.resolve(false); // `sync` takes UTF-8 names only
  return new Promise<boolean>((resolve) => {
    execFile('sync', ['-f', dir], (err) => resolve(!err));
  });
}

/** syncfs of the filesystem holding `dir`; where that cannot be done, fsync of the folder. */
export async function syncFilesystem(dir: string): Promise<void> {
  if (await syncFs(dir)) return;
  const fd = await fsp.open(fsPath(dir), 'r').catch(() => undefined);
  await fd?.sync().catch(() => {});
  await fd?.close();
}
