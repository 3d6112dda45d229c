// `immich cache clean [--dry-run]`.
import type { Command } from 'commander';
import { EXIT } from '../errors.js';
import { cleanCache } from '../services/cache.js';
import { camelKeys, formatBytes } from './render.js';
import { loadRuntime, withContext } from './runtime.js';

export function register(program: Command): void {
  const cache = program.command('cache').description('manage regenerable files: thumbnails, previews, encoded videos, temporary files');
  cache
    .command('clean')
    .description('remove thumbnails, previews, face crops and encoded videos that no asset references, and temporary files of interrupted runs')
    .option('-n, --dry-run', 'list what would be removed, remove nothing')
    .addHelpText(
      'after',
      `
Originals (uploads/), backups and the database are never touched. A derived file of an existing asset
is only removed when it is older than an hour (a worker may be writing it); temporary files only when
the process that wrote them is gone.

Examples:
  immich cache clean --dry-run
  immich cache clean --json

Exit status:
  0  done
  1  some files could not be removed (listed)
  3  environment error (database or library unavailable)`,
    )
    .action(async (opts: { dryRun?: boolean }, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      process.exitCode = await withContext(rt, { command: 'immich cache clean' }, async (ctx) => {
        const result = await cleanCache(ctx, { dryRun: opts.dryRun });
        if (rt.out.json) rt.out.data(camelKeys(result));
        else {
          for (const r of result.removed) rt.out.line(`${result.dry_run ? 'would remove' : 'removed'} ${r.path} (${r.kind})`);
          rt.out.line(`${result.dry_run ? 'would remove' : 'removed'} ${result.removed.length} file(s), ${formatBytes(result.bytes)}`);
        }
        for (const e of result.errors) rt.out.error(`immich cache clean: ${e.path}: ${e.message}`);
        return result.errors.length ? EXIT.ITEMS_FAILED : EXIT.OK;
      });
    });
}
