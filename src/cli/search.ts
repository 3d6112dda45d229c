// `immich search [query...]`: find assets by words, people, tags, OCR text, dates, camera, place,
// distance, or likeness to another photo; print a table, JSON, or paths for xargs.
import type { Command } from 'commander';
import type { SearchHit, SearchOptions } from '../services/search.js';
import { addSelectionOptions, parseSelection, type SelectionFlags } from '../services/selection.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';
import { bytesFromText } from '../storage/raw-path.js';


interface SearchFlags extends SelectionFlags {
  paths?: boolean;
  null?: boolean;
  duplicates?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('search')
    .description(
      'find photos and videos by words (CLIP smart search when a CLIP model is installed, otherwise people, object, ' +
        'scene and user tags, albums, text in the picture, place names, file names and descriptions), combined with filters on people, tags, ' +
        'OCR text, dates, camera, type and place; or list near-duplicates',
    )
    .argument('[query...]', 'free text, e.g. "dog on the beach" (optional when filters are given)');
  addSelectionOptions(cmd, { similar: true, favorite: true, limitDefault: 20 })
    .option('--paths', 'print only the files, one per line (for xargs, or immich edit --ids-from -)')
    .option('-0, --null', 'print only the files, separated by NUL characters (for xargs -0)')
    .option('--duplicates', 'list groups of near-duplicate photos instead (same as immich duplicates)')
    .addHelpText(
      'after',
      `
Results are ranked: by CLIP similarity when a CLIP model (IMMICH_CLIP_MODEL, default ViT-B-32__openai,
in Immich's layout under IMMICH_MODELS_DIR/clip/) and pgvector are available; otherwise by how many
query words an asset's people, tags, albums, recognised text, place, file name, description or
keywords match, as whole words ("cat" finds "Cat" and "cats", not "truncated"). CLIP knows no names:
with CLIP, assets whose person, album, tag or description matches every word of the query ("Ada")
are listed first, then CLIP's ranking (an asset in both is listed once, among the first).
Without a query, filtered results are listed newest first. Filters always combine with AND.
The selection options are the same for info, edit and album add/remove: by default the timeline
(not archived, not trashed, a stack's primary only); --archived, --trashed or --all widen it.
Without pgvector (a PostgreSQL server lacking the extension) CLIP is unavailable: the search says so
once and uses the other sources.

Output: a table with each result's file and thumbnail; --json for the full records (id, path,
originalPath, takenAt, camera, place, thumbnail, preview, score, matched); --paths or -0 for xargs.
--paths and -0 print each file's bytes; in --json a name that is not valid UTF-8 is in the lossless
form that immich-import(1) describes (a raw byte as U+FFFD and its two hex digits).
--text lists assets with the text as whole words newest first when they fill the page, else every
match (substrings, close misspellings) most similar first.
When --limit cuts the list, stderr says "20 of 145 shown" (filters, free text without CLIP, --text;
--json: total); past 5,000 matches a filter's total is the planner's estimate ("20 of about 120,000";
--json: totalEstimated) or, where it expected fewer, a count that stopped ("20 of at least 5,001";
--json: totalAtLeast). A similarity search (CLIP, --similar) ranks every photo, so it says "the 20 most
similar shown" instead (--json: ranked).

Examples:
  immich search dog on the beach
  immich search Ada                         photos of Ada, or in an album or tag named Ada
  immich search --person Alice --person Bob --after 2023
  immich search --text "no parking"
  immich search --tag horse --place "Tuscany" --limit 5
  immich search --near 41.89,12.49,5 --type image
  immich search --camera "iphone 6" --paths | xargs -d '\\n' ls -l
  immich search --similar ~/Pictures/IMG_0001.jpg -0 | xargs -0 open
  immich search --album "Trips/2024" --min-rating 4 --favorite
  immich search --tag Trips --paths | immich edit --ids-from - --archive
  immich search --duplicates

Exit status:
  0  the search ran (also when nothing matched)
  2  usage error (bad date, --near, --type, --rating or --limit; unknown album, --id or --ids-from entry;
     unknown --person, or a name several people share)
  3  environment error (database unavailable; CLIP asked for without pgvector)`,
    )
    .action(async (words: string[], flags: SearchFlags, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      quietOnClosedPipe();
      process.exitCode = await runSearch(rt, words, flags);
    });
}

export async function parseSearchOptions(words: string[], flags: SelectionFlags): Promise<SearchOptions> {
  return parseSelection(flags, { words, limitDefault: 20 });
}

async function runSearch(rt: Runtime, words: string[], flags: SearchFlags): Promise<number> {
  if (flags.duplicates) {
    const { runDuplicates } = await import('./duplicates.js');
    return runDuplicates(rt, { paths: flags.paths, null: flags.null });
  }
  const opts = await parseSearchOptions(words, flags);
  return withContext(rt, { command: 'immich search', quickStart: true }, async (ctx) => {
    const { search } = await import('../services/search.js');
    const result = await search(ctx, opts);
    for (const n of result.notes) rt.out.note(n);
    printHits(rt, result.hits, flags, { mode: result.mode, ...(result.total !== undefined ? { total: result.total } : {}), ...(result.totalEstimated ? { totalEstimated: true } : {}), ...(result.totalAtLeast ? { totalAtLeast: true } : {}), ...(result.ranked ? { ranked: true } : {}) }, opts.limit, result.ranked);
    return 0;
  });
}

/** `immich search --paths | head -1`: a reader that stops early is not an error. */
export function quietOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

export function printHits(rt: Runtime, hits: SearchHit[], flags: { paths?: boolean; null?: boolean }, extra: Record<string, unknown>, limit?: number, ranked?: boolean): void {
  if (flags.null) {
    // The files' bytes (a name that is not UTF-8 included), as xargs needs them.
    rt.out.write(Buffer.concat(hits.map((h) => Buffer.concat([bytesFromText(h.path), Buffer.from('\0')]))));
    return;
  }
  if (flags.paths) {
    rt.out.write(Buffer.concat(hits.map((h) => Buffer.concat([bytesFromText(h.path), Buffer.from('\n')]))));
    return;
  }
  if (rt.out.json) {
    rt.out.data({ ...extra, count: hits.length, results: hits });
    return;
  }
  if (!hits.length) {
    rt.out.note('no matches');
    return;
  }
  rt.out.table(
    ['#', 'file', 'taken', 'place', 'score', 'matched', 'thumbnail'],
    hits.map((h, i) => [
      i + 1,
      h.path,
      h.takenAt ? h.takenAt.slice(0, 10) : '',
      [h.city, h.country].filter(Boolean).join(', '),
      h.score.toFixed(3),
      h.matched.join(' '),
      h.thumbnail ?? '',
    ]),
    { wideOnly: ['thumbnail'] },
  );
  // The limit cut the list (or may have): say so, and how to see more.
  const total = typeof extra.total === 'number' ? extra.total : undefined;
  const about = extra.totalEstimated ? 'about ' : extra.totalAtLeast ? 'at least ' : '';
  if (total !== undefined && total > hits.length) rt.out.note(`${hits.length} of ${about}${total.toLocaleString('en')} shown (--limit <n> shows more)`);
  // Similarity ranks every photo (there is no count of "matches"): say what the list is.
  else if (total === undefined && (ranked || (limit !== undefined && hits.length >= limit)))
    rt.out.note(`the ${hits.length} most similar shown (similarity ranks every photo; --limit <n> shows more)`);
}
