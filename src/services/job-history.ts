// Job history for metrics: every finished job leaves one job_runs row (stage, asset, status,
// duration). Recording must never fail the job itself, e.g. on a database without migration 0040.
import type { JobSpec } from '../jobs/types.js';

/** The job_runs row of a finished job (written together with its status by the pipeline). */
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

