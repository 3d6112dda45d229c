// `immich rm [assets...] <selection>`: move assets to the trash (hidden everywhere, files kept until
// the trash is emptied or IMMICH_TRASH_DAYS pass).
import type { Command } from 'commander';
import readline from 'node:readline/promises';
import { UsageError } from '../errors.js';
import { addSelectionOptions, isSelective, parseSelection, selectAssetIds, type SelectionFlags } from '../services/selection.js';
import { formatBytes } from './render.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';

interface RmFlags extends SelectionFlags {
  dryRun?: boolean;
  withStack?: boolean;
  primaryOnly?: boolean;
  deleteFiles?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('rm')
    .description('move photos and videos to the trash: hidden from search, people, albums and exports, files kept until the trash is emptied')
    .argument('[assets...]', 'asset ids, library paths or original paths (the same as --ids-from lines)');
  addSelectionOptions(cmd, { favorite: true })
    .option('--dry-run', 'list what would be trashed; change nothing')
    .option('--with-stack', 'trashing the primary of a stack trashes every member of the stack (no question asked)')
    .option('--primary-only', 'trashing the primary of a stack trashes it alone; the next member becomes the primary (no question asked)')
    .option('--delete-files', 'with IMMICH_TRASH_DAYS=0 (no trash): also delete in-place originals, not only forget them')
    .addHelpText(
      'after',
      `
The selection is the one of search, info and edit (default: the timeline). Name assets as arguments
(ids or paths) or select them with filters; a command without either is refused, so a bare
\`immich rm\` never empties the library. Live Photos go with their video part.

Trashed assets stay IMMICH_TRASH_DAYS days (default 30) and are then purged by the maintenance that
import, index and worker run: \`immich trash list\` shows them, \`immich trash restore\` takes them
back, \`immich trash empty\` purges now. With IMMICH_TRASH_DAYS=0 there is no trash: rm purges at
once (library copies deleted; in-place originals only forgotten unless --delete-files).

When a selected asset is the primary of a stack whose other members are not selected, rm asks on a
terminal whether to trash the whole stack; elsewhere it trashes the primary alone unless --with-stack.
The next member shown then leads the stack until the primary is restored from the trash.

Examples:
  immich rm --id 3f2a9c1e                an asset by id (or an unambiguous prefix)
  immich rm ~/Pictures/IMG_0001.jpg      by the path it was imported from
  immich rm --album Trips/Rejects --dry-run
  immich search --tag blurry --paths | immich rm --ids-from -

Exit status:
  0  done (also when everything selected was in the trash already)
  2  usage error (no selection, bad filter, unknown album, id or path)
  3  environment error (database unavailable)`,
    )
    .action(async (assets: string[], flags: RmFlags, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await runRm(rt, assets, flags);
    });
}

async function askYesNo(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

async function runRm(rt: Runtime, assets: string[], flags: RmFlags): Promise<number> {
  if (flags.withStack && flags.primaryOnly) throw new UsageError('choose one of --with-stack and --primary-only');
  if (assets.length && flags.idsFrom !== undefined) throw new UsageError('name assets either as arguments or with --ids-from, not both');
  const sel = await parseSelection(flags);
  if (assets.length) sel.refs = assets;
  if (!isSelective(sel)) throw new UsageError('rm needs assets: name them (ids or paths) or give a filter (--album, --tag, --path, ...)');
  return withContext(rt, { command: 'immich rm' }, async (ctx) => {
    const { moveToTrash, primariesWithOthers, trashDays } = await import('../services/trash.js');
    const ids = await selectAssetIds(ctx, sel, { strict: true });
    let withStacks = Boolean(flags.withStack);
    const hits = flags.withStack || flags.primaryOnly ? [] : await primariesWithOthers(ctx, ids);
    if (hits.length) {
      const others = hits.reduce((n, h) => n + h.others.length, 0);
      const what = `${hits.length} selected asset(s) lead a stack with ${others} other member(s)`;
      if (process.stdin.isTTY && process.stderr.isTTY && !rt.out.json && !flags.dryRun) {
        withStacks = await askYesNo(`${what}. Trash the whole stack? [y/N] `);
      } else {
        rt.out.note(`${what}: trashing the primaries only, the next member of each stack takes over (--with-stack trashes the stacks)`);
      }
    }
    const result = await moveToTrash(ctx, ids, { dryRun: flags.dryRun, withStacks, deleteFiles: flags.deleteFiles });
    const days = trashDays(ctx.config);
    if (rt.out.json) {
      rt.out.data({ dryRun: Boolean(flags.dryRun), trashed: result.trashed.length, alreadyTrashed: result.already, ids: result.trashed, trashDays: days, purge: result.purge ?? null });
      return result.purge?.failures.length ? 1 : 0;
    }
    if (flags.dryRun) {
      const rows: Array<{ id: string; library_path: string }> = [];
      for (let k = 0; k < result.trashed.length; k += 5000) {
        rows.push(...(await ctx.db.selectFrom('assets').select(['id', 'library_path']).where('id', 'in', result.trashed.slice(k, k + 5000)).execute()));
      }
      rows.sort((a, b) => (a.library_path < b.library_path ? -1 : 1));
      for (const r of rows) rt.out.line(`would trash ${ctx.library.resolve(r.library_path)} (${r.id})`);
      rt.out.line(`dry run: ${result.trashed.length} asset(s) would be moved to the trash${result.already ? `, ${result.already} already there` : ''}`);
      return 0;
    }
    if (result.purge) {
      for (const f of result.purge.failures) rt.out.error(`immich: ${f.path}: cannot delete: ${f.reason}`);
      rt.out.line(
        `deleted ${result.purge.purged} asset(s) at once (IMMICH_TRASH_DAYS=0), ${formatBytes(result.purge.bytesFreed)} freed` +
          (result.purge.originalsKept ? `; ${result.purge.originalsKept} in-place original(s) left on disk` : ''),
      );
      return result.purge.failures.length ? 1 : 0;
    }
    rt.out.line(
      `moved ${result.trashed.length} asset(s) to the trash${result.already ? ` (${result.already} already there)` : ''}; ` +
        `purged after ${days} day(s), \`immich trash restore\` takes them back`,
    );
    return 0;
  });
}
