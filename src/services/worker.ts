// `immich worker`: run the pipeline's processor (the same as the in-process runner) on BullMQ
// queues until asked to stop; in-flight jobs finish before it returns.
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { RedisJobQueue, type WorkOptions } from '../jobs/bullmq.js';
import type { Stage } from '../jobs/types.js';
import { trashMaintenance } from './trash.js';

export interface WorkerStats {
  done: number;
  skipped: number;
  failed: number;
  retried: number;
  byStage: Partial<Record<Stage, { done: number; skipped: number; failed: number }>>;
}

export interface RunWorkerOptions extends Omit<WorkOptions, 'onJob'> {
  /** Resolves the worker: stop taking jobs and finish the in-flight ones. */
  signal: AbortSignal;
  onJob?: (stage: Stage, status: 'done' | 'skipped' | 'failed' | 'retry', message: string | undefined, stats: WorkerStats) => void;
  /** Called once the workers are listening. */
  onReady?: () => void;
}

const MAINTENANCE_INTERVAL_MS = 6 * 3_600_000;

export function redisQueueOf(ctx: Context): RedisJobQueue {
  if (!(ctx.queue instanceof RedisJobQueue)) {
    throw new UsageError('immich worker needs Redis job queues: set REDIS_HOSTNAME (and PostgreSQL with DB_HOSTNAME so several processes can share the library)');
  }
  return ctx.queue;
}

export async function runWorker(ctx: Context, opts: RunWorkerOptions): Promise<WorkerStats> {
  const queue = redisQueueOf(ctx);
  const stats: WorkerStats = { done: 0, skipped: 0, failed: 0, retried: 0, byStage: {} };
  // The trash's retention runs at start and then every few hours while the worker lives.
  await trashMaintenance(ctx);
  const maintenance = setInterval(() => void trashMaintenance(ctx), MAINTENANCE_INTERVAL_MS);
  maintenance.unref();
  const handle = queue.work({
    queues: opts.queues,
    concurrency: opts.concurrency,
    onJob: (stage, status, message) => {
      if (status === 'retry') stats.retried++;
      else {
        stats[status]++;
        const s = (stats.byStage[stage] ??= { done: 0, skipped: 0, failed: 0 });
        s[status]++;
      }
      opts.onJob?.(stage, status, message, stats);
    },
  });
  opts.onReady?.();
  await new Promise<void>((resolve) => {
    if (opts.signal.aborted) resolve();
    else opts.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(maintenance);
  await handle.close();
  return stats;
}
