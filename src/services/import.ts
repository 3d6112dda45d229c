// `immich import`: walk → SHA-1 → dedupe (library and batch) → probe → metadata → place in the
// library (copy by date, move, or reference in place) → asset row → queue the follow-up stages.
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
import path from 'node:path';
import type { Context } from '../context.js';
import { EnvironmentError, ItemError, UsageError, errorMessage } from '../errors.js';
import { ASSET_STAGES, type JobSpec, type QueueProgress, type Stage } from '../jobs/types.js';
import { sidecarCandidates } from '../media/formats.js';
import { copyFileVerified, writeFileAtomic } from '../storage/atomic.js';
import { sha1Bytes, sha1File } from '../storage/checksum.js';
import { walk, type SkipReason, type WalkEntry } from '../storage/walk.js';
import {
  calendarDateOf,
  candidateName,
  datedFolder,
  pendingStages,
  tempFileOwner,
  Turnstile,
  type CalendarDate,
  type ImportMode,
} from './import-plan.js';
import {
  exifRow, extractMetadata, getFfmpeg, maxImagePixels, pairLivePhoto, probeFile, type MediaMetadata, type ProbeResult,
} from './media.js';
import { loadStageStatus, nextStages } from './pipeline.js';

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
  /**
   * Wait for the queued stages to finish (default). `--no-wait` (Redis mode) sets this to false:
   * the import returns once its jobs are queued and the workers finish them.
   */
  wait?: boolean;
}

export type FileAction = 'imported' | 'duplicate' | 'failed';

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
  counts: { found: number; imported: number; duplicates: number; failed: number; skipped: number; resumed: number };
  skippedByReason: Partial<Record<SkipReason, number>>;
  imported: Array<{ path: string; target: string; assetId?: string }>;
  duplicates: Array<{ path: string; of: string }>;
  failures: ImportFailure[];
  /** Stages that succeeded with a caveat (e.g. a truncated JPEG rendered as far as it decodes). */
  warnings: ImportFailure[];
  stages: Record<string, StageCounts>;
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

/** Remove temp files left in `dir` by runs that are no longer alive (SIGKILL, crash). */
export async function cleanStaleTemps(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = tempFileOwner(name);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    await fsp.rm(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

/** Calendar date that names the file's folder: local capture date, else UTC capture time, else mtime. */
function folderDate(meta: MediaMetadata | undefined, mtime: Date): CalendarDate {
  return calendarDateOf(meta?.localTakenAt) ?? calendarDateOf(meta?.takenAt) ?? calendarDateOf(mtime) ?? { year: 1970, month: 1, day: 1 };
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
      await fsp.stat(p);
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
    for (const p of paths) {
      // (The opposite, the library inside an imported folder, is fine: the walk skips it.)
      if (isInside(p, ctx.library.root)) {
        throw new UsageError(`${p} is inside the library ${ctx.library.root}; use --in-place or import from elsewhere`);
      }
    }
  }

  const walked = await walk(paths, {
    includeHidden: opts.includeHidden,
    ignore: opts.ignore,
    excludeDirs: ctx ? [ctx.library.root] : [],
  });
  const files = walked.files;
  events.onWalked?.(files.length);

  const summary: ImportSummary = {
    dryRun,
    mode: opts.mode,
    counts: { found: files.length, imported: 0, duplicates: 0, failed: 0, skipped: walked.skipped.length, resumed: 0 },
    skippedByReason: {},
    imported: [],
    duplicates: [],
    failures: [],
    warnings: [],
    stages: {},
    durationMs: 0,
  };
  for (const s of walked.skipped) summary.skippedByReason[s.reason] = (summary.skippedByReason[s.reason] ?? 0) + 1;

  const importer = ctx && !dryRun ? new Importer(ctx, opts, events) : undefined;
  const outcomes: FileOutcome[] = importer
    ? await importer.run(files)
    : await dryRunFiles(ctx, files, opts, events);

  for (const o of outcomes) {
    if (o.action === 'imported') {
      summary.counts.imported++;
      summary.imported.push({ path: o.path, target: o.target ?? '', assetId: o.assetId });
    } else if (o.action === 'duplicate') {
      summary.counts.duplicates++;
      summary.duplicates.push({ path: o.path, of: o.duplicateOf ?? '' });
    } else {
      summary.counts.failed++;
      summary.failures.push({ path: o.path, stage: o.stage ?? 'import', reason: o.reason ?? 'failed' });
    }
  }
  if (importer) {
    const { stages, failures, warnings, resumed } = await importer.finish();
    summary.stages = stages;
    summary.warnings = warnings;
    summary.counts.resumed = resumed;
    summary.failures.push(...failures);
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

/** --dry-run: hash, dedupe and probe, write nothing. */
async function dryRunFiles(ctx: Context | undefined, files: WalkEntry[], opts: ImportOptions, events: ImportEvents): Promise<FileOutcome[]> {
  const outcomes: FileOutcome[] = new Array(files.length);
  const firstOf = new Map<string, string>();
  const gate = new Turnstile();
  let finished = 0;
  await pool(files.length, opts.concurrency, async (i) => {
    const file = files[i]!;
    let outcome: FileOutcome;
    try {
      const sha1 = await sha1File(file.path);
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
        await probeFile(file.path, { maxPixels: ctx ? maxImagePixels(ctx.config) : undefined });
        outcome = { path: file.path, action: 'imported', target: opts.mode === 'in-place' ? file.path : '' };
      }
    } catch (err) {
      gate.pass(i);
      outcome = { path: file.path, action: 'failed', stage: err instanceof ItemError ? 'probe' : 'read', reason: causeOf(err, file.path) };
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
  /** Library assets with the size of a file of this run, by checksum (read once, at the start). */
  private readonly librarySameSize = new Map<string, { id: string; library_path: string; original_path: string; storage_mode: string }>();
  /** Cumulative milliseconds per step over all files (logged at debug level, for tuning). */
  private readonly timings: Record<string, number> = {};
  private enqueueSeq = 0;
  private importDone = false;
  private kick?: () => void;
  private drainer?: Promise<void>;

  constructor(private readonly ctx: Context, private readonly opts: ImportOptions, private readonly events: ImportEvents) {}

  async run(files: WalkEntry[]): Promise<FileOutcome[]> {
    // Decoders' temp files of dead runs (the per-folder clean-up covers uploads/, thumbs/, encoded/).
    await cleanStaleTemps(this.ctx.library.folder('tmp'));
    const rows = await this.ctx.db.selectFrom('import_failures').select('path').distinct().execute();
    this.previousFailures = new Set(rows.map((r) => r.path));
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
        const outcome = await this.importOne(files[i]!, i);
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
    this.timings['stages after last file'] = performance.now() - filesDone;
    this.ctx.logger.debug(
      `import timings (ms summed over workers): ${Object.entries(this.timings).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')}`,
    );
    return { ...(await this.stageSummary()), resumed };
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

  private async recordFailure(file: string, stage: string, reason: string): Promise<void> {
    const now = new Date();
    await this.ctx.db
      .insertInto('import_failures')
      .values({ path: file, stage, reason, created_at: now })
      .onConflict((oc) => oc.columns(['path', 'stage']).doUpdateSet({ reason, created_at: now }))
      .execute();
    this.previousFailures.add(file);
  }

  private async clearFailures(file: string): Promise<void> {
    if (!this.previousFailures.has(file)) return;
    await this.ctx.db.deleteFrom('import_failures').where('path', '=', file).execute();
    this.previousFailures.delete(file);
  }

  private async importOne(file: WalkEntry, i: number): Promise<FileOutcome> {
    let stage = 'read';
    let dedupePassed = false;
    let placePassed = false;
    const passDedupe = () => { if (!dedupePassed) { dedupePassed = true; this.gateDedupe.pass(i); } };
    const passPlace = () => { if (!placePassed) { placePassed = true; this.gatePlace.pass(i); } };
    let settle!: (o: FileOutcome) => void;
    const mine = new Promise<FileOutcome>((r) => (settle = r));
    const done = (o: FileOutcome) => { passDedupe(); passPlace(); settle(o); return o; };

    try {
      // A small original is read once: the bytes hashed for the dedupe are the bytes written into the
      // library (no second read and hash of the source when it is copied).
      let bytes = this.opts.mode === 'copy' && file.size <= READ_ONCE_MAX_BYTES ? await this.time('hash', () => fsp.readFile(file.path)) : undefined;
      const sha1 = await this.time('hash', async () => (bytes ? sha1Bytes(bytes) : sha1File(file.path)));
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
        await this.clearFailures(file.path);
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

      stage = 'probe';
      const ffmpeg = () => getFfmpeg(this.ctx);
      const probe = await this.time('probe', () => probeFile(file.path, { maxPixels: maxImagePixels(this.ctx.config), ffmpeg }));
      stage = 'metadata';
      let meta: MediaMetadata | undefined;
      let metaError: string | undefined;
      const metaStarted = performance.now();
      try {
        meta = await this.time('metadata', () => extractMetadata(this.ctx, file.path, { probe, mtime: file.mtime }));
      } catch (err) {
        metaError = causeOf(err, file.path);
      }
      const metaMs = performance.now() - metaStarted;

      // In walk order again: which name in the dated folder this file gets.
      stage = 'place';
      await this.time('wait', () => this.gatePlace.wait(i));
      let target: string;
      let adopted = false;
      try {
        ({ target, adopted } = await this.chooseTarget(file, sha1, meta));
      } finally {
        passPlace();
      }

      const abs = this.ctx.library.resolve(target);
      if (!adopted && this.opts.mode !== 'in-place') await this.time('place', () => this.place(file.path, abs, sha1, bytes));
      bytes = undefined;
      // The XMP sidecar travels with the file (as <name>.xmp), so the library is self-contained and a
      // later metadata run on the library copy sees it; exif.sidecar_path is then library-relative.
      const sourceSidecar = meta?.sidecarPath ?? undefined;
      if (meta && sourceSidecar && this.opts.mode !== 'in-place') {
        const sidecarTarget = `${target}.xmp`;
        try {
          await this.time('place', async () =>
            copyFileVerified(sourceSidecar, this.ctx.library.resolve(sidecarTarget), await sha1File(sourceSidecar)),
          );
          meta.sidecarPath = sidecarTarget;
        } catch (err) {
          // Shared by two files and already moved with the first one: nothing left to carry.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          meta.sidecarPath = null;
        }
      }

      stage = 'database';
      const dbStarted = performance.now();
      const inserted = await this.insertAsset({ file, sha1, target, probe, meta, metaError, metaMs });
      if (!inserted) {
        // Another process imported the same content meanwhile: ours is a duplicate, drop our copy.
        if (this.opts.mode !== 'in-place') await fsp.rm(abs, { force: true });
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
        await fsp.unlink(file.path).catch(() => undefined);
        if (sourceSidecar) await fsp.unlink(sourceSidecar).catch(() => undefined);
      }
      await this.clearFailures(file.path);
      this.timings.db = (this.timings.db ?? 0) + performance.now() - dbStarted;
      if (!metaError) {
        const next = nextStages('metadata', probe.type).filter((s) => !this.opts.onlyStages || this.opts.onlyStages.has(s));
        // In-process, the row just inserted goes with the jobs: the processor needs no lookup.
        const fresh = this.ctx.queue.kind === 'inline' ? { id: assetId, type: probe.type, library_path: target, original_name: path.basename(file.path) } : undefined;
        await this.enqueue(next.map((s) => ({ stage: s, assetId, fresh })));
      }
      return done({ path: file.path, action: 'imported', assetId, target });
    } catch (err) {
      // Not this file's fault: stop the import rather than fail every remaining file the same way.
      if (err instanceof EnvironmentError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new EnvironmentError(`library folder ${this.ctx.library.root}: no space left on device (while importing ${file.path})`, { cause: err });
      }
      const reason = causeOf(err, file.path);
      await this.recordFailure(file.path, stage, reason).catch((e) =>
        this.ctx.logger.warn(`recording import failure of ${file.path}: ${errorMessage(e)}`),
      );
      return done({ path: file.path, action: 'failed', stage, reason });
    }
  }

  /**
   * The asset row, its exif row and its metadata stage status in one statement: one round trip and
   * one commit (the embedded database pays per statement), and the asset never exists without the
   * record of its metadata stage. Returns undefined when a row with this checksum exists already
   * (another process imported the same content meanwhile).
   */
  private async insertAsset(f: {
    file: WalkEntry;
    sha1: string;
    target: string;
    probe: ProbeResult;
    meta: MediaMetadata | undefined;
    metaError: string | undefined;
    metaMs: number;
  }): Promise<{ id: string; metaError?: string } | undefined> {
    const { file, sha1, target, probe, meta } = f;
    const id = crypto.randomUUID();
    const now = new Date();
    const oriented = meta?.width && meta.height ? { width: meta.width, height: meta.height } : { width: probe.width ?? null, height: probe.height ?? null };
    const asset = {
      id,
      checksum: sha1,
      original_path: file.path,
      original_name: path.basename(file.path),
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
      return q
        .with('exif_row', (db) => db.insertInto('exif').values({ asset_id: id, ...exifRow(meta, now) }).returning('asset_id'))
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
   * The library path for a new file. copy/move: uploads/YYYY/YYYY-MM-DD/<name>, with +1, +2...
   * on collisions; a file already there with the same content and no row is adopted (a killed run
   * placed it). in-place: the file itself.
   */
  private async chooseTarget(file: WalkEntry, sha1: string, meta: MediaMetadata | undefined): Promise<{ target: string; adopted: boolean }> {
    if (this.opts.mode === 'in-place') {
      const taken = await this.ctx.db.selectFrom('assets').select('checksum').where('library_path', '=', file.path).executeTakeFirst();
      if (taken) throw new Error('already in the library with other content (changed since it was imported?)');
      return { target: file.path, adopted: true };
    }
    const dir = datedFolder(folderDate(meta, file.mtime));
    const absDir = this.ctx.library.resolve(dir);
    if (!this.cleanedDirs.has(absDir)) {
      this.cleanedDirs.add(absDir);
      await cleanStaleTemps(absDir);
    }
    const name = path.basename(file.path);
    for (let n = 0; ; n++) {
      const rel = path.join(dir, candidateName(name, n));
      if (this.reserved.has(rel)) continue;
      const abs = this.ctx.library.resolve(rel);
      if (fs.existsSync(abs)) {
        const row = await this.ctx.db.selectFrom('assets').select('id').where('library_path', '=', rel).executeTakeFirst();
        if (row || !(await sameContent(abs, sha1))) continue;
        this.reserved.add(rel);
        return { target: rel, adopted: true };
      }
      this.reserved.add(rel);
      return { target: rel, adopted: false };
    }
  }

  /** Remove a moved file's source (and its sidecar) once the library holds the same bytes. */
  private async finishMove(src: string, placed: string, sha1: string): Promise<void> {
    if (src === placed || !(await sameContent(placed, sha1))) return;
    await fsp.unlink(src).catch(() => undefined);
    const placedSidecar = `${placed}.xmp`;
    if (!fs.existsSync(placedSidecar)) return;
    const sum = await sha1File(placedSidecar);
    for (const candidate of sidecarCandidates(src)) {
      if (fs.existsSync(candidate) && (await sameContent(candidate, sum))) await fsp.unlink(candidate).catch(() => undefined);
    }
  }

  /** Copy (or hard-link for --move) into the library; the name appears only once the bytes match. */
  private async place(src: string, target: string, sha1: string, bytes?: Buffer): Promise<void> {
    // The bytes whose SHA-1 is `sha1`, read before: written as they are (atomically, fsynced).
    if (bytes) return writeFileAtomic(target, bytes);
    if (this.opts.mode === 'move') {
      await fsp.mkdir(path.dirname(target), { recursive: true });
      try {
        // A hard link publishes the same bytes atomically; the source is unlinked after the row is in.
        await fsp.link(src, target);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
      }
    }
    await copyFileVerified(src, target, sha1);
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
      const byAsset = await loadStageStatus(this.ctx, chunk);
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
          await cleanStaleTemps(path.dirname(this.ctx.library.resolve(this.ctx.library.derivedPath(folder, a.id, ''))));
        }
        for (const stage of pending) jobs.push({ stage, assetId: a.id });
      }
      await this.enqueue(jobs);
    }
    return resumed;
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
