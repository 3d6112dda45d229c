// `immich index`: queue the stages assets miss (or all of them with --force), a page of 1000 assets
// at a time with one bulk enqueue per page (Immich's queueAll pattern), and bring in-place assets in
// line with their files: new files are imported, changed files re-processed, missing files marked
// offline (Immich's behaviour: the asset stays, with everything found about it, until the file is back
// or --prune-offline deletes it).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Kysely, SqlBool } from 'kysely';
import type { DB } from '../db/schema.js';
import { sql } from '../db/kysely.js';
import type { Context } from '../context.js';
import { errorMessage } from '../errors.js';
import type { AssetStage, DrainResult, JobSpec, QueueProgress, Stage } from '../jobs/types.js';
import { sha1File } from '../storage/checksum.js';
import { walk } from '../storage/walk.js';
import { pendingStages, stagesFor } from './import-plan.js';
import { importFiles } from './import.js';
import { loadStageStatus } from './pipeline.js';
import { jobStatusTotals } from '../db/job-status-counts.js';
import { environmentSince } from './stage-environment.js';
import { trashMaintenance } from './trash.js';
import { fsPath } from '../storage/raw-path.js';

export const INDEX_PAGE_SIZE = 1000;

export interface IndexOptions {
  /** 'missing': stages without a 'done' row; 'force': every selected stage, redone. */
  mode: 'missing' | 'force';
  /** Only these stages (default: the whole pipeline). */
  stages?: readonly AssetStage[];
  /** Look for new, changed and removed files of in-place assets (default true). */
  syncInPlace?: boolean;
  /** Delete offline in-place assets instead of only marking them. */
  pruneOffline?: boolean;
  /** Files hashed at once while importing new in-place files. */
  concurrency?: number;
  pageSize?: number;
  /** Also queue stages skipped or failed in the current environment (see stage-environment.ts). */
  retryFailed?: boolean;
}

export interface InPlaceSummary {
  folders: number;
  new: number;
  changed: number;
  offline: number;
  restored: number;
  pruned: number;
  failures: Array<{ path: string; reason: string }>;
}

export interface IndexSummary {
  /** Assets looked at: every one with --force; in missing mode those with a stage not done (or settled). */
  assets: number;
  queued: Partial<Record<Stage, number>>;
  jobs: number;
  inPlace?: InPlaceSummary;
  /** XMP sidecars edited outside since immich wrote or read them, read back (services/sidecars.ts). */
  sidecars?: { read: number; failures: Array<{ path: string; reason: string }> };
}

export interface IndexEvents {
  onPage?(assetsSeen: number, jobsQueued: number): void;
  onInPlace?(text: string): void;
}

/** The jobs one asset needs, given its recorded stage statuses. Pure: tested without I/O. */
export function jobsForAsset(
  asset: { id: string; type: 'image' | 'video' },
  status: ReadonlyMap<string, string>,
  opts: Pick<IndexOptions, 'mode' | 'stages'>,
): JobSpec[] {
  const applicable = stagesFor(asset.type);
  const only = opts.stages ? new Set<string>(opts.stages) : undefined;
  let stages: AssetStage[];
  if (opts.mode === 'force') stages = applicable.filter((s) => !only || only.has(s));
  else if (only) stages = applicable.filter((s) => only.has(s) && status.get(s) !== 'done' && status.get(s) !== 'settled');
  // The first missing stages of the chain; their follow-ups are queued when they succeed.
  else stages = pendingStages(asset.type, status);
  return stages.map((stage) => ({ stage, assetId: asset.id, ...(opts.mode === 'force' ? { force: true } : {}) }));
}

/** Minimal set of folders: a folder inside another listed one is covered by the walk of that one. */
export function rootFolders(files: string[]): string[] {
  const dirs = [...new Set(files.map((f) => path.dirname(f)))].sort();
  const out: string[] = [];
  for (const d of dirs) {
    if (out.some((r) => d === r || d.startsWith(r.endsWith(path.sep) ? r : r + path.sep))) continue;
    out.push(d);
  }
  return out;
}

/** New, changed and removed files of in-place assets. Changed assets get all their stages redone. */
export async function syncInPlace(ctx: Context, opts: Pick<IndexOptions, 'pruneOffline' | 'concurrency' | 'retryFailed'>, events: IndexEvents = {}): Promise<InPlaceSummary> {
  const summary: InPlaceSummary = { folders: 0, new: 0, changed: 0, offline: 0, restored: 0, pruned: 0, failures: [] };
  const assets = await ctx.db
    .selectFrom('assets')
    .leftJoin('asset_offline', 'asset_offline.asset_id', 'assets.id')
    .select(['assets.id', 'assets.type', 'assets.library_path', 'assets.file_size', 'assets.file_mtime', 'assets.checksum', 'asset_offline.asset_id as offline'])
    .where('assets.storage_mode', '=', 'in-place')
    .execute();
  const recordedRows = await ctx.db.selectFrom('in_place_roots').select(['path', 'ignore']).execute();
  const recorded = recordedRows.map((r) => r.path);
  const ignoreOf = new Map(recordedRows.map((r) => [r.path, r.ignore]));
  if (!assets.length && !recorded.length) return summary;
  // The folders given to import --in-place, and (for libraries imported before they were recorded)
  // the folders of the in-place assets; a folder inside another is covered by its walk.
  const roots = rootFolders([...assets.map((a) => a.library_path), ...recorded.map((r) => path.join(r, 'any-file'))]); // rootFolders takes files
  summary.folders = roots.length;
  events.onInPlace?.(`checking ${assets.length} in-place files in ${roots.length} folders`);

  const redo: JobSpec[] = [];
  for (const a of assets) {
    let st;
    try {
      st = await fs.stat(fsPath(a.library_path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        summary.failures.push({ path: a.library_path, reason: errorMessage(err) });
        continue;
      }
      if (opts.pruneOffline) {
        await ctx.db.deleteFrom('assets').where('id', '=', a.id).execute();
        summary.pruned++;
      } else if (!a.offline) {
        await ctx.db
          .insertInto('asset_offline')
          .values({ asset_id: a.id, original_path: a.library_path })
          .onConflict((oc) => oc.column('asset_id').doNothing())
          .execute();
        summary.offline++;
      }
      continue;
    }
    if (a.offline) {
      await ctx.db.deleteFrom('asset_offline').where('asset_id', '=', a.id).execute();
      summary.restored++;
    }
    const mtime = new Date(a.file_mtime).getTime();
    if (st.size === Number(a.file_size) && Math.abs(st.mtimeMs - mtime) < 1000) continue;
    try {
      const checksum = await sha1File(a.library_path);
      // Its new content is another asset's: the library holds each content once (assets.checksum is
      // unique), so say which file it now duplicates instead of failing on the constraint.
      const twin = checksum === a.checksum ? undefined : await ctx.db.selectFrom('assets').select('library_path').where('checksum', '=', checksum).where('id', '!=', a.id).executeTakeFirst();
      if (twin) {
        summary.failures.push({
          path: a.library_path,
          reason: `changed, and its content is now the same as ${ctx.library.resolve(twin.library_path)}, which is already in the library: keep one of the two files (or restore the old content)`,
        });
        continue;
      }
      await ctx.db
        .updateTable('assets')
        .set({ checksum, file_size: st.size, file_mtime: st.mtime, updated_at: new Date() })
        .where('id', '=', a.id)
        .execute();
      if (checksum !== a.checksum) {
        summary.changed++;
        for (const stage of stagesFor(a.type)) redo.push({ stage, assetId: a.id, force: true });
      }
    } catch (err) {
      summary.failures.push({ path: a.library_path, reason: errorMessage(err) });
    }
  }
  if (redo.length) await ctx.queue.enqueue(redo);

  // New files: the import's own walk (same excludes and formats), then an in-place import of them.
  const known = new Set(assets.map((a) => a.library_path));
  const present = [];
  for (const r of roots) if (await fs.stat(fsPath(r)).then((st) => st.isDirectory(), () => false)) present.push(r);
  // Each recorded root with the --ignore globs of its import.
  const fresh: string[] = [];
  for (const r of present) {
    const walked = await walk([r], { excludeDirs: [ctx.library.root], ignore: ignoreOf.get(r) });
    for (const f of walked.files) if (!known.has(f.path)) fresh.push(f.path);
  }
  if (fresh.length) {
    events.onInPlace?.(`importing ${fresh.length} new files in place`);
    const r = await importFiles(ctx, { paths: fresh, mode: 'in-place', concurrency: opts.concurrency ?? ctx.concurrency, wait: false, retryFailed: opts.retryFailed, noRoots: true });
    summary.new = r.counts.imported;
    for (const f of r.failures) summary.failures.push({ path: f.path, reason: f.reason });
  }
  return summary;
}

/**
 * Whether an asset (`assets`) has a stage of its type (of `only`, when given) that is not 'done' nor
 * settled (skipped or failed since `settledSince`): jobsForAsset can only queue something for those.
 */
function unfinished(only: readonly string[] | undefined, settledSince: Date | undefined) {
  const stages = (type: 'image' | 'video') => stagesFor(type).filter((s) => !only || only.includes(s));
  const [image, video] = [stages('image'), stages('video')];
  const finished = settledSince
    ? sql<SqlBool>`(s.status = 'done' or (s.status in ('skipped', 'failed') and s.updated_at >= ${settledSince}))`
    : sql<SqlBool>`s.status = 'done'`;
  return sql<SqlBool>`(select count(*) from asset_job_status s where s.asset_id = assets.id
      and s.stage = any(case when assets.type = 'video' then ${video}::text[] else ${image}::text[] end) and ${finished})
    < case when assets.type = 'video' then ${video.length}::int else ${image.length}::int end`;
}

/**
 * Whether each stage (of `only`) has a 'done' row for exactly as many assets as need it (all
 * assets, trashed and offline ones included, as their rows are). Anything else (a missing, queued,
 * failed or skipped stage) answers false, and the assets are looked at one by one.
 */
export async function everyStageDone(db: Kysely<DB>, only?: readonly string[]): Promise<boolean> {
  const byType = await db.selectFrom('assets').select(['type', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('type').execute();
  const count = (t: string) => Number(byType.find((r) => r.type === t)?.n ?? 0);
  const [image, video] = [stagesFor('image'), stagesFor('video')];
  const done = new Map((await jobStatusTotals(db)).filter((r) => r.status === 'done').map((r) => [r.stage, r.n]));
  for (const stage of new Set<AssetStage>([...image, ...video])) {
    if (only && !only.includes(stage)) continue;
    const needed = (image.includes(stage) ? count('image') : 0) + (video.includes(stage) ? count('video') : 0);
    if ((done.get(stage) ?? 0) !== needed) return false;
  }
  return true;
}

/** Queue what is missing (or everything, with force), page by page. */
export async function queueIndex(ctx: Context, opts: IndexOptions, events: IndexEvents = {}): Promise<IndexSummary> {
  const summary: IndexSummary = { assets: 0, queued: {}, jobs: 0 };
  await trashMaintenance(ctx);
  if (opts.syncInPlace !== false) summary.inPlace = await syncInPlace(ctx, opts, events);
  const { readChangedSidecars } = await import('./sidecars.js');
  const sc = await readChangedSidecars(ctx);
  summary.sidecars = { read: sc.read.length, failures: sc.failed.map((f) => ({ path: f.file, reason: f.error })) };
  const pageSize = opts.pageSize ?? INDEX_PAGE_SIZE;
  // A stage skipped or failed since the environment last changed would do the same again.
  const settledSince = opts.mode === 'force' || opts.retryFailed ? undefined : await environmentSince(ctx);
  let after: string | undefined;
  // The usual daily run: every stage of every asset done. The trigger-kept counts (0200) say so
  // without reading any asset's statuses (47 s at 1M even in one statement).
  if (opts.mode !== 'force' && (await everyStageDone(ctx.db, opts.stages))) return summary;
  for (;;) {
    let q = ctx.db
      .selectFrom('assets')
      .leftJoin('asset_offline', 'asset_offline.asset_id', 'assets.id')
      .select(['assets.id', 'assets.type'])
      .where('asset_offline.asset_id', 'is', null)
      // Trashed assets are not processed; a restored one is picked up by the next index.
      .where('assets.deleted_at', 'is', null)
      .orderBy('assets.id')
      .limit(pageSize);
    if (after) q = q.where('assets.id', '>', after);
    // Missing mode: only assets with an applicable stage neither done nor settled come back (an
    // index-probe per asset inside one statement). Reading every asset's statuses into JavaScript a
    // page at a time took > 30 min at 1M with nothing to do (bench/scale).
    if (opts.mode !== 'force') q = q.where(unfinished(opts.stages, settledSince));
    const page = await q.execute();
    if (!page.length) break;
    after = page[page.length - 1]!.id;
    const status = await loadStageStatus(ctx, page.map((a) => a.id), { settledSince });
    const jobs: JobSpec[] = [];
    for (const a of page) jobs.push(...jobsForAsset(a, status.get(a.id) ?? new Map(), opts));
    if (jobs.length) await ctx.queue.enqueue(jobs);
    for (const j of jobs) summary.queued[j.stage] = (summary.queued[j.stage] ?? 0) + 1;
    summary.assets += page.length;
    summary.jobs += jobs.length;
    events.onPage?.(summary.assets, summary.jobs);
    if (page.length < pageSize) break;
  }
  return summary;
}

/** One failure, the same in every command's --json: the file, the stage and the cause (and the asset). */
export interface ItemFailure {
  path: string;
  stage: string;
  reason: string;
  assetId?: string;
}

/** Job failures by file: the asset's library path (absolute for in-place files) instead of its id. */
export async function jobFailures(ctx: Context, failures: ReadonlyArray<{ job: JobSpec; message: string }>): Promise<ItemFailure[]> {
  const ids = [...new Set(failures.map((f) => f.job.assetId).filter((id): id is string => Boolean(id)))];
  const paths = new Map<string, string>();
  for (let k = 0; k < ids.length; k += INDEX_PAGE_SIZE) {
    const rows = await ctx.db.selectFrom('assets').select(['id', 'library_path']).where('id', 'in', ids.slice(k, k + INDEX_PAGE_SIZE)).execute();
    for (const r of rows) paths.set(r.id, ctx.library.resolve(r.library_path));
  }
  return failures.map((f) => ({
    path: (f.job.assetId && paths.get(f.job.assetId)) || f.job.assetId || '',
    stage: f.job.stage,
    reason: f.message,
    ...(f.job.assetId ? { assetId: f.job.assetId } : {}),
  }));
}

/** In-process `immich jobs retry-failed`: run the failed stages again now. */
export async function retryFailedInProcess(
  ctx: Context,
  stages: readonly Stage[],
  onProgress?: (p: QueueProgress) => void,
): Promise<{ queued: number; result: DrainResult }> {
  const rows = await ctx.db
    .selectFrom('asset_job_status')
    .select(['asset_id', 'stage'])
    .where('status', '=', 'failed')
    .where('stage', 'in', [...stages])
    .execute();
  const jobs: JobSpec[] = rows.map((r) => ({ stage: r.stage as Stage, assetId: r.asset_id }));
  for (let i = 0; i < jobs.length; i += INDEX_PAGE_SIZE) await ctx.queue.enqueue(jobs.slice(i, i + INDEX_PAGE_SIZE));
  const result = await ctx.queue.drain(onProgress);
  return { queued: jobs.length, result };
}
