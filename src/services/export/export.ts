// `immich export <dest>`: copies (or hard links) of selected originals under directory and file name
// templates, kept in sync by a state file in the destination (see state.ts, plan.ts).
//
// Every file is written to a hidden temp name beside its target, checked (SHA-1 of what was written
// against the asset's, or of the converted/annotated bytes), recorded in the state log, and only then
// renamed: a run killed anywhere leaves no partial file under a final name, and the next run knows
// every final name it gave. A full disk stops the run with the state matching what is there.
//
// Durability (see flushWritten): no fsync per file. What a run wrote is flushed once at its end,
// before the snapshot that lists it is committed; until then the state log names those files, and
// the next run re-verifies each (size, then SHA-1) before trusting it (state.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../../context.js';
import { lastEdited } from '../../db/asset-edits.js';
import { sql } from '../../db/kysely.js';
import type { DB } from '../../db/schema.js';
import type { ExpressionBuilder } from 'kysely';
import { EnvironmentError, errorMessage } from '../../errors.js';
import { TMP_MARK, tempFileOwner, tempPathFor, writeFileAtomic } from '../../storage/atomic.js';
import { sha1File } from '../../storage/checksum.js';
import { syncFilesystem } from '../../storage/syncfs.js';
import { createCopyPool, type CopyPool } from './copy-pool.js';
import { extOf, parseTemplate, renderPaths, renderTemplate, type Template } from '../../storage/template.js';
import { selectAssetIds, selectionQuery, type Selection } from '../selection.js';
import { loadTemplateValues, type AssetForTemplate } from '../template-values.js';
import type { ExportMetadata } from './metadata.js';
import { depNeeds, loadDeps } from './fingerprint.js';
import { contentDepsOf, indexByAsset, layoutKey, planExport, unchangedBases, type PlanAsset, type PlannedFile } from './plan.js';
import { bootId, loadState, saveState, STATE_FILE, STATE_LOG, StateLog, type ExportedFile } from './state.js';
import { fsPath, plainName, textFromBytes, withToolPath } from '../../storage/raw-path.js';

export interface ExportOptions {
  dest: string;
  /** Which assets (the selection grammar); default: the timeline (not archived, not trashed). */
  selection?: Selection;
  directory?: string;
  filename?: string;
  originalNames?: boolean;
  link?: boolean;
  update?: boolean;
  cleanup?: boolean;
  dryRun?: boolean;
  sidecar?: 'xmp' | 'json';
  embedMetadata?: boolean;
  convert?: { format: 'jpeg'; quality: number };
  live?: boolean;
  concurrency?: number;
  /** Hash every byte copied (an original's SHA-1 checked against the asset's), not only the copies of files changed since their last hash. */
  verify?: boolean;
  /** false (--no-flush): commit without waiting for the copies to reach the disk (see state.ts). */
  flush?: boolean;
  /** Give unchanged files a row in `files` too (a report, --json); otherwise they are only counted. */
  listSkipped?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** The options that decide paths (and so --template-test's answer). */
type PathOptions = Pick<ExportOptions, 'directory' | 'filename' | 'originalNames' | 'convert'>;

export type ReportAction = 'exported' | 'skipped' | 'removed' | 'failed' | 'kept';

export interface ReportRow {
  assetId: string;
  path: string;
  kind: string;
  action: ReportAction;
  reason: string | null;
  bytes: number;
}

export interface ExportResult {
  dest: string;
  dryRun: boolean;
  exported: number;
  skipped: number;
  removed: number;
  failed: number;
  bytes: number;
  /** Originals whose every byte was read and hashed while copying (--verify, or changed since their last hash). */
  hashed: number;
  files: ReportRow[];
}

/**
 * A row per selected asset. The first three fields decide whether --update has anything to do; the
 * others (`detailed`) are loaded for every asset up front by a full export, and by --update only
 * for the assets whose paths are rendered again or that have a file to write (fillDetails).
 */
interface AssetRow {
  id: string;
  checksum: string;
  editedAt: string | null;
  detailed: boolean;
  libraryPath: string;
  originalName: string;
  type: 'image' | 'video';
  mimeType: string;
  sortKey: string;
  live: { id: string; libraryPath: string; checksum: string } | null;
}

const CHUNK = 1000;

function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || /no space left on device/i.test(errorMessage(err));
}

const detailColumns = (eb: ExpressionBuilder<DB & { live: DB['assets'] }, 'assets' | 'live'>) => [
  'assets.library_path', 'assets.original_name', 'assets.type', 'assets.mime_type',
  // The capture time only orders new names: compared as text, without 2 × 100k Date parses.
  eb.fn.coalesce(eb.cast<string | null>('assets.local_taken_at', 'text'), eb.cast<string | null>('assets.taken_at', 'text'), eb.cast<string>('assets.file_mtime', 'text')).as('sort_time'),
  eb.ref('live.id').as('live_id'), eb.ref('live.library_path').as('live_path'), eb.ref('live.checksum').as('live_checksum'),
] as const;

type DetailRow = { library_path: string; original_name: string; type: 'image' | 'video'; mime_type: string; sort_time: string | null; live_id: string | null; live_path: string | null; live_checksum: string | null };

function setDetails(a: AssetRow, r: DetailRow): void {
  a.detailed = true;
  a.libraryPath = r.library_path;
  a.originalName = r.original_name;
  a.type = r.type;
  a.mimeType = r.mime_type;
  a.sortKey = `${r.sort_time}\0${r.original_name}\0${a.checksum}`;
  a.live = r.live_id && r.live_path && r.live_checksum ? { id: r.live_id, libraryPath: r.live_path, checksum: r.live_checksum } : null;
}

/** The order in which new names are numbered: capture time, then name, then content. */
const bySortKey = (a: AssetRow, b: AssetRow) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0);

/**
 * The selected assets; `light`: only what decides whether an asset changed (id, checksum, last edit),
 * in no particular order: the caller fills in the rest where needed (fillDetails) and orders those.
 */
async function selectedRows(ctx: Context, selection: Selection | readonly string[], light = false): Promise<AssetRow[]> {
  const base = () =>
    ctx.db
      .selectFrom('assets')
      .leftJoin('assets as live', 'live.id', 'assets.live_photo_video_id')
      .select((eb) => ['assets.id', 'assets.checksum', lastEdited('assets').as('edited_at'), ...(light ? [] : detailColumns(eb))])
      // A Live Photo's video is exported with its still (--live), never on its own.
      .where('assets.is_motion_part', '=', false);
  let ids: readonly string[] | undefined = Array.isArray(selection) ? selection : undefined;
  let rows: Array<{ id: string; checksum: string; edited_at: Date | null } & Partial<DetailRow>> = [];
  if (!ids) {
    const sel = selection as Selection;
    const { query, rankedIds } = await selectionQuery(ctx, sel, { strict: true });
    // A ranked (free-text) or limited selection is a list of ids; any other is one subquery.
    if (rankedIds || sel.limit !== undefined) ids = await selectAssetIds(ctx, sel, { strict: true });
    else rows = (await base().where('assets.id', 'in', query.select('a.id')).execute()) as typeof rows;
  }
  if (ids) for (let k = 0; k < ids.length; k += CHUNK) rows = rows.concat((await base().where('assets.id', 'in', ids.slice(k, k + CHUNK)).execute()) as typeof rows);
  const out: AssetRow[] = rows.map((r) => {
    const a: AssetRow = {
      id: r.id,
      checksum: r.checksum,
      editedAt: r.edited_at ? new Date(r.edited_at).toISOString() : null,
      detailed: false, libraryPath: '', originalName: '', type: 'image', mimeType: '', sortKey: '', live: null,
    };
    if (!light) setDetails(a, r as DetailRow);
    return a;
  });
  return light ? out : out.sort(bySortKey);
}

/** Load the details of the rows that lack them (a light selection's assets that --update touches). */
async function fillDetails(ctx: Context, rows: Iterable<AssetRow>): Promise<void> {
  const missing = new Map<string, AssetRow>();
  for (const r of rows) if (!r.detailed) missing.set(r.id, r);
  const ids = [...missing.keys()];
  for (let k = 0; k < ids.length; k += CHUNK) {
    const got = await ctx.db
      .selectFrom('assets')
      .leftJoin('assets as live', 'live.id', 'assets.live_photo_video_id')
      .select((eb) => ['assets.id', ...detailColumns(eb)])
      .where('assets.id', 'in', ids.slice(k, k + CHUNK))
      .execute();
    for (const r of got) setDetails(missing.get(r.id)!, r as DetailRow);
  }
}

/** Non-JPEG stills become JPEG with --convert; videos and JPEGs are exported as they are. */
function converts(r: Pick<AssetRow, 'type' | 'mimeType'>, opts: PathOptions): boolean {
  return Boolean(opts.convert) && r.type === 'image' && r.mimeType !== 'image/jpeg';
}

function templatesOf(opts: PathOptions): { dir?: Template; file: Template } {
  return {
    dir: opts.directory ? parseTemplate(opts.directory) : undefined,
    file: parseTemplate(opts.filename ?? '{{filename}}'),
  };
}

/** The path-shaping options: when they differ from the last run's, every path is rendered again. */
function layoutOf(opts: PathOptions): string {
  return layoutKey(JSON.stringify({ d: opts.directory ?? null, f: opts.filename ?? null, o: Boolean(opts.originalNames), c: opts.convert?.format ?? null }));
}

/**
 * Template values with the name the default file name uses: the file's name in the library, or with
 * --original-names the name it had when imported.
 */
function valuesFor(a: AssetForTemplate, opts: PathOptions) {
  return opts.filename || opts.originalNames ? a.values : { ...a.values, originalName: path.posix.basename(a.libraryPath) };
}

function extFor(r: AssetRow, opts: PathOptions): string {
  if (converts(r, opts)) return 'jpg';
  return extOf(opts.originalNames || opts.filename ? r.originalName : path.posix.basename(r.libraryPath));
}

/** Paths of each asset: reused from the state when neither asset nor layout changed, else rendered. */
async function planAssets(ctx: Context, rows: AssetRow[], opts: ExportOptions, byAsset: Map<string, ExportedFile[]>): Promise<PlanAsset[]> {
  const layout = layoutOf(opts);
  const tpl = templatesOf(opts);
  // Only what the templates and options use (none for Immich's date template and plain copies).
  const deps = await loadDeps(ctx, rows.map((r) => r.id), depNeeds([tpl.dir, tpl.file], opts));
  const plan: PlanAsset[] = rows.map((r) => ({
    id: r.id,
    checksum: r.checksum,
    editedAt: r.editedAt,
    bases: [],
    liveExt: opts.live && r.live ? extOf(r.live.libraryPath) || undefined : undefined,
    pathDeps: deps.get(r.id)?.path ?? '',
    contentDeps: deps.get(r.id)?.content ?? '',
  }));
  const toRender: number[] = [];
  const reusedIdx: number[] = [];
  plan.forEach((p, i) => {
    const reused = unchangedBases(byAsset, p, layout);
    if (reused) {
      p.bases = reused;
      reusedIdx.push(i);
    } else toRender.push(i);
  });
  let order: number[] | undefined;
  if (rows.some((r) => !r.detailed)) {
    // A light selection: details (names, capture time) only for the assets rendered again. An
    // asset whose paths are reused takes no new name, so only the rendered ones need the order
    // in which new names are numbered; they come after the others.
    await fillDetails(ctx, toRender.map((i) => rows[i]!));
    toRender.sort((a, b) => bySortKey(rows[a]!, rows[b]!));
    order = [...reusedIdx, ...toRender];
  }
  const needs = { albums: true, people: true, tags: true };
  const values = await loadTemplateValues(ctx, toRender.map((i) => rows[i]!.id), needs);
  const byId = new Map(values.map((v) => [v.id, v]));
  for (const i of toRender) {
    const v = byId.get(rows[i]!.id);
    if (v) plan[i]!.bases = renderPaths(tpl.dir, tpl.file, valuesFor(v, opts), extFor(rows[i]!, opts));
  }
  return order ? order.map((i) => plan[i]!) : plan;
}

/** List the folders of these destination paths into `into` (undefined for a folder that is not there). */
async function listFolders(dest: string, paths: Iterable<string>, into: Map<string, Set<string> | undefined>): Promise<void> {
  const dirs = new Set<string>();
  for (const p of paths) {
    const slash = p.lastIndexOf('/');
    dirs.add(slash < 0 ? '.' : p.slice(0, slash));
  }
  await Promise.all([...dirs].map(async (dir) => {
    // Names as bytes in their text form: an original name that is not UTF-8 is exported as its bytes.
    const names = await fsp.readdir(fsPath(path.join(dest, dir)), { encoding: 'buffer' }).catch(() => undefined);
    into.set(dir, names ? new Set(names.map((n) => textFromBytes(n))) : undefined);
  }));
}

/** Temp files of dead runs in a folder this run writes to. */
async function cleanStaleTemps(dir: string, cleaned: Set<string>): Promise<void> {
  if (cleaned.has(dir)) return;
  cleaned.add(dir);
  const names = await fsp.readdir(fsPath(dir)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(TMP_MARK)) continue;
    const pid = tempFileOwner(name);
    if (pid === undefined || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') await fsp.rm(fsPath(path.join(dir, name)), { force: true });
    }
  }
}

interface Made {
  sha1: string;
  size: number;
}

export async function runExport(ctx: Context, opts: ExportOptions): Promise<ExportResult> {
  const dest = path.resolve(opts.dest);
  // IMMICH_LOG_LEVEL=debug: where a run's time goes (ms since it started).
  const started = performance.now();
  const TT = (phase: string) => ctx.logger.debug(`export phase ${phase}: ${Math.round(performance.now() - started)} ms`);
  // --update of plain copies: a light first query (most assets are unchanged); --live and --convert
  // decide from every asset's details. It runs in the database while the state is read and parsed
  // here, and the folders the state names are listed (libuv's pool) meanwhile: three waits at once.
  const rowsQuery = selectedRows(ctx, opts.selection ?? {}, Boolean(opts.update && !opts.live && !opts.convert));
  rowsQuery.catch(() => undefined); // awaited below; not an unhandled rejection if the state fails first
  const state = await loadState(dest).catch((err: Error) => {
    throw new EnvironmentError(err.message);
  });
  TT('state');
  // What is on disk: one listing per folder instead of a stat per file (100k files: ~0.1 s instead of
  // ~1 s). A file the state recorded counts with its recorded size when it is there: a copy changed
  // by hand is not written over by --update (and --cleanup, which checks its SHA-1, leaves it).
  const listings = new Map<string, Set<string> | undefined>();
  const listing = listFolders(dest, state.files.keys(), listings);
  const byAsset = indexByAsset(state);
  const rows = await rowsQuery;
  TT('rows');
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const assets = await planAssets(ctx, rows, opts, byAsset);
  TT('planAssets');
  const variant = opts.convert ? `convert:${opts.convert.format}:${opts.convert.quality}` : opts.link ? 'link' : 'copy';
  const embedVariant = (v: string) => (opts.embedMetadata ? `${v}+embed` : v);
  await listing;
  const listed = (p: string) => {
    const slash = p.lastIndexOf('/');
    const dir = slash < 0 ? '.' : p.slice(0, slash);
    let names = listings.get(dir);
    if (names === undefined && !listings.has(dir)) {
      try {
        // Names as bytes in their text form: an original name that is not UTF-8 is exported as its bytes.
        names = new Set(fs.readdirSync(fsPath(path.join(dest, dir)), { encoding: 'buffer' }).map((n) => textFromBytes(n)));
      } catch {
        names = undefined;
      }
      listings.set(dir, names);
    }
    return names?.has(slash < 0 ? p : p.slice(slash + 1)) ?? false;
  };
  const sizeOn = (p: string) => {
    if (!listed(p)) return undefined;
    const known = state.files.get(p);
    if (known) return known.damaged ? undefined : known.size;
    try {
      return fs.statSync(fsPath(path.join(dest, p))).size;
    } catch {
      return undefined;
    }
  };
  const plan = planExport(assets, state, {
    update: Boolean(opts.update),
    cleanup: Boolean(opts.cleanup),
    variant: embedVariant(variant),
    liveVariant: opts.link ? 'link' : 'copy',
    sidecar: opts.sidecar,
  }, sizeOn, byAsset);
  TT('plan');
  // Converted files only for the assets that convert; the others are plain copies.
  for (const f of plan.files) {
    if (f.kind === 'original' && opts.convert && !converts(rowById.get(f.assetId)!, opts)) f.variant = embedVariant(opts.link ? 'link' : 'copy');
  }
  // A variant fixed after planning: decide again whether an unchanged file is still current.
  if (opts.convert) {
    for (const f of plan.files) if (f.action === 'skip' && f.prev && f.prev.variant !== f.variant) Object.assign(f, { action: 'write', reason: 'changed' });
  }

  const result: ExportResult = { dest, dryRun: Boolean(opts.dryRun), exported: 0, skipped: 0, removed: 0, failed: 0, bytes: 0, hashed: 0, files: [] };
  const report = (f: { assetId: string; path: string; kind: string }, action: ReportAction, reason: string | null, bytes = 0) => {
    result.files.push({ assetId: f.assetId, path: f.path, kind: f.kind, action, reason, bytes });
    if (action === 'exported') { result.exported++; result.bytes += bytes; }
    else if (action === 'skipped') result.skipped++;
    else if (action === 'removed') result.removed++;
    else if (action === 'failed') result.failed++;
  };
  const writes = plan.files.filter((f) => f.action === 'write');
  if (!opts.dryRun) await fillDetails(ctx, new Set(writes.map((f) => rowById.get(f.assetId)!)));
  /** Unchanged files whose path was rendered again (an album renamed...) and came out the same. */
  const restamped: ExportedFile[] = [];
  for (const f of plan.files) {
    if (f.action !== 'skip') continue;
    if (opts.listSkipped) report(f, 'skipped', null);
    else result.skipped++;
    const prev = f.prev!;
    const pathDeps = f.asset!.pathDeps || undefined;
    if (prev.pathDeps !== pathDeps) restamped.push({ ...prev, pathDeps });
  }
  if (opts.dryRun) {
    for (const f of writes) report(f, 'exported', f.reason ?? null);
    for (const s of plan.stale) report(s, opts.cleanup ? 'removed' : 'kept', 'no longer selected');
    return result;
  }

  TT('prewrite');
  await fsp.mkdir(dest, { recursive: true });
  const log = new StateLog(dest);
  let dirty = false;
  // Recorded at once: they are the same files, only their fingerprint is new (no log line needed:
  // losing it costs one more rendering of their paths).
  for (const e of restamped) state.files.set(e.path, e);
  if (restamped.length) dirty = true;
  const layout = layoutOf(opts);
  const cleaned = new Set<string>();
  // sharp, exiftool and the decoders load only for the options that use them: --update starts fast.
  const needsMedia = Boolean(opts.sidecar || opts.embedMetadata || opts.convert);
  const { convertToJpeg, exportTags, writeTags, loadExportMetadata } = needsMedia ? await import('./metadata.js') : ({} as typeof import('./metadata.js'));
  const metaCache = new Map<string, Promise<ExportMetadata>>();
  const metadataOf = (assetId: string) => {
    let m = metaCache.get(assetId);
    if (!m) metaCache.set(assetId, (m = loadExportMetadata(ctx, assetId)));
    return m;
  };
  let diskFull: unknown;
  let done = 0;
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  // Worker threads only once a copy has to be hashed: an --update with nothing to copy starts none.
  let copyPool: CopyPool | undefined;
  const copies = () => (copyPool ??= createCopyPool(concurrency));
  // What each copied original's library file was when its checksum was last computed.
  const plainCopies = writes.filter((f) => f.kind !== 'sidecar' && f.variant.replace(/\+embed$/, '') === 'copy');
  const sources = await sourceFacts(ctx, [...new Set(plainCopies.map((f) => (f.kind === 'live' ? rowById.get(f.assetId)!.live!.id : f.assetId)))]);
  const checked: SourceCheck[] = [];
  /** Final paths this run renamed into place: flushed before the state is committed. */
  const written: string[] = [];

  /** Write one planned file: temp → check → fsync → state line → final name. */
  const writeOne = async (f: PlannedFile): Promise<void> => {
    const r = rowById.get(f.assetId)!;
    // The original name's bytes (raw-path.ts) are the target's; the temp name is UTF-8 (exiftool writes it).
    const target = path.join(dest, f.path);
    await fsp.mkdir(fsPath(path.dirname(target)), { recursive: true });
    await cleanStaleTemps(path.dirname(target), cleaned);
    // Keep the target's extension on the temp name where exiftool writes it (it goes by extension).
    const tmp = plainName(`${tempPathFor(target)}${f.kind === 'sidecar' ? `.${opts.sidecar}` : path.extname(target)}`);
    try {
      let made: Made;
      if (f.kind === 'sidecar') {
        const meta = await metadataOf(f.assetId);
        if (opts.sidecar === 'json') {
          const data = Buffer.from(JSON.stringify(meta.json, null, 2) + '\n');
          await writeFileAtomicAt(tmp, data);
          made = { sha1: sha1Of(data), size: data.length };
        } else {
          await writeTags(ctx, tmp, exportTags(meta, false), { create: true });
          made = await fileFacts(tmp);
        }
      } else {
        const src = f.kind === 'live' ? r.live! : { libraryPath: r.libraryPath, checksum: r.checksum };
        const abs = ctx.library.resolve(src.libraryPath);
        const base = f.variant.replace(/\+embed$/, '');
        if (base === 'link') {
          try {
            await fsp.link(fsPath(abs), tmp);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
            throw new EnvironmentError(`--link: ${dest} is on another filesystem than the library (hard links cannot cross filesystems); export without --link`);
          }
          made = { sha1: src.checksum, size: (await fsp.stat(tmp)).size };
        } else if (base.startsWith('convert:')) {
          const data = await withToolPath(abs, ctx.library.folder('tmp'), (p) => convertToJpeg(ctx, p, opts.convert!.quality));
          await writeFileAtomicAt(tmp, data);
          made = { sha1: sha1Of(data), size: data.length };
        } else {
          const srcId = f.kind === 'live' ? r.live!.id : r.id;
          const facts = opts.verify ? undefined : sources.get(srcId);
          const copied = facts && (await copyUnchanged(abs, tmp, facts));
          if (copied) made = { sha1: src.checksum, size: copied.size };
          else {
            // Changed since its last hash (or --verify): every byte is read and hashed while copying.
            const since = new Date();
            const before = await statStamp(abs);
            made = await copies().run(abs, tmp);
            result.hashed++;
            if (made.sha1 !== src.checksum) throw new Error(`the library file ${src.libraryPath} does not match its checksum (changed or damaged since it was imported: ${made.sha1} != ${src.checksum}); run immich verify`);
            // Recorded only when nothing touched the file while it was read.
            if (before && before === (await statStamp(abs))) checked.push({ asset_id: srcId, library_path: src.libraryPath, checksum: src.checksum, checked_at: since, stamp: before });
          }
        }
        if (f.kind === 'original' && opts.embedMetadata) {
          if (base === 'link') throw new Error('--embed-metadata writes into the file: it cannot be used with --link');
          await writeTags(ctx, tmp, exportTags(await metadataOf(f.assetId), r.type === 'image'), { create: false });
          made = await fileFacts(tmp);
        }
      }
      const a = f.asset!;
      const entry: ExportedFile = {
        path: f.path, assetId: f.assetId, kind: f.kind, base: f.base, checksum: r.checksum, editedAt: r.editedAt, variant: f.variant, layout,
        pathDeps: a.pathDeps || undefined, deps: contentDepsOf(f, a) || undefined, sha1: made.sha1, size: made.size,
      };
      await log.append({ put: entry });
      await fsp.rename(tmp, fsPath(target));
      written.push(target);
      state.files.set(f.path, entry);
      dirty = true;
      report(f, 'exported', f.reason ?? null, made.size);
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (isDiskFull(err)) {
        diskFull ??= err;
        return;
      }
      if (err instanceof EnvironmentError) throw err;
      report(f, 'failed', errorMessage(err).replace(`${tmp}: `, ''));
    } finally {
      opts.onProgress?.(++done, writes.length);
    }
  };

  // An original and the files that travel with it are written in that order by one worker: a
  // sidecar or Live Photo video never appears before its photo.
  const groups: PlannedFile[][] = [];
  const groupOf = new Map<string, PlannedFile[]>();
  for (const f of writes) {
    const key = `${f.assetId}\0${f.of ?? f.path}`;
    let g = groupOf.get(key);
    if (!g) groupOf.set(key, (g = []));
    if (g.length === 0) groups.push(g);
    if (f.kind === 'original') g.unshift(f);
    else g.push(f);
  }
  let next = 0;
  const worker = async () => {
    while (next < groups.length && diskFull === undefined) {
      for (const f of groups[next++]!) if (diskFull === undefined) await writeOne(f);
    }
  };
  let fatal: unknown;
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } catch (err) {
    fatal = err;
  } finally {
    await copyPool?.close();
  }
  // The next export trusts these files again without reading them (a lost record costs one more hash).
  await recordChecks(ctx, checked).catch((err) => ctx.logger.warn(`export: recording source checks: ${errorMessage(err)}`));

  TT('written');
  if (opts.cleanup && diskFull === undefined && fatal === undefined) {
    for (const s of plan.stale) {
      const abs = path.join(dest, s.path);
      try {
        const st = await fsp.stat(fsPath(abs)).catch(() => undefined);
        // Only a file that still has the bytes this tool wrote: anything else is the user's now.
        if (st && st.size === s.size && (await sha1File(abs)) === s.sha1) {
          await log.append({ del: s.path });
          await fsp.unlink(fsPath(abs));
          await pruneEmptyDirs(dest, path.dirname(abs));
          report(s, 'removed', 'no longer selected', s.size);
        } else {
          await log.append({ del: s.path });
          report(s, 'kept', st ? 'changed since it was exported; left in place' : 'already gone');
        }
        state.files.delete(s.path);
        dirty = true;
      } catch (err) {
        if (isDiskFull(err)) { diskFull ??= err; break; }
        report(s, 'failed', errorMessage(err));
      }
    }
  } else for (const s of plan.stale) report(s, 'kept', 'no longer selected (--cleanup removes it)');

  // The state matches what is on disk whether the run finished, hit a full disk or failed: files
  // found missing (deleted by the user) and not written again leave the state.
  for (const p of [...plan.files.filter((f) => f.reason === 'missing').map((f) => f.path), ...plan.stale.map((f) => f.path)]) {
    // A fresh look (the folder listings are from before this run's writes).
    if (state.files.has(p) && !fs.existsSync(fsPath(path.join(dest, p)))) dirty = state.files.delete(p) || dirty;
  }
  await log.close().catch(() => undefined);
  // Nothing changed (an --update with nothing new): the snapshot stands; no 100k-entry rewrite.
  const boot = opts.flush === false ? bootId() : undefined;
  if (dirty || state.changed || fs.existsSync(path.join(dest, STATE_LOG)) || !fs.existsSync(path.join(dest, STATE_FILE))) {
    try {
      // The files first, then the snapshot that lists them: a crash in between leaves the log, and
      // the next run re-verifies what it names. With --no-flush (where the kernel has a boot id)
      // the snapshot lists this run's files as unflushed instead (see state.ts).
      if (boot && !state.uncommitted) {
        state.unflushed ??= new Set();
        for (const p of written) state.unflushed.add(path.relative(dest, p).split(path.sep).join('/'));
      } else {
        await flushWritten(dest, written, Boolean(state.uncommitted || state.unflushed?.size));
        state.unflushed = undefined;
      }
      await saveState(dest, state);
    } catch (err) {
      // The log still holds every file; the next run folds it in.
      if (!isDiskFull(err)) throw err;
    }
  }
  TT('end');
  if (fatal) throw fatal;
  if (diskFull !== undefined) {
    const left = writes.length - result.exported - result.failed;
    throw new EnvironmentError(`${dest}: no space left on device; ${result.exported} file(s) exported, ${left} not (the export state lists what is there: free some space and run again with --update)`);
  }
  return result;
}

/** A library file's size and the local time before which a ctime means "not changed since its last hash". */
interface SourceFacts {
  size: number;
  trustedBefore: number;
  /** statStamp of the file when an export last hashed it. */
  stamp: string | null;
}

type SourceCheck = { asset_id: string; library_path: string; checksum: string; checked_at: Date; stamp: string };

/** Device, inode, size and ctime to the nanosecond: equal only while nothing has touched the file. */
async function statStamp(abs: string): Promise<string | undefined> {
  const st = await fsp.stat(fsPath(abs), { bigint: true }).catch(() => undefined);
  return st?.isFile() ? `${st.dev}:${st.ino}:${st.size}:${st.ctimeNs}` : undefined;
}

/**
 * A changed ctime is the mark of any change to a file: a write, a truncate, a rename or link, a
 * touch (utimes sets ctime to now, whatever mtime it sets). The kernel stamps it from a clock that
 * lags by up to a tick (4 ms at HZ=250, 10 ms at HZ=100); this margin covers it.
 */
const CTIME_SLACK_MS = 10;

/**
 * For each asset id: the size its library file must have and the time its checksum was last known
 * to be the file's: the import (the row is inserted after the file was written and hashed) or the
 * last export that hashed it (export_source_checks). The database's clock is mapped to this
 * machine's by one clock_timestamp() (the error bound of that round trip is subtracted).
 */
async function sourceFacts(ctx: Context, ids: readonly string[]): Promise<Map<string, SourceFacts>> {
  const out = new Map<string, SourceFacts>();
  if (!ids.length) return out;
  // db clock - local clock <= dbNow - t0 (t0 taken before the query): a database time minus that bound
  // is never later, on this machine's clock, than it was. The tightest of three round trips.
  let dbAhead = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const { rows: [clock] } = await sql<{ now: Date }>`select clock_timestamp() as now`.execute(ctx.db);
    dbAhead = Math.min(dbAhead, new Date(clock!.now).getTime() - t0);
  }
  for (let k = 0; k < ids.length; k += CHUNK) {
    const rows = await ctx.db
      .selectFrom('assets as a')
      .leftJoin('export_source_checks as c', (j) => j.onRef('c.asset_id', '=', 'a.id').onRef('c.checksum', '=', 'a.checksum').onRef('c.library_path', '=', 'a.library_path'))
      .select(['a.id', 'a.file_size', 'a.created_at', 'c.checked_at', 'c.stamp'])
      .where('a.id', 'in', ids.slice(k, k + CHUNK))
      .execute();
    for (const r of rows) {
      const imported = new Date(r.created_at).getTime() - dbAhead;
      const checked = r.checked_at ? new Date(r.checked_at).getTime() : 0;
      out.set(r.id, { size: Number(r.file_size), trustedBefore: Math.max(imported, checked) - CTIME_SLACK_MS, stamp: r.stamp ?? null });
    }
  }
  return out;
}

async function recordChecks(ctx: Context, checked: SourceCheck[]): Promise<void> {
  for (let k = 0; k < checked.length; k += CHUNK) {
    await ctx.db
      .insertInto('export_source_checks')
      .values(checked.slice(k, k + CHUNK))
      .onConflict((oc) => oc.column('asset_id').doUpdateSet((eb) => ({ library_path: eb.ref('excluded.library_path'), checksum: eb.ref('excluded.checksum'), checked_at: eb.ref('excluded.checked_at'), stamp: eb.ref('excluded.stamp') })))
      .execute();
  }
  // Records of assets deleted since (there is no foreign key): dropped with the next records.
  if (checked.length) await sql`delete from export_source_checks c where not exists (select 1 from assets a where a.id = c.asset_id)`.execute(ctx.db);
}

/**
 * Copy a library file that nothing has changed since its checksum was computed without reading it:
 * a kernel copy (a reflink where the filesystem can). Trusted: its size is the asset's and either
 * its stamp (device, inode, size, ctime in ns) is the one the last export that hashed it recorded,
 * or its ctime is older than that hash or the import. Checked after the copy: the source was not
 * changed meanwhile (same stamp) and the copy has its size. Undefined: not trusted, the caller
 * copies and hashes.
 */
async function copyUnchanged(abs: string, tmp: string, facts: SourceFacts): Promise<{ size: number } | undefined> {
  const before = await fsp.stat(fsPath(abs), { bigint: true });
  if (!before.isFile() || Number(before.size) !== facts.size) return undefined;
  const stamp = `${before.dev}:${before.ino}:${before.size}:${before.ctimeNs}`;
  if (stamp !== facts.stamp && !(Number(before.ctimeNs) / 1e6 < facts.trustedBefore)) return undefined;
  await fsp.copyFile(fsPath(abs), tmp, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
  const [after, out] = await Promise.all([statStamp(abs), fsp.stat(tmp)]);
  if (after === stamp && out.size === facts.size) return { size: out.size };
  await fsp.rm(tmp, { force: true });
  return undefined;
}

function sha1Of(data: Uint8Array): string {
  return crypto.createHash('sha1').update(data).digest('hex');
}

async function fileFacts(file: string): Promise<Made> {
  const [sha1, st] = await Promise.all([sha1File(file), fsp.stat(file)]);
  return { sha1, size: st.size };
}

/** Write bytes to a fresh temp file (the caller renames it; flushWritten makes it durable). */
async function writeFileAtomicAt(tmp: string, data: Uint8Array): Promise<void> {
  const fh = await fsp.open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** Up to this many files are flushed one by one (an --update's few); more, with one syncfs. */
const FSYNC_EACH_MAX = 64;

/**
 * Make the files a run renamed into place durable, once, before the snapshot listing them is
 * committed: an fsync per file made an export a third as fast as `cp -r` (0.21), and the state log
 * (re-verified after a crash) already covers the window. A few files: fsync each and its folder.
 * Many, or files left by a killed run that this run adopts: one syncfs of the destination's
 * filesystem (`sync -f`), which also covers every folder created.
 */
async function flushWritten(dest: string, written: readonly string[], leftovers: boolean): Promise<void> {
  if (!written.length && !leftovers) return;
  if (written.length <= FSYNC_EACH_MAX && !leftovers) {
    const dirs = new Set(written.map((p) => path.dirname(p)));
    dirs.add(dest);
    const syncPath = async (p: string) => {
      const fh = await fsp.open(fsPath(p), 'r');
      try {
        await fh.sync().catch((err: NodeJS.ErrnoException) => {
          // Some filesystems cannot fsync a folder; a file's fsync failing is a real error.
          if (!dirs.has(p)) throw err;
        });
      } finally {
        await fh.close();
      }
    };
    await Promise.all([...written, ...dirs].map(syncPath));
    return;
  }
  await syncFilesystem(dest);
}

async function pruneEmptyDirs(root: string, dir: string): Promise<void> {
  while (dir.startsWith(root + path.sep)) {
    try {
      await fsp.rmdir(fsPath(dir));
    } catch {
      return;
    }
    dir = path.dirname(dir);
  }
}

/** Write a report of the run: CSV or JSON by the file's extension. */
export async function writeReport(file: string, result: ExportResult): Promise<void> {
  if (file.toLowerCase().endsWith('.json')) {
    await writeFileAtomic(file, JSON.stringify(result.files, null, 2) + '\n');
    return;
  }
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const cols = ['assetId', 'path', 'kind', 'action', 'reason', 'bytes'] as const;
  const lines = [cols.join(','), ...result.files.map((r) => cols.map((c) => cell(r[c])).join(','))];
  await writeFileAtomic(file, lines.join('\n') + '\n');
}

/** `--template-test`: the paths one asset gets under these templates. */
export async function templateTest(ctx: Context, template: string, opts: PathOptions, assetRef: string): Promise<string[]> {
  const id = await resolveAsset(ctx, assetRef);
  const [v] = await loadTemplateValues(ctx, [id]);
  const [row] = await selectedRows(ctx, [id]).then((r) => (r.length ? r : selectedRowsAnyState(ctx, id)));
  // The template is a whole path here (folders and name), as it would be under --directory/--filename.
  const ext = extFor(row!, opts);
  return renderTemplate(parseTemplate(template), valuesFor(v!, opts)).map((p) => (ext ? `${p}.${ext}` : p));
}

async function selectedRowsAnyState(ctx: Context, id: string): Promise<AssetRow[]> {
  const r = await ctx.db.selectFrom('assets').select(['id', 'checksum', 'library_path', 'original_name', 'type', 'mime_type']).where('id', '=', id).executeTakeFirstOrThrow();
  return [{ id: r.id, checksum: r.checksum, editedAt: null, detailed: true, libraryPath: r.library_path, originalName: r.original_name, type: r.type, mimeType: r.mime_type, sortKey: '', live: null }];
}

export class AssetNotFoundError extends Error {}

/** An asset by id, library path, original path or (unique) original file name. */
export async function resolveAsset(ctx: Context, ref: string): Promise<string> {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
  const abs = path.resolve(ref);
  const rows = await ctx.db
    .selectFrom('assets')
    .select('id')
    .where((eb) => eb.or([
      ...(uuid ? [eb('id', '=', ref.toLowerCase())] : []),
      eb('library_path', '=', ref),
      eb('library_path', '=', ctx.library.relative(abs)),
      eb('original_path', '=', abs),
      eb('original_name', '=', ref),
    ]))
    .limit(2)
    .execute();
  if (rows.length === 1) return rows[0]!.id;
  throw new AssetNotFoundError(rows.length ? `${ref}: more than one asset has this name; give its id or path` : `${ref}: no such asset (give an asset id, a library path or the imported file's path)`);
}
