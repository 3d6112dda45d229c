// `immich trash list|restore|empty`: what `immich rm` moved to the trash, taking it back, purging it.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { addSelectionOptions, isSelective, parseSelection, selectAssetIds, type SelectionFlags } from '../services/selection.js';
import { formatBytes } from './render.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';

export function register(program: Command): void {
  const trash = program
    .command('trash')
    .description('list, restore or empty the trash (assets moved there by immich rm)')
    .addHelpText(
      'after',
      `
Assets stay in the trash IMMICH_TRASH_DAYS days (default 30; 0 = no trash, rm deletes at once) and are
then purged by the maintenance that import, index and worker run. Purging deletes the library copy of
the original, its sidecar, thumbnails, previews, encoded video and face crops, and every row; an
in-place original (import --in-place) is only forgotten unless --delete-files. A purge that is
interrupted (even by kill -9) is finished by the next one.

Exit status:
  0  done
  1  some files could not be deleted (listed; their assets stay in the trash)
  2  usage error
  3  environment error (database unavailable)`,
    );

  trash
    .command('list')
    .description('list the assets in the trash, oldest first, with when each is purged')
    .action(async (_flags: object, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await runList(rt);
    });

  const restore = trash
    .command('restore')
    .description('take assets out of the trash')
    .argument('[assets...]', 'asset ids, library paths or original paths');
  addSelectionOptions(restore)
    .option('--dry-run', 'list what would be restored; change nothing')
    .addHelpText(
      'after',
      `
Selects among trashed assets (every stack member, not only primaries). \`immich trash restore --trashed\`
restores everything. A restored asset that was the primary of its stack when it was trashed is the
primary again, unless a primary was chosen with \`immich stack primary\` meanwhile.

Examples:
  immich trash restore ~/Pictures/IMG_0001.jpg
  immich trash restore --album Trips --after 2024
  immich trash restore --trashed`,
    )
    .action(async (assets: string[], flags: SelectionFlags & { dryRun?: boolean }, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await runRestore(rt, assets, flags);
    });

  trash
    .command('empty')
    .description('purge the trash now: delete the assets\' files and rows')
    .option('--older-than <age>', 'only assets trashed longer ago than this: 30d, 12h, 2w (default: all)')
    .option('--delete-files', 'also delete in-place originals (default: only forget them)')
    .option('--dry-run', 'list what would be purged; delete nothing')
    .addHelpText(
      'after',
      `
Examples:
  immich trash empty --older-than 7d --dry-run
  immich trash empty`,
    )
    .action(async (flags: { olderThan?: string; deleteFiles?: boolean; dryRun?: boolean }, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await runEmpty(rt, flags);
    });
}

async function runList(rt: Runtime): Promise<number> {
  return withContext(rt, { command: 'immich trash list', quickStart: true }, async (ctx) => {
    const { listTrash } = await import('../services/trash.js');
    const entries = await listTrash(ctx);
    if (rt.out.json) {
      rt.out.data({ count: entries.length, assets: entries });
      return 0;
    }
    if (!entries.length) {
      rt.out.note('the trash is empty');
      return 0;
    }
    rt.out.table(
      ['id', 'file', 'trashed', 'purged after'],
      entries.map((e) => [e.id.slice(0, 8), e.path, e.deletedAt.slice(0, 16).replace('T', ' '), e.purgeAt.slice(0, 10)]),
    );
    rt.out.note(`${entries.length} asset(s) in the trash, ${formatBytes(entries.reduce((n, e) => n + e.fileSize, 0))}`);
    return 0;
  });
}

async function runRestore(rt: Runtime, assets: string[], flags: SelectionFlags & { dryRun?: boolean }): Promise<number> {
  const sel = await parseSelection(flags);
  if (assets.length) sel.refs = [...(sel.refs ?? []), ...assets];
  if (!isSelective(sel)) throw new UsageError('trash restore needs assets: name them, give a filter, or --trashed for everything in the trash');
  sel.scope ??= sel.refs || sel.ids ? 'all' : 'trashed';
  sel.expandStacks = true;
  return withContext(rt, { command: 'immich trash restore' }, async (ctx) => {
    const { restoreFromTrash } = await import('../services/trash.js');
    const ids = await selectAssetIds(ctx, sel, { strict: true });
    const r = await restoreFromTrash(ctx, ids, { dryRun: flags.dryRun });
    if (rt.out.json) {
      rt.out.data({ dryRun: Boolean(flags.dryRun), restored: r.restored.length, notTrashed: r.notTrashed, ids: r.restored });
      return 0;
    }
    rt.out.line(`${flags.dryRun ? 'dry run: would restore' : 'restored'} ${r.restored.length} asset(s)${r.notTrashed ? ` (${r.notTrashed} selected were not in the trash)` : ''}`);
    return 0;
  });
}

async function runEmpty(rt: Runtime, flags: { olderThan?: string; deleteFiles?: boolean; dryRun?: boolean }): Promise<number> {
  const { parseAge } = await import('../services/trash.js');
  const olderThanMs = flags.olderThan !== undefined ? parseAge(flags.olderThan) : undefined;
  return withContext(rt, { command: 'immich trash empty' }, async (ctx) => {
    const { emptyTrash } = await import('../services/trash.js');
    const progress = rt.out.progress('purging');
    const { candidates, summary } = await emptyTrash(ctx, { olderThanMs, dryRun: flags.dryRun, deleteFiles: flags.deleteFiles, onProgress: (d, t) => progress.update(d, t) });
    progress.stop();
    for (const f of summary.failures) rt.out.error(`immich: ${f.path}: cannot delete: ${f.reason}`);
    if (rt.out.json) {
      rt.out.data({ dryRun: Boolean(flags.dryRun), candidates: candidates.length, ...summary, assets: flags.dryRun ? candidates : undefined });
      return summary.failures.length ? 1 : 0;
    }
    if (flags.dryRun) {
      for (const e of candidates) rt.out.line(`would purge ${e.path} (${e.id})${e.storageMode === 'in-place' && !flags.deleteFiles ? ' [in place: file kept]' : ''}`);
      rt.out.line(`dry run: ${candidates.length} asset(s) would be purged`);
      return 0;
    }
    rt.out.line(
      `purged ${summary.purged} asset(s): ${summary.filesDeleted} file(s), ${formatBytes(summary.bytesFreed)} freed` +
        (summary.originalsKept ? `; ${summary.originalsKept} in-place original(s) left on disk` : ''),
    );
    return summary.failures.length ? 1 : 0;
  });
}
