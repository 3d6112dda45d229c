// `immich export <dest>`: copies of originals under templates, kept in sync with --update/--cleanup.
import path from 'node:path';
import type { Command } from 'commander';
import { EXIT, UsageError } from '../errors.js';
import { AssetNotFoundError, runExport, templateTest, writeReport, type ExportOptions } from '../services/export/export.js';
import { addSelectionOptions, parseSelection, type SelectionFlags } from '../services/selection.js';
import { parseTemplate, TemplateError } from '../storage/template.js';
import { formatBytes } from './render.js';
import { loadRuntime, withContext } from './runtime.js';

interface ExportFlags extends SelectionFlags {
  directory?: string;
  filename?: string;
  originalNames?: boolean;
  link?: boolean;
  update?: boolean;
  cleanup?: boolean;
  dryRun?: boolean;
  sidecar?: string;
  embedMetadata?: boolean;
  convert?: string;
  quality?: string;
  live?: boolean;
  report?: string;
  templateTest?: string;
  jobs?: string;
  verify?: boolean;
  flush?: boolean;
}

function checkTemplate(flag: string, value: string | undefined): void {
  if (value === undefined) return;
  try {
    parseTemplate(value);
  } catch (err) {
    if (err instanceof TemplateError) throw new UsageError(`${flag}: ${err.message}`);
    throw err;
  }
}

function parseFlags(f: ExportFlags): Omit<ExportOptions, 'dest'> {
  checkTemplate('--directory', f.directory);
  checkTemplate('--filename', f.filename);
  checkTemplate('--template-test', f.templateTest);
  if (f.sidecar !== undefined && f.sidecar !== 'xmp' && f.sidecar !== 'json') throw new UsageError(`--sidecar must be xmp or json (got ${f.sidecar})`);
  if (f.convert !== undefined && f.convert !== 'jpeg' && f.convert !== 'jpg') throw new UsageError(`--convert: only jpeg is supported (got ${f.convert})`);
  const quality = f.quality === undefined ? 90 : Number(f.quality);
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new UsageError(`--quality must be a whole number from 1 to 100 (got ${f.quality})`);
  if (f.quality !== undefined && !f.convert) throw new UsageError('--quality goes with --convert jpeg');
  if (f.link && (f.embedMetadata || f.convert)) throw new UsageError('--link shares the library\'s file: it cannot be combined with --embed-metadata or --convert');
  const jobs = f.jobs === undefined ? 4 : Number(f.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`-j must be a whole number from 1 to 64 (got ${f.jobs})`);
  return {
    directory: f.directory,
    filename: f.filename,
    originalNames: f.originalNames,
    link: f.link,
    update: f.update,
    cleanup: f.cleanup,
    dryRun: f.dryRun,
    sidecar: f.sidecar as ExportOptions['sidecar'],
    embedMetadata: f.embedMetadata,
    convert: f.convert ? { format: 'jpeg', quality } : undefined,
    live: f.live,
    concurrency: jobs,
    verify: f.verify,
    flush: f.flush,
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('export')
    .description('copy originals out of the library under directory and file name templates, and keep that folder in sync')
    .argument('[dest]', 'destination folder (with --template-test: the asset)')
    .argument('[query...]', 'free text: export what `immich search` finds for it')
    .option('--directory <template>', 'folder template under dest, e.g. "{{y}}/{{album,Unsorted}}" (default: none)')
    .option('--filename <template>', 'file name template without extension (default: the name in the library)')
    .option('--original-names', 'without --filename: name files as they were named when imported')
    .option('--link', 'hard-link the library\'s originals instead of copying (same filesystem only)')
    .option('-u, --update', 'write only new and changed assets (an edit is a change); unchanged files are skipped')
    .option('--cleanup', 'remove files this command exported earlier that are no longer selected')
    .option('--dry-run', 'show what would be written and removed; write nothing')
    .option('--sidecar <format>', 'write a sidecar beside each file: xmp or json')
    .option('--embed-metadata', 'write dates with zone, GPS, description, rating, tags and people (with face regions) into the copies')
    .option('--convert <format>', 'convert HEIC, JPEG XL, RAW (embedded preview), PNG, WebP... to jpeg; videos and JPEGs stay as they are')
    .option('--quality <n>', 'JPEG quality for --convert (1-100, default 90)')
    .option('--live', 'export a Live Photo\'s video beside its still (same name, the video\'s extension)')
    .option('--report <file>', 'write what happened to each file as CSV, or JSON when the name ends in .json')
    .option('--template-test <template>', 'print the paths this template gives the asset named by the argument, export nothing')
    .option('-j, --jobs <n>', 'files written at once (default 4)')
    .option('--verify', 'read back and hash every original copied, not only those changed since their checksum was last computed')
    .option('--no-flush', 'do not wait for the copies to reach the disk (as cp); a run after a restart re-verifies them');
  addSelectionOptions(cmd, { favorite: true })
    .addHelpText(
      'after',
      `
Which assets: the selection options (as for search, edit, album); by default the timeline (not
archived, not in the trash, a stack's primary). A Live Photo's video goes with its still under --live.
Templates use the tokens of the storage template (see immich-storage(1)): {{y}} {{yy}} {{MM}} {{MMM}}
{{dd}} {{hh}} {{mm}} {{ss}} ... {{filename}} {{ext}} {{filetype}} {{assetId}} {{album}} {{make}}
{{model}} {{lens}} {{city}} {{country}} {{person}} {{tag}} {{rating}} {{description}}, with a default
after a comma ({{album,Unsorted}}). {{album}}, {{person}} and {{tag}} give one file per value (a copy,
or a hard link with --link). {{album}} is the album's path: a photo in Lisbon under Trips/2024 goes to
Trips/2024/Lisbon (in --filename its folders become "_"). Other values never add folders: "/" in a
value becomes "_". The extension is appended. A name taken by another file gets -1, -2... in
capture-time order, and keeps it.

The destination holds .immich-export.json, the record of which file came from which asset version:
its checksum, its last edit, and a fingerprint of what else its path and bytes used (album paths,
people's names and face regions, tags, the metadata row; only what the templates and --sidecar or
--embed-metadata use). --update copies only what is new or changed: an edit, and also a person or an
album renamed, a tag added, a new reverse-geocoded city when a template or the metadata uses it; a
file whose path changes is written at the new path (--cleanup removes the old one). --update does
not read exported files back: a file deleted by hand is written again, one changed by hand is left
alone. --cleanup removes only files this command wrote (and only while they have the bytes it wrote).

What an export guarantees. Each file is copied under a temporary name beside its target, checked,
recorded in the state log and renamed into place. An original is a kernel copy (copy_file_range, a
reflink where the filesystem can) of its library file. Its bytes are read and hashed during the copy,
and compared with the asset's checksum, whenever anything may have changed the library file since
that checksum was computed (at import, or by an export that hashed it): a size other than the
asset's, or a ctime (the time of any write, rename, link or touch, which no program can set back)
newer than that moment (for a file an export hashed: unless its inode and ctime are still the ones it
had then). A library file changed or damaged by a program since its import is thus never exported as
good: it fails with one line naming it (exit 1). A file nothing has touched is copied without being
read back; the copy is checked by its size, and the source by its inode, ctime and size after the
copy. What that does not see is damage below the filesystem (a disk
returning other bytes): --verify hashes every original copied, and immich verify checks the
library. The clocks of this machine, the library's filesystem and the database are taken to agree
(the database's is measured once per run); a ctime within 10 ms of the import counts as newer.

Files are not fsynced one by one: when the run ends they are flushed together (an fsync of each for
up to 64 files, else one syncfs of the destination's filesystem), and only then is the state
committed. An export killed at any point, or a machine that lost power, leaves no partial file under
a final name: the next run re-verifies (size, then SHA-1) every file the uncommitted run recorded,
writes a damaged one again under its name and never numbers around it, so there are no duplicates.
With --no-flush the run ends without waiting for the disk, as cp does (the kernel writes the files
within seconds); the state records this boot's id with those files, and a run after a restart of the
machine re-verifies them the same way. A full disk stops the run with one line (exit 3); the state
then lists exactly the files that are there, and --update carries on once there is room.

Examples:
  immich export /mnt/nas/photos --directory '{{y}}/{{y}}-{{MM}}-{{dd}}' --update --cleanup
  immich export ~/frame --directory '{{album,Unsorted}}' --convert jpeg --quality 85 --update
  immich export ~/frame --album 'Trips/2024' --min-rating 4 --update --cleanup
  immich export /srv/share --link --sidecar xmp --report /tmp/export.csv
  immich export ~/out --embed-metadata --live --original-names
  immich export --template-test '{{y}}/{{person,Nobody}}/{{filename}}' IMG_0001.HEIC

Exit status:
  0  done (nothing new to export is done too)
  1  some files failed (listed); the others were exported
  2  usage error (bad template or flags, unknown asset for --template-test)
  3  environment error (database, library, destination full or not writable)`,
    )
    .action(async (dest: string | undefined, words: string[], flags: ExportFlags, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const opts = parseFlags(flags);
      const selection = await parseSelection(flags, { words });
      if (!dest) throw new UsageError(flags.templateTest ? '--template-test needs the asset (id, library path or file name) as argument' : 'export needs a destination folder');
      if (!flags.templateTest) {
        const abs = path.resolve(dest);
        const lib = path.resolve(rt.config.uploadLocation);
        if (abs === lib || abs.startsWith(lib + path.sep)) throw new UsageError(`${dest}: the destination is inside the library folder`);
      }
      // --update, --dry-run and --template-test mostly run a few queries: start the embedded database
      // the quick way (see runtime.ts); a full export's time is in the files either way.
      const quickStart = Boolean(flags.update || flags.dryRun || flags.templateTest);
      process.exitCode = await withContext(rt, { command: 'immich export', quickStart }, async (ctx) => {
        if (flags.templateTest) {
          let paths: string[];
          try {
            paths = await templateTest(ctx, flags.templateTest, { ...opts, filename: flags.templateTest }, dest);
          } catch (err) {
            if (err instanceof AssetNotFoundError) throw new UsageError(err.message);
            throw err;
          }
          if (rt.out.json) rt.out.data({ template: flags.templateTest, paths });
          else for (const p of paths) rt.out.line(p);
          return EXIT.OK;
        }
        const progress = rt.out.progress('exporting');
        let result;
        try {
          result = await runExport(ctx, { ...opts, dest, selection, listSkipped: Boolean(flags.report || rt.out.json), onProgress: (d, t) => progress.update(d, t) });
        } finally {
          progress.stop();
        }
        if (flags.report) await writeReport(path.resolve(flags.report), result);
        if (rt.out.json) rt.out.data(result);
        else {
          const verb = result.dryRun ? 'would export' : 'exported';
          if (result.dryRun) {
            for (const f of result.files) {
              if (f.action === 'exported') rt.out.line(`would export ${f.path}${f.reason ? ` (${f.reason})` : ''}`);
              else if (f.action === 'removed') rt.out.line(`would remove ${f.path}`);
            }
          }
          const kept = result.files.filter((f) => f.action === 'kept').length;
          rt.out.line(
            `${verb} ${result.exported} file(s)${result.dryRun ? '' : ` (${formatBytes(result.bytes)})`}, ${result.skipped} unchanged, ` +
              `${result.dryRun ? 'would remove' : 'removed'} ${result.removed}${kept ? `, ${kept} no longer selected kept` : ''}`,
          );
        }
        for (const f of result.files) if (f.action === 'failed') rt.out.error(`immich export: ${f.path}: ${f.reason}`);
        return result.failed ? EXIT.ITEMS_FAILED : EXIT.OK;
      });
    });
}
