// Job history for metrics: every finished job leaves one job_runs row (stage, asset, status,
// duration). Recording must never fail the job itself, e.g. on a database without migration 0040.
import type { Context } from '../context.js';
import type { JobSpec } from '../jobs/types.js';

/** The job_runs row of a finished job (also written together with its status by the pipeline). */
export function jobRunRow(job: JobSpec, status: 'done' | 'failed' | 'skipped', durationMs: number, error?: string, attempt = 0) {
  return {
    stage: job.stage,
    asset_id: job.assetId ?? null,
    status,
    duration_ms: Math.max(0, Math.round(durationMs)),
    attempt,
    error: error ? error.slice(0, 500) : null,
    finished_at: new Date(),
  };
}

export async function recordJobRun(
  ctx: Context,
  job: JobSpec,
  status: 'done' | 'failed' | 'skipped',
  durationMs: number,
  error?: string,
  attempt = 0,
): Promise<void> {
  try {
    await ctx.db
      .insertInto('job_runs')
      .values(jobRunRow(job, status, durationMs, error, attempt))
      .execute();
  } catch (err) {
    ctx.logger.debug(`job history not recorded: ${(err as Error).message}`, { stage: job.stage, asset: job.assetId });
  }
}
