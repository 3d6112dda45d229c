// asset_job_status counts per stage and status, kept by 0200's trigger, and job_runs totals, kept by 0250's (no BullMQ or service imports:
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

/**
 * Finished jobs per (stage, status) over the whole history with their summed duration, from the
 * totals 0250's statement triggers keep (job_runs is never pruned: grouping it took seconds at 6M rows).
 */
export async function jobRunTotals(db: Kysely<DB>): Promise<Array<{ stage: string; status: string; count: number; ms: number }>> {
  const rows = await db
    .selectFrom('job_run_totals')
    .select(['stage', 'status', (eb) => eb.fn.sum<string>('n').as('n'), (eb) => eb.fn.sum<string>('ms').as('ms')])
    .groupBy(['stage', 'status'])
    .orderBy('stage')
    .orderBy('status')
    .execute();
  return rows.map((r) => ({ stage: r.stage, status: r.status, count: Number(r.n), ms: Number(r.ms) })).filter((r) => r.count !== 0);
}
