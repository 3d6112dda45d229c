import { UsageError } from '../errors.js';
import { checkRedis, QueueAdmin } from '../jobs/bullmq.js';
import { queueSettings } from '../jobs/redis-settings.js';
import { ALL_QUEUES } from '../jobs/types.js';
/** Open the queue admin for the configured Redis (exit 3 when unreachable). */
export async function openQueueAdmin(config, logger) {
    if (!config.redis) {
        throw new UsageError('this needs Redis job queues: set REDIS_HOSTNAME (without it, jobs run inside the command that queues them)');
    }
    const settings = queueSettings(config);
    await checkRedis(config.redis);
    return new QueueAdmin(config.redis, settings, logger);
}
/** In-process mode: per-stage counts of asset_job_status. */
export async function stageStatusCounts(db) {
    const rows = await db
        .selectFrom('asset_job_status')
        .select(['stage', 'status', (eb) => eb.fn.countAll().as('n')])
        .groupBy(['stage', 'status'])
        .execute();
    const map = new Map();
    for (const stage of ALL_QUEUES)
        map.set(stage, { stage, queued: 0, running: 0, done: 0, failed: 0, skipped: 0 });
    for (const r of rows) {
        const s = map.get(r.stage);
        if (s)
            s[r.status] = Number(r.n);
    }
    return [...map.values()];
}
/** `all` or a queue name → queues. */
export function resolveQueues(name) {
    if (name === 'all')
        return [...ALL_QUEUES];
    if (!ALL_QUEUES.includes(name)) {
        throw new UsageError(`unknown queue '${name}': one of ${ALL_QUEUES.join(', ')}, or all`);
    }
    return [name];
}
//# sourceMappingURL=queues.js.map