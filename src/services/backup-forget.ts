// `immich backup forget [--prune]`: apply a retention policy (pure, backup-policy.ts) to a
// repository, then optionally delete objects that no remaining snapshot references.
import fsp from 'node:fs/promises';
import type { PolicyDecision, RetentionPolicy } from './backup-policy.js';
import { libraryKey, RepositoryError, shortId, type Repository, type Snapshot } from './backup-repo.js';

export interface ForgetResult {
  repository: string;
  dry_run: boolean;
  keep: Array<{ id: string; time: string; library: string; reasons: string[] }>;
  remove: Array<{ id: string; time: string; library: string }>;
  prune: { objects: number; bytes: number } | null;
}

/** Every object a snapshot needs: its files, its file list and its dump. */
export async function referencedObjects(repo: Repository, snapshots: Snapshot[]): Promise<Set<string>> {
  const used = new Set<string>();
  for (const s of snapshots) {
    used.add(s.files.object);
    if (s.database.dump) used.add(s.database.dump.object);
    for (const f of await repo.loadFileList(s)) used.add(f.object);
  }
  return used;
}

export async function forgetSnapshots(
  repo: Repository,
  policy: RetentionPolicy,
  opts: { prune: boolean; dryRun: boolean; applyPolicy: (s: Snapshot[], p: RetentionPolicy) => PolicyDecision<Snapshot> },
): Promise<ForgetResult> {
  const release = repo.lock('immich backup forget');
  try {
    const { snapshots, damaged } = await repo.listSnapshots();
    // The policy applies to each library on its own (a repository may hold several), and to a
    // library's safety snapshots apart from its backups: one library's backups never push out another's.
    const groups = new Map<string, Snapshot[]>();
    for (const s of snapshots) {
      const key = `${libraryKey(s)}${s.safety ? '\0safety' : ''}`;
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    const decision: PolicyDecision<Snapshot> = { keep: [], remove: [] };
    for (const group of groups.values()) {
      const d = opts.applyPolicy(group, policy);
      decision.keep.push(...d.keep);
      decision.remove.push(...d.remove);
    }
    const newestFirst = (a: Snapshot, b: Snapshot) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id);
    decision.keep.sort((a, b) => newestFirst(a.snapshot, b.snapshot));
    decision.remove.sort(newestFirst);
    if (!opts.dryRun) for (const s of decision.remove) await repo.removeSnapshot(s.id);
    let prune: ForgetResult['prune'] = null;
    if (opts.prune) {
      if (damaged.length) {
        throw new RepositoryError(`cannot prune: ${damaged.length} snapshot(s) are unreadable (${damaged.map((d) => shortId(d.id)).join(', ')}); their data might still be needed. Run \`immich verify --backup\``);
      }
      const used = await referencedObjects(repo, decision.keep.map((k) => k.snapshot));
      prune = { objects: 0, bytes: 0 };
      for (const id of (await repo.listObjects()).keys()) {
        if (used.has(id)) continue;
        const st = await fsp.stat(repo.objectPath(id)).catch(() => undefined);
        prune.objects++;
        prune.bytes += st?.size ?? 0;
        if (!opts.dryRun) await repo.removeObject(id);
      }
      if (!opts.dryRun) await repo.cleanTemp();
    }
    return {
      repository: repo.root,
      dry_run: opts.dryRun,
      keep: decision.keep.map((k) => ({ id: k.snapshot.id, time: k.snapshot.time, library: libraryKey(k.snapshot), reasons: k.reasons })),
      remove: decision.remove.map((s) => ({ id: s.id, time: s.time, library: libraryKey(s) })),
      prune,
    };
  } finally {
    release();
  }
}
