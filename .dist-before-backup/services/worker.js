import { UsageError } from '../errors.js';
import { RedisJobQueue } from '../jobs/bullmq.js';
export function redisQueueOf(ctx) {
    if (!(ctx.queue instanceof RedisJobQueue)) {
        throw new UsageError('immich worker needs Redis job queues: set REDIS_HOSTNAME (and PostgreSQL with DB_HOSTNAME so several processes can share the library)');
    }
    return ctx.queue;
}
export async function runWorker(ctx, opts) {
    const queue = redisQueueOf(ctx);
    const stats = { done: 0, skipped: 0, failed: 0, retried: 0, byStage: {} };
    const handle = queue.work({
        queues: opts.queues,
        concurrency: opts.concurrency,
        onJob: (stage, status, message) => {
            if (status === 'retry')
                stats.retried++;
            else {
                stats[status]++;
                const s = (stats.byStage[stage] ??= { done: 0, skipped: 0, failed: 0 });
                s[status]++;
            }
            opts.onJob?.(stage, status, message, stats);
        },
    });
    opts.onReady?.();
    await new Promise((resolve) => {
        if (opts.signal.aborted)
            resolve();
        else
            opts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await handle.close();
    return stats;
}
//# sourceMappingURL=worker.js.map