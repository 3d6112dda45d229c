// `immich edit <selection> [changes]`: favorites, archive, rating, description, tags, date and time
// zone, location, for one asset or thousands, in one transaction; each change also reaches the
// asset's XMP sidecar.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { EditFlags } from '../services/edit.js';
import { addSelectionOptions, isSelective, parseSelection, type SelectionFlags } from '../services/selection.js';
import { confirmCount } from './confirm.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';

interface Flags extends SelectionFlags, EditFlags {
  dryRun?: boolean;
  yes?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const TABLE_ROWS = 50;

export function register(program: Command): void {
  const cmd = program
    .command('edit')
    .description('change favorites, archive, rating, description, tags, capture date, time zone or location of the selected assets (database and XMP sidecars)')
    .argument('[query...]', 'free text selecting what `immich search` shows for it (optional)');
  addSelectionOptions(cmd, { setsTagAndRating: true })
    .option('--favorite', 'mark as favorite')
    .option('--no-favorite', 'unmark as favorite')
    .option('--archive', 'archive (hidden from the timeline, kept in the library)')
    .option('--unarchive', 'bring back to the timeline')
    .option('--rating <n>', 'set the rating, 0 (none) to 5')
    .option('--description <text>', 'set the description ("" clears it)')
    .option('--tag <a/b>', 'add a user tag; "/" nests: Trips/2024/Lisbon (repeatable)', collect, [])
    .option('--untag <a/b>', 'remove a user tag and the tags under it (repeatable)', collect, [])
    .option('--date <iso>', 'set the capture date and time with its offset, e.g. 2024-05-01T10:00:00+01:00')
    .option('--shift <±duration>', 'move the capture time by a duration like +1h30m, 2d or 45s (a leading minus moves it back)')
    .option('--tz <zone>', 'set the time zone (Europe/Lisbon or +01:00); needs --keep-wall-clock or --keep-instant')
    .option('--keep-wall-clock', 'with --tz: the local time stays, the instant moves (the camera clock was set for another zone)')
    .option('--keep-instant', 'with --tz: the instant stays, the local time moves (only the zone was wrong)')
    .option('--location <lat,lon|place>', 'set the GPS position: decimal degrees or a place name resolved offline, e.g. "Lisbon, Portugal"')
    .option('--no-location', 'remove the GPS position')
    .option('--dry-run', 'show what would change, change nothing')
    .option('-y, --yes', 'do not ask before changing several assets on a terminal')
    .addHelpText(
      'after',
      `
Selection: the same options as immich search (see immich-search(1)), but --has-tag and --has-rating
filter (--tag and --rating set); the query words, if any, select what the search shows. Naming assets with --id or --ids-from reaches archived and trashed
ones too. Without any selection option nothing is selected: use --all for the whole library.

All changes run in one database transaction. Then every asset whose rating, description, date,
location or tags changed gets its XMP sidecar written (photo.jpg.xmp beside the library file;
IMMICH_SIDECAR_LOCATION=library puts those of in-place files under UPLOAD_LOCATION/sidecars/):
dc:description, xmp:Rating, exif:DateTimeOriginal and photoshop:DateCreated with the offset,
exif:GPSLatitude/GPSLongitude, digiKam:TagsList, lr:HierarchicalSubject and dc:subject, merged into
an existing sidecar. Originals are never modified. A sidecar that cannot be written is listed; the
database change is kept and immich metadata sync --to-files finishes it later.

Output: a table of the changes (asset, field, from, to), or with --json
{ selected, changed, dryRun, changes: [{ id, file, field, from, to }], sidecarsWritten, sidecarFailures }.

Examples:
  immich edit --id 3fa8 --favorite --rating 5
  immich edit --album "Trips/2024/Lisbon" --tag Trips/2024 --location "Lisbon, Portugal"
  immich edit --camera "eos 7d" --after 2024-03-31 --shift -1h
  immich edit --path '**/DCIM/*' --tz Asia/Tokyo --keep-wall-clock --dry-run
  immich search --tag beach --paths | immich edit --ids-from - --tag Holidays

Exit status:
  0  done (also when nothing needed to change)
  1  the database was changed but some sidecars could not be written (listed)
  2  usage error: bad value (date, zone, rating, latitude), unknown album/person/tag/id, an
     ambiguous place name (candidates listed), or the confirmation was declined; nothing changed
  3  environment error (database unavailable)`,
    )
    .action(async (words: string[], flags: Flags, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await runEdit(rt, words, flags);
    });
}

async function runEdit(rt: Runtime, words: string[], flags: Flags): Promise<number> {
  const { parseEditFlags } = await import('../services/edit.js');
  // --favorite, --tag and --rating set values here; the selection filters by --has-tag and --has-rating
  const spec = parseEditFlags(flags);
  const sel = await parseSelection({ ...flags, favorite: undefined, tag: flags.hasTag, rating: flags.hasRating }, { words });
  if (!isSelective(sel)) throw new UsageError('nothing selected: give a selection (e.g. --album, --id, --ids-from, a query) or --all for every asset');
  return withContext(rt, { command: 'immich edit' }, async (ctx) => {
    const { selectionIdsQuery } = await import('../services/selection.js');
    const { editAssets } = await import('../services/edit.js');
    // The selection runs inside the edit's statement (no id list read first); it is counted only
    // when a person must confirm.
    const target = await selectionIdsQuery(ctx, sel, { strict: true });
    if (!flags.dryRun && !flags.yes && process.stdin.isTTY && process.stderr.isTTY) {
      const { n } = await ctx.db.selectFrom(target.as('s')).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      if (!(await confirmCount(`Edit ${n} assets?`, { yes: flags.yes, count: Number(n) }))) throw new UsageError('not confirmed; nothing changed');
    }
    const progress = rt.out.progress('writing sidecars');
    // The table shows the first changes: only those are read (--json lists all).
    const result = await editAssets(ctx, target, spec, {
      dryRun: flags.dryRun,
      onSidecarProgress: (d, t) => progress.update(d, t),
      changeLimit: rt.out.json ? undefined : TABLE_ROWS,
    });
    progress.stop();
    if (!result.selected) {
      if (rt.out.json) rt.out.data({ selected: 0, changed: 0, dryRun: Boolean(flags.dryRun), changes: [], sidecarsWritten: 0, sidecarFailures: [] });
      else rt.out.note('no assets selected');
      return 0;
    }
    if (rt.out.json) {
      const { dbMs: _dbMs, changeCount: _changeCount, ...rest } = result;
      rt.out.data(rest);
    } else {
      if (result.changes.length) {
        rt.out.table(
          ['file', 'field', 'from', 'to'],
          result.changes.slice(0, TABLE_ROWS).map((ch) => [ch.file, ch.field, fmt(ch.from), fmt(ch.to)]),
        );
        const shown = Math.min(result.changes.length, TABLE_ROWS);
        if (result.changeCount > shown) rt.out.line(`... and ${result.changeCount - shown} more changes (--json lists all)`);
      }
      const verb = result.dryRun ? 'would change' : 'changed';
      rt.out.note(`${result.selected} selected, ${result.changed} ${verb}${result.dryRun ? '' : `, ${result.sidecarsWritten} sidecars written`}`);
    }
    for (const f of result.sidecarFailures) rt.out.error(`${f.file}: sidecar not written: ${f.error} (the database has the change; immich metadata sync --to-files retries)`);
    return result.sidecarFailures.length ? 1 : 0;
  });
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return s.length > 40 ? s.slice(0, 39) + '…' : s;
}
