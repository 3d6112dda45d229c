// `immich search`: structured filters (people, tags, OCR text, dates, camera, type, place, distance)
// combined with free text, ranked by CLIP similarity when a CLIP model and pgvector are there, and
// otherwise by how many query words (whole words) the asset's people, tags, albums, OCR text, place,
// names and descriptions match; or with
// --similar by CLIP distance / perceptual-hash distance to another photo.
import { parseDateOption } from '../validate.js';
import fs from 'node:fs';
import path from 'node:path';
import { CompiledQuery, sql } from '../db/kysely.js';
import type { SqlBool } from 'kysely';
import type { Context } from '../context.js';
import { UsageError, VectorUnavailableError } from '../errors.js';
import { CLIP_TASK, clipModelName, encodeImage, encodeText, findClip, toVector, type ClipFiles } from '../ml/clip.js';
import { resolveModel } from '../ml/models.js';
import { dhash, hamming } from './duplicates.js';
import { geocodeAssets } from './places.js';
import type { AssetInfo } from './asset-info.js';
import {
  ocrMatches,
  applySelection, baseQuery, foldText, likeEscape, nearPlace, resolveSelection, TAKEN_OR_MTIME,
  type AssetQuery, type ResolvedSelection, type Selection,
} from './selection.js';

/** `immich search` takes the selection grammar (services/selection.ts). */
export type SearchOptions = Selection;

export type SearchMode = 'clip' | 'text' | 'ocr' | 'similar-clip' | 'similar-phash' | 'filters';

/** A result: the asset's AssetInfo keys (as `immich info --json`) plus where to find it and why it matched. */
export interface SearchHit extends AssetInfo {
  /** The file as the library serves it. */
  path: string;
  thumbnail: string | null;
  preview: string | null;
  /** Higher is better: CLIP cosine similarity, words matched, or 1 - hash distance / 64. */
  score: number;
  /** What matched: 'clip', 'tag:dog', 'ocr', 'place:Rome', 'name', ... */
  matched: string[];
}

export interface SearchResult {
  mode: SearchMode;
  hits: SearchHit[];
  /** Things the user should know (fallbacks). */
  notes: string[];
  /**
   * The limit cut the list: how many assets match in all ("20 of 145 shown"). Known for filters,
   * free text without CLIP (assets that matched a word) and --text (assets with OCR text).
   */
  total?: number;
  /** `total` is the planner's estimate (more than EXACT_COUNT_MAX matches): "20 of about 120,000 shown". */
  totalEstimated?: boolean;
  /** `total` is a lower bound: the count stopped there (the planner expected fewer): "20 of at least 5,001 shown". */
  totalAtLeast?: boolean;
  /**
   * Similarity searches (CLIP text, --similar) rank every asset with an embedding or hash: there is
   * no "match count", only "the N most similar". True when the limit was reached.
   */
  ranked?: boolean;
}

/**
 * Above this many matches (as the planner estimates them) the total is that estimate, not a count:
 * counting every match of a broad filter folds and joins every row (a `--camera` count took 114 s at
 * 1M assets under load, the 20 results 0.3 s), while the estimate costs one plan.
 */
const EXACT_COUNT_MAX = 5000;

async function estimateRows(ctx: Context, q: { compile(): CompiledQuery }): Promise<number | undefined> {
  const c = q.compile();
  const r = await ctx.db.executeQuery(CompiledQuery.raw(`explain (format json) ${c.sql}`, [...c.parameters])).catch(() => undefined);
  const cell = (r?.rows[0] as Record<string, unknown> | undefined)?.['QUERY PLAN'];
  const plan = typeof cell === 'string' ? JSON.parse(cell) : cell;
  const rows = Number((plan as Array<{ Plan?: { 'Plan Rows'?: number } }> | undefined)?.[0]?.Plan?.['Plan Rows']);
  return Number.isFinite(rows) ? rows : undefined;
}

const fold = (v: string) => sql<string>`immich_fold(${v})`;
const foldCol = (c: string) => sql<string>`immich_fold(${sql.ref(c)})`;
export { foldText, parseDateBound, parseNear, type NearFilter } from './selection.js';

const STOP = new Set(
  'a an the of in on at to with and or for from by near under over into onto next inside outside its it is are this that some photo photos picture pictures image images shot showing'.split(' '),
);

export interface QueryTerms {
  words: string[];
  /** term → indexes of the words it covers */
  terms: Map<string, number[]>;
}

/** Content words of a query, their singular forms and adjacent pairs ("sand dunes"). */
export function queryTerms(query: string): QueryTerms {
  const tokens = foldText(query).split(/[^\p{L}\p{N}.'&-]+/u).map((t) => t.replace(/^[.'-]+|[.'-]+$/g, '')).filter(Boolean);
  const words: string[] = [];
  const terms = new Map<string, number[]>();
  const add = (t: string, idx: number[]) => {
    if (t.length < 2) return;
    const prev = terms.get(t);
    terms.set(t, prev ? [...new Set([...prev, ...idx])] : idx);
  };
  let prevContent = -1;
  for (const t of tokens) {
    if (STOP.has(t)) {
      prevContent = -1;
      continue;
    }
    const i = words.push(t) - 1;
    add(t, [i]);
    for (const s of singulars(t)) add(s, [i]);
    if (prevContent >= 0) {
      add(`${words[prevContent]} ${t}`, [prevContent, i]);
      for (const s of singulars(t)) add(`${words[prevContent]} ${s}`, [prevContent, i]);
    }
    prevContent = i;
  }
  return { words, terms };
}

function singulars(w: string): string[] {
  const out: string[] = [];
  if (w.length > 4 && w.endsWith('ies')) out.push(w.slice(0, -3) + 'y');
  if (w.length > 4 && /(ches|shes|xes|sses)$/.test(w)) out.push(w.slice(0, -2));
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) out.push(w.slice(0, -1));
  return out;
}

/** Whether CLIP text search can run: model with a textual part, pgvector, embeddings of that model. */
async function clipForText(ctx: Context, notes: string[]): Promise<ClipFiles | undefined> {
  if (!ctx.database.hasVector) {
    // Only news to a user who has a CLIP model: looked for, never downloaded for this.
    if (await resolveModel(ctx, CLIP_TASK, clipModelName(ctx), 'textual')) {
      notes.push(`${new VectorUnavailableError('CLIP smart search').message} Searching tags, OCR text, places and names instead.`);
    }
    return undefined;
  }
  // No embeddings, no CLIP search: nothing is loaded or downloaded for it (an offline library without
  // CLIP tried the download on every free-text search).
  const any = await ctx.db.selectFrom('smart_search').select('model').limit(1).executeTakeFirst();
  if (!any) return undefined;
  const clip = await findClip(ctx);
  if (!clip?.textual) return undefined;
  // Other models' rows through smart_search_model_idx (`<>` alone read all 1M rows at 1M assets).
  const stale = await ctx.db
    .selectFrom('smart_search')
    .select(sql<number>`count(*)::int`.as('n'))
    .where((eb) => eb.or([eb('model', '<', clip.name), eb('model', '>', clip.name)]))
    .executeTakeFirstOrThrow();
  if (stale.n > 0) {
    notes.push(`${stale.n} assets were embedded with another CLIP model than ${clip.name}; re-embed them with: immich index --jobs smart-search,duplicates --force`);
  }
  const have = await ctx.db.selectFrom('smart_search').select('model').where('model', '=', clip.name).limit(1).executeTakeFirst();
  if (!have) return undefined;
  return clip;
}

/**
 * hnsw.ef_search for a kNN of `limit` rows: the candidate list the graph search keeps. At 1M
 * bench/scale embeddings (variation in 48 dimensions) pgvector's default 40 gave recall@10 0.936,
 * 100 gave 0.996 at p50 7.4 ms (bench/RESULTS.md, 2026-12-07 scale).
 */
export function knnEfSearch(limit: number): number {
  return Math.max(100, Math.min(1000, limit * 2));
}

/** k nearest embeddings under the filters, through the HNSW index (iterative scan keeps filtered results complete). */
async function vectorSearch(ctx: Context, o: ResolvedSelection, model: string, vector: string, limit: number, exclude?: string): Promise<Array<{ id: string; distance: number }>> {
  const run = async (db: typeof ctx.db) => {
    let q = applySelection(ctx, baseQuery(ctx), o).innerJoin('smart_search as s', 's.asset_id', 'a.id') as unknown as AssetQuery;
    q = q.where(sql<SqlBool>`${sql.ref('s.model')} = ${model}`);
    if (exclude) q = q.where('a.id', '<>', exclude);
    const distance = sql<number>`${sql.ref('s.embedding')} <=> ${vector}::vector`;
    const built = q.select(['a.id', distance.as('distance')]).orderBy(distance).limit(limit);
    return db.executeQuery(built.compile()).then((r) => r.rows as Array<{ id: string; distance: number }>);
  };
  const rows = await ctx.db.transaction().execute(async (trx) => {
    await sql.raw(`set local hnsw.ef_search = ${knnEfSearch(limit)}`).execute(trx);
    // pgvector >= 0.8: keep scanning the graph until enough rows pass the filters.
    await sql`select set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(trx).catch(() => undefined);
    return run(trx as unknown as typeof ctx.db);
  });
  // relaxed_order may return a few rows slightly out of distance order: the rank is the distance.
  return rows.sort((x, y) => x.distance - y.distance);
}

interface Scored {
  id: string;
  score: number;
  matched: string[];
}

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `matched` lists what matched in this order: people, tags, albums, OCR, places, then names and texts. */
const LABEL_ORDER = ['person:', 'tag:', 'album:', 'ocr', 'place:', 'name', 'description', 'keywords'];
const labelRank = (l: string) => LABEL_ORDER.findIndex((p) => l.startsWith(p));

/**
 * Free text without CLIP: people, tags (object/scene and the user's), albums, OCR text, places, file
 * names, descriptions and keywords, matched as whole words (an optional plural "s"). Each
 * source credits (asset, query word, weight, label); an asset scores the number of distinct query
 * words it matched plus a fraction for how strongly. The whole ranking runs in one SQL statement:
 * a common word ("paris") can match a third of a 100k library, and moving those rows to JavaScript
 * to score them cost 300 ms there. Each source keeps its index lookup (migration 0026) as a prefilter.
 */
async function textSearch(ctx: Context, o: ResolvedSelection, query: string, limit: number): Promise<{ scored: Scored[]; total: number }> {
  const { words, terms } = queryTerms(query);
  if (!words.length) return { scored: [], total: 0 };
  const termList = [...terms.keys()];
  // Only one-letter words: nothing to match (and `in ()` would not be valid SQL).
  if (!termList.length) return { scored: [], total: 0 };
  const termIn = (col: string) => sql<SqlBool>`${foldCol(col)} in (${sql.join(termList.map((t) => fold(t)))})`;
  // (term, word index) pairs: "sand dunes" covers two words.
  // Word indexes are bits of an int8 in the score: a 64th word and beyond count as one.
  const termRows = [...terms].flatMap(([t, idx]) => idx.map((i) => sql`(${fold(t)}, ${Math.min(i, 63)}::int)`));
  const long = words.map((w, i) => ({ w, i: Math.min(i, 63) })).filter((x) => x.w.length >= 3);
  const patterns = long.map((x) => `%${likeEscape(x.w)}%`);
  // A word and its singular forms ("cats" → "cat"), as whole words; the index prefilter takes any of them.
  const forms = (w: string) => [...new Set([w, ...singulars(w)])];
  const prefilter = [...new Set(long.flatMap((x) => forms(x.w)))].map((f) => `%${likeEscape(f)}%`);

  const sources = [
    sql`select at.asset_id, q.idx, 0.5 + 0.5 * coalesce(max(at.score), 0.5) as weight, 'tag:' || t.name as label
        from asset_tags at join tags t on t.id = at.tag_id join q on ${foldCol('t.name')} = q.term
        where ${termIn('t.name')} group by at.asset_id, t.name, q.idx`,
    // One index scan per term (LATERAL): a hash join on the folded column folded every matching row
    // again (Lisbon's 83k photos at 1M: 0.7 s per column).
    ...(['e.city', 'e.state', 'e.country'] as const).map(
      (c) => sql`select e.asset_id, q.idx, 1.0, 'place:' || ${sql.ref(c)} from q cross join lateral (
          select e.asset_id, ${sql.ref(c)} from exif e where ${foldCol(c)} = q.term) e`,
    ),
    // Photos near a city the query names, though their nearest GeoNames entry is a district (and
    // not already credited for having that name in their own columns).
    sql`select distinct e.asset_id, q.idx, 1.0, 'place:' || pl.name
        from places pl join q on ${foldCol('pl.name')} = q.term
        join exif e on ${nearPlace('pl', 'e')}
        where ${termIn('pl.name')}
          and pl.name is distinct from e.city and pl.name is distinct from e.state and pl.name is distinct from e.country`,
  ];
  if (long.length) {
    const anyLike = (expr: unknown) => sql<SqlBool>`${expr} like any (${sql.val(prefilter)}::text[])`;
    const keywordsText = sql<string>`immich_fold(array_to_string(e.keywords, ' '))`;
    // Whole words only ("cat" is not in "truncated"); w.re also takes a plural "s"/"es". The
    // `like any` conditions are only the trigram-index prefilters.
    const word = (expr: unknown) => sql<SqlBool>`${expr} ~ w.re`;
    sources.push(
      // Words of 6+ letters may sit inside a run-together OCR line ("NOPARKING"); shorter ones must be whole words.
      sql`select o.asset_id, w.idx, 0.9, 'ocr' from asset_ocr o
          join w on case when w.inside then ${foldCol('o.text')} like w.pat else ${word(foldCol('o.text'))} end
          where ${anyLike(foldCol('o.text'))}`,
      // File names and descriptions through their trigram indexes; keywords (no index:
      // array_to_string is not immutable) only where there are any.
      sql`select a.id, w.idx, 0.6, 'name' from assets a join w on ${word(foldCol('a.original_name'))}
          where ${anyLike(foldCol('a.original_name'))}`,
      sql`select e.asset_id, w.idx, 0.8, 'description' from exif e join w on ${word(foldCol('e.description'))}
          where ${anyLike(foldCol('e.description'))}`,
      // The user's own description (immich edit), beside the one embedded in the file.
      sql`select a.id, w.idx, 0.8, 'description' from assets a join w on ${word(foldCol('a.description'))}
          where ${anyLike(foldCol('a.description'))}`,
      sql`select e.asset_id, w.idx, 0.8, 'keywords' from exif e join w on ${word(keywordsText)}
          where e.keywords is not null and ${anyLike(keywordsText)}`,
      // People, albums and user tags are few rows: matched word by word, so "Ada" finds "Ada
      // Lovelace" and "Lisbon" finds the tag "Trips/2024/Lisbon".
      sql`select distinct f.asset_id, w.idx, 1.0, 'person:' || p.name from people p
          join asset_faces f on f.person_id = p.id join w on ${word(foldCol('p.name'))}
          where p.name is not null and p.name <> ''`,
      sql`select aa.asset_id, w.idx, 0.9, 'album:' || al.name from albums al
          join album_assets aa on aa.album_id = al.id join w on ${word(foldCol('al.name'))}`,
      sql`select ut.asset_id, w.idx, 0.9, 'tag:' || u.value from user_tags u
          join asset_user_tags ut on ut.tag_id = u.id join w on ${word(foldCol('u.value'))}`,
    );
  }
  const wordRe = (w: string) => `(^|[^[:alnum:]])(${forms(w).map(reEscape).join('|')})(e?s)?([^[:alnum:]]|$)`;
  const wordCte = long.length
    ? sql`, w(idx, pat, inside, re) as (values ${sql.join(long.map((x, k) => sql`(${x.i}::int, ${patterns[k]}::text, ${x.w.length >= 6}::boolean, ${wordRe(x.w)}::text)`))})`
    : sql``;
  const scoreDiv = words.length * 2;
  const credits = sql<{ asset_id: string; idx: number; weight: number; label: string }>`(
    with q(term, idx) as (values ${sql.join(termRows)})${wordCte}
    ${sql.join(sources, sql` union all `)})`;
  // Joined before grouping so that the planner sees tens of thousands of credit rows (a hash join
  // over assets) instead of guessing 200 groups and probing the assets index once per group; the
  // words matched are a bit set (no DISTINCT aggregate, so the grouping hashes instead of sorting).
  const score = sql<number>`bit_count(bit_or(1::int8 << ${sql.ref('c.idx')})::bit(64)) + least(0.99, sum(${sql.ref('c.weight')}) / ${scoreDiv}::float8)`;
  const rows = (await applySelection(ctx, baseQuery(ctx), o)
    .innerJoin(credits.as('c'), 'c.asset_id', 'a.id')
    // Every matching asset is grouped before the sort anyway: counting them costs nothing more.
    .select(['a.id', score.as('score'), sql<string[]>`array_agg(${sql.ref('c.label')})`.as('matched'), sql<number>`count(*) over ()`.as('total')])
    .groupBy('a.id')
    .orderBy('score', 'desc')
    .orderBy(TAKEN_OR_MTIME, 'desc')
    .orderBy('a.id')
    .limit(limit)
    .execute()) as Array<{ id: string; score: number | string; matched: string[]; total: number | string }>;
  const scored = rows.map((r) => ({
    id: r.id,
    score: Number(r.score),
    matched: [...new Set(r.matched)].sort((x, y) => labelRank(x) - labelRank(y) || (x < y ? -1 : x > y ? 1 : 0)),
  }));
  return { scored, total: rows.length ? Number(rows[0]!.total) : 0 };
}

/** Labels of what a user named: a person, an album, a tag, a description (not file names, OCR or places). */
const NAMED = /^(person|album|tag):|^description$/;

/**
 * Free text in CLIP mode: assets whose people, albums, tags or descriptions match every content word of
 * the query ("Ada", "Lisbon 2024"). CLIP knows nothing of names, so these exact matches come first
 * (best text score first) and CLIP's ranking follows; an asset in both keeps its place here.
 */
async function namedMatches(ctx: Context, o: ResolvedSelection, query: string, limit: number): Promise<Scored[]> {
  const words = queryTerms(query).words.length;
  if (!words) return [];
  return (await textSearch(ctx, o, query, limit)).scored.filter((s) => Math.floor(s.score) >= words && s.matched.some((l) => NAMED.test(l)));
}

export function mergeNamed(named: Scored[], clip: Scored[], limit: number): Scored[] {
  const byId = new Map(clip.map((c) => [c.id, c]));
  const first = named.map((n) => ({ ...n, matched: [...n.matched.filter((l) => NAMED.test(l)), ...(byId.has(n.id) ? ['clip'] : [])] }));
  const seen = new Set(first.map((n) => n.id));
  return [...first, ...clip.filter((c) => !seen.has(c.id))].slice(0, limit);
}

/** The asset `--similar` names: an asset id, or a file that is in the library. */
async function resolveAssetRef(ctx: Context, ref: string): Promise<string | undefined> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref)) {
    const r = await ctx.db.selectFrom('assets').select('id').where('id', '=', ref).executeTakeFirst();
    if (r) return r.id;
  }
  const abs = path.resolve(ref);
  const rel = ctx.library.relative(abs);
  const r = await ctx.db
    .selectFrom('assets')
    .select('id')
    .where((eb) => eb.or([eb('original_path', '=', abs), eb('library_path', '=', rel), eb('library_path', '=', abs)]))
    .executeTakeFirst();
  return r?.id;
}

async function similarSearch(ctx: Context, o: ResolvedSelection, limit: number, notes: string[]): Promise<{ mode: SearchMode; scored: Scored[] }> {
  const ref = o.similar!;
  const assetId = await resolveAssetRef(ctx, ref);
  if (!assetId && !fs.existsSync(ref)) throw new UsageError(`--similar ${ref}: no such asset id or file`);
  const clip = await findClip(ctx);
  if (clip && !ctx.database.hasVector) notes.push(`${new VectorUnavailableError('similarity by CLIP').message} Comparing perceptual hashes instead.`);
  if (clip && ctx.database.hasVector) {
    let vector: string | undefined;
    if (assetId) {
      const row = await ctx.db.selectFrom('smart_search').select(['embedding', 'model']).where('asset_id', '=', assetId).executeTakeFirst();
      if (row?.model === clip.name) vector = row.embedding;
    }
    if (!vector && !assetId) vector = toVector(await encodeImage(ctx, clip, ref));
    if (vector) {
      const rows = await vectorSearch(ctx, o, clip.name, vector, limit, assetId);
      return { mode: 'similar-clip', scored: rows.map((r) => ({ id: r.id, score: 1 - r.distance, matched: ['clip'] })) };
    }
  }
  let hash: string | undefined;
  if (assetId) {
    hash = (await ctx.db.selectFrom('asset_phash').select('hash').where('asset_id', '=', assetId).executeTakeFirst())?.hash;
    if (!hash) {
      const { hashAsset } = await import('./duplicates.js');
      hash = await hashAsset(ctx, assetId);
    }
  } else {
    hash = await dhash(ref);
  }
  if (!hash) throw new UsageError(`--similar ${ref}: the asset has no preview yet (run immich index)`);
  const { hashMissing } = await import('./duplicates.js');
  await hashMissing(ctx);
  let q = applySelection(ctx, baseQuery(ctx), o).innerJoin('asset_phash as h', 'h.asset_id', 'a.id') as unknown as AssetQuery;
  if (assetId) q = q.where('a.id', '<>', assetId);
  const rows = (await q.select(['a.id', sql<string>`${sql.ref('h.hash')}`.as('hash')]).execute()) as Array<{ id: string; hash: string }>;
  const scored = rows
    .map((r) => ({ id: r.id, score: 1 - hamming(hash!, r.hash) / 64, matched: ['phash'] }))
    .sort((x, y) => y.score - x.score)
    .slice(0, limit);
  return { mode: 'similar-phash', scored };
}

export async function search(ctx: Context, sel: SearchOptions): Promise<SearchResult> {
  const o = await resolveSelection(ctx, sel);
  const limit = o.limit ?? 20;
  const notes: string[] = [];
  // Assets whose metadata arrived after their ML stages still get their place names.
  if (o.place || o.query) await geocodeAssets(ctx).catch((err) => notes.push(`reverse geocoding failed: ${(err as Error).message}`));
  let mode: SearchMode;
  let scored: Scored[];
  let total: number | undefined;
  let bound: Pick<SearchResult, 'totalEstimated' | 'totalAtLeast'> = {};
  const query = o.query?.trim();
  if (o.similar) {
    ({ mode, scored } = await similarSearch(ctx, o, limit, notes));
  } else if (query) {
    const clip = await clipForText(ctx, notes);
    if (clip) {
      mode = 'clip';
      const vector = toVector(await encodeText(ctx, clip, query));
      const [rows, named] = await Promise.all([vectorSearch(ctx, o, clip.name, vector, limit), namedMatches(ctx, o, query, limit)]);
      scored = mergeNamed(named, rows.map((r) => ({ id: r.id, score: 1 - r.distance, matched: ['clip'] })), limit);
    } else {
      mode = 'text';
      ({ scored, total } = await textSearch(ctx, o, query, limit));
    }
  } else if (o.text) {
    mode = 'ocr';
    ({ scored, total, ...bound } = await ocrSearch(ctx, o, o.text, limit));
  } else {
    mode = 'filters';
    const rows = (await applySelection(ctx, baseQuery(ctx), o).select('a.id').orderBy(TAKEN_OR_MTIME, 'desc').orderBy('a.id').limit(limit).execute()) as Array<{ id: string }>;
    scored = rows.map((r) => ({ id: r.id, score: 1, matched: [] }));
    if (rows.length === limit) {
      const q = applySelection(ctx, baseQuery(ctx), o);
      ({ total, ...bound } = await countMatches(ctx, q, q, limit));
    }
  }
  const hits = await hydrate(ctx, scored);
  if (total !== undefined) return { mode, hits, notes, total, ...bound };
  // kNN and hash ranking: every candidate "matches"; a full page only means the limit was reached.
  return { mode, hits, notes, ...(scored.length >= limit ? { ranked: true } : {}) };
}

/**
 * How many assets match in all, once a page is full: the planner's estimate of `estimated` past
 * EXACT_COUNT_MAX (two significant digits: it is an estimate, and says so), else `counted` counted up to
 * EXACT_COUNT_MAX + 1 — where the planner guessed low (a --near circle at 1M: 882 estimated, 72k found)
 * an unbounded count read every match (0.96 s) — and past that a lower bound.
 */
async function countMatches(ctx: Context, counted: AssetQuery, estimated: AssetQuery, limit: number): Promise<{ total: number } & Pick<SearchResult, 'totalEstimated' | 'totalAtLeast'>> {
  const estimate = await estimateRows(ctx, estimated.select('a.id'));
  if (estimate !== undefined && estimate > EXACT_COUNT_MAX) {
    const round = 10 ** Math.max(0, Math.floor(Math.log10(estimate)) - 1);
    return { total: Math.max(limit + 1, Math.round(estimate / round) * round), totalEstimated: true };
  }
  const c = await ctx.db.selectFrom(counted.select('a.id').limit(EXACT_COUNT_MAX + 1).as('m')).select(sql<number>`count(*)::int`.as('n')).executeTakeFirst();
  const n = Number(c?.n ?? limit);
  return n > EXACT_COUNT_MAX ? { total: n, totalAtLeast: true } : { total: n };
}

/** The selection's assets whose OCR text meets `cond` (EXISTS: one probe of asset_ocr per asset). */
const withOcr = (q: AssetQuery, cond: unknown) =>
  q.where(({ exists, selectFrom }) => exists(selectFrom('asset_ocr as o').select(sql`1`.as('one')).whereRef('o.asset_id', '=', 'a.id').where(sql<SqlBool>`${cond}`)));

/**
 * --text: OCR lines that hold the words, newest first, when there are enough of them to fill the page:
 * walking the timeline and probing each asset's OCR row stops after the page (34 ms at 1M), where ranking
 * every match by similarity read all of them (57k for one word of the 1M seed: 0.8-2.3 s). With fewer
 * whole-word matches than the page, every match (substring, squeezed, fuzzy) is ranked by similarity.
 */
async function ocrSearch(ctx: Context, o: ResolvedSelection, text: string, limit: number): Promise<{ scored: Scored[]; total: number } & Pick<SearchResult, 'totalEstimated' | 'totalAtLeast'>> {
  const selected = () => applySelection(ctx, baseQuery(ctx), { ...o, text: undefined });
  const words = foldText(text).trim().split(/\s+/).filter(Boolean).map(reEscape).join('\\s+');
  if (words) {
    const re = `(^|[^[:alnum:]])${words}([^[:alnum:]]|$)`;
    const whole = (await withOcr(selected(), sql`${foldCol('o.text')} ~ ${re}`)
      .select('a.id')
      .orderBy(TAKEN_OR_MTIME, 'desc')
      .orderBy('a.id')
      .limit(limit)
      .execute()) as Array<{ id: string }>;
    if (whole.length === limit) {
      // counted by every match; estimated by the substring alone (the OR of the fuzzy conditions doubled
      // the planner's guess at 1M)
      const { total, ...bound } = await countMatches(
        ctx,
        withOcr(selected(), ocrMatches(text)),
        withOcr(selected(), sql`${foldCol('o.text')} like ${'%' + likeEscape(foldText(text)) + '%'}`),
        limit,
      );
      return { scored: whole.map((r) => ({ id: r.id, score: 1, matched: ['ocr'] })), total: Math.max(total, limit), ...bound };
    }
  }
  // The OCR condition on the joined row itself (its trigram indexes, 0021 and 0204, find the matches):
  // as the selection's EXISTS it left the join to every OCR row, each scored and sorted (3 s at 1M).
  const rows = (await selected()
    .innerJoin('asset_ocr as o', 'o.asset_id', 'a.id')
    .where(ocrMatches(text))
    .select(['a.id', sql<number>`word_similarity(${fold(text)}, ${foldCol('o.text')})`.as('s'), sql<number>`count(*) over ()`.as('total')])
    .orderBy('s', 'desc')
    .limit(limit)
    .execute()) as Array<{ id: string; s: number; total: number | string }>;
  return { scored: rows.map((r) => ({ id: r.id, score: r.s, matched: ['ocr'] })), total: rows.length ? Number(rows[0]!.total) : 0 };
}

async function hydrate(ctx: Context, scored: Scored[]): Promise<SearchHit[]> {
  if (!scored.length) return [];
  const { describeAssets } = await import('./asset-info.js');
  const infos = await describeAssets(ctx, scored.map((s) => s.id));
  const byId = new Map(infos.map((r) => [r.id, r]));
  return scored.flatMap((s) => {
    const r = byId.get(s.id);
    if (!r) return [];
    return [{
      ...r,
      path: r.libraryPath,
      thumbnail: r.files.find((f) => f.kind === 'thumbnail')?.path ?? null,
      preview: r.files.find((f) => f.kind === 'preview')?.path ?? null,
      score: Math.round(s.score * 1e4) / 1e4,
      matched: s.matched,
    }];
  });
}
