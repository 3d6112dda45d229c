// `immich metadata sync --to-files | --from-files <selection>`: keep XMP sidecars and the database in
// step: write every selected asset's metadata to its sidecar (and finish writes that failed), or
// read sidecars that were edited outside.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { addSelectionOptions, isSelective, parseSelection, type SelectionFlags } from '../services/selection.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';

interface Flags extends SelectionFlags {
  toFiles?: boolean;
  fromFiles?: boolean;
  force?: boolean;
}

export function register(program: Command): void {
  const metadata = program.command('metadata').description('keep XMP sidecars and the database in step');
  const sync = metadata
    .command('sync')
    .description('write the selected assets\' metadata to their XMP sidecars (--to-files), or read sidecars edited outside (--from-files)')
    .argument('[query...]', 'free text selecting what `immich search` shows for it (optional)');
  addSelectionOptions(sync, { favorite: true })
    .option('--to-files', 'write description, rating, date with offset, GPS and tags to each sidecar (merged into an existing one)')
    .option('--from-files', 'read sidecars whose file changed since immich last wrote or read it')
    .option('--force', 'with --from-files: read every sidecar, changed or not')
    .addHelpText(
      'after',
      `
--to-files without a selection writes the sidecars that are behind the database (a write that
failed: read-only folder, disk full); with a selection (or --all) every selected asset's sidecar.
--from-files without a selection looks at every known sidecar; a changed description, rating,
location or tag list replaces the database's (the sidecar wins, as at import). immich index does
the same for the sidecars it finds changed.

Exit status:
  0  done (also when nothing needed syncing)
  1  some sidecars could not be written or read (listed)
  2  usage error (neither or both of --to-files and --from-files; unknown selection names)
  3  environment error (database unavailable)`,
    )
    .action(async (words: string[], flags: Flags, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await runSync(rt, words, flags);
    });
}

async function runSync(rt: Runtime, words: string[], flags: Flags): Promise<number> {
  if (Boolean(flags.toFiles) === Boolean(flags.fromFiles)) throw new UsageError('give one of --to-files and --from-files');
  const sel = await parseSelection(flags, { words });
  return withContext(rt, { command: 'immich metadata sync' }, async (ctx) => {
    const { selectAssetIds } = await import('../services/selection.js');
    const svc = await import('../services/sidecars.js');
    const ids = isSelective(sel) ? await selectAssetIds(ctx, sel, { strict: true }) : undefined;
    if (flags.toFiles) {
      const todo = ids ?? (await svc.pendingSidecars(ctx));
      const progress = rt.out.progress('writing sidecars');
      const r = await svc.writeSidecars(ctx, todo, (d, t) => progress.update(d, t));
      progress.stop();
      if (rt.out.json) rt.out.data({ written: r.written, failed: r.failed });
      else rt.out.note(`${r.written} sidecars written${r.failed.length ? `, ${r.failed.length} failed` : ''}`);
      for (const f of r.failed) rt.out.error(`${f.file}: sidecar not written: ${f.error}`);
      return r.failed.length ? 1 : 0;
    }
    const r = await svc.readChangedSidecars(ctx, ids, { force: flags.force });
    if (rt.out.json) rt.out.data({ read: r.read, failed: r.failed });
    else for (const x of r.read) rt.out.line(`${x.file}: ${x.changed.join(', ')}`);
    if (!rt.out.json) rt.out.note(`${r.read.length} assets updated from their sidecars`);
    for (const f of r.failed) rt.out.error(`${f.file}: sidecar not read: ${f.error}`);
    return r.failed.length ? 1 : 0;
  });
}
