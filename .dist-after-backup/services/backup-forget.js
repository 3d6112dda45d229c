// `immich backup forget [--prune]`: apply a retention policy (pure, backup-policy.ts) to a
// repository, then optionally delete objects that no remaining snapshot references.
import fsp from 'node:fs/promises';
import { RepositoryError, shortId } from './backup-repo.js';
/** Every object a snapshot needs: its files, its file list and its dump. */
export async function referencedObjects(repo, snapshots) {
    const used = new Set();
    for (const s of snapshots) {
        used.add(s.files.object);
        if (s.database.dump)
            used.add(s.database.dump.object);
        for (const f of await repo.loadFileList(s))
            used.add(f.object);
    }
    return used;
}
export async function forgetSnapshots(repo, policy, opts) {
    const release = repo.lock('immich backup forget');
    try {
        const { snapshots, damaged } = await repo.listSnapshots();
        const decision = opts.applyPolicy(snapshots, policy);
        if (!opts.dryRun)
            for (const s of decision.remove)
                await repo.removeSnapshot(s.id);
        let prune = null;
        if (opts.prune) {
            if (damaged.length) {
                throw new RepositoryError(`cannot prune: ${damaged.length} snapshot(s) are unreadable (${damaged.map((d) => shortId(d.id)).join(', ')}); their data might still be needed. Run \`immich verify --backup\``);
            }
            const used = await referencedObjects(repo, decision.keep.map((k) => k.snapshot));
            prune = { objects: 0, bytes: 0 };
            for (const id of (await repo.listObjects()).keys()) {
                if (used.has(id))
                    continue;
                const st = await fsp.stat(repo.objectPath(id)).catch(() => undefined);
                prune.objects++;
                prune.bytes += st?.size ?? 0;
                if (!opts.dryRun)
                    await repo.removeObject(id);
            }
            if (!opts.dryRun)
                await repo.cleanTemp();
        }
        return {
            repository: repo.root,
            dry_run: opts.dryRun,
            keep: decision.keep.map((k) => ({ id: k.snapshot.id, time: k.snapshot.time, reasons: k.reasons })),
            remove: decision.remove.map((s) => ({ id: s.id, time: s.time })),
            prune,
        };
    }
    finally {
        release();
    }
}
//# sourceMappingURL=backup-forget.js.map