// Job handlers for stages: backup. A 'backup' job (e.g. queued by a scheduler through Redis) runs
// `immich backup` into job.data.repository (default UPLOAD_LOCATION/backups) with the configured key.
import path from 'node:path';
import { runBackup } from './backup.js';
import { readPassphrase, shortId } from './backup-repo.js';
export const backupHandlers = {
    backup: async (ctx, job) => {
        const repository = typeof job.data?.repository === 'string' ? job.data.repository : path.join(ctx.config.uploadLocation, 'backups');
        const result = await runBackup(ctx, {
            repository,
            passphrase: readPassphrase({ raw: ctx.config.raw }),
            includeDerived: job.data?.includeDerived === true,
            tags: ['job'],
        });
        if (result.problems.length) {
            return { status: 'failed', message: `snapshot ${shortId(result.snapshot)} written, but ${result.problems.length} file(s) were not backed up: ${result.problems[0].path}: ${result.problems[0].message}` };
        }
        return { status: 'success', message: `snapshot ${shortId(result.snapshot)}: ${result.stats.new_files} new file(s)` };
    },
};
//# sourceMappingURL=backup-jobs.js.map