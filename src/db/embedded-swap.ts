// Replacing the embedded database folder as a whole (restore): the new one is built and checked
// beside it (<dir>.restoring), then swapped in with two renames. Linux has no atomic exchange of two
// folders, so a process killed between the renames leaves <dir>.replaced and no usable <dir>; the
// next opener (which holds the database lock) puts the old one back. Leftovers of a killed build
// are removed the same way, before anything else opens the folder.
import fs from 'node:fs';

export const stagingPath = (dir: string): string => `${dir}.restoring`;
const replacedPath = (dir: string): string => `${dir}.replaced`;

/** A PGlite/PostgreSQL data folder has PG_VERSION; an empty or half-made folder does not. */
const isDatabase = (dir: string): boolean => fs.existsSync(`${dir}/PG_VERSION`);

/** Finish or undo an interrupted swap and drop a half-built restore. Call with the lock held. */
export function recoverEmbeddedSwap(dir: string): void {
  const replaced = replacedPath(dir);
  if (fs.existsSync(replaced)) {
    if (isDatabase(dir)) fs.rmSync(replaced, { recursive: true, force: true });
    else {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(replaced, dir);
    }
  }
  fs.rmSync(stagingPath(dir), { recursive: true, force: true });
}

/** Put the checked database at <dir>.restoring in place of <dir>. Call with the lock held. */
export function swapInEmbedded(dir: string): void {
  const replaced = replacedPath(dir);
  const had = fs.existsSync(dir);
  if (had) fs.renameSync(dir, replaced);
  fs.renameSync(stagingPath(dir), dir);
  if (had) fs.rmSync(replaced, { recursive: true, force: true });
}
