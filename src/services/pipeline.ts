// The asset pipeline: which stage follows which, and the one job processor shared by the
// in-process runner and the BullMQ workers. Each (asset, stage) records its completion in
// asset_job_status, so re-queueing is idempotent and `index --missing` knows what is left.
import { sql } from 'kysely';
import type { Context } from '../context.js';
import type { AssetStage, JobOutcome, JobProcessor, JobSpec, Stage } from '../jobs/types.js';
import { HANDLERS, type StageHandler } from './handlers.js';
import { recordJobRun } from './job-history.js';

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

export interface ProcessorOptions {
  /** Queue follow-up stages after success (default true). */
  followUps?: boolean;
  /** Only these stages are run or queued as follow-ups (e.g. `import --skip-ml`). */
  onlyStages?: ReadonlySet<Stage>;
  handlers?: Partial<Record<Stage, StageHandler>>;
}

export function createProcessor(ctx: Context, opts: ProcessorOptions = {}): JobProcessor {
  const handlers = opts.handlers ?? HANDLERS;
  const processor: JobProcessor = async (job: JobSpec, attempt: number): Promise<JobOutcome> => {
    const handler = handlers[job.stage];
    if (!handler) return { status: 'skipped', message: `no handler for stage ${job.stage}` };
    if (!job.assetId) return handler(ctx, job);

    const asset = await ctx.db
      .selectFrom('assets')
      .select(['id', 'type'])
      .where('id', '=', job.assetId)
      .executeTakeFirst();
    if (!asset) return { status: 'skipped', message: 'asset no longer exists' };
    if (!job.force) {
      const done = await ctx.db
        .selectFrom('asset_job_status')
        .select('status')
        .where('asset_id', '=', job.assetId)
        .where('stage', '=', job.stage)
        .executeTakeFirst();
      if (done?.status === 'done') return { status: 'skipped', message: 'already done' };
    }
    await recordStatus(ctx, job, 'running', { attempt });
    const started = performance.now();
    let outcome: JobOutcome;
    try {
      outcome = await handler(ctx, job);
    } catch (err) {
      const message = (err as Error).message?.split('\n')[0] ?? String(err);
      await recordStatus(ctx, job, 'failed', { error: message, durationMs: performance.now() - started });
      ctx.logger.warn(`${job.stage} failed for asset ${job.assetId}: ${message}`, { asset: job.assetId, stage: job.stage, cause: message });
      throw err;
    }
    const durationMs = performance.now() - started;
    const status = outcome.status === 'success' ? 'done' : outcome.status === 'skipped' ? 'skipped' : 'failed';
    await recordStatus(ctx, job, status, { error: outcome.message, durationMs });
    if (outcome.status === 'failed') {
      ctx.logger.warn(`${job.stage} failed for asset ${job.assetId}: ${outcome.message ?? ''}`, { asset: job.assetId, stage: job.stage, cause: outcome.message ?? null });
    }
    if (outcome.status === 'success' && opts.followUps !== false) {
      const next = nextStages(job.stage, asset.type).filter((s) => !opts.onlyStages || opts.onlyStages.has(s));
      if (next.length) await ctx.queue.enqueue(next.map((stage) => ({ stage, assetId: job.assetId })));
    }
    return outcome;
  };
  processor.onlyStages = opts.onlyStages;
  return processor;
}

async function recordStatus(
  ctx: Context,
  job: JobSpec,
  status: 'running' | 'done' | 'skipped' | 'failed',
  extra: { error?: string; durationMs?: number; attempt?: number },
): Promise<void> {
  const now = new Date();
  await ctx.db
    .insertInto('asset_job_status')
    .values({
      asset_id: job.assetId!,
      stage: job.stage,
      status,
      attempts: extra.attempt ?? 0,
      error: extra.error ?? null,
      duration_ms: extra.durationMs !== undefined ? Math.round(extra.durationMs) : null,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['asset_id', 'stage']).doUpdateSet({
        status,
        attempts: extra.attempt !== undefined ? sql`asset_job_status.attempts + 1` : sql`asset_job_status.attempts`,
        error: extra.error ?? null,
        duration_ms: extra.durationMs !== undefined ? Math.round(extra.durationMs) : null,
        updated_at: now,
      }),
    )
    .execute();
  // Per-stage duration history for `immich stats` (services/job-history.ts).
  if (status !== 'running') await recordJobRun(ctx, job, status, extra.durationMs ?? 0, extra.error);
}
