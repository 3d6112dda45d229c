// asset_job_status counts per stage and status, kept by 0200's trigger (no BullMQ or service imports:
// index, stats and jobs read them).
import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'skipped';

/**
 * asset_job_status rows per (stage, status), from the counts its trigger keeps (migration 0200: a
 * few dozen rows to sum instead of grouping 6 rows per asset).
 */
export async function jobStatusTotals(db: Kysely<DB>): Promise<Array<{ stage: string; status: JobStatus; n: number }>> {
  const rows = await db
    .selectFrom('job_status_counts')
    .select(['stage', 'status', (eb) => eb.fn.sum<string>('n').as('n')])
    .groupBy(['stage', 'status'])
    .execute();
  return rows.map((r) => ({ stage: r.stage, status: r.status as JobStatus, n: Number(r.n) })).filter((r) => r.n !== 0);
}
