// `immich stack create|list|show|primary|remove|auto`: group the files of one shot (RAW+JPEG, HEIC+JPEG,
// bursts, an edit and its original) so the timeline, search, albums and exports show one, the primary.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { StackRule } from '../services/stack-rules.js';
import type { StackView } from '../services/stacks.js';
import { addSelectionOptions, isSelective, parseSelection, resolveIdPrefix, resolveRefs, selectAssetIds, type Selection, type SelectionFlags } from '../services/selection.js';
import type { Context } from '../context.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';

const EXIT_HELP = `
Exit status:
  0  done
  2  usage error (no selection, unknown asset, fewer than two assets for a stack)
  3  environment error (database unavailable)`;

export function register(program: Command): void {
  const stack = program
    .command('stack')
    .description('stacks: several files of one shot (RAW+JPEG, bursts, edits) shown as one, the primary')
    .addHelpText(
      'after',
      `
search, albums and exports show a stack's primary only; --expand-stacks shows every member.
Trashing a primary asks whether to trash the whole stack (see immich rm).
${EXIT_HELP}`,
    );

  const create = stack.command('create').description('put the selected assets into one stack').argument('[assets...]', 'asset ids or paths');
  addSelectionOptions(create)
    .option('--primary <asset>', 'the asset shown for the stack (id, prefix or path; default: the newest selected)')
    .addHelpText('after', `\nExamples:\n  immich stack create ~/Pictures/IMG_1.CR3 ~/Pictures/IMG_1.JPG --primary ~/Pictures/IMG_1.JPG\n  immich stack create --path 'IMG_2*' --after 2024-05-01\n${EXIT_HELP}`)
    .action(async (assets: string[], flags: SelectionFlags & { primary?: string }, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await runCreate(rt, assets, flags);
    });

  stack
    .command('list')
    .description('list the stacks: primary, number of members')
    .action(async (_f: object, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await withContext(rt, { command: 'immich stack list', quickStart: true }, async (ctx) => {
        const { showStacks, stacksOf } = await import('../services/stacks.js');
        printStacks(rt, await showStacks(ctx, await stacksOf(ctx)), false);
        return 0;
      });
    });

  const show = stack.command('show').description('show the stacks of the selected assets with every member').argument('[assets...]', 'asset ids or paths');
  addSelectionOptions(show).action(async (assets: string[], flags: SelectionFlags, c: Command) => {
    const rt = await loadRuntime(c);
    process.exitCode = await withSelected(rt, 'show', assets, flags, async (ctx, ids) => {
      const { showStacks, stacksOf } = await import('../services/stacks.js');
      printStacks(rt, await showStacks(ctx, await stacksOf(ctx, ids)), true);
    });
  });

  stack
    .command('primary <asset>')
    .description('make this asset (id, prefix or path) the primary of its stack')
    .action(async (asset: string, _f: object, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await withContext(rt, { command: 'immich stack primary' }, async (ctx) => {
        const { setPrimary } = await import('../services/stacks.js');
        printStacks(rt, [await setPrimary(ctx, await resolveAsset(ctx, asset))], true);
        return 0;
      });
    });

  const remove = stack.command('remove').description('dissolve the stacks of the selected assets (no asset is deleted)').argument('[assets...]', 'asset ids or paths');
  addSelectionOptions(remove).action(async (assets: string[], flags: SelectionFlags, c: Command) => {
    const rt = await loadRuntime(c);
    process.exitCode = await withSelected(rt, 'remove', assets, flags, async (ctx, ids) => {
      const { removeStacks, stacksOf } = await import('../services/stacks.js');
      const n = await removeStacks(ctx, await stacksOf(ctx, ids));
      if (rt.out.json) rt.out.data({ removed: n });
      else rt.out.line(`dissolved ${n} stack(s)`);
    });
  });

  stack
    .command('auto')
    .description('stack RAW+JPEG and HEIC+JPEG pairs, bursts and edited copies automatically')
    .option('--raw-jpeg', 'a RAW and a JPEG with the same base name (same folder, or taken within 2 s)')
    .option('--heic-jpeg', 'a HEIC and a JPEG with the same base name')
    .option('--bursts', 'vendor burst names (Pixel, Samsung, Huawei, Sony), the iPhone BurstUUID, and shots of one camera < 1 s apart')
    .option('--edits', 'edited copies with their original: IMG_1-edited.jpg with IMG_1.jpg (also the suffixes modifié, bearbeitet, modificato, editado ...)')
    .option('--dry-run', 'list the stacks that would be made; change nothing')
    .addHelpText(
      'after',
      `
Without rule options every rule applies. The primary is a burst's cover, else the edited copy, else
the JPEG or HEIC (not the RAW). New members of an existing stack join it; stacks are never merged.
Running it again finds nothing new.

Examples:
  immich stack auto --dry-run
  immich stack auto --raw-jpeg --edits
${EXIT_HELP}`,
    )
    .action(async (flags: { rawJpeg?: boolean; heicJpeg?: boolean; bursts?: boolean; edits?: boolean; dryRun?: boolean }, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await runAuto(rt, flags);
    });
}

/** The rules of `stack auto` flags (every rule when none is given); also `import --stack auto`. */
export function stackRules(flags: { rawJpeg?: boolean; heicJpeg?: boolean; bursts?: boolean; edits?: boolean }): Set<StackRule> {
  const picked: StackRule[] = [];
  if (flags.rawJpeg) picked.push('raw-jpeg');
  if (flags.heicJpeg) picked.push('heic-jpeg');
  if (flags.bursts) picked.push('burst');
  if (flags.edits) picked.push('edit');
  return new Set(picked.length ? picked : (['raw-jpeg', 'heic-jpeg', 'burst', 'edit'] as StackRule[]));
}

async function resolveAsset(ctx: Context, ref: string): Promise<string> {
  if (/^[0-9a-f-]{1,36}$/i.test(ref)) return resolveIdPrefix(ctx, ref);
  return (await resolveRefs(ctx, [ref]))[0]!;
}

async function selection(assets: string[], flags: SelectionFlags): Promise<Selection> {
  const sel = await parseSelection(flags);
  if (assets.length) sel.refs = [...(sel.refs ?? []), ...assets];
  if (!isSelective(sel)) throw new UsageError('name assets (ids or paths) or give a filter (--album, --path, --after, ...)');
  // Members, not only primaries: a stack is about all of them.
  sel.expandStacks = true;
  return sel;
}

async function withSelected(rt: Runtime, name: string, assets: string[], flags: SelectionFlags, fn: (ctx: Context, ids: string[]) => Promise<void>): Promise<number> {
  const sel = await selection(assets, flags);
  return withContext(rt, { command: `immich stack ${name}` }, async (ctx) => {
    await fn(ctx, await selectAssetIds(ctx, sel, { strict: true }));
    return 0;
  });
}

async function runCreate(rt: Runtime, assets: string[], flags: SelectionFlags & { primary?: string }): Promise<number> {
  const sel = await selection(assets, flags);
  return withContext(rt, { command: 'immich stack create' }, async (ctx) => {
    const ids = await selectAssetIds(ctx, sel, { strict: true });
    const primary = flags.primary ? await resolveAsset(ctx, flags.primary) : undefined;
    const { createStack } = await import('../services/stacks.js');
    printStacks(rt, [await createStack(ctx, ids, primary)], true);
    return 0;
  });
}

function printStacks(rt: Runtime, stacks: StackView[], members: boolean): void {
  if (rt.out.json) {
    rt.out.data({ count: stacks.length, stacks });
    return;
  }
  if (!stacks.length) {
    rt.out.note('no stacks');
    return;
  }
  if (!members) {
    rt.out.table(['stack', 'primary', 'members'], stacks.map((s) => [s.id.slice(0, 8), s.members.find((m) => m.primary)?.path ?? s.primaryAssetId, s.count]));
    return;
  }
  rt.out.table(
    ['stack', 'asset', 'file', ''],
    stacks.flatMap((s) => s.members.map((m, i) => [i === 0 ? s.id.slice(0, 8) : '', m.id.slice(0, 8), m.path, [m.primary ? 'primary' : '', m.trashed ? 'trashed' : ''].filter(Boolean).join(', ')])),
  );
}

const SHOW_STACKS = 50;

async function runAuto(rt: Runtime, flags: { rawJpeg?: boolean; heicJpeg?: boolean; bursts?: boolean; edits?: boolean; dryRun?: boolean }): Promise<number> {
  const rules = stackRules(flags);
  return withContext(rt, { command: 'immich stack auto' }, async (ctx) => {
    const { autoStack } = await import('../services/stacks.js');
    const r = await autoStack(ctx, { rules, dryRun: flags.dryRun });
    if (rt.out.json) {
      rt.out.data(r);
      return 0;
    }
    // The first stacks as a table; all of them with --json.
    const shown = r.stacks.slice(0, SHOW_STACKS);
    if (shown.length) {
      const rows = await ctx.db.selectFrom('assets').select(['id', 'library_path']).where('id', 'in', shown.flatMap((s) => s.ids)).execute();
      const pathOf = new Map(rows.map((x) => [x.id, ctx.library.resolve(x.library_path)]));
      rt.out.table(
        ['rules', 'file', ''],
        shown.flatMap((s) => s.ids.map((id, i) => [i === 0 ? s.rules.join('+') : '', pathOf.get(id) ?? id, i === 0 ? (s.joins ? 'primary (joins a stack)' : 'primary') : ''])),
      );
      if (r.stacks.length > shown.length) rt.out.line(`... and ${r.stacks.length - shown.length} more stack(s) (--json lists them all)`);
    }
    rt.out.line(
      `${r.dryRun ? 'dry run: would make' : 'made'} ${r.created} stack(s)${r.joined ? `, ${r.joined} joined` : ''} of ${r.assetsStacked} asset(s) ` +
        `(${r.rules.join(', ')}; ${r.candidates} assets looked at)`,
    );
    return 0;
  });
}
