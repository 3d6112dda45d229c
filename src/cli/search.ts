// `immich search [query...]`: find assets by words, people, tags, OCR text, dates, camera, place,
// distance, or likeness to another photo; print a table, JSON, or paths for xargs.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { SearchHit, SearchOptions } from '../services/search.js';
import { intOption, loadRuntime, withContext, type Runtime } from './runtime.js';

interface SearchFlags {
  person: string[];
  tag: string[];
  text?: string;
  after?: string;
  before?: string;
  camera?: string;
  make?: string;
  model?: string;
  type?: string;
  similar?: string;
  place?: string;
  near?: string;
  limit?: string;
  paths?: boolean;
  null?: boolean;
  duplicates?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('search')
    .description(
      'find photos and videos by words (CLIP smart search when a CLIP model is installed, otherwise object and scene ' +
        'tags, text in the picture, place names, file names and descriptions), combined with filters on people, tags, ' +
        'OCR text, dates, camera, type and place; or list near-duplicates',
    )
    .argument('[query...]', 'free text, e.g. "dog on the beach" (optional when filters are given)')
    .option('--person <name|id>', 'only assets showing this person (repeatable: all of them must appear)', collect, [])
    .option('--tag <name>', 'only assets with this object or scene tag, e.g. dog, beach (repeatable: all must match)', collect, [])
    .option('--text <text>', 'only assets whose recognised text (OCR) contains this, ignoring case and accents; close misspellings match too')
    .option('--after <date>', 'taken on or after this date (2020, 2020-06, 2020-06-15 or an ISO timestamp; UTC)')
    .option('--before <date>', 'taken before this date (same forms; --before 2021 excludes 2021)')
    .option('--camera <text>', 'camera make and model contain this text, e.g. "nikon d70"')
    .option('--make <text>', 'camera make contains this text, e.g. canon')
    .option('--model <text>', 'camera model contains this text, e.g. "eos 7d"')
    .option('--type <type>', 'image or video')
    .option('--similar <file|asset>', 'rank by likeness to this asset (id or library file) or any image file')
    .option('--place <name>', 'taken in this city, state or country ("Paris" or "Paris, France"), from offline reverse geocoding of GPS')
    .option('--near <lat,lon[,km]>', 'taken within km (default 10) of this point, in decimal degrees')
    .option('-n, --limit <n>', 'at most this many results (default 20)')
    .option('--paths', 'print only the files, one per line (for xargs)')
    .option('-0, --null', 'print only the files, separated by NUL characters (for xargs -0)')
    .option('--duplicates', 'list groups of near-duplicate photos instead (same as immich duplicates)')
    .addHelpText(
      'after',
      `
Results are ranked: by CLIP similarity when a CLIP model (IMMICH_CLIP_MODEL, default ViT-B-32__openai,
in Immich's layout under IMMICH_MODELS_DIR/clip/) and pgvector are available; otherwise by how many
query words an asset's tags, recognised text, place, file name, description or keywords match.
Without a query, filtered results are listed newest first. Filters always combine with AND.
Without pgvector (a PostgreSQL server lacking the extension) CLIP is unavailable: the search says so
once and uses the other sources.

Output: a table with each result's file and thumbnail; --json for the full records (id, path,
originalPath, takenAt, camera, place, thumbnail, preview, score, matched); --paths or -0 for xargs.

Examples:
  immich search dog on the beach
  immich search --person Alice --person Bob --after 2023
  immich search --text "no parking"
  immich search --tag horse --place "Tuscany" --limit 5
  immich search --near 41.89,12.49,5 --type image
  immich search --camera "iphone 6" --paths | xargs -d '\\n' ls -l
  immich search --similar ~/Pictures/IMG_0001.jpg -0 | xargs -0 open
  immich search --duplicates

Exit status:
  0  the search ran (also when nothing matched)
  2  usage error (bad date, --near, --type or --limit)
  3  environment error (database unavailable; CLIP asked for without pgvector)`,
    )
    .action(async (words: string[], flags: SearchFlags, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      quietOnClosedPipe();
      process.exitCode = await runSearch(rt, words, flags);
    });
}

export async function parseSearchOptions(words: string[], flags: SearchFlags): Promise<SearchOptions> {
  const { parseDateBound, parseNear } = await import('../services/search.js');
  if (flags.type && flags.type !== 'image' && flags.type !== 'video') throw new UsageError(`--type must be image or video (got ${flags.type})`);
  const o: SearchOptions = {
    query: words.join(' ').trim() || undefined,
    persons: flags.person,
    tags: flags.tag,
    text: flags.text?.trim() || undefined,
    after: flags.after ? parseDateBound('--after', flags.after) : undefined,
    before: flags.before ? parseDateBound('--before', flags.before) : undefined,
    camera: flags.camera,
    make: flags.make,
    model: flags.model,
    type: flags.type as SearchOptions['type'],
    similar: flags.similar,
    place: flags.place,
    near: flags.near ? parseNear(flags.near) : undefined,
    limit: intOption('--limit', flags.limit, 20),
  };
  if (o.after && o.before && o.after >= o.before) throw new UsageError('--after must be earlier than --before');
  return o;
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
    printHits(rt, result.hits, flags, { mode: result.mode, ...(result.total !== undefined ? { total: result.total } : {}) }, opts.limit);
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

export function printHits(rt: Runtime, hits: SearchHit[], flags: { paths?: boolean; null?: boolean }, extra: Record<string, unknown>, limit?: number): void {
  if (flags.null) {
    rt.out.write(hits.map((h) => h.path + '\0').join(''));
    return;
  }
  if (flags.paths) {
    rt.out.write(hits.map((h) => h.path + '\n').join(''));
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
  if (total !== undefined && total > hits.length) rt.out.note(`${hits.length} of ${total} shown (--limit <n> shows more)`);
  else if (total === undefined && limit !== undefined && hits.length >= limit) rt.out.note(`first ${hits.length} shown (--limit ${limit}); --limit <n> shows more`);
}
