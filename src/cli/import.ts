// `immich import <paths...>`: add photos and videos to the library, then run the media pipeline.
import fs from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import { EXIT, UsageError } from '../errors.js';
import { supportedExtensions } from '../media/formats.js';
import { createProcessor } from '../services/pipeline.js';
import { importFiles, MEDIA_STAGES, type ImportMode, type ImportSummary } from '../services/import.js';
import { DEFAULT_EXCLUDES } from '../storage/walk.js';
import { formatDuration } from './render.js';
import { libraryExists } from '../context.js';
import { intOption, loadRuntime, withContext, type Runtime } from './runtime.js';
import { fsPath } from '../storage/raw-path.js';

interface ImportFlags {
  move?: boolean;
  inPlace?: boolean;
  dryRun?: boolean;
  concurrency?: string;
  includeHidden?: boolean;
  ignore: string[];
  skipMl?: boolean;
  album?: string;
  albumFromFolder?: boolean;
  stack?: string;
  from?: string;
  includeTrashed?: boolean;
  // Redis mode adds `--no-wait` here (wait: false): return once the jobs are queued.
  wait?: boolean;
  retryFailed?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('import')
    .description(
      'add photos and videos to the library: walk the paths, skip duplicates (SHA-1), copy the files into ' +
        'uploads/ by the storage template (IMMICH_STORAGE_TEMPLATE, default YYYY/YYYY-MM-DD/ by capture date), then extract metadata and make thumbnails, previews and web-playable video',
    )
    .argument('<paths...>', 'files and folders to import (folders are walked recursively)')
    .option('--move', 'move the files into the library instead of copying them (the source is removed once the asset is recorded)')
    .option('--in-place', 'leave the files where they are and reference them (like an external library)')
    .option('-n, --dry-run', 'report what would be imported, duplicated or refused; write nothing')
    .option('-j, --concurrency <n>', 'stage workers and exiftool processes (default: number of cores); up to 4 × n files are hashed and copied at once')
    .option('--include-hidden', 'also import hidden files and folders (names starting with a dot)')
    .option('--ignore <glob>', 'skip files and folders matching this glob (repeatable): without "/" it matches a name anywhere (*.mov), with "/" the path relative to the folder given (trip/*.jpg), or inside a Takeout zip relative to its root ("Google Photos/Trash/*")', collect, [])
    .option('--album <path>', 'put the imported files (and those already in the library) into this album, created if needed, e.g. "Trips/2024"')
    .option('--album-from-folder', 'put each file into an album named after its folder (under --album when both are given)')
    .option('--stack <mode>', 'auto: stack the new files like `immich stack auto` (RAW+JPEG, HEIC+JPEG, bursts, edits)')
    .option('--from <source>', 'read the zips and folders given as this kind of export even without its usual layout: google-takeout')
    .option('--include-trashed', "Google Takeout: import the items of Google Photos' trash into the trash (default: skip and report them)")
    .option('--skip-ml', 'run only the media stages (metadata, thumbnails, video); no smart search, faces, objects or OCR')
    .option('--retry-failed', 'try again files that failed before although unchanged, and stages skipped or failed since the environment last changed')
    .option('--no-wait', 'Redis mode (REDIS_HOSTNAME): return once the jobs are queued; `immich worker` processes run them (see `immich jobs`). By default the import works as a worker until its own jobs are done')
    .addHelpText(
      'after',
      `
Files are walked recursively. Always left out: ${DEFAULT_EXCLUDES.join(', ')};
hidden files and folders unless --include-hidden. Supported extensions:
  images: ${supportedExtensions('image').join(' ')}
  videos: ${supportedExtensions('video').join(' ')}

A file whose SHA-1 is already in the library, or that repeats an earlier file of the same run, is
reported as a duplicate and not imported again; its unfinished pipeline stages are queued again, so
running the same import after an interruption (even kill -9) finishes the job. A file is in the
library only once its checksum has been verified after the copy. Files that cannot be read or
decoded get a one-line error naming the file and the cause, are recorded as import failures, and
the rest of the import goes on; a later run that succeeds clears them. A later run does not try an
unchanged file that failed again (it would fail the same way; it is counted as "failed before"), nor
stages that were skipped or failed (no model, a file ffmpeg cannot read) while the environment is
unchanged: so a re-run with nothing new exits 0. Installing a model or ffmpeg, or changing a setting,
retries them once; --retry-failed retries them now; \`immich verify\` lists them.

File names are kept byte for byte: a name that is not valid UTF-8 (a Latin-1 caf\\xe9.jpg) is
imported by copy, --move or in place like any other. In --json (and in the database) such a path
is lossless text: each byte that is not part of valid UTF-8 is U+FFFD followed by its two hex
digits (caf U+FFFD E9 .jpg), and a U+FFFD the name really holds is written as its three bytes
(U+FFFD EF U+FFFD BF U+FFFD BD), so no two names share a form. Human output shows such a byte as
\\xe9, and control characters as \\n, \\x1b; \`search --paths\` and -0 print the bytes. The
library's copy gets a UTF-8 name without control characters (caf%E9.jpg); export --original-names
writes the original bytes. Folders that cannot be read are failures (listed, exit 1).

Google Takeout: takeout-*.zip parts (read in place, all parts of one export given together) or the
unpacked folder are recognised by their layout. Each media file is matched with its JSON sidecar
(name.ext.json, name.ext.supplemental-metadata.json and their cut forms, moved duplicate index,
edited copies and Live Photo videos sharing the original's); the sidecar gives the capture date
(photoTakenTime) and GPS where the file has none, the description, favorite, archive and trash
state, People/<name> tags and the name of the one face on a photo with one name. Edited copies
(IMG_1-edited.jpg, -bearbeitet, -modifié ...) are stacked under their original, which stays the
primary (as Immich and immich-go do; --stack is not needed). A photo in several
album folders is imported once and put in every album (title and description from the album's
metadata file). A report lists media without sidecar, sidecars without media, skipped trashed items
and dates that disagree with the sidecar by more than a day.

Examples:
  immich import ~/Pictures/2024                 copy into the library, by date
  immich import --move /mnt/card/DCIM           move off a memory card
  immich import --in-place /srv/photos          index files where they are
  immich import -n --ignore '*.mov' ~/Downloads show what would happen, skipping .mov files
  immich import --album-from-folder ~/Trips     one album per folder (Lisbon, Porto, ...)
  immich --json import ~/Pictures | jq .counts  machine-readable summary
  immich import takeout-20240101T000000Z-*.zip  a Google Takeout, every part at once

Exit status:
  0  all files imported or already in the library, every stage done or skipped
  1  some files or stages failed (they are listed on stderr and in --json "failures")
  2  usage error (unknown option, missing path, conflicting modes)
  3  environment error (library not writable, database or Redis unavailable)`,
    )
    .action(async (paths: string[], flags: ImportFlags, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      rt.out.listsItemFailures = true;
      process.exitCode = await runImport(rt, paths, flags);
    });
}

async function runImport(rt: Runtime, paths: string[], flags: ImportFlags): Promise<number> {
  if (flags.move && flags.inPlace) throw new UsageError('--move and --in-place cannot be used together');
  if (flags.stack !== undefined && flags.stack !== 'auto') throw new UsageError(`--stack must be auto (got ${flags.stack})`);
  const mode: ImportMode = flags.move ? 'move' : flags.inPlace ? 'in-place' : 'copy';
  if (flags.wait === false && !rt.config.redis) {
    throw new UsageError('--no-wait needs Redis job queues (REDIS_HOSTNAME): in-process jobs only run while the import runs');
  }
  const concurrency = intOption('--concurrency', flags.concurrency, os.availableParallelism());
  for (const p of paths) if (!fs.existsSync(fsPath(p))) throw new UsageError(`${p}: no such file or folder`);
  const onlyStages = flags.skipMl ? MEDIA_STAGES : undefined;
  if (flags.from !== undefined && flags.from !== 'google-takeout') throw new UsageError(`--from ${flags.from}: unknown source (known: google-takeout)`);
  const options = {
    paths,
    mode,
    dryRun: flags.dryRun,
    concurrency,
    includeHidden: flags.includeHidden,
    ignore: flags.ignore,
    onlyStages,
    wait: flags.wait,
    retryFailed: flags.retryFailed,
    from: flags.from as 'google-takeout' | undefined,
    includeTrashed: flags.includeTrashed,
  };
  const wantAlbums = Boolean(flags.album || flags.albumFromFolder);
  if (flags.album) {
    const { normaliseAlbumPath } = await import('../services/selection.js');
    flags.album = normaliseAlbumPath(flags.album, '--album');
  }
  const forAlbums: Array<{ path: string; assetId: string }> = [];
  const { out } = rt;
  const progress = out.progress('importing');
  let filesDone = 0;
  let filesTotal = 0;
  const stageText = new Map<string, string>();
  const stageWork = new Map<string, { done: number; total: number }>();
  // The bar counts files and stage jobs together: it reaches 100% only once the stages (ML
  // included) are done too, not when the last file is copied. Stages are announced as they are
  // queued, so until the import returns more work may come: the bar stays below 100% (a 3/3 frame
  // with no stage queued yet said 100% on a terminal; test/e2e/quiet-tty.test.ts).
  let finished = false;
  const render = () => {
    let done = filesDone;
    let total = filesTotal;
    for (const w of stageWork.values()) { done += w.done; total += w.total; }
    progress.update(done, total, [...stageText.entries()].map(([s, t]) => `${s} ${t}`).join(' '), !finished);
  };
  const events = {
    onWalked: (n: number) => { filesTotal = n; render(); },
    onFile: (o: { path: string; assetId?: string }, done: number) => {
      if (o.assetId && wantAlbums) forAlbums.push({ path: o.path, assetId: o.assetId });
      filesDone = done;
      render();
    },
    onStage: (p: { stage: string; done: number; failed: number; skipped: number; total: number }) => {
      stageText.set(p.stage, `${p.done + p.failed + p.skipped}/${p.total}`);
      stageWork.set(p.stage, { done: p.done + p.failed + p.skipped, total: p.total });
      render();
    },
  };

  let summary: ImportSummary;
  try {
    // A dry run into a library that does not exist yet opens (and creates) nothing.
    if (flags.dryRun && !libraryExists(rt.config)) {
      summary = await importFiles(undefined, options, events);
    } else {
      let result: ImportSummary | undefined;
      await withContext(
        rt,
        { command: 'immich import', create: !flags.dryRun, concurrency, processor: (c) => createProcessor(c, { onlyStages }) },
        async (ctx) => {
          result = await importFiles(ctx, options, events);
          if (wantAlbums && !flags.dryRun) {
            const { addImportedToAlbums } = await import('../services/albums.js');
            await addImportedToAlbums(ctx, forAlbums, { album: flags.album, fromFolder: flags.albumFromFolder });
          }
          // --stack auto: the stack rules on the new files, with what the library has already.
          if (flags.stack && !flags.dryRun) {
            const { autoStack } = await import('../services/stacks.js');
            const { stackRules } = await import('./stack.js');
            const ids = result.imported.map((i) => i.assetId).filter((id): id is string => Boolean(id));
            const r = ids.length ? await autoStack(ctx, { rules: stackRules({}), only: ids }) : undefined;
            result.stacks = { created: r?.created ?? 0, joined: r?.joined ?? 0, assets: r?.assetsStacked ?? 0 };
          }
          // Faces clustered during the import: give deferred faces their second chance and merge
          // people that arrival order split (like `immich faces detect` does at its end).
          if (!flags.dryRun && flags.wait !== false && (result.stages['face-recognition']?.done ?? 0) > 0) {
            const { deferredPass } = await import('../services/people.js');
            await deferredPass(ctx);
          }
        },
      );
      summary = result!;
    }
  } catch (err) {
    progress.fail();
    throw err;
  }
  finished = true;
  render();
  progress.stop();
  render_(rt, summary);
  return summary.failures.length ? EXIT.ITEMS_FAILED : EXIT.OK;
}

function render_(rt: Runtime, s: ImportSummary): void {
  const { out } = rt;
  // One line per failure on stderr in every mode: the file and the cause.
  for (const f of s.failures) out.error(`immich: ${f.path}: ${f.stage}: ${f.reason}`);
  for (const w of s.warnings) out.note(`immich: warning: ${w.path}: ${w.stage}: ${w.reason}`);
  if (out.json) {
    out.data(s);
    return;
  }
  const verb = s.dryRun ? 'would import' : 'imported';
  out.table(
    ['', 'files'],
    [
      ['found', s.counts.found],
      [verb, s.counts.imported],
      ['duplicates', s.counts.duplicates],
      ...(s.counts.healed ? [['healed (missing originals put back)', s.counts.healed]] : []),
      ['failed', s.counts.failed],
      ...(s.counts.knownFailures ? [['failed before, unchanged (not retried; --retry-failed)', s.counts.knownFailures]] : []),
      ['skipped (excluded or unsupported)', s.counts.skipped],
      ...(s.counts.resumed ? [['resumed (unfinished stages queued again)', s.counts.resumed]] : []),
      ...(s.stacks ? [['stacked (--stack auto)', s.stacks.assets]] : []),
    ],
  );
  const stages = Object.entries(s.stages);
  if (stages.length) {
    out.table(
      ['stage', 'done', 'skipped', 'failed', 'pending'],
      stages.map(([name, c]) => [name, c.done, c.skipped, c.failed, c.pending]),
    );
  }
  if (s.dryRun) for (const d of s.duplicates) out.line(`duplicate: ${d.path} (same as ${d.of})`);
  if (s.takeout) renderTakeout(rt, s.takeout);
  out.line(
    `${s.dryRun ? 'dry run: ' : ''}${s.counts.imported} ${verb}, ${s.counts.duplicates} duplicate(s), ` +
      (s.counts.healed ? `${s.counts.healed} missing original(s) put back, ` : '') +
      `${s.failures.length} failure(s) in ${formatDuration(s.durationMs)}`,
  );
}

function renderTakeout(rt: Runtime, t: NonNullable<ImportSummary['takeout']>): void {
  const { out } = rt;
  out.table(
    ['Google Takeout', 'items'],
    [
      ['albums', t.albums.length],
      ['media without sidecar', t.mediaWithoutSidecar.length],
      ['sidecars without media', t.sidecarsWithoutMedia.length],
      ['trashed, skipped', t.skippedTrashed.length],
      ['date conflicts (> 1 day)', t.dateConflicts.length],
      ['refused entries', t.refused.length],
      ['left out by --ignore', t.ignored],
      ['People/ tags given', t.peopleTagged],
      ['faces named', t.facesNamed],
      ['edited copies stacked', t.editsStacked],
    ],
  );
  for (const p of t.mediaWithoutSidecar) out.line(`no sidecar: ${p}`);
  for (const p of t.sidecarsWithoutMedia) out.line(`sidecar without media: ${p}`);
  for (const p of t.skippedTrashed) out.line(`trashed, skipped: ${p}`);
  for (const c of t.dateConflicts) out.line(`date conflict: ${c.path}: file ${c.media}, sidecar ${c.sidecar} (file kept)`);
  for (const r of t.refused) out.line(`refused: ${r.path}: ${r.reason}`);
}
