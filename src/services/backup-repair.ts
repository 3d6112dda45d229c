// `immich backup repair [repository]`: re-read every object of a repository, remove the damaged ones,
// and back the library up again, which stores every file the library still has under the same
// content-addressed id: the new snapshot is whole, and so is every older one whose damaged objects
// the library could supply. What no file can supply any more is listed with the snapshots it breaks.
import type { Context } from '../context.js';
import { mapLimit, runBackup, type BackupResult } from './backup.js';
import { referencedObjects } from './backup-forget.js';
import { shortId, type Repository } from './backup-repo.js';

export interface RepairResult {
  repository: string;
  checked: number;
  damaged: Array<{ object: string; problem: string }>;
  backup: BackupResult;
  /** Objects still missing after the backup, and the snapshots that need them. */
  unrecoverable: Array<{ object: string; snapshots: string[] }>;
}

export async function repairRepository(
  ctx: Context,
  repo: Repository,
  opts: { onProgress?: (p: { done: number; total: number; bytes: number }) => void } = {},
): Promise<RepairResult> {
  const release = repo.lock('immich backup repair');
  const damaged: RepairResult['damaged'] = [];
  let checked = 0;
  try {
    await repo.cleanTemp();
    const ids = [...(await repo.listObjects()).keys()];
    await mapLimit(ids, 2, async (id) => {
      const problem = await repo.checkObject(id);
      opts.onProgress?.({ done: ++checked, total: ids.length, bytes: 0 });
      if (!problem) return;
      damaged.push({ object: id, problem });
      await repo.removeObject(id);
    });
    damaged.sort((a, b) => a.object.localeCompare(b.object));
    const backup = await runBackup(ctx, { repository: repo.root, repo, locked: true, tags: ['repair'] });
    const stored = await repo.listObjects();
    const unrecoverable: RepairResult['unrecoverable'] = [];
    const { snapshots } = await repo.listSnapshots();
    const users = new Map<string, string[]>();
    for (const s of snapshots) {
      for (const id of await referencedObjects(repo, [s]).catch(() => new Set([s.files.object]))) {
        if (!stored.has(id)) users.set(id, [...(users.get(id) ?? []), shortId(s.id)]);
      }
    }
    for (const [object, snaps] of users) unrecoverable.push({ object, snapshots: snaps });
    return { repository: repo.root, checked, damaged, backup, unrecoverable };
  } finally {
    release();
  }
}
