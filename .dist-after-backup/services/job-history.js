/** The job_runs row of a finished job (also written together with its status by the pipeline). */
export function jobRunRow(job, status, durationMs, error, attempt = 0) {
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
export async function recordJobRun(ctx, job, status, durationMs, error, attempt = 0) {
    try {
        await ctx.db
            .insertInto('job_runs')
            .values(jobRunRow(job, status, durationMs, error, attempt))
            .execute();
    }
    catch (err) {
        ctx.logger.debug(`job history not recorded: ${err.message}`, { stage: job.stage, asset: job.assetId });
    }
}
//# sourceMappingURL=job-history.js.map