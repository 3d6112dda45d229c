// The asset pipeline: which stage follows which, and the one job processor shared by the
// in-process runner and the BullMQ workers. Each (asset, stage) records its completion in
// asset_job_status, so re-queueing is idempotent and `index --missing` knows what is left.
import { sql } from '../db/kysely.js';
import type { OnConflictBuilder, QueryCreator } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Context } from '../context.js';
import type { AssetStage, JobOutcome, JobProcessor, JobSpec, Stage, StageRows } from '../jobs/types.js';
import { HANDLERS, type StageHandler } from './handlers.js';
import { jobRunRow } from './job-history.js';

/** Stages that run after `stage` succeeded for an asset of type `type`. */
export function nextStages(stage: Stage, type: 'image' | 'video'): AssetStage[] {
  switch (stage) {
    case 'metadata':
      return type === 'video' ? ['thumbnails', 'video'] : ['thumbnails'];
    case 'thumbnails':
      // ML stages read the preview; they report 'skipped' quickly when their model is absent.
      return ['smart-search', 'face-detection', 'objects', 'ocr'];
    case 'smart-search':
      return ['duplicates'];
    case 'face-detection':
      return ['face-recognition'];
    default:
      return [];
  }
}

/** Stages queued for a newly imported asset. */
export const ENTRY_STAGES: AssetStage[] = ['metadata'];

/**
 * Recorded stage statuses of these assets: asset id → stage → status. With `settledSince`, a stage
 * skipped or failed at or after that time (in the current environment, see stage-environment.ts)
 * reads as 'settled': not to be queued again, and not done either (its follow-ups stay unqueued).
 */
export async function loadStageStatus(ctx: Context, assetIds: string[], opts: { settledSince?: Date } = {}): Promise<Map<string, Map<string, string>>> {
  const byAsset = new Map<string, Map<string, string>>();
  if (!assetIds.length) return byAsset;
  const rows = await ctx.db
    .selectFrom('asset_job_status')
    .select(['asset_id', 'stage', 'status', 'updated_at'])
    .where('asset_id', 'in', assetIds)
    .execute();
  const since = opts.settledSince?.getTime();
  for (const r of rows) {
    let m = byAsset.get(r.asset_id);
    if (!m) byAsset.set(r.asset_id, (m = new Map()));
    const settled = since !== undefined && (r.status === 'skipped' || r.status === 'failed') && new Date(r.updated_at).getTime() >= since;
    m.set(r.stage, settled ? 'settled' : r.status);
  }
  return byAsset;
}

export interface ProcessorOptions {
  /** Queue follow-up stages after success (default true). */
  followUps?: boolean;
  /** Only these stages are run or queued as follow-ups (e.g. `import --skip-ml`). */
  onlyStages?: ReadonlySet<Stage>;
  handlers?: Partial<Record<Stage, StageHandler>>;
}

export function createProcessor(ctx: Context, opts: ProcessorOptions = {}): JobProcessor {
  const handlers = opts.handlers ?? HANDLERS;
  // In-process, final statuses are written in batches (the embedded database pays per statement);
  // the queue flushes at the end of every drain. A killed run loses at most a batch: those stages
  // are simply done again. Workers of a Redis queue write at once (other processes watch).
  const batch = ctx.queue.kind === 'inline' ? new StatusBatch(ctx) : undefined;
  const record = (job: JobSpec, status: FinalStatus, extra: StatusExtra): Promise<void> =>
    batch ? batch.add(job, status, extra) : writeStatuses(ctx, [pendingStatus(job, status, extra)]);
  const processor: JobProcessor = async (job: JobSpec, attempt: number): Promise<JobOutcome> => {
    const handler = handlers[job.stage];
    if (!handler) return { status: 'skipped', message: `no handler for stage ${job.stage}` };
    if (!job.assetId) return handler(ctx, job);

    // One lookup: does the asset exist, the row the stage needs (and its type, for follow-ups), and
    // whether this stage is done. The embedded database pays per statement, so stages get the row.
    const fresh = ctx.queue.kind === 'inline' && !job.force ? job.fresh : undefined;
    const asset = fresh ? { ...fresh, status: null } : await ctx.db
      .selectFrom('assets')
      .leftJoin('asset_job_status as s', (join) => join.onRef('s.asset_id', '=', 'assets.id').on('s.stage', '=', job.stage))
      .select(['assets.id', 'assets.type', 'assets.library_path', 'assets.original_name', 's.status'])
      .where('assets.id', '=', job.assetId)
      .executeTakeFirst();
    if (!asset) return { status: 'skipped', message: 'asset no longer exists' };
    if (!job.force && asset.status === 'done') return { status: 'skipped', message: 'already done' };
    // 'running' is only informative (a killed job is redone either way: only 'done' counts as done).
    // In-process nobody else can look at it during the job, so the final write alone records the
    // attempt; workers of a Redis queue mark it for `immich jobs` in other processes.
    if (ctx.queue.kind !== 'inline') await markRunning(ctx, job, attempt);
    const counted = ctx.queue.kind !== 'inline' ? undefined : attempt;
    const started = performance.now();
    let outcome: JobOutcome;
    try {
      const { status: _, ...row } = asset;
      outcome = await handler(ctx, job, row);
    } catch (err) {
      const message = (err as Error).message?.split('\n')[0] ?? String(err);
      await record(job, 'failed', { error: message, durationMs: performance.now() - started, attempt: counted });
      ctx.logger.warn(`${job.stage} failed for asset ${job.assetId}: ${message}`, { asset: job.assetId, stage: job.stage, cause: message });
      throw err;
    }
    const durationMs = performance.now() - started;
    const status = outcome.status === 'success' ? 'done' : outcome.status === 'skipped' ? 'skipped' : 'failed';
    await record(job, status, { error: outcome.message, durationMs, attempt: counted, rows: outcome.rows });
    if (outcome.status === 'failed') {
      ctx.logger.warn(`${job.stage} failed for asset ${job.assetId}: ${outcome.message ?? ''}`, { asset: job.assetId, stage: job.stage, cause: outcome.message ?? null });
    }
    if (outcome.status === 'success' && opts.followUps !== false) {
      const next = nextStages(job.stage, asset.type).filter((s) => !opts.onlyStages || opts.onlyStages.has(s));
      if (next.length) {
        // Follow-ups read what this stage wrote (the ML stages open the preview by its file row).
        if (batch && outcome.rows) await batch.flush();
        await ctx.queue.enqueue(next.map((stage) => ({ stage, assetId: job.assetId })));
      }
    }
    return outcome;
  };
  processor.onlyStages = opts.onlyStages;
  if (batch) processor.flush = () => batch.flush();
  return processor;
}

/**
 * A job starts (Redis workers only, for `immich jobs` in other processes): 'running', and this
 * write counts the attempt. 'running' is only informative: only 'done' counts as done.
 */
async function markRunning(ctx: Context, job: JobSpec, attempt: number): Promise<void> {
  const now = new Date();
  await ctx.db
    .insertInto('asset_job_status')
    .values({ asset_id: job.assetId!, stage: job.stage, status: 'running', attempts: attempt, error: null, duration_ms: null, updated_at: now })
    .onConflict((oc) =>
      oc.columns(['asset_id', 'stage']).doUpdateSet({ status: 'running', attempts: sql`asset_job_status.attempts + 1`, error: null, duration_ms: null, updated_at: now }),
    )
    .execute();
}

type FinalStatus = 'done' | 'skipped' | 'failed';
/** `attempt` set: this write also counts the attempt (in-process, where no 'running' write did). */
type StatusExtra = { error?: string; durationMs?: number; attempt?: number; rows?: StageRows };

interface PendingStatus {
  job: JobSpec;
  status: FinalStatus;
  error: string | null;
  durationMs: number;
  /** Attempts this entry counts (0 or 1; more when one job's statuses were merged before a write). */
  counted: number;
  at: Date;
  rows?: StageRows;
}

function pendingStatus(job: JobSpec, status: FinalStatus, extra: StatusExtra, countedBefore = 0): PendingStatus {
  const counted = countedBefore + (extra.attempt !== undefined ? 1 : 0);
  return { job, status, error: extra.error ?? null, durationMs: Math.round(extra.durationMs ?? 0), counted, at: new Date(), rows: extra.rows };
}

/**
 * Final (asset, stage) statuses with the stages' result rows (StageRows) and their job_runs history
 * rows, in one statement (one round trip, one commit: the embedded database pays per statement).
 * When that fails, each entry is written on its own (result rows with their status, so one asset
 * deleted meanwhile does not lose the others); the history is best effort.
 */
async function writeStatuses(ctx: Context, rows: PendingStatus[]): Promise<void> {
  const history = rows.map((r) => jobRunRow(r.job, r.status, r.durationMs, r.error ?? undefined));
  try {
    await withResultRows(ctx.db, rows).with('status_rows', (db) => upsertStatuses(db, rows).returning('asset_id')).insertInto('job_runs').values(history).execute();
    return;
  } catch (err) {
    ctx.logger.debug(`statuses, results and job history in one statement failed, writing them apart: ${(err as Error).message}`);
  }
  for (const r of rows) {
    try {
      await withResultRows(ctx.db, [r]).insertInto('asset_job_status').values(statusValues(r)).onConflict(statusConflict).execute();
    } catch (err) {
      // Only an asset deleted meanwhile (foreign key violation) is skipped; anything else (the
      // database gone) fails the write as before, so the job is not taken as recorded.
      if ((err as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw err;
      ctx.logger.warn(`${r.job.stage} of asset ${r.job.assetId} not recorded: the asset was deleted meanwhile`, { asset: r.job.assetId ?? null, stage: r.job.stage });
    }
  }
  try {
    await ctx.db.insertInto('job_runs').values(history).execute();
  } catch (err) {
    ctx.logger.debug(`job history not recorded: ${(err as Error).message}`);
  }
}

/** PostgreSQL's SQLSTATE for foreign_key_violation. */
const FOREIGN_KEY_VIOLATION = '23503';

function statusValues(r: PendingStatus) {
  return {
    asset_id: r.job.assetId!, stage: r.job.stage, status: r.status, attempts: r.counted,
    error: r.error, duration_ms: r.durationMs, updated_at: r.at,
  };
}

const statusConflict = (oc: OnConflictBuilder<DB, 'asset_job_status'>) =>
  oc.columns(['asset_id', 'stage']).doUpdateSet({
    status: (eb) => eb.ref('excluded.status'),
    attempts: sql`asset_job_status.attempts + excluded.attempts`,
    error: (eb) => eb.ref('excluded.error'),
    duration_ms: (eb) => eb.ref('excluded.duration_ms'),
    updated_at: (eb) => eb.ref('excluded.updated_at'),
  });

function upsertStatuses(db: QueryCreator<DB>, rows: PendingStatus[]) {
  return db.insertInto('asset_job_status').values(rows.map(statusValues)).onConflict(statusConflict);
}

/** The statement's leading CTEs: the entries' asset_files rows (upserted) and asset updates. */
function withResultRows(db: QueryCreator<DB>, rows: PendingStatus[]): QueryCreator<DB> {
  const files = rows.flatMap((r) => r.rows?.files ?? []);
  const assets = rows.flatMap((r) => (r.rows?.asset ? [r.rows.asset] : []));
  let q = db;
  if (files.length) {
    q = q.with('file_rows', (d) =>
      d
        .insertInto('asset_files')
        .values(files)
        .onConflict((oc) =>
          oc.columns(['asset_id', 'kind']).doUpdateSet((eb) => ({
            path: eb.ref('excluded.path'),
            width: eb.ref('excluded.width'),
            height: eb.ref('excluded.height'),
            file_size: eb.ref('excluded.file_size'),
            created_at: eb.ref('excluded.created_at'),
          })),
        )
        .returning('asset_id'),
    ) as unknown as QueryCreator<DB>; // nothing later refers to the CTE by name
  }
  if (assets.length) {
    // One UPDATE for all of them: the new values travel as one JSON parameter.
    const values = JSON.stringify(assets);
    q = q.with('asset_rows', () =>
      sql<{ id: string }>`(update assets set thumbhash = v.thumbhash, width = v.width, height = v.height, updated_at = v.updated_at
        from jsonb_to_recordset(${values}::jsonb) as v(id uuid, thumbhash text, width integer, height integer, updated_at timestamptz)
        where assets.id = v.id returning assets.id)`,
    ) as unknown as QueryCreator<DB>;
  }
  return q;
}

/**
 * In-process final statuses, written by writeStatuses as one statement per batch. A batch goes when
 * it is full or a moment after its first entry, and at flush().
 */
class StatusBatch {
  private rows = new Map<string, PendingStatus>();
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private static readonly MAX = 64;
  private static readonly DELAY_MS = 200;

  constructor(private readonly ctx: Context) {}

  async add(job: JobSpec, status: FinalStatus, extra: StatusExtra): Promise<void> {
    const key = `${job.assetId}:${job.stage}`;
    this.rows.set(key, pendingStatus(job, status, extra, this.rows.get(key)?.counted));
    if (this.rows.size >= StatusBatch.MAX) await this.flush();
    else this.timer ??= setTimeout(() => void this.flush().catch((err) => this.ctx.logger.warn(`writing job statuses failed: ${(err as Error).message}`)), StatusBatch.DELAY_MS);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = [...this.rows.values()];
    this.rows.clear();
    // One write at a time, in order: a later status of the same key never lands before an earlier one.
    // (A failed earlier write was reported to its caller; it does not stop this one.)
    this.writing = this.writing.catch(() => undefined).then(() => (rows.length ? writeStatuses(this.ctx, rows) : undefined));
    return this.writing;
  }
}
