// Queue status and administration for `immich jobs`. In Redis mode it reads BullMQ's counts and
// needs no database; in in-process mode it reports what asset_job_status records per stage.
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { DB } from '../db/schema.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../logger.js';
// BullMQ (~170 module files, ~0.4 s to load) only when Redis is configured.
import type { QueueAdmin, QueueCounts } from '../jobs/bullmq.js';
import { queueSettings } from '../jobs/redis-settings.js';
import { ALL_QUEUES, type Stage } from '../jobs/types.js';
import { jobStatusTotals } from '../db/job-status-counts.js';

export { jobStatusTotals };

export type { QueueCounts };

export interface StageStatusCounts {
  stage: Stage;
  queued: number;
  running: number;
  done: number;
  failed: number;
  skipped: number;
}

/** Open the queue admin for the configured Redis (exit 3 when unreachable). */
export async function openQueueAdmin(config: Config, logger?: Logger): Promise<QueueAdmin> {
  if (!config.redis) {
    throw new UsageError('this needs Redis job queues: set REDIS_HOSTNAME (without it, jobs run inside the command that queues them)');
  }
  const settings = queueSettings(config);
  const { checkRedis, QueueAdmin } = await import('../jobs/bullmq.js');
  await checkRedis(config.redis);
  return new QueueAdmin(config.redis, settings, logger);
}

/** In-process mode: per-stage counts of asset_job_status. */
export async function stageStatusCounts(db: Kysely<DB>): Promise<StageStatusCounts[]> {
  const rows = await jobStatusTotals(db);
  const map = new Map<string, StageStatusCounts>();
  for (const stage of ALL_QUEUES) map.set(stage, { stage, queued: 0, running: 0, done: 0, failed: 0, skipped: 0 });
  for (const r of rows) {
    const s = map.get(r.stage);
    if (s) s[r.status] = Number(r.n);
  }
  return [...map.values()];
}

/** `all` or a queue name → queues. */
export function resolveQueues(name: string): Stage[] {
  if (name === 'all') return [...ALL_QUEUES];
  if (!(ALL_QUEUES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown queue '${name}': one of ${ALL_QUEUES.join(', ')}, or all`);
  }
  return [name as Stage];
}
