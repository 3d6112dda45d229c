// Library statistics for `immich stats`: counts, storage per folder and free space, database
// size, queue depths, and per-stage durations from the job history (job_runs). Tables of other
// areas (people, faces, tags) may be absent: they are looked up in information_schema first.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Context } from '../context.js';
import type { Config } from '../config.js';
import { ALL_QUEUES } from '../jobs/types.js';
import { writeFileAtomic } from '../storage/atomic.js';
import { folderUsage } from '../storage/folder-usage.js';
import { Library, LIBRARY_FOLDERS } from '../storage/layout.js';
import { jobRunTotals } from '../db/job-status-counts.js';
import { jobStatusTotals, openQueueAdmin } from './queues.js';

export interface StageTiming {
  stage: string;
  /** Jobs in the window (the last `window` finished jobs of the stage). */
  runs: number;
  failed: number;
  skipped: number;
  p50Ms: number;
  p95Ms: number;
  meanMs: number;
  /** Jobs finished per second between the first start and the last finish in the window. */
  perSecond: number;
  lastFinishedAt: string;
}

export interface FolderUsage {
  folder: string;
  path: string;
  bytes: number;
  files: number;
}

export interface QueueDepth {
  stage: string;
  source: 'database' | 'redis';
  /** Status → count: queued/running/failed/done/skipped (database) or waiting/active/delayed/failed (Redis). */
  counts: Record<string, number>;
}

export interface LibraryStats {
  generatedAt: string;
  library: string;
  database: { kind: 'embedded' | 'postgres'; sizeBytes: number | null };
  counts: { photos: number; videos: number; people: number | null; faces: number | null; tags: number | null };
  storage: {
    folders: FolderUsage[];
    /** Originals imported in place (outside the library), from the asset rows. */
    inPlaceBytes: number;
    filesystem: { freeBytes: number; sizeBytes: number } | null;
  };
  queues: QueueDepth[];
  stages: StageTiming[];
  /** Finished jobs by stage and status over the whole history (Prometheus counters). */
  totals: Array<{ stage: string; status: string; count: number; seconds: number }>;
}

export interface StatsOptions {
  /** Last N finished jobs per stage for the timings (default 1000). */
  window?: number;
  /** Walk the library folders (default true). */
  storage?: boolean;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

async function existingTables(db: Kysely<any>, names: string[]): Promise<Set<string>> {
  const rows = await db
    .selectFrom('information_schema.tables')
    .select('table_name')
    .where((eb: any) => eb('table_schema', '=', eb.fn('current_schema', [])))
    .where('table_name', 'in', names)
    .execute();
  return new Set(rows.map((r: { table_name: string }) => r.table_name));
}

async function countRows(db: Kysely<any>, table: string): Promise<number> {
  const r = (await db.selectFrom(table).select((eb: any) => eb.fn.countAll().as('n')).executeTakeFirst()) as { n?: unknown } | undefined;
  return Number(r?.n ?? 0);
}

async function redisDepths(ctx: Context): Promise<QueueDepth[]> {
  if (!ctx.config.redis) return [];
  let admin: Awaited<ReturnType<typeof openQueueAdmin>> | undefined;
  try {
    admin = await openQueueAdmin(ctx.config, ctx.logger);
    const counts = await admin.counts();
    return counts.map((c) => ({
      stage: c.queue,
      source: 'redis' as const,
      counts: { waiting: c.waiting, active: c.active, delayed: c.delayed, paused: c.paused, failed: c.failed, completed: c.completed },
    }));
  } catch (err) {
    // Stats still show everything else when Redis is down.
    ctx.logger.warn(`queue depths from Redis unavailable: ${(err as Error).message}`);
    return [];
  } finally {
    await admin?.close();
  }
}

export interface StorageStats {
  folders: FolderUsage[];
  filesystem: { freeBytes: number; sizeBytes: number } | null;
}

/** Library folders and free space: needs no database, so it is reported even when that is unavailable. */
export async function collectStorage(config: Config, opts: StatsOptions = {}): Promise<StorageStats> {
  const library = new Library(config.uploadLocation);
  const folders: FolderUsage[] = [];
  if (opts.storage !== false) {
    // The library's folders keep their counts between runs (storage/folder-usage.ts): only changed
    // folders are read again. The embedded database rewrites its files in place: walked each time.
    const cache = (name: string) => path.join(library.folder('tmp'), `stats-${name}.json`);
    const usage = await Promise.all(
      LIBRARY_FOLDERS.map(async (name) => ({ folder: name, path: library.folder(name), ...(await folderUsage(library.folder(name), { cacheFile: cache(name) })) })),
    );
    folders.push(...usage);
    if (config.database.kind === 'embedded') {
      const p = config.database.embeddedPath;
      folders.push({ folder: 'database', path: p, ...(await folderUsage(p)) });
    }
  }
  let filesystem: StorageStats['filesystem'] = null;
  try {
    const st = await fsp.statfs(config.uploadLocation);
    filesystem = { freeBytes: st.bavail * st.bsize, sizeBytes: st.blocks * st.bsize };
  } catch {
    /* no such folder yet, or statfs missing on the platform */
  }
  return { folders, filesystem };
}

export async function collectStats(ctx: Context, opts: StatsOptions = {}): Promise<LibraryStats> {
  const db = ctx.db as unknown as Kysely<any>;
  const window = opts.window ?? 1000;
  const tables = await existingTables(db, ['people', 'asset_faces', 'tags', 'job_runs']);

  // Assets outside the trash (Live Photo video parts aside) from the counts 0101's trigger keeps
  // per month, and the videos through assets_type_idx: grouping every asset by type took 1-1.7 s
  // at 1M. Photos are the rest (type is 'image' or 'video').
  const live = await ctx.db
    .selectFrom('timeline_months')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('count'), eb.lit(0)).as('n'))
    .where('is_trashed', '=', false)
    .executeTakeFirst();
  const videos = await ctx.db
    .selectFrom('assets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('type', '=', 'video')
    .where('is_motion_part', '=', false)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  const counts = {
    photos: Number(live?.n ?? 0) - Number(videos?.n ?? 0),
    videos: Number(videos?.n ?? 0),
    people: tables.has('people') ? await countRows(db, 'people') : null,
    faces: tables.has('asset_faces') ? await countRows(db, 'asset_faces') : null,
    tags: tables.has('tags') ? await countRows(db, 'tags') : null,
  };

  let sizeBytes: number | null = null;
  try {
    const r = (await db.selectNoFrom((eb: any) => eb.fn('pg_database_size', [eb.fn('current_database', [])]).as('size')).executeTakeFirst()) as { size?: unknown } | undefined;
    sizeBytes = Number(r?.size);
  } catch (err) {
    ctx.logger.debug(`database size unavailable: ${(err as Error).message}`);
  }

  const { folders, filesystem } = await collectStorage(ctx.config, opts);
  // 0203's partial index answers this without reading the copied assets
  const inPlace = await ctx.db
    .selectFrom('assets')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('file_size'), eb.lit(0)).as('bytes'))
    .where('storage_mode', '=', 'in-place')
    .executeTakeFirst();
  const statusRows = await jobStatusTotals(ctx.db);
  const queues: QueueDepth[] = [];
  const stagesSeen = [...new Set([...ALL_QUEUES, ...statusRows.map((r) => r.stage)])];
  for (const stage of stagesSeen) {
    const rows = statusRows.filter((r) => r.stage === stage);
    if (!rows.length) continue;
    const c: Record<string, number> = { queued: 0, running: 0, failed: 0, done: 0, skipped: 0 };
    for (const r of rows) c[r.status] = Number(r.n);
    queues.push({ stage, source: 'database', counts: c });
  }
  queues.push(...(await redisDepths(ctx)));

  const stages: StageTiming[] = [];
  const totals: LibraryStats['totals'] = [];
  if (tables.has('job_runs')) {
    // Stages and totals from 0250's trigger-kept rows; only each stage's window reads job_runs (by its index).
    const runTotals = await jobRunTotals(ctx.db);
    for (const stage of new Set(runTotals.map((r) => r.stage))) {
      const rows = await ctx.db
        .selectFrom('job_runs')
        .select(['status', 'duration_ms', 'finished_at'])
        .where('stage', '=', stage)
        .orderBy('finished_at', 'desc')
        .orderBy('id', 'desc')
        .limit(window)
        .execute();
      if (!rows.length) continue;
      // Skipped jobs take ~0 ms and would drag the percentiles down: time only real work.
      const worked = rows.filter((r) => r.status !== 'skipped');
      const durations = worked.map((r) => Number(r.duration_ms)).sort((a, b) => a - b);
      const firstStart = Math.min(...rows.map((r) => new Date(r.finished_at).getTime() - Number(r.duration_ms)));
      const lastFinish = Math.max(...rows.map((r) => new Date(r.finished_at).getTime()));
      const span = Math.max(1, lastFinish - firstStart);
      stages.push({
        stage,
        runs: rows.length,
        failed: rows.filter((r) => r.status === 'failed').length,
        skipped: rows.length - worked.length,
        p50Ms: percentile(durations, 50),
        p95Ms: percentile(durations, 95),
        meanMs: durations.length ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length) : 0,
        perSecond: Math.round((worked.length / (span / 1000)) * 1000) / 1000,
        lastFinishedAt: new Date(lastFinish).toISOString(),
      });
    }
    for (const r of runTotals) totals.push({ stage: r.stage, status: r.status, count: r.count, seconds: r.ms / 1000 });
  }
  const order = (s: string) => {
    const i = (ALL_QUEUES as readonly string[]).indexOf(s);
    return i < 0 ? 999 : i;
  };
  stages.sort((a, b) => order(a.stage) - order(b.stage) || a.stage.localeCompare(b.stage));

  return {
    generatedAt: new Date().toISOString(),
    library: ctx.config.uploadLocation,
    database: { kind: ctx.config.database.kind, sizeBytes },
    counts,
    storage: { folders, inPlaceBytes: Number(inPlace?.bytes ?? 0), filesystem },
    queues,
    stages,
    totals,
  };
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition format (for node_exporter's textfile collector).

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

class PromWriter {
  private lines: string[] = [];
  metric(name: string, type: 'gauge' | 'counter' | 'summary', help: string, samples: Array<{ labels?: Record<string, string>; value: number; suffix?: string }>): void {
    if (!samples.length) return;
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const s of samples) {
      const labels = Object.entries(s.labels ?? {}).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
      const value = Number.isFinite(s.value) ? String(s.value) : 'NaN';
      this.lines.push(`${name}${s.suffix ?? ''}${labels ? `{${labels}}` : ''} ${value}`);
    }
  }
  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** The same figures as `immich stats --json`, as Prometheus metrics named immich_*. */
export function toPrometheus(s: LibraryStats): string {
  const w = new PromWriter();
  const lib = { library: s.library };
  w.metric('immich_assets', 'gauge', 'Assets in the library by type (motion-photo video parts not counted).', [
    { labels: { ...lib, type: 'photo' }, value: s.counts.photos },
    { labels: { ...lib, type: 'video' }, value: s.counts.videos },
  ]);
  if (s.counts.people !== null) w.metric('immich_people', 'gauge', 'People (face clusters).', [{ labels: lib, value: s.counts.people }]);
  if (s.counts.faces !== null) w.metric('immich_faces', 'gauge', 'Detected faces.', [{ labels: lib, value: s.counts.faces }]);
  if (s.counts.tags !== null) w.metric('immich_tags', 'gauge', 'Tags.', [{ labels: lib, value: s.counts.tags }]);
  storageMetrics(w, s.library, s.storage);
  w.metric('immich_storage_in_place_bytes', 'gauge', 'Bytes of originals imported in place (outside the library).', [{ labels: lib, value: s.storage.inPlaceBytes }]);
  if (s.database.sizeBytes !== null) {
    w.metric('immich_database_size_bytes', 'gauge', 'Database size (pg_database_size).', [{ labels: { ...lib, kind: s.database.kind }, value: s.database.sizeBytes }]);
  }
  w.metric(
    'immich_queue_jobs',
    'gauge',
    'Jobs per stage and status (database: asset_job_status; redis: BullMQ queues).',
    s.queues.flatMap((q) => Object.entries(q.counts).map(([status, n]) => ({ labels: { ...lib, stage: q.stage, status, source: q.source }, value: n }))),
  );
  w.metric(
    'immich_stage_duration_seconds',
    'summary',
    'Job duration per stage over the last finished jobs (skipped jobs excluded).',
    s.stages.flatMap((t) => [
      { labels: { ...lib, stage: t.stage, quantile: '0.5' }, value: t.p50Ms / 1000 },
      { labels: { ...lib, stage: t.stage, quantile: '0.95' }, value: t.p95Ms / 1000 },
      { suffix: '_sum', labels: { ...lib, stage: t.stage }, value: (t.meanMs * (t.runs - t.skipped)) / 1000 },
      { suffix: '_count', labels: { ...lib, stage: t.stage }, value: t.runs - t.skipped },
    ]),
  );
  w.metric('immich_stage_throughput_jobs_per_second', 'gauge', 'Jobs finished per second over the last finished jobs of the stage.', s.stages.map((t) => ({ labels: { ...lib, stage: t.stage }, value: t.perSecond })));
  w.metric('immich_jobs_total', 'counter', 'Finished jobs by stage and status since the library was created.', s.totals.map((t) => ({ labels: { ...lib, stage: t.stage, status: t.status }, value: t.count })));
  w.metric('immich_job_seconds_total', 'counter', 'Time spent in finished jobs by stage and status.', s.totals.map((t) => ({ labels: { ...lib, stage: t.stage, status: t.status }, value: t.seconds })));
  w.metric('immich_stats_database_up', 'gauge', '1 when the database could be read for these figures, 0 when not (storage figures only).', [{ labels: lib, value: 1 }]);
  w.metric('immich_stats_generated_timestamp_seconds', 'gauge', 'When these figures were collected (Unix time).', [{ labels: lib, value: Math.floor(Date.parse(s.generatedAt) / 1000) }]);
  return w.toString();
}

function storageMetrics(w: PromWriter, library: string, st: StorageStats): void {
  const lib = { library };
  w.metric('immich_storage_bytes', 'gauge', 'Bytes used per library folder.', st.folders.map((f) => ({ labels: { ...lib, folder: f.folder }, value: f.bytes })));
  w.metric('immich_storage_files', 'gauge', 'Files per library folder.', st.folders.map((f) => ({ labels: { ...lib, folder: f.folder }, value: f.files })));
  if (st.filesystem) {
    w.metric('immich_filesystem_free_bytes', 'gauge', 'Free bytes on the library filesystem (available to this user).', [{ labels: lib, value: st.filesystem.freeBytes }]);
    w.metric('immich_filesystem_size_bytes', 'gauge', 'Size of the library filesystem in bytes.', [{ labels: lib, value: st.filesystem.sizeBytes }]);
  }
}

/**
 * What can be said without the database (in use by a long `immich index` on the embedded
 * database, or the server down): storage and free space, and immich_stats_database_up 0, so an
 * alert can tell "no data" from "empty".
 */
export function storageOnlyPrometheus(library: string, st: StorageStats, at = new Date()): string {
  const w = new PromWriter();
  storageMetrics(w, library, st);
  w.metric('immich_stats_database_up', 'gauge', '1 when the database could be read for these figures, 0 when not (storage figures only).', [{ labels: { library }, value: 0 }]);
  w.metric('immich_stats_generated_timestamp_seconds', 'gauge', 'When these figures were collected (Unix time).', [{ labels: { library }, value: Math.floor(at.getTime() / 1000) }]);
  return w.toString();
}

/** Write the metrics atomically (temp file + fsync + rename): the textfile collector never reads half a file. */
export async function writePrometheusFile(file: string, text: string): Promise<void> {
  await writeFileAtomic(path.resolve(file), text);
}
