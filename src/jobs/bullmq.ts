// BullMQ job queues on Redis (REDIS_HOSTNAME set). Filled in by the Redis-mode work.
import type { Context } from '../context.js';
import type { JobQueue } from './types.js';

export const createRedisQueue: ((ctx: Context) => Promise<JobQueue>) | undefined = undefined;
