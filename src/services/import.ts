// `immich import`: walk → SHA-1 → dedupe (library and batch) → probe → metadata → place in the
// library (copy by date, move, or reference in place) → asset row → queue the follow-up stages.
// A Google Takeout (services/takeout/) adds files that live inside zips, copied out to tmp/ only while
// they are imported, and what their JSON sidecars say (applied before the dated folder is chosen);
// Picasa/iCloud/XMP albums, tags and named faces are applied after the stages.
//
// Kill safety (SIGKILL at any point, then the same import again ends in the same library):
// - files are placed through atomic temp files; temp files of dead runs are removed from every
//   folder this run writes to before it writes there;
// - a placed file whose row is missing (killed between the rename and the insert) is adopted by
//   the re-run, because the target name is a pure function of the file and the walk order;
// - in --move mode the source is unlinked only after the row is committed;
// - assets already in the library get their unfinished stages queued again.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../context.js';
import { EnvironmentError, ItemError, UsageError, environmentCause, errorCode, errorMessage } from '../errors.js';
import { ASSET_STAGES, type JobSpec, type QueueProgress, type Stage } from '../jobs/types.js';
import { sidecarCandidates } from '../media/formats.js';
import { readSidecarFile } from '../media/metadata.js';
import { copyFileVerified, libraryMode, writeFileAtomic } from '../storage/atomic.js';
import { sha1Bytes, sha1File } from '../storage/checksum.js';
import { REPORTED_SKIPS, walk, type SkipReason, type WalkEntry } from '../storage/walk.js';
import { TMP_MARK } from '../storage/atomic.js';
import { fsPath, plainName } from '../storage/raw-path.js';
import { applyFacts, type ExternalFacts } from './takeout/facts.js';
import { scanTakeout, type TakeoutScan } from './takeout/source.js';
import { applyTakeout, type TakeoutSummary } from './takeout/apply.js';
import { addToAlbum, describeAlbum, ensureAlbum } from '../db/albums.js';
import type { FaceRegion } from '../media/regions.js';
import { applyFaceRegions } from './face-regions.js';
import { loadFolderSidecars } from './import-sources.js';
import {
  assetIdFor,
  candidateName,
  libraryTarget,
  pendingStages,
  libraryName,
  wallClockOf,
  tempFileOwner,
  Turnstile,
  type ImportMode,
} from './import-plan.js';
import { storageTemplateFrom, type Template } from '../storage/template.js';
import {
  exifRow, extractMetadata, getFfmpeg, maxImagePixels, pairLivePhoto, probeFile, type MediaMetadata, type ProbeResult,
} from './media.js';
import { ImportClaims } from './import-claims.js';
import { loadStageStatus, nextStages } from './pipeline.js';
import { environmentSince } from './stage-environment.js';
import { trashMaintenance } from './trash.js';

export type { ImportMode } from './import-plan.js';

/** Stages that need no ML model: what `--skip-ml` keeps. */
export const MEDIA_STAGES: ReadonlySet<Stage> = new Set<Stage>(['metadata', 'thumbnails', 'video']);

export interface ImportOptions {
  paths: string[];
  mode: ImportMode;
  dryRun?: boolean;
  /** Units of concurrency: FILES_PER_WORKER × this many files are in flight (hash, probe, metadata, copy); stages use ctx.concurrency. */
  concurrency: number;
  includeHidden?: boolean;
  ignore?: string[];
  /** Only these stages are queued (e.g. MEDIA_STAGES for --skip-ml). */
  onlyStages?: ReadonlySet<Stage>;
  /** `--from google-takeout`: read the zips and folders given as a Google Takeout even without its layout. */
  from?: 'google-takeout';
  /** Import the Takeout's trashed items (into the trash) instead of skipping them. */
  includeTrashed?: boolean;
  /**
   * Wait for the queued stages to finish (default). `--no-wait` (Redis mode) sets this to false:
   * the import returns once its jobs are queued and the workers finish them.
   */
  wait?: boolean;
  /**
   * Try again files that failed before although unchanged, and stages skipped or failed in the
   * current environment (by default a re-run leaves them alone: they would fail the same way).
   */
  retryFailed?: boolean;
  /** In-place: do not record the paths as roots (index importing single new files). */
  noRoots?: boolean;
}

/** healed: the file put back the missing original of the asset with its checksum. */
export type FileAction = 'imported' | 'duplicate' | 'healed' | 'failed';

/** A file to import: a walked file, or one inside a container (a Takeout zip) with what its sidecar says. */
export interface ImportEntry extends WalkEntry {
  /** The file's own name when `path` does not end in it (a Takeout title). */
  name?: string;
  /** Copy the file out of its container to `target` (created exclusively); returns its SHA-1. */
  extract?: (target: string) => Promise<string>;
  facts?: ExternalFacts;
  /** Albums another manager put it in (Picasa, iCloud), made if missing. */
  albums?: Array<{ name: string; description?: string }>;
  /** Named face rectangles another manager kept outside the file (Picasa). */
  faceRegions?: FaceRegion[];
}

export interface FileOutcome {
  path: string;
  action: FileAction;
  assetId?: string;
  /** Library path of the new asset (relative to the library, absolute for in-place). */
  target?: string;
  /** For duplicates: the file of this run, or the library path, that has the same content. */
  duplicateOf?: string;
  stage?: string;
  reason?: string;
  /** A failed file that failed the same way before, unchanged in an unchanged environment: not tried again. */
  known?: boolean;
  /** The file's capture date and its sidecar's differ by more than a day (the file's is kept). */
  dateConflict?: { media: string; sidecar: string };
}

export interface ImportFailure {
  path: string;
  stage: string;
  reason: string;
}

export interface StageCounts {
  done: number;
  failed: number;
  skipped: number;
  pending: number;
}

export interface ImportSummary {
  dryRun: boolean;
  mode: ImportMode;
  /** found = imported + duplicates + failed + knownFailures (skipped files are not among the found); healed are among the duplicates' checksums put back. */
  counts: { found: number; imported: number; duplicates: number; healed: number; failed: number; knownFailures: number; skipped: number; resumed: number };
  skippedByReason: Partial<Record<SkipReason, number>>;
  imported: Array<{ path: string; target: string; assetId?: string }>;
  duplicates: Array<{ path: string; of: string }>;
  /** Files that put back a missing original: the file and the library path restored. */
  healed: Array<{ path: string; target: string; assetId?: string }>;
  failures: ImportFailure[];
  /** Files that failed in an earlier run and were not tried again (unchanged; --retry-failed tries them). */
  knownFailures: ImportFailure[];
  /** Stages that succeeded with a caveat (e.g. a truncated JPEG rendered as far as it decodes). */
  warnings: ImportFailure[];
  stages: Record<string, StageCounts>;
  /** `import --stack auto`: stacks made or joined by the new files. */
  stacks?: { created: number; joined: number; assets: number };
  /** Present when a Google Takeout was imported. */
  takeout?: TakeoutSummary;
  /** What other managers' sidecars gave (XMP regions and keywords, Picasa, iCloud); present when any. */
  fromSidecars?: { albumAdditions: number; namedFaces: number };
  durationMs: number;
}

export interface ImportEvents {
  onWalked?(found: number): void;
  onFile?(outcome: FileOutcome, finished: number, total: number): void;
  onStage?(progress: QueueProgress): void;
}

const DB_CHUNK = 500;
/** Originals up to this size are read into memory once (hash, then copy); larger ones stream twice. */
const READ_ONCE_MAX_BYTES = 16 << 20;
/** Files in flight per unit of concurrency. */
const FILES_PER_WORKER = 4;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove temp files left in `dir` by runs that are no longer alive (SIGKILL, crash). Only names with
 * the temp-file mark match (decoders' names too in the library's own tmp/ folder: `decoders`), and a
 * file a database row points at is never removed, whatever its name (libraries imported before
 * libraryName existed may hold such originals).
 */
export async function cleanStaleTemps(
  dir: string,
  opts: { decoders?: boolean; referenced?: (abs: string) => Promise<boolean> } = {},
): Promise<number> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = tempFileOwner(name, { decoders: opts.decoders });
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    const abs = path.join(dir, name);
    if (await opts.referenced?.(abs)) continue;
    await fsp.rm(abs, { force: true });
    removed++;
  }
  return removed;
}

/** Calendar date that names the file's folder: local capture date, else UTC capture time, else mtime. */
function folderDate(meta: MediaMetadata | undefined, mtime: Date): Date {
  return wallClockOf(meta?.localTakenAt) ?? wallClockOf(meta?.takenAt) ?? wallClockOf(mtime) ?? new Date(0);
}

/** Messages from media functions start with the file's path; the report names the file once. */
function causeOf(err: unknown, ...paths: string[]): string {
  let msg = typeof err === 'string' ? err : errorMessage(err);
  for (const p of paths) if (msg.startsWith(`${p}: `)) msg = msg.slice(p.length + 2);
  return msg;
}

async function ensureExists(paths: string[]): Promise<void> {
  if (!paths.length) throw new UsageError('import needs at least one file or folder');
  for (const p of paths) {
    try {
      await fsp.stat(fsPath(p));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(`${p}: ${code === 'ENOENT' ? 'no such file or folder' : errorMessage(err)}`);
    }
  }
}

async function sameContent(file: string, sha1: string): Promise<boolean> {
  try {
    return (await sha1File(file)) === sha1;
  } catch {
    return false;
  }
}

/** Where a file inside a zip is copied while it is imported: a temp name of this process (cleaned after a kill). */
function extractTarget(dir: string, file: ImportEntry): string {
  // The extension stays last: probing and exiftool go by it.
  return path.join(dir, `${TMP_MARK}${process.pid}-${crypto.randomBytes(6).toString('hex')}-${plainName(path.basename(file.name ?? file.path))}`);
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Import files into the library of `ctx`. With `dryRun` and no library yet, `ctx` may be
 * undefined: nothing is opened or written, every new file is reported as it would be imported.
 */
export async function importFiles(ctx: Context | undefined, opts: ImportOptions, events: ImportEvents = {}): Promise<ImportSummary> {
  const started = performance.now();
  const dryRun = Boolean(opts.dryRun);
  if (!ctx && !dryRun) throw new Error('importFiles: a context is needed unless dryRun');
  const paths = opts.paths.map((p) => path.resolve(p));
  await ensureExists(paths);
  if (ctx && opts.mode !== 'in-place') {
    const real = (p: string) => { try { return fs.realpathSync(p); } catch { return p; } };
    for (const p of paths) {
      // (The opposite, the library inside an imported folder, is fine: the walk skips it.) Real
      // paths: either may be reached through a symbolic link.
      if (isInside(p, ctx.library.root) || isInside(real(p), real(ctx.library.root))) {
        throw new UsageError(`${p} is inside the library ${ctx.library.root}; use --in-place or import from elsewhere`);
      }
    }
  }

  const { plain, scan } = await scanTakeout(paths, { force: opts.from === 'google-takeout', includeTrashed: Boolean(opts.includeTrashed), ignore: opts.ignore });
  try {
    if (scan && opts.mode !== 'copy' && scan.items.some((i) => i.extract)) {
      throw new UsageError(`--${opts.mode} cannot be used with zip archives: their files are copied into the library`);
    }
    return await importWalked(ctx, opts, events, plain, scan, started);
  } finally {
    scan?.close();
  }
}

async function importWalked(
  ctx: Context | undefined, opts: ImportOptions, events: ImportEvents, plain: string[], scan: TakeoutScan | undefined, started: number,
): Promise<ImportSummary> {
  const dryRun = Boolean(opts.dryRun);
  const walked = plain.length
    ? await walk(plain, { includeHidden: opts.includeHidden, ignore: opts.ignore, excludeDirs: ctx ? [ctx.library.root] : [], noLinks: opts.mode === 'move' })
    : { files: [], skipped: [] };
  const takeoutFiles: ImportEntry[] = (scan?.items ?? []).map((i) => ({ path: i.path, name: i.name, size: i.size, mtime: i.mtime, extract: i.extract, facts: i.facts }));
  // Picasa's .picasa.ini and an iCloud export's CSVs beside the walked files.
  const beside = await loadFolderSidecars(walked.files.map((f) => f.path));
  const plainFiles: ImportEntry[] = walked.files.map((f) => ({ ...f, ...beside.get(f.path) }));
  const files: ImportEntry[] = [...plainFiles, ...takeoutFiles];
  events.onWalked?.(files.length);

  const summary: ImportSummary = {
    dryRun,
    mode: opts.mode,
    counts: { found: files.length, imported: 0, duplicates: 0, healed: 0, failed: 0, knownFailures: 0, skipped: walked.skipped.length, resumed: 0 },
    skippedByReason: {},
    imported: [],
    duplicates: [],
    healed: [],
    failures: [],
    knownFailures: [],
    warnings: [],
    stages: {},
    durationMs: 0,
  };
  for (const s of walked.skipped) summary.skippedByReason[s.reason] = (summary.skippedByReason[s.reason] ?? 0) + 1;
  // Left out for a reason the user must act on (an unreadable folder, a name that cannot be passed
  // on, a link out of the source): failures, each listed once.
  const reported = walked.skipped.filter((s) => REPORTED_SKIPS.has(s.reason));

  const importer = ctx && !dryRun ? new Importer(ctx, opts, events) : undefined;
  // Interrupted and expired purges first: a re-imported file then never meets a row on its way out.
  if (importer) await trashMaintenance(ctx!);
  // In-place folders are remembered, so that `immich index` finds new sub-folders of them too.
  if (importer && opts.mode === 'in-place' && !opts.noRoots) {
    const dirs = [];
    for (const p of plain) if (await fsp.stat(fsPath(p)).then((st) => st.isDirectory(), () => false)) dirs.push(p);
    if (dirs.length) {
      const ignore = opts.ignore ?? [];
      await ctx!.db
        .insertInto('in_place_roots')
        .values(dirs.map((d) => ({ path: d, ignore })))
        .onConflict((oc) => oc.column('path').doUpdateSet({ ignore }))
        .execute();
    }
  }
  const outcomes: FileOutcome[] = importer
    ? await importer.run(files)
    : await dryRunFiles(ctx, files, opts, events);

  for (const o of outcomes) {
    if (o.action === 'imported') {
      summary.counts.imported++;
      summary.imported.push({ path: o.path, target: o.target ?? '', assetId: o.assetId });
    } else if (o.action === 'healed') {
      summary.counts.healed++;
      summary.healed.push({ path: o.path, target: o.target ?? '', assetId: o.assetId });
    } else if (o.action === 'duplicate') {
      summary.counts.duplicates++;
      summary.duplicates.push({ path: o.path, of: o.duplicateOf ?? '' });
    } else if (o.known) {
      summary.counts.knownFailures++;
      summary.knownFailures.push({ path: o.path, stage: o.stage ?? 'import', reason: o.reason ?? 'failed' });
    } else {
      summary.counts.failed++;
      summary.failures.push({ path: o.path, stage: o.stage ?? 'import', reason: o.reason ?? 'failed' });
    }
  }
  for (const s of reported) {
    summary.counts.failed++;
    summary.failures.push({ path: s.path, stage: 'walk', reason: s.detail && s.reason === 'unreadable' ? `cannot read: ${s.detail}` : (s.detail ?? s.reason) });
  }
  if (importer) {
    const { stages, failures, warnings, resumed } = await importer.finish();
    summary.stages = stages;
    summary.warnings = warnings;
    summary.counts.resumed = resumed;
    summary.failures.push(...failures);
  }
  if (scan) summary.takeout = await applyTakeout(ctx && !dryRun ? ctx : undefined, scan, outcomes);
  if (ctx && !dryRun) {
    const extras = await applySidecarExtras(ctx, files, outcomes);
    if (extras.albumAdditions || extras.namedFaces) summary.fromSidecars = extras;
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

/**
 * After the stages: albums from Picasa/iCloud for every file of the run (duplicates included, so a
 * re-run after a kill completes them), and named face regions (Picasa's, and XMP's of new assets).
 */
async function applySidecarExtras(ctx: Context, files: ImportEntry[], outcomes: FileOutcome[]): Promise<{ albumAdditions: number; namedFaces: number }> {
  const albums = new Map<string, { description?: string; ids: Set<string> }>();
  const regions = new Map<string, FaceRegion[]>();
  files.forEach((f, i) => {
    const o = outcomes[i];
    if (!o?.assetId || o.action === 'failed') return;
    for (const a of f.albums ?? []) {
      const e = albums.get(a.name) ?? albums.set(a.name, { description: a.description, ids: new Set() }).get(a.name)!;
      e.ids.add(o.assetId);
    }
    // Picasa's regions come from the folder's .picasa.ini on every run; XMP's were saved with the row (below).
    const r = f.faceRegions ?? [];
    if (r.length && !regions.has(o.assetId)) regions.set(o.assetId, r);
  });
  let albumAdditions = 0;
  for (const [name, a] of albums) {
    const { album, created } = await ensureAlbum(ctx.db, name.replaceAll('/', '\u2215'));
    if (created && a.description) await describeAlbum(ctx.db, album.id, a.description);
    albumAdditions += await addToAlbum(ctx.db, album.id, [...a.ids]);
  }
  // XMP regions saved with their asset rows, this run's and those a killed run left.
  const pending = await ctx.db.selectFrom('asset_face_regions_pending').select(['asset_id', 'regions']).execute();
  for (const p of pending) {
    const saved = (typeof p.regions === 'string' ? JSON.parse(p.regions) : p.regions) as FaceRegion[];
    regions.set(p.asset_id, [...(regions.get(p.asset_id) ?? []), ...saved]);
  }
  const namedFaces = regions.size ? await applyFaceRegions(ctx, regions) : 0;
  // Applied (idempotent: a region matching its own face is left alone), so a kill before this line is harmless.
  for (let k = 0; k < pending.length; k += 1000) {
    await ctx.db.deleteFrom('asset_face_regions_pending').where('asset_id', 'in', pending.slice(k, k + 1000).map((p) => p.asset_id)).execute();
  }
  return { albumAdditions, namedFaces };
}

/** --dry-run: hash, dedupe and probe, write nothing. */
async function dryRunFiles(ctx: Context | undefined, files: ImportEntry[], opts: ImportOptions, events: ImportEvents): Promise<FileOutcome[]> {
  const outcomes: FileOutcome[] = new Array(files.length);
  const firstOf = new Map<string, string>();
  const gate = new Turnstile();
  let finished = 0;
  await pool(files.length, opts.concurrency, async (i) => {
    const file = files[i]!;
    let outcome: FileOutcome;
    const local = file.extract ? extractTarget(os.tmpdir(), file) : file.path;
    try {
      const sha1 = file.extract ? await file.extract(local) : await sha1File(file.path);
      const existing = ctx
        ? await ctx.db.selectFrom('assets').select(['library_path']).where('checksum', '=', sha1).executeTakeFirst()
        : undefined;
      await gate.wait(i);
      const first = firstOf.get(sha1);
      if (!first) firstOf.set(sha1, file.path);
      gate.pass(i);
      if (existing) outcome = { path: file.path, action: 'duplicate', duplicateOf: existing.library_path };
      else if (first) outcome = { path: file.path, action: 'duplicate', duplicateOf: first };
      else {
        await probeFile(local, { maxPixels: ctx ? maxImagePixels(ctx.config) : undefined, tmpDir: ctx ? ctx.library.folder('tmp') : os.tmpdir() });
        outcome = { path: file.path, action: 'imported', target: opts.mode === 'in-place' ? file.path : '' };
      }
    } catch (err) {
      gate.pass(i);
      outcome = { path: file.path, action: 'failed', stage: err instanceof ItemError ? 'probe' : 'read', reason: causeOf(err, file.path, local) };
    } finally {
      if (local !== file.path) await fsp.rm(fsPath(local), { force: true });
    }
    outcomes[i] = outcome;
    events.onFile?.(outcome, ++finished, files.length);
  });
  return outcomes;
}

/** Run task(0..n-1) with at most `limit` at once, started in index order. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, n)) }, () => worker()));
}

class Importer {
  private readonly gateDedupe = new Turnstile();
  private readonly gatePlace = new Turnstile();
  /** checksum → the first file of this run with it, and its final outcome. */
  private readonly batch = new Map<string, { path: string; outcome: Promise<FileOutcome> }>();
  /** Library-relative paths taken by this run. */
  private readonly reserved = new Set<string>();
  private readonly cleanedDirs = new Set<string>();
  /** Assets this run imported or resumed, with the path of this run that stands for them. */
  private readonly touched = new Map<string, string>();
  /** Assets found already in the library: their unfinished stages are queued again. */
  private readonly existing = new Set<string>();
  private readonly importedIds = new Set<string>();
  private previousFailures = new Set<string>();
  /** Failures of earlier runs: path → the file's size and mtime then, and the cause. */
  private readonly knownFailures = new Map<string, { stage: string; reason: string; size: number | null; mtime: Date | null; at: Date }>();
  /** Since when the current environment holds (stage-environment.ts); undefined with retryFailed. */
  private settledSince?: Date;
  /** Sidecars beside imported files that were not used (links, not XMP, too large): one line each. */
  private readonly sidecarWarnings: ImportFailure[] = [];
  /** Library assets with the size of a file of this run, by checksum (read once, at the start). */
  private readonly librarySameSize = new Map<string, { id: string; library_path: string; original_path: string; storage_mode: string }>();
  /** Cumulative milliseconds per step over all files (logged at debug level, for tuning). */
  private readonly timings: Record<string, number> = {};
  private enqueueSeq = 0;
  private importDone = false;
  private kick?: () => void;
  private drainer?: Promise<void>;
  /**
   * On PostgreSQL several imports may run at once: content and target names are claimed in the
   * database before a file is placed (the embedded database admits one process, which needs none).
   */
  private readonly claims?: ImportClaims;

  private readonly storageTemplate: Template;

  constructor(private readonly ctx: Context, private readonly opts: ImportOptions, private readonly events: ImportEvents) {
    this.storageTemplate = storageTemplateFrom(ctx.config.raw);
    if (ctx.config.database.kind === 'postgres' && opts.mode !== 'in-place') this.claims = new ImportClaims(ctx.db);
  }

  async run(files: ImportEntry[]): Promise<FileOutcome[]> {
    // Decoders' temp files of dead runs (the per-folder clean-up covers uploads/, thumbs/, encoded/).
    await cleanStaleTemps(this.ctx.library.folder('tmp'), { decoders: true });
    const rows = await this.ctx.db.selectFrom('import_failures').select(['path', 'stage', 'reason', 'file_size', 'file_mtime', 'created_at']).execute();
    this.previousFailures = new Set(rows.map((r) => r.path));
    for (const r of rows) {
      this.knownFailures.set(r.path, { stage: r.stage, reason: r.reason, size: r.file_size, mtime: r.file_mtime ? new Date(r.file_mtime) : null, at: new Date(r.created_at) });
    }
    if (!this.opts.retryFailed) this.settledSince = await environmentSince(this.ctx);
    // A file already in the library has the size of its asset: one query per DB_CHUNK sizes finds
    // every candidate, instead of a checksum lookup per file (the embedded database pays per statement).
    const sizes = [...new Set(files.map((f) => f.size))];
    for (let k = 0; k < sizes.length; k += DB_CHUNK) {
      const known = await this.ctx.db
        .selectFrom('assets')
        .select(['id', 'checksum', 'library_path', 'original_path', 'storage_mode'])
        .where('file_size', 'in', sizes.slice(k, k + DB_CHUNK))
        .execute();
      for (const r of known) this.librarySameSize.set(r.checksum, r);
    }
    if (this.opts.wait !== false) this.drainer = this.drainLoop();

    const outcomes: FileOutcome[] = new Array(files.length);
    let finished = 0;
    try {
      // Files mostly wait (reads, fsync, exiftool processes): keep more in flight than there are
      // cores so the CPU-bound parts (exiftool, stage workers at ctx.concurrency) never starve.
      await pool(files.length, this.opts.concurrency * FILES_PER_WORKER, async (i) => {
        const known = this.unchangedFailure(files[i]!);
        if (known) {
          // Never reaches the dedupe/placement turnstiles: let the files after it through.
          this.gateDedupe.pass(i);
          this.gatePlace.pass(i);
        }
        const outcome = known ?? (await this.importOne(files[i]!, i));
        outcomes[i] = outcome;
        this.events.onFile?.(outcome, ++finished, files.length);
      });
    } catch (err) {
      this.importDone = true;
      this.kick?.();
      await this.drainer?.catch(() => undefined);
      throw err;
    }
    return outcomes;
  }

  /** Queue the unfinished stages of assets that were already in the library, wait for the queue, summarise. */
  async finish(): Promise<{ stages: Record<string, StageCounts>; failures: ImportFailure[]; warnings: ImportFailure[]; resumed: number }> {
    const resumed = await this.resumeExisting();
    this.importDone = true;
    this.kick?.();
    const filesDone = performance.now();
    await this.drainer;
    // A Redis restarted without persistence loses queued jobs (and the run's pending set, so the
    // drain ends): the stages the database still has pending are queued again, a few times at most.
    for (let round = 0; round < 3 && this.drainer && this.ctx.queue.kind === 'redis'; round++) {
      const lost = await this.pendingJobs();
      if (!lost.length) break;
      this.ctx.logger.warn(`${lost.length} queued jobs were lost by Redis (restarted without persistence?); queueing them again`);
      await this.ctx.queue.enqueue(lost);
      await this.ctx.queue.drain((p) => this.events.onStage?.(p));
    }
    this.timings['stages after last file'] = performance.now() - filesDone;
    this.ctx.logger.debug(
      `import timings (ms summed over workers): ${Object.entries(this.timings).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')}`,
    );
    const summary = await this.stageSummary();
    return { ...summary, warnings: [...this.sidecarWarnings, ...summary.warnings], resumed };
  }

  private async time<T>(step: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.timings[step] = (this.timings[step] ?? 0) + performance.now() - t0;
    }
  }

  private async enqueue(jobs: JobSpec[]): Promise<void> {
    if (!jobs.length) return;
    await this.ctx.queue.enqueue(jobs);
    this.enqueueSeq++;
    this.kick?.();
  }

  /** Stages run while files are still being imported (overlaps I/O with decoding). */
  private async drainLoop(): Promise<void> {
    for (;;) {
      const seq = this.enqueueSeq;
      // Outcomes are read back from asset_job_status at the end (the same in Redis mode).
      if (seq > 0) await this.ctx.queue.drain((p) => this.events.onStage?.(p));
      if (this.enqueueSeq !== seq) continue;
      if (this.importDone) return;
      await new Promise<void>((r) => {
        this.kick = r;
        if (this.enqueueSeq !== seq || this.importDone) r();
      });
      this.kick = undefined;
    }
  }

  /**
   * A file that failed before, with the same size and mtime, in the environment that holds now: it
   * would fail the same way, so it is reported as known and not tried (or listed) again.
   */
  private unchangedFailure(file: WalkEntry): FileOutcome | undefined {
    const k = this.knownFailures.get(file.path);
    if (!k || !this.settledSince || k.size === null || !k.mtime) return undefined;
    if (k.size !== file.size || Math.abs(k.mtime.getTime() - file.mtime.getTime()) >= 1000) return undefined;
    if (k.at.getTime() < this.settledSince.getTime()) return undefined;
    return { path: file.path, action: 'failed', stage: k.stage, reason: k.reason, known: true };
  }

  private async recordFailure(file: WalkEntry, stage: string, reason: string): Promise<void> {
    const now = new Date();
    const values = { reason, created_at: now, file_size: file.size, file_mtime: file.mtime };
    await this.ctx.db
      .insertInto('import_failures')
      .values({ path: file.path, stage, ...values })
      .onConflict((oc) => oc.columns(['path', 'stage']).doUpdateSet(values))
      .execute();
    this.previousFailures.add(file.path);
  }

  private async clearFailures(file: string): Promise<void> {
    if (!this.previousFailures.has(file)) return;
    await this.ctx.db.deleteFrom('import_failures').where('path', '=', file).execute();
    this.previousFailures.delete(file);
  }

  private async importOne(file: ImportEntry, i: number): Promise<FileOutcome> {
    // A file inside a zip is copied out (to the library's tmp/) only while it is being imported.
    const local = file.extract ? extractTarget(this.ctx.library.folder('tmp'), file) : file.path;
    try {
      return await this.importLocal(file, local, i);
    } finally {
      if (local !== file.path) await fsp.rm(local, { force: true });
    }
  }

  private async importLocal(file: ImportEntry, local: string, i: number): Promise<FileOutcome> {
    let stage = 'read';
    let dedupePassed = false;
    let placePassed = false;
    const passDedupe = () => { if (!dedupePassed) { dedupePassed = true; this.gateDedupe.pass(i); } };
    const passPlace = () => { if (!placePassed) { placePassed = true; this.gatePlace.pass(i); } };
    let settle!: (o: FileOutcome) => void;
    const mine = new Promise<FileOutcome>((r) => (settle = r));
    const done = (o: FileOutcome) => { passDedupe(); passPlace(); settle(o); return o; };
    // What this file holds in the database's claims (PostgreSQL): released whatever the outcome.
    let claimedSum: string | undefined;
    let claimedPath: string | undefined;

    try {
      // A small original is read once: the bytes hashed for the dedupe are the bytes written into the
      // library (no second read and hash of the source when it is copied).
      const extracted = file.extract ? await this.time('extract', () => file.extract!(local)) : undefined;
      let bytes = this.opts.mode === 'copy' && file.size <= READ_ONCE_MAX_BYTES ? await this.time('hash', () => fsp.readFile(fsPath(local))) : undefined;
      const sha1 = extracted ?? (await this.time('hash', async () => (bytes ? sha1Bytes(bytes) : sha1File(local))));
      const existing = this.librarySameSize.get(sha1);

      // In walk order: the first file with this content of the run is the one imported.
      await this.time('wait', () => this.gateDedupe.wait(i));
      const first = this.batch.get(sha1);
      if (!first) this.batch.set(sha1, { path: file.path, outcome: mine });
      passDedupe();

      // A repeat within the run wins over the library lookup, which may already see the first's row.
      if (existing && !first) {
        this.existing.add(existing.id);
        if (!this.touched.has(existing.id)) this.touched.set(existing.id, file.path);
        // A move killed between committing the row and removing the source: finish it.
        if (this.opts.mode === 'move' && existing.storage_mode === 'move' && existing.original_path === file.path) {
          await this.finishMove(file.path, this.ctx.library.resolve(existing.library_path), sha1);
        }
        // The asset's original is gone (deleted by hand, lost disk): this file puts it back.
        const healed = await this.time('place', () => this.heal(file, existing, sha1, bytes));
        bytes = undefined;
        await this.clearFailures(file.path);
        if (healed) return done({ path: file.path, action: 'healed', assetId: existing.id, target: healed });
        return done({ path: file.path, action: 'duplicate', assetId: existing.id, duplicateOf: existing.library_path });
      }
      if (first) {
        passPlace();
        const o = await first.outcome;
        if (o.action === 'failed') {
          return done({ path: file.path, action: 'failed', stage: o.stage, reason: `${o.reason} (same content as ${first.path})` });
        }
        await this.clearFailures(file.path);
        return done({ path: file.path, action: 'duplicate', assetId: o.assetId, duplicateOf: first.path });
      }
      if (this.claims) {
        while (!(await this.claims.tryClaim('checksum', sha1))) {
          // Another process is importing this content. Waiting holds no turn of this run (a claim
          // holder never waits for a claim, so two runs cannot wait for each other).
          passPlace();
          await this.claims.waitReleased('checksum', sha1);
        }
        claimedSum = sha1;
        // Imported by another process since this run looked (its claim is released once its row is in).
        const other = await this.ctx.db.selectFrom('assets').select(['id', 'library_path']).where('checksum', '=', sha1).executeTakeFirst();
        if (other) return done({ path: file.path, action: 'duplicate', assetId: other.id, duplicateOf: other.library_path });
      }

      stage = 'probe';
      const ffmpeg = () => getFfmpeg(this.ctx);
      const probe = await this.time('probe', () => probeFile(local, { maxPixels: maxImagePixels(this.ctx.config), ffmpeg, tmpDir: this.ctx.library.folder('tmp') }));
      stage = 'metadata';
      let meta: MediaMetadata | undefined;
      let metaError: string | undefined;
      const metaStarted = performance.now();
      try {
        meta = await this.time('metadata', () => extractMetadata(this.ctx, local, { probe, mtime: file.mtime }));
      } catch (err) {
        metaError = causeOf(err, file.path, local);
      }
      // What the file does not say, its Takeout sidecar may: before the dated folder is chosen.
      const applied = meta && file.facts ? applyFacts(meta, file.facts) : undefined;
      const metaMs = performance.now() - metaStarted;

      // In walk order again: which name in the dated folder this file gets.
      stage = 'place';
      await this.time('wait', () => this.gatePlace.wait(i));
      let target: string;
      let adopted = false;
      try {
        ({ target, adopted } = await this.chooseTarget(file, sha1, meta));
        if (this.claims && this.opts.mode !== 'in-place') claimedPath = target;
      } finally {
        passPlace();
      }

      const abs = this.ctx.library.resolve(target);
      if (!adopted && this.opts.mode !== 'in-place') await this.time('place', () => this.place(local, abs, sha1, bytes));
      bytes = undefined;
      // The XMP sidecar travels with the file (as <name>.xmp), so the library is self-contained and a
      // later metadata run on the library copy sees it; exif.sidecar_path is then library-relative.
      const sourceSidecar = meta?.sidecarPath ?? undefined;
      if (meta?.sidecarSkipped) this.sidecarWarnings.push({ path: file.path, stage: 'metadata', reason: meta.sidecarSkipped });
      if (meta && sourceSidecar && this.opts.mode !== 'in-place') {
        const sidecarTarget = `${target}.xmp`;
        try {
          // The bytes checked (a regular file, not a link, XMP) are the bytes written.
          await this.time('place', async () => {
            const { data, mode } = await readSidecarFile(sourceSidecar);
            await writeFileAtomic(this.ctx.library.resolve(sidecarTarget), data, libraryMode(mode));
          });
          meta.sidecarPath = sidecarTarget;
        } catch (err) {
          // Shared by two files and already moved with the first one: nothing left to carry.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
            if ((err as NodeJS.ErrnoException).code) throw err;
            this.sidecarWarnings.push({ path: file.path, stage: 'metadata', reason: `sidecar ${sourceSidecar} skipped: ${(err as Error).message}` });
          }
          meta.sidecarPath = null;
        }
      }

      stage = 'database';
      const dbStarted = performance.now();
      const inserted = await this.insertAsset({ file, sha1, target, probe, meta, metaError, metaMs, dateFromSidecar: applied?.dateFromSidecar, gpsFromSidecar: applied?.gpsFromSidecar });
      if (!inserted) {
        // Another process imported the same content meanwhile: ours is a duplicate, drop our copy,
        // but only one this run wrote (under its claim of the name): an adopted file is left alone.
        if (this.opts.mode !== 'in-place' && !adopted) await fsp.rm(abs, { force: true });
        this.reserved.delete(target);
        const other = await this.ctx.db.selectFrom('assets').select(['id', 'library_path']).where('checksum', '=', sha1).executeTakeFirstOrThrow();
        return done({ path: file.path, action: 'duplicate', assetId: other.id, duplicateOf: other.library_path });
      }
      metaError = inserted.metaError;
      const assetId = inserted.id;
      this.touched.set(assetId, file.path);
      this.importedIds.add(assetId);
      // --move: the source goes only once the row that points at the placed file is committed.
      if (this.opts.mode === 'move' && abs !== file.path) {
        await fsp.unlink(fsPath(file.path)).catch(() => undefined);
        if (sourceSidecar) await fsp.unlink(fsPath(sourceSidecar)).catch(() => undefined);
      }
      await this.clearFailures(file.path);
      this.timings.db = (this.timings.db ?? 0) + performance.now() - dbStarted;
      if (!metaError) {
        const next = nextStages('metadata', probe.type).filter((s) => !this.opts.onlyStages || this.opts.onlyStages.has(s));
        // In-process, the row just inserted goes with the jobs: the processor needs no lookup.
        const fresh = this.ctx.queue.kind === 'inline' ? { id: assetId, type: probe.type, library_path: target, original_name: file.name ?? path.basename(file.path) } : undefined;
        await this.enqueue(next.map((s) => ({ stage: s, assetId, fresh })));
      }
      return done({
        path: file.path, action: 'imported', assetId, target,
        ...(applied?.dateConflict ? { dateConflict: applied.dateConflict } : {}),
      });
    } catch (err) {
      // Not this file's fault: stop the import rather than fail every remaining file the same way.
      if (err instanceof EnvironmentError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(fsPath(file.path))) {
        // Gone since the walk: moved into the library by another import of the same folder?
        const other = await this.ctx.db.selectFrom('assets').select(['id', 'library_path']).where('original_path', '=', file.path).executeTakeFirst();
        if (other) return done({ path: file.path, action: 'duplicate', assetId: other.id, duplicateOf: other.library_path });
      }
      // EIO reading a source (a failing card) is that file's problem; the rest is the environment's.
      const env = errorCode(err) === 'EIO' ? undefined : environmentCause(err);
      if (env) {
        const code = errorCode(err);
        const where = code && /^E(NOSPC|DQUOT|ROFS|IO)$/.test(code) ? `library folder ${this.ctx.library.root}` : this.ctx.database.target;
        throw new EnvironmentError(`${where}: ${env} (while importing ${file.path})`, { cause: err });
      }
      const reason = causeOf(err, file.path, local);
      await this.recordFailure(file, stage, reason).catch((e) =>
        this.ctx.logger.warn(`recording import failure of ${file.path}: ${errorMessage(e)}`),
      );
      return done({ path: file.path, action: 'failed', stage, reason });
    } finally {
      if (claimedPath) await this.claims!.release('path', claimedPath);
      if (claimedSum) await this.claims!.release('checksum', claimedSum);
    }
  }

  /**
   * The asset row, its exif row and its metadata stage status in one statement: one round trip and
   * one commit (the embedded database pays per statement), and the asset never exists without the
   * record of its metadata stage. Returns undefined when a row with this checksum exists already
   * (another process imported the same content meanwhile).
   */
  private async insertAsset(f: {
    file: ImportEntry;
    sha1: string;
    target: string;
    probe: ProbeResult;
    meta: MediaMetadata | undefined;
    metaError: string | undefined;
    metaMs: number;
    /** The capture date came from the file's sidecar (a Takeout JSON), not from the file. */
    dateFromSidecar?: boolean;
    /** So did the position. */
    gpsFromSidecar?: boolean;
  }): Promise<{ id: string; metaError?: string } | undefined> {
    const { file, sha1, target, probe, meta } = f;
    const id = assetIdFor(sha1);
    const now = new Date();
    const oriented = meta?.width && meta.height ? { width: meta.width, height: meta.height } : { width: probe.width ?? null, height: probe.height ?? null };
    const asset = {
      id,
      checksum: sha1,
      original_path: file.path,
      original_name: file.name ?? path.basename(file.path),
      library_path: target,
      storage_mode: this.opts.mode,
      type: probe.type,
      mime_type: probe.mime,
      file_size: file.size,
      file_mtime: file.mtime,
      taken_at: meta?.takenAt ?? null,
      local_taken_at: meta?.localTakenAt ?? null,
      time_zone: meta?.timeZone ?? null,
      ...oriented,
      thumbhash: null,
      live_photo_video_id: null,
      updated_at: now,
      // A Takeout's flags go in with the row: a run killed after the insert leaves nothing to redo.
      ...(f.dateFromSidecar ? { date_source: file.facts?.source ?? 'takeout' } : {}),
      ...(file.facts?.favorite ? { is_favorite: true } : {}),
      ...(file.facts?.archived ? { is_archived: true } : {}),
      ...(file.facts?.trashed ? { deleted_at: now } : {}),
      ...(file.facts?.description ? { description: file.facts.description } : {}),
    };
    const write = (exif: boolean, metaError: string | undefined) => {
      const status = {
        asset_id: id,
        stage: 'metadata',
        status: metaError ? ('failed' as const) : ('done' as const),
        attempts: 1,
        error: metaError ?? null,
        duration_ms: Math.round(f.metaMs),
        updated_at: now,
      };
      const q = this.ctx.db
        .with('asset_row', (db) => db.insertInto('assets').values(asset).onConflict((oc) => oc.column('checksum').doNothing()).returning('id'))
        .with('status_row', (db) => db.insertInto('asset_job_status').values(status).returning('asset_id'));
      if (!exif || !meta) return q.selectFrom('asset_row').select('id').executeTakeFirst();
      // XMP face regions wait with the row until the run applies them (a killed run leaves them for the next).
      const regions = meta.faceRegions?.length ? JSON.stringify(meta.faceRegions) : undefined;
      const withExif = q.with('exif_row', (db) => db.insertInto('exif').values({ asset_id: id, ...exifRow(meta, now), ...(f.gpsFromSidecar ? { gps_source: file.facts?.source ?? 'takeout' } : {}) }).returning('asset_id'));
      if (!regions) return withExif.selectFrom('asset_row').select('id').executeTakeFirst();
      return withExif
        .with('regions_row', (db) => db.insertInto('asset_face_regions_pending').values({ asset_id: id, regions }).returning('asset_id'))
        .selectFrom('asset_row')
        .select('id')
        .executeTakeFirst();
    };
    const metaOk = Boolean(meta && !f.metaError);
    try {
      await write(metaOk, f.metaError);
    } catch (err) {
      // A row with this checksum already (the status row then has no asset to point at)?
      const other = await this.ctx.db.selectFrom('assets').select('id').where('checksum', '=', sha1).executeTakeFirst();
      if (other) return undefined;
      if (!metaOk) throw err;
      // The exif values were refused (out of range...): the asset goes in, its metadata stage failed.
      const metaError = `cannot save metadata: ${errorMessage(err)}`;
      await write(false, metaError);
      return { id, metaError };
    }
    // Hierarchical keywords of the file or its sidecar become user tags (source xmp).
    if (metaOk && meta?.hierarchicalTags?.length) {
      const { setAssetTagsFromSource } = await import('../db/user-tags.js');
      await setAssetTagsFromSource(this.ctx.db, id, meta.hierarchicalTags, 'xmp');
    }
    // A Live Photo's still and video: whichever arrives second completes the pair.
    if (metaOk && meta?.livePhotoCid) {
      try {
        await pairLivePhoto(this.ctx.db, id, probe.type, meta.livePhotoCid);
      } catch (err) {
        const metaError = `pairing the Live Photo: ${errorMessage(err)}`;
        await this.recordStage(id, 'metadata', 'failed', metaError, f.metaMs);
        return { id, metaError };
      }
    }
    return { id, metaError: f.metaError };
  }

  /**
   * The library path for a new file. copy/move: uploads/<storage template>, with +1, +2...
   * on collisions; a file already there with the same content and no row is adopted (a killed run
   * placed it). in-place: the file itself.
   */
  private async chooseTarget(file: ImportEntry, sha1: string, meta: MediaMetadata | undefined): Promise<{ target: string; adopted: boolean }> {
    if (this.opts.mode === 'in-place') {
      const taken = await this.ctx.db.selectFrom('assets').select('checksum').where('library_path', '=', file.path).executeTakeFirst();
      if (taken) throw new Error('already in the library with other content (changed since it was imported?)');
      return { target: file.path, adopted: true };
    }
    const first = libraryTarget(this.storageTemplate, {
      date: folderDate(meta, file.mtime),
      // a Takeout item's title (its original name) over a truncated archive name
      name: file.name ?? path.basename(file.path),
      type: meta?.type ?? 'image',
      assetId: assetIdFor(sha1),
      make: meta?.make, model: meta?.model, lens: meta?.lensModel, rating: meta?.rating, description: meta?.description,
    });
    // A copy the library makes has a UTF-8 name (`caf\xe9.jpg` → `caf%E9.jpg`): the tools that read
    // it later take UTF-8 names. The original name, bytes and all, stays in original_path/_name.
    const dir = plainName(path.dirname(first));
    const absDir = this.ctx.library.resolve(dir);
    if (!this.cleanedDirs.has(absDir)) {
      this.cleanedDirs.add(absDir);
      await cleanStaleTemps(absDir, { referenced: (abs) => this.isReferenced(abs) });
    }
    const name = libraryName(plainName(path.basename(first)));
    for (let n = 0; ; n++) {
      const rel = path.join(dir, candidateName(name, n));
      if (this.reserved.has(rel)) continue;
      // Another process is placing a file under this name: never adopt, overwrite or remove it.
      if (this.claims && !(await this.claims.tryClaim('path', rel))) continue;
      const abs = this.ctx.library.resolve(rel);
      if (fs.existsSync(abs)) {
        const row = await this.ctx.db.selectFrom('assets').select('id').where('library_path', '=', rel).executeTakeFirst();
        if (row || !(await sameContent(abs, sha1))) {
          await this.claims?.release('path', rel);
          continue;
        }
        this.reserved.add(rel);
        return { target: rel, adopted: true };
      }
      this.reserved.add(rel);
      return { target: rel, adopted: false };
    }
  }

  /** Whether an asset row points at this library file (as its original or a derived file). */
  private async isReferenced(abs: string): Promise<boolean> {
    const rel = this.ctx.library.relative(abs);
    const asset = await this.ctx.db
      .selectFrom('assets')
      .select('id')
      .where((eb) => eb.or([eb('library_path', '=', rel), eb('library_path', '=', abs)]))
      .executeTakeFirst();
    if (asset) return true;
    return Boolean(await this.ctx.db.selectFrom('asset_files').select('asset_id').where('path', '=', rel).executeTakeFirst());
  }

  /**
   * Put back the missing original of a library asset with the same checksum as `file`: copy/move
   * assets get the file at their library path again; an in-place asset is pointed at `file` when this
   * import is in place too. Returns the asset's library path once healed, undefined when the original
   * is there (a plain duplicate) or cannot be healed this way.
   */
  private async heal(
    file: WalkEntry,
    existing: { id: string; library_path: string; storage_mode: string },
    sha1: string,
    bytes: Buffer | undefined,
  ): Promise<string | undefined> {
    const abs = this.ctx.library.resolve(existing.library_path);
    if (fs.existsSync(fsPath(abs))) return undefined;
    if (existing.storage_mode === 'in-place') {
      if (this.opts.mode !== 'in-place') return undefined;
      await this.ctx.db.updateTable('assets').set({ library_path: file.path, original_path: file.path, file_mtime: file.mtime, updated_at: new Date() }).where('id', '=', existing.id).execute();
      await this.ctx.db.deleteFrom('asset_offline').where('asset_id', '=', existing.id).execute();
      return file.path;
    }
    if (this.opts.mode === 'in-place') return undefined;
    await cleanStaleTemps(path.dirname(abs));
    await this.place(file.path, abs, sha1, bytes);
    if (this.opts.mode === 'move' && abs !== file.path) await fsp.unlink(fsPath(file.path)).catch(() => undefined);
    return existing.library_path;
  }

  /** Remove a moved file's source (and its sidecar) once the library holds the same bytes. */
  private async finishMove(src: string, placed: string, sha1: string): Promise<void> {
    if (src === placed || !(await sameContent(placed, sha1))) return;
    await fsp.unlink(fsPath(src)).catch(() => undefined);
    const placedSidecar = `${placed}.xmp`;
    if (!fs.existsSync(placedSidecar)) return;
    const sum = await sha1File(placedSidecar);
    for (const candidate of sidecarCandidates(src)) {
      if (fs.existsSync(fsPath(candidate)) && (await sameContent(candidate, sum))) await fsp.unlink(fsPath(candidate)).catch(() => undefined);
    }
  }

  /** Copy (or hard-link for --move) into the library; the name appears only once the bytes match. */
  private async place(src: string, target: string, sha1: string, bytes?: Buffer): Promise<void> {
    const mode = libraryMode((await fsp.stat(fsPath(src))).mode);
    // The bytes whose SHA-1 is `sha1`, read before: written as they are (atomically, fsynced).
    if (bytes) return writeFileAtomic(target, bytes, mode);
    if (this.opts.mode === 'move') {
      await fsp.mkdir(path.dirname(target), { recursive: true });
      try {
        // A hard link publishes the same bytes atomically; the source is unlinked after the row is in.
        await fsp.link(fsPath(src), target);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
      }
    }
    await copyFileVerified(src, target, sha1, mode);
  }

  private async recordStage(assetId: string, stage: string, status: 'done' | 'failed', error: string | undefined, ms: number): Promise<void> {
    const now = new Date();
    const values = { status, error: error ?? null, duration_ms: Math.round(ms), updated_at: now };
    await this.ctx.db
      .insertInto('asset_job_status')
      .values({ asset_id: assetId, stage, attempts: 1, ...values })
      .onConflict((oc) => oc.columns(['asset_id', 'stage']).doUpdateSet(values))
      .execute();
  }

  /** Assets found already in the library (or, for --move, whose originals came from these paths). */
  private async resumeExisting(): Promise<number> {
    const ids = new Set([...this.existing].filter((id) => !this.importedIds.has(id)));
    if (this.opts.mode === 'move') {
      // Their sources are gone after a move: find them by original path under the import roots.
      for (const root of this.opts.paths.map((p) => path.resolve(p))) {
        const prefix = root.replace(/[\\%_]/g, (c) => `\\${c}`) + '/%';
        const rows = await this.ctx.db
          .selectFrom('assets')
          .select(['id', 'original_path'])
          .where((eb) => eb.or([eb('original_path', '=', root), eb('original_path', 'like', prefix)]))
          .execute();
        for (const r of rows) {
          if (this.importedIds.has(r.id)) continue;
          ids.add(r.id);
          if (!this.touched.has(r.id)) this.touched.set(r.id, r.original_path);
        }
      }
    }
    let resumed = 0;
    const all = [...ids];
    for (let k = 0; k < all.length; k += DB_CHUNK) {
      const chunk = all.slice(k, k + DB_CHUNK);
      const assets = await this.ctx.db.selectFrom('assets').select(['id', 'type']).where('id', 'in', chunk).execute();
      const byAsset = await loadStageStatus(this.ctx, chunk, { settledSince: this.settledSince });
      const jobs: JobSpec[] = [];
      for (const a of assets) {
        const pending = pendingStages(a.type, byAsset.get(a.id) ?? new Map(), this.opts.onlyStages);
        if (!pending.length) {
          // Nothing left to do: not part of this run's stage report.
          this.touched.delete(a.id);
          continue;
        }
        resumed++;
        // A killed stage may have left temp files beside its outputs.
        for (const folder of ['thumbs', 'encoded'] as const) {
          const dir = path.dirname(this.ctx.library.resolve(this.ctx.library.derivedPath(folder, a.id, '')));
          await cleanStaleTemps(dir, { referenced: (abs) => this.isReferenced(abs) });
        }
        for (const stage of pending) jobs.push({ stage, assetId: a.id });
      }
      await this.enqueue(jobs);
    }
    return resumed;
  }

  /** Stages of this run's assets that the database says are still to do. */
  private async pendingJobs(): Promise<JobSpec[]> {
    const jobs: JobSpec[] = [];
    const ids = [...this.touched.keys()];
    for (let k = 0; k < ids.length; k += DB_CHUNK) {
      const chunk = ids.slice(k, k + DB_CHUNK);
      const assets = await this.ctx.db.selectFrom('assets').select(['id', 'type']).where('id', 'in', chunk).execute();
      const byAsset = await loadStageStatus(this.ctx, chunk, { settledSince: this.settledSince });
      for (const a of assets) for (const stage of pendingStages(a.type, byAsset.get(a.id) ?? new Map(), this.opts.onlyStages)) jobs.push({ stage, assetId: a.id });
    }
    return jobs;
  }

  private async stageSummary(): Promise<{ stages: Record<string, StageCounts>; failures: ImportFailure[]; warnings: ImportFailure[] }> {
    const stages: Record<string, StageCounts> = {};
    const failures: ImportFailure[] = [];
    const warnings: ImportFailure[] = [];
    const ids = [...this.touched.keys()];
    for (let k = 0; k < ids.length; k += DB_CHUNK) {
      const chunk = ids.slice(k, k + DB_CHUNK);
      const rows = await this.ctx.db
        .selectFrom('asset_job_status')
        .innerJoin('assets', 'assets.id', 'asset_job_status.asset_id')
        .select(['asset_id', 'stage', 'status', 'error', 'assets.library_path'])
        .where('asset_id', 'in', chunk)
        .execute();
      for (const r of rows) {
        const c = (stages[r.stage] ??= { done: 0, failed: 0, skipped: 0, pending: 0 });
        if (r.status === 'done') {
          c.done++;
          // A message on success is a caveat, except the video stage's, which says why it transcoded.
          if (r.error && r.stage !== 'video') {
            const file = this.touched.get(r.asset_id) ?? r.asset_id;
            warnings.push({ path: file, stage: r.stage, reason: causeOf(r.error, this.ctx.library.resolve(r.library_path), file) });
          }
        } else if (r.status === 'failed') {
          c.failed++;
          const file = this.touched.get(r.asset_id) ?? r.asset_id;
          failures.push({ path: file, stage: r.stage, reason: causeOf(r.error ?? 'failed', this.ctx.library.resolve(r.library_path), file) });
        } else if (r.status === 'skipped') c.skipped++;
        else c.pending++;
      }
    }
    failures.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    // Pipeline order, then any stage another area added.
    const order = (s: string) => { const i = (ASSET_STAGES as readonly string[]).indexOf(s); return i < 0 ? 99 : i; };
    const sorted = Object.fromEntries(Object.entries(stages).sort(([a], [b]) => order(a) - order(b)));
    return { stages: sorted, failures, warnings };
  }
}
