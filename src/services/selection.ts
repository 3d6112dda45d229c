/**
 * The one selection grammar: which assets a command acts on. `search`, `info`, `edit`, `album
 * add/remove` (and `rm`, `export`, `stack`, the server's search) all take the same options, parse
 * them once and turn them into one SQL query.
 *
 * How a command uses it:
 *
 *   // src/cli/<cmd>.ts
 *   import { addSelectionOptions, parseSelection } from '../services/selection.js';
 *   addSelectionOptions(program.command('edit').argument('[query...]'), { query: true });
 *   ...action(async (words, flags) => {
 *     const sel = await parseSelection(flags, { words });          // UsageError (exit 2) on bad values
 *     await withContext(rt, {...}, async (ctx) => {
 *       const ids = await selectAssetIds(ctx, sel, { strict: true }); // unknown album/person/tag: exit 2
 *       // or: const q = await selectionQuery(ctx, sel); q.select(...) for a query to extend
 *     });
 *   });
 *
 * Semantics: filters combine with AND; repeatable --album, --person, --tag must all match, repeated
 * --path globs and --id values are alternatives. By default the timeline: not archived, not trashed,
 * no Live Photo video parts, and of a stack only its primary (--expand-stacks shows every member).
 * Naming assets (--id, --ids-from) selects them wherever they are unless --archived/--trashed/--all
 * is given. A free-text query (or --similar) selects what `immich search` shows for it, ranked and
 * limited the same way (--limit, default 20); without one there is no limit unless --limit is given.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { ExpressionBuilder, SelectQueryBuilder, SqlBool } from 'kysely';
import { sql } from '../db/kysely.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { parseDateOption } from '../validate.js';
import { boxAround, distanceSql, distanceSqlRefs, PLACE_RADIUS_KM } from './places.js';
import { textFromBytes } from '../storage/raw-path.js';


export interface NearFilter {
  lat: number;
  lon: number;
  km: number;
}

/** Which part of the library: the timeline (default), only archived, only trashed, or everything. */
export type Scope = 'timeline' | 'archived' | 'trashed' | 'all';

export interface Selection {
  /** Free text: ranked by `immich search`. */
  query?: string;
  persons?: string[];
  /** Object/scene tags by name, and user tags by path (hierarchical: 'Trips' matches 'Trips/2024'). */
  tags?: string[];
  /** OCR text only (substring or fuzzy, accents and case folded). */
  text?: string;
  after?: Date;
  before?: Date;
  camera?: string;
  make?: string;
  model?: string;
  type?: 'image' | 'video';
  /** An asset id, a library file, or any image file (search ranks by likeness). */
  similar?: string;
  place?: string;
  near?: NearFilter;
  /** Album paths ('Trips/2024') or ids; all must contain the asset. */
  albums?: string[];
  notInAlbum?: boolean;
  favorite?: boolean;
  /** Undefined: timeline, or 'all' when assets are named by --id/--ids-from. */
  scope?: Scope;
  rating?: number;
  minRating?: number;
  /** Asset ids or unambiguous prefixes. */
  ids?: string[];
  /** Lines of --ids-from: asset ids, library paths or original paths. */
  refs?: string[];
  /** Globs on the original or library path; without '/' on the file name. */
  paths?: string[];
  /** Show every member of a stack, not only its primary. */
  expandStacks?: boolean;
  limit?: number;
}

/** What commander gives for the options addSelectionOptions adds. */
export interface SelectionFlags {
  person?: string[];
  tag?: string[];
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
  album?: string[];
  notInAlbum?: boolean;
  favorite?: boolean;
  archived?: boolean;
  trashed?: boolean;
  all?: boolean;
  rating?: string;
  /** edit's names for --tag and --rating (see setsTagAndRating) */
  hasTag?: string[];
  hasRating?: string;
  minRating?: string;
  id?: string[];
  idsFrom?: string;
  path?: string[];
  expandStacks?: boolean;
  limit?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export interface SelectionOptionsConfig {
  /** Add --similar (search ranks by likeness). */
  similar?: boolean;
  /** Add --favorite/--no-favorite (commands that set the flag, like edit, declare their own). */
  favorite?: boolean;
  /** Default --limit shown in help (search: 20). */
  limitDefault?: number;
  /**
   * A command whose own --tag and --rating set values (edit) filters with --has-tag and
   * --has-rating instead; pass { ...flags, tag: flags.hasTag, rating: flags.hasRating } to parseSelection.
   */
  setsTagAndRating?: boolean;
}

/** Add every selection option to a command. */
export function addSelectionOptions(cmd: Command, cfg: SelectionOptionsConfig = {}): Command {
  cmd
    .option('--person <name|id>', 'only assets showing this person (repeatable: all of them must appear)', collect, [])
    .option(cfg.setsTagAndRating ? '--has-tag <tag>' : '--tag <tag>', 'only assets with this object/scene tag or user tag; "Trips" also matches "Trips/2024" (repeatable: all must match)', collect, [])
    .option('--album <path|id>', 'only assets in this album, e.g. "Trips/2024/Lisbon" (repeatable: in all of them)', collect, [])
    .option('--not-in-album', 'only assets in no album')
    .option('--text <text>', 'only assets whose recognised text (OCR) contains this, ignoring case and accents; close misspellings match too')
    .option('--after <date>', 'taken on or after this date (2020, 2020-06, 2020-06-15 or an ISO timestamp; UTC)')
    .option('--before <date>', 'taken before this date (same forms; --before 2021 excludes 2021)')
    .option('--camera <text>', 'camera make and model contain this text, e.g. "nikon d70"')
    .option('--make <text>', 'camera make contains this text, e.g. canon')
    .option('--model <text>', 'camera model contains this text, e.g. "eos 7d"')
    .option('--type <type>', 'image or video')
    .option('--place <name>', 'taken in this city, state or country ("Paris" or "Paris, France"), from offline reverse geocoding of GPS')
    .option('--near <lat,lon[,km]>', 'taken within km (default 10) of this point, in decimal degrees')
    .option(cfg.setsTagAndRating ? '--has-rating <n>' : '--rating <n>', 'rated exactly n (0-5)')
    .option('--min-rating <n>', 'rated n or more (1-5)')
    .option('--archived', 'only archived assets (the timeline hides them)')
    .option('--trashed', 'only assets in the trash')
    .option('--all', 'timeline, archived and trashed assets')
    .option('--id <id>', 'this asset (an id or an unambiguous prefix; repeatable)', collect, [])
    .option('--ids-from <file|->', 'assets listed in a file or on stdin, one per line: ids, library paths or original paths')
    .option('--path <glob>', 'original or library path matches this glob (* within a folder, ** across); without "/" the file name (repeatable: any)', collect, [])
    .option('--expand-stacks', 'every member of a stack, not only its primary')
    .option('-n, --limit <n>', `at most this many assets${cfg.limitDefault ? ` (default ${cfg.limitDefault})` : ''}`);
  if (cfg.similar) cmd.option('--similar <file|asset>', 'rank by likeness to this asset (id or library file) or any image file');
  if (cfg.favorite) cmd.option('--favorite', 'only favorites').option('--no-favorite', 'only assets that are not favorites');
  return cmd;
}

/** '2020', '2020-06', '2020-06-15', or a full ISO timestamp → the start of that period (UTC). */
export function parseDateBound(name: string, value: string): Date {
  // Strict: 2020-13-45 and 2020-02-30 do not roll over, 99999 is not a year (src/validate.ts).
  return parseDateOption(name, value);
}

/** 'lat,lon[,km]' → a distance filter (default 10 km). */
export function parseNear(value: string): NearFilter {
  const parts = value.split(',').map((s) => Number(s.trim()));
  const [lat, lon, km = 10] = parts;
  if (parts.length < 2 || parts.length > 3 || !parts.every(Number.isFinite) || Math.abs(lat!) > 90 || Math.abs(lon!) > 180 || km <= 0) {
    throw new UsageError(`--near must be <lat>,<lon>[,<km>] in decimal degrees (got ${value})`);
  }
  return { lat: lat!, lon: lon!, km };
}

function ratingOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > 5) throw new UsageError(`${name} must be an integer from ${min} to 5 (got ${value})`);
  return n;
}

/** Read --ids-from: a file or '-' for stdin; blank lines and '#' comments are skipped. */
export async function readRefs(source: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<string[]> {
  let data: Buffer;
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    data = Buffer.concat(chunks);
  } else {
    try {
      data = await fs.promises.readFile(source);
    } catch (err) {
      throw new UsageError(`--ids-from ${source}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  // As bytes: a path whose name is not UTF-8 (`search --paths` writes its bytes) is found by its text form.
  const text = textFromBytes(data);
  // `search -0` output works too: NUL-separated, each entry as it is (a name may hold a newline).
  if (text.includes('\0')) return text.split('\0').filter((l) => l);
  return text.split('\n').map((l) => l.replace(/\r$/, '').trim()).filter((l) => l && !l.startsWith('#'));
}

/** Flags (and the query words) → a Selection. Reads --ids-from. Throws UsageError (exit 2) on bad values. */
export async function parseSelection(flags: SelectionFlags, opts: { words?: string[]; limitDefault?: number } = {}): Promise<Selection> {
  if (flags.type && flags.type !== 'image' && flags.type !== 'video') throw new UsageError(`--type must be image or video (got ${flags.type})`);
  const scopes = (['archived', 'trashed', 'all'] as const).filter((s) => flags[s]);
  if (scopes.length > 1) throw new UsageError(`choose one of --archived, --trashed and --all (got --${scopes.join(' --')})`);
  let limit: number | undefined = opts.limitDefault;
  if (flags.limit !== undefined) {
    limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be an integer >= 1 (got ${flags.limit})`);
  }
  for (const id of flags.id ?? []) {
    if (!/^[0-9a-f-]{1,36}$/i.test(id)) throw new UsageError(`--id ${id}: not an asset id (hex digits and dashes)`);
  }
  const sel: Selection = {
    query: opts.words?.join(' ').trim() || undefined,
    persons: flags.person ?? [],
    tags: (flags.tag ?? []).map((t) => normaliseTagPath(t, '--tag')),
    text: flags.text?.trim() || undefined,
    after: flags.after ? parseDateBound('--after', flags.after) : undefined,
    before: flags.before ? parseDateBound('--before', flags.before) : undefined,
    camera: flags.camera,
    make: flags.make,
    model: flags.model,
    type: flags.type as Selection['type'],
    similar: flags.similar,
    place: flags.place,
    near: flags.near ? parseNear(flags.near) : undefined,
    albums: (flags.album ?? []).map((a) => normaliseAlbumPath(a, '--album')),
    notInAlbum: flags.notInAlbum || undefined,
    favorite: flags.favorite,
    scope: scopes[0],
    rating: ratingOption('--rating', flags.rating, 0),
    minRating: ratingOption('--min-rating', flags.minRating, 1),
    ids: flags.id?.length ? flags.id.map((s) => s.toLowerCase()) : undefined,
    refs: flags.idsFrom !== undefined ? await readRefs(flags.idsFrom) : undefined,
    paths: flags.path?.length ? flags.path : undefined,
    expandStacks: flags.expandStacks || undefined,
    limit,
  };
  if (sel.after && sel.before && sel.after >= sel.before) throw new UsageError('--after must be earlier than --before');
  if (sel.notInAlbum && sel.albums?.length) throw new UsageError('--album and --not-in-album exclude each other');
  return sel;
}

/** Whether the selection names anything beyond the default timeline (commands that act on everything ask for --all). */
export function isSelective(sel: Selection): boolean {
  return Boolean(
    sel.query || sel.persons?.length || sel.tags?.length || sel.text || sel.after || sel.before || sel.camera || sel.make ||
      sel.model || sel.type || sel.similar || sel.place || sel.near || sel.albums?.length || sel.notInAlbum ||
      sel.favorite !== undefined || sel.scope || sel.rating !== undefined || sel.minRating !== undefined || sel.ids ||
      sel.refs || sel.paths,
  );
}

/** 'Trips / 2024/' → 'Trips/2024'; empty segments are a usage error. */
export function normaliseAlbumPath(value: string, flag: string): string {
  const parts = value.split('/').map((s) => s.trim());
  if (!value.trim() || parts.some((p) => !p)) throw new UsageError(`${flag} ${JSON.stringify(value)}: not an album path (names separated by "/", none empty)`);
  return parts.join('/');
}

export function normaliseTagPath(value: string, flag: string): string {
  const parts = value.split('/').map((s) => s.trim());
  if (!value.trim() || parts.some((p) => !p)) throw new UsageError(`${flag} ${JSON.stringify(value)}: not a tag (names separated by "/", none empty)`);
  return parts.join('/');
}

// ---------------------------------------------------------------------------------------------
// Resolution (names → ids) and the SQL

/** A selection whose names are resolved to ids. */
export interface ResolvedSelection extends Selection {
  albumIds?: string[];
  /** Full asset ids from --id and --ids-from (undefined: not restricted). */
  assetIds?: string[];
  /** Ids from a ranked query (search), in rank order. */
  rankedIds?: string[];
  /** --place: each part's GeoNames places of that name (their coordinates), read once by resolveSelection. */
  placePoints?: Map<string, Array<{ latitude: number; longitude: number }>>;
  /** --tag: each name's object/scene tag ids and user tag ids (with the tags below it), read once by resolveSelection. */
  tagIds?: Map<string, { labels: number[]; users: string[] }>;
  /** false: no asset is offline (asset_offline is empty), so the selection needs no anti-join with it. */
  anyOffline?: boolean;
}

export interface ResolveOptions {
  /**
   * Unknown tag names are usage errors (exit 2). Search keeps them as filters that match nothing
   * ("no matches"); commands that change things say which name was wrong. Unknown or ambiguous
   * people, unknown albums, ids and paths are always usage errors.
   */
  strict?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);

const fold = (v: string) => sql<string>`immich_fold(${v})`;
const foldCol = (c: string) => sql<string>`immich_fold(${sql.ref(c)})`;
export const likeEscape = (s: string) => s.replace(/[\\%_]/g, (m) => '\\' + m);
/** When a photo was taken, or its file's time without a capture date: the date filters and the newest-first order. */
export const TAKEN_OR_MTIME = sql<Date>`coalesce(${sql.ref('a.taken_at')}, ${sql.ref('a.file_mtime')})`;

export async function resolveSelection(ctx: Context, sel: Selection, opts: ResolveOptions = {}): Promise<ResolvedSelection> {
  const r: ResolvedSelection = { ...sel };
  if (sel.albums?.length) {
    const { findAlbum } = await import('../db/albums.js');
    r.albumIds = [];
    for (const ref of sel.albums) {
      const album = await findAlbum(ctx.db, ref);
      if (!album) throw new UsageError(`--album ${ref}: no such album (see immich album list)`);
      r.albumIds.push(album.id);
    }
  }
  // A person is named exactly (a misspelt name in search is a mistake, not "no matches"), and a
  // name two people share would silently pick either: both are usage errors, in search too.
  for (const p of sel.persons ?? []) {
    const hits = await ctx.db
      .selectFrom('people as p')
      .select('p.id')
      .where(sql<SqlBool>`(${sql.ref('p.id')}::text = ${p} or ${foldCol('p.name')} = ${fold(p)})`)
      .orderBy('p.id')
      .execute();
    if (!hits.length) throw new UsageError(`--person ${p}: no such person (see immich faces people)`);
    if (hits.length > 1) throw new UsageError(`--person ${p}: ambiguous: ${hits.length} people have this name (use an id: ${hits.map((h) => h.id).join(', ')})`);
  }
  if (sel.tags?.length) {
    // The tags by id first (both tables are small): the filter is then a key probe per asset.
    r.tagIds = new Map();
    for (const t of sel.tags) {
      const users = (await ctx.db.selectFrom('user_tags').select('id').where(userTagMatch(t)).execute()).map((x) => x.id);
      const labels = (await ctx.db.selectFrom('tags as t').select('t.id').where(sql<SqlBool>`${foldCol('t.name')} = ${fold(t)}`).execute()).map((x) => x.id);
      if (opts.strict && !users.length && !labels.length) throw new UsageError(`--tag ${t}: no such tag`);
      r.tagIds.set(t, { labels, users });
    }
  }
  if (sel.place) {
    r.placePoints = new Map();
    for (const part of placeParts(sel.place)) {
      const rows = await ctx.db.selectFrom('places').select(['latitude', 'longitude']).where(sql<SqlBool>`${foldCol('name')} = ${fold(part)}`).limit(200).execute();
      r.placePoints.set(part, rows.map((x) => ({ latitude: Number(x.latitude), longitude: Number(x.longitude) })));
    }
  }
  if (sel.ids || sel.refs) {
    const ids = new Set<string>();
    for (const prefix of sel.ids ?? []) ids.add(await resolveIdPrefix(ctx, prefix));
    for (const id of await resolveRefs(ctx, sel.refs ?? [])) ids.add(id);
    r.assetIds = [...ids];
  } else {
    // Usually no asset is offline. The anti-join with the empty table was then planned as a nested
    // loop re-scanning it once per asset, and each scan asks for the table's size: on the embedded
    // database (a file system in JavaScript) 100k such calls were ~1 s of a 100k `immich edit`.
    r.anyOffline = Boolean(await ctx.db.selectFrom('asset_offline').select('asset_id').limit(1).executeTakeFirst());
  }
  return r;
}

/** Case-insensitive hierarchical match on user_tags.value: the tag itself or anything under it. */
function userTagMatch(tag: string) {
  return sql<SqlBool>`(lower(value) = lower(${tag}) or lower(value) like lower(${likeEscape(tag) + '/%'}))`;
}

/** An id or a unique prefix → the full asset id. */
export async function resolveIdPrefix(ctx: Context, prefix: string): Promise<string> {
  const p = prefix.toLowerCase();
  if (isUuid(p)) {
    const row = await ctx.db.selectFrom('assets').select('id').where('id', '=', p).executeTakeFirst();
    if (!row) throw new UsageError(`--id ${prefix}: no such asset`);
    return row.id;
  }
  const rows = await ctx.db
    .selectFrom('assets')
    .select('id')
    .where(sql<SqlBool>`${sql.ref('id')}::text like ${likeEscape(p) + '%'}`)
    .limit(2)
    .execute();
  if (!rows.length) throw new UsageError(`--id ${prefix}: no such asset`);
  if (rows.length > 1) throw new UsageError(`--id ${prefix}: ambiguous prefix (matches ${rows[0]!.id} and ${rows[1]!.id}, ...)`);
  return rows[0]!.id;
}

/** --ids-from lines (ids, library paths relative or absolute, original paths) → asset ids; unknown lines are a usage error. */
export async function resolveRefs(ctx: Context, refs: string[]): Promise<string[]> {
  const out: string[] = [];
  const CHUNK = 1000;
  for (let i = 0; i < refs.length; i += CHUNK) {
    const chunk = refs.slice(i, i + CHUNK);
    const uuids = chunk.filter(isUuid).map((s) => s.toLowerCase());
    const paths = chunk.filter((s) => !isUuid(s));
    // Each path as given (library-relative) and resolved from the working directory.
    const forms = new Map<string, string>();
    for (const p of paths) {
      forms.set(p, p);
      const abs = path.resolve(p);
      forms.set(abs, p);
      const rel = ctx.library.relative(abs);
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) forms.set(rel, p);
    }
    const keys = [...forms.keys()];
    const rows = await ctx.db
      .selectFrom('assets')
      .select(['id', 'library_path', 'original_path'])
      .where((eb) => {
        const ors = [];
        if (uuids.length) ors.push(eb('id', 'in', uuids));
        if (keys.length) ors.push(eb('library_path', 'in', keys), eb('original_path', 'in', keys));
        return eb.or(ors);
      })
      .execute();
    const found = new Map<string, string>();
    for (const row of rows) {
      found.set(row.id, row.id);
      for (const k of [row.library_path, row.original_path]) {
        const ref = forms.get(k);
        if (ref !== undefined && !found.has(ref)) found.set(ref, row.id);
      }
    }
    for (const ref of chunk) {
      const id = found.get(isUuid(ref) ? ref.toLowerCase() : ref);
      if (!id) throw new UsageError(`--ids-from: ${ref}: no such asset in the library`);
      out.push(id);
    }
  }
  return out;
}

/** A shell glob → an anchored POSIX regular expression (`*` and `?` stay within a folder, `**` crosses). */
export function globToRegex(glob: string): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += /[.+^${}()|\\]/.test(c) ? '\\' + c : c;
  }
  return `^${re}$`;
}

export function baseQuery(ctx: Context) {
  return ctx.db.selectFrom('assets as a').leftJoin('exif as e', 'e.asset_id', 'a.id');
}
export type AssetQuery = ReturnType<typeof baseQuery>;
type Eb = AssetQuery extends SelectQueryBuilder<infer D, infer T, object> ? ExpressionBuilder<D, T> : never;

/**
 * OCR text contains `text`: as a substring, ignoring spaces (OCR often drops them: "NOPARKING"), or
 * fuzzily (trigram word similarity >= pg_trgm.word_similarity_threshold, 0.6 by default).
 */
export function ocrMatches(text: string) {
  const squeezed = foldText(text).replace(/\s+/g, '');
  return sql<SqlBool>`(${foldCol('o.text')} like '%' || ${fold(likeEscape(text))} || '%'
    or ${fold(text)} <% ${foldCol('o.text')}
    or regexp_replace(${foldCol('o.text')}, '\\s+', '', 'g') like ${'%' + likeEscape(squeezed) + '%'})`;
}

/** Fold in JS the way immich_fold does in SQL (lower case, accents removed). */
export function foldText(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * Every filter of a resolved selection (but the free-text ranking) on `assets a left join exif e`.
 * search.ts extends the result with its ranking joins; others select ids from it.
 */
export function applySelection(ctx: Context, q: AssetQuery, o: ResolvedSelection): AssetQuery {
  const named = Boolean(o.assetIds);
  const scope: Scope = o.scope ?? (named ? 'all' : 'timeline');
  if (scope === 'timeline') q = q.where('a.is_archived', '=', false).where('a.deleted_at', 'is', null);
  else if (scope === 'archived') q = q.where('a.is_archived', '=', true).where('a.deleted_at', 'is', null);
  else if (scope === 'trashed') q = q.where('a.deleted_at', 'is not', null);
  if (o.assetIds) {
    // An empty list (an empty --ids-from) selects nothing.
    // One array parameter: an --ids-from of 100k lines would pass PostgreSQL's 65535 parameters as a list.
    q = o.assetIds.length ? q.where(sql<SqlBool>`${sql.ref('a.id')} = any(${sql.val(o.assetIds)}::uuid[])`) : q.where(sql<SqlBool>`false`);
  } else {
    // A Live Photo's video part travels with its still; a stack shows its primary.
    q = q.where('a.is_motion_part', '=', false);
    // Offline in-place files (gone from disk at the last index) are not results until they are back.
    if (o.anyOffline !== false) {
      q = q.where((eb: Eb) => eb.not(eb.exists(eb.selectFrom('asset_offline as off').select('off.asset_id').whereRef('off.asset_id', '=', 'a.id'))));
    }
    if (!o.expandStacks) {
      q = q.where((eb: Eb) =>
        // No stack, or the primary of its stack (membership: stack_assets, migration 0073).
        eb.not(
          eb.exists(
            eb.selectFrom('stack_assets as sa').innerJoin('stacks as st', 'st.id', 'sa.stack_id').select(sql`1`.as('one'))
              .whereRef('sa.asset_id', '=', 'a.id').whereRef('st.primary_asset_id', '<>', 'a.id'),
          ),
        ),
      );
    }
  }
  if (o.rankedIds) q = o.rankedIds.length ? q.where('a.id', 'in', o.rankedIds) : q.where(sql<SqlBool>`false`);
  if (o.type) q = q.where('a.type', '=', o.type);
  if (o.after) q = q.where(sql<SqlBool>`${TAKEN_OR_MTIME} >= ${o.after}`);
  if (o.before) q = q.where(sql<SqlBool>`${TAKEN_OR_MTIME} < ${o.before}`);
  const contains = (col: string, v: string) => sql<SqlBool>`${foldCol(col)} like '%' || ${fold(likeEscape(v))} || '%'`;
  if (o.make) q = q.where(contains('e.make', o.make));
  if (o.model) q = q.where(contains('e.model', o.model));
  if (o.camera) {
    // immich_camera (0160) is indexed: its statistics keep the planner from guessing the match rare
    q = q.where(sql<SqlBool>`immich_camera(${sql.ref('e.make')}, ${sql.ref('e.model')}) like '%' || ${fold(likeEscape(o.camera))} || '%'`);
  }
  if (o.favorite !== undefined) q = q.where('a.is_favorite', '=', o.favorite);
  // The user's rating, else the file's.
  const rating = sql<number>`coalesce(${sql.ref('a.rating')}, ${sql.ref('e.rating')})`;
  if (o.rating !== undefined) q = q.where(o.rating === 0 ? sql<SqlBool>`coalesce(${rating}, 0) = 0` : sql<SqlBool>`${rating} = ${o.rating}`);
  if (o.minRating !== undefined) q = q.where(sql<SqlBool>`${rating} >= ${o.minRating}`);
  for (const albumId of o.albumIds ?? []) {
    q = q.where((eb: Eb) =>
      eb.exists(eb.selectFrom('album_assets as aa').select(sql`1`.as('one')).whereRef('aa.asset_id', '=', 'a.id').where('aa.album_id', '=', albumId)),
    );
  }
  if (o.notInAlbum) {
    q = q.where((eb: Eb) => eb.not(eb.exists(eb.selectFrom('album_assets as aa').select(sql`1`.as('one')).whereRef('aa.asset_id', '=', 'a.id'))));
  }
  for (const tag of o.tags ?? []) {
    const ids = o.tagIds?.get(tag);
    if (ids) {
      // Only the tables that have the tag: a single EXISTS becomes a semi-join the planner can run
      // either way (probe each asset newest-first and stop at the limit, or hash a rare tag's
      // assets); an OR of two kept it a hashed sub-plan of every tagged asset (6-9 s at 1M).
      const conds = [
        ...(ids.labels.length ? [(eb: Eb) => eb.exists(eb.selectFrom('asset_tags as at').select(sql`1`.as('one')).whereRef('at.asset_id', '=', 'a.id').where('at.tag_id', 'in', ids.labels))] : []),
        ...(ids.users.length ? [(eb: Eb) => eb.exists(eb.selectFrom('asset_user_tags as ut').select(sql`1`.as('one')).whereRef('ut.asset_id', '=', 'a.id').where('ut.tag_id', 'in', ids.users))] : []),
      ];
      q = !conds.length ? q.where(sql<SqlBool>`false`) : q.where((eb: Eb) => (conds.length === 1 ? conds[0]!(eb) : eb.or(conds.map((c) => c(eb)))));
      continue;
    }
    q = q.where((eb: Eb) =>
      eb.or([
        eb.exists(
          eb
            .selectFrom('asset_tags as at')
            .innerJoin('tags as t', 't.id', 'at.tag_id')
            .select(sql`1`.as('one'))
            .whereRef('at.asset_id', '=', 'a.id')
            .where(sql<SqlBool>`${foldCol('t.name')} = ${fold(tag)}`),
        ),
        eb.exists(
          eb
            .selectFrom('asset_user_tags as ut')
            .innerJoin('user_tags as u', 'u.id', 'ut.tag_id')
            .select(sql`1`.as('one'))
            .whereRef('ut.asset_id', '=', 'a.id')
            .where(sql<SqlBool>`(lower(${sql.ref('u.value')}) = lower(${tag}) or lower(${sql.ref('u.value')}) like lower(${likeEscape(tag) + '/%'}))`),
        ),
      ]),
    );
  }
  for (const person of o.persons ?? []) {
    q = q.where((eb: Eb) =>
      eb.exists(
        eb
          .selectFrom('asset_faces as f')
          .innerJoin('people as p', 'p.id', 'f.person_id')
          .select(sql`1`.as('one'))
          .whereRef('f.asset_id', '=', 'a.id')
          .where(sql<SqlBool>`(${sql.ref('p.id')}::text = ${person} or ${foldCol('p.name')} = ${fold(person)})`),
      ),
    );
  }
  if (o.text) {
    q = q.where((eb: Eb) =>
      eb.exists(eb.selectFrom('asset_ocr as o').select(sql`1`.as('one')).whereRef('o.asset_id', '=', 'a.id').where(ocrMatches(o.text!))),
    );
  }
  if (o.place) {
    // "Paris" or "Paris, France": every part must name the city, state or country.
    for (const part of placeParts(o.place)) {
      const points = o.placePoints?.get(part);
      q = points ? q.where(placeMatch(part, points)) : q.where('a.id', 'in', placeAssets(ctx, part));
    }
  }
  if (o.near) {
    const b = boxAround(o.near.lat, o.near.lon, o.near.km);
    q = q
      .where('e.latitude', '>=', b.minLat)
      .where('e.latitude', '<=', b.maxLat)
      .where('e.longitude', '>=', b.minLon)
      .where('e.longitude', '<=', b.maxLon)
      .where(sql<SqlBool>`${distanceSql('e.latitude', 'e.longitude', o.near.lat, o.near.lon)} <= ${o.near.km}`);
  }
  if (o.paths?.length) {
    const root = ctx.library.root.endsWith('/') ? ctx.library.root : ctx.library.root + '/';
    // Library paths are relative for copied files, absolute for in-place ones.
    const libAbs = sql<string>`case when ${sql.ref('a.library_path')} like '/%' then ${sql.ref('a.library_path')} else ${root} || ${sql.ref('a.library_path')} end`;
    q = q.where((eb: Eb) =>
      eb.or(
        o.paths!.map((g) => {
          if (!g.includes('/')) return sql<SqlBool>`${sql.ref('a.original_name')} ~ ${globToRegex(g)}`;
          const re = globToRegex(path.isAbsolute(g) || g.startsWith('*') ? g : path.resolve(g));
          return sql<SqlBool>`(${sql.ref('a.original_path')} ~ ${re} or ${libAbs} ~ ${re})`;
        }),
      ),
    );
  }
  return q;
}

/** Exif row `e` lies within PLACE_RADIUS_KM of place `pl` (the 0.2° latitude band first, for the index). */
export function nearPlace(pl: string, e: string) {
  const [lat, eLat] = [sql.ref(`${pl}.latitude`), sql.ref(`${e}.latitude`)];
  return sql<SqlBool>`${eLat} between ${lat} - 0.2 and ${lat} + 0.2
    and ${distanceSqlRefs(`${pl}.latitude`, `${pl}.longitude`, `${e}.latitude`, `${e}.longitude`)} <= ${PLACE_RADIUS_KM}`;
}

const placeParts = (place: string) => place.split(',').map((s) => s.trim()).filter(Boolean);

/**
 * The exif row `e` is in the place: its name is the city, state or country, or the row lies within
 * PLACE_RADIUS_KM of one of the GeoNames places of that name (`points`, resolved first). Every
 * branch is a condition on `e` that an index answers (0026's folded names, exif_lat_lon_idx for the
 * latitude band), so the planner can OR their bitmaps for a rare place, or walk the newest-first
 * index and stop at the limit for a common one. The sub-query form (a union of asset ids) had to
 * collect every match first: 17 s at 1M for a city with 8% of the library.
 */
function placeMatch(name: string, points: ReadonlyArray<{ latitude: number; longitude: number }>) {
  const x = fold(name);
  return sql<SqlBool>`(${sql.join(
    [
      sql`${foldCol('e.city')} = ${x}`,
      sql`${foldCol('e.state')} = ${x}`,
      sql`${foldCol('e.country')} = ${x}`,
      ...points.map(
        (p) => sql`(${sql.ref('e.latitude')} between ${p.latitude - 0.2} and ${p.latitude + 0.2}
          and ${distanceSql('e.latitude', 'e.longitude', p.latitude, p.longitude)} <= ${PLACE_RADIUS_KM})`,
      ),
    ],
    sql` or `,
  )})`;
}

/**
 * Assets taken in a place: its name is their city, state or country, or they lie within
 * PLACE_RADIUS_KM of a GeoNames place of that name (the nearest entry may be a district, e.g.
 * "Testaccio" for Rome). One index lookup per branch (migration 0026) instead of folding three
 * columns of every row; `union` (not `union all`) lets the planner hash the set.
 */
function placeAssets(ctx: Context, name: string) {
  const byColumn = (col: 'city' | 'state' | 'country') =>
    ctx.db.selectFrom('exif').select('asset_id').where(sql<SqlBool>`${foldCol(col)} = ${fold(name)}`);
  const near = ctx.db
    .selectFrom('places as pl')
    .innerJoin('exif as pe', (j) => j.on(nearPlace('pl', 'pe')))
    .select('pe.asset_id')
    .where(sql<SqlBool>`${foldCol('pl.name')} = ${fold(name)}`);
  return byColumn('city').union(byColumn('state')).union(byColumn('country')).union(near);
}

/**
 * The selection as one query over `assets a left join exif e` (names resolved first; a free-text
 * query or --similar is ranked by search first, see rankedIds). Extend it with .select(...).
 */
export async function selectionQuery(ctx: Context, sel: Selection, opts: ResolveOptions = {}): Promise<{ query: AssetQuery; rankedIds?: string[] }> {
  const r = await resolveSelection(ctx, sel, opts);
  if (sel.query || sel.similar) {
    const { search } = await import('./search.js');
    const result = await search(ctx, { ...sel, limit: sel.limit ?? 20 });
    r.rankedIds = result.hits.map((h) => h.id);
  }
  return { query: applySelection(ctx, baseQuery(ctx), r), rankedIds: r.rankedIds };
}

/**
 * The selection as a query of `a.id` (with --limit's order and limit), for commands that act on it
 * in SQL without reading the ids first (immich edit).
 */
export async function selectionIdsQuery(ctx: Context, sel: Selection, opts: ResolveOptions = {}) {
  const { query, rankedIds } = await selectionQuery(ctx, sel, opts);
  let built = query.select('a.id');
  if (sel.limit !== undefined && !rankedIds) built = built.orderBy(TAKEN_OR_MTIME, 'desc').orderBy('a.id').limit(sel.limit);
  return built;
}

/** The selected asset ids: newest first, or in search's rank order for a free-text query or --similar. */
export async function selectAssetIds(ctx: Context, sel: Selection, opts: ResolveOptions = {}): Promise<string[]> {
  const { query, rankedIds } = await selectionQuery(ctx, sel, opts);
  let built = query.select('a.id').orderBy(TAKEN_OR_MTIME, 'desc').orderBy('a.id');
  if (sel.limit !== undefined && !rankedIds) built = built.limit(sel.limit);
  const ids = ((await built.execute()) as Array<{ id: string }>).map((x) => x.id);
  if (!rankedIds) return ids;
  const rank = new Map(rankedIds.map((id, i) => [id, i]));
  return ids.sort((x, y) => rank.get(x)! - rank.get(y)!);
}
