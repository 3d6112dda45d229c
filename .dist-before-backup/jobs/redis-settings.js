import { UsageError } from '../errors.js';
import { ALL_QUEUES, isStage } from './types.js';
/** Immich's defaults (metadataExtraction 5, thumbnailGeneration 3, videoConversion 1, ...). */
export const DEFAULT_CONCURRENCY = {
    metadata: 5,
    thumbnails: 3,
    video: 1,
    'smart-search': 2,
    'face-detection': 2,
    'face-recognition': 1,
    objects: 2,
    ocr: 1,
    duplicates: 1,
    backup: 1,
};
/** Environment variables read here, for .env.example and the compose test. */
export const QUEUE_VARIABLES = [
    'IMMICH_REDIS_PREFIX',
    'IMMICH_QUEUE_ATTEMPTS',
    'IMMICH_QUEUE_BACKOFF_MS',
    'IMMICH_QUEUE_LOCK_DURATION_MS',
    'IMMICH_QUEUE_STALLED_INTERVAL_MS',
    ...ALL_QUEUES.map(concurrencyVariable),
];
export function concurrencyVariable(stage) {
    return `IMMICH_QUEUE_CONCURRENCY_${stage.toUpperCase().replace(/-/g, '_')}`;
}
function int(raw, name, fallback, min) {
    const v = raw[name];
    if (v === undefined || v === '')
        return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
        throw new UsageError(`${name}=${v} must be an integer >= ${min}`);
    return n;
}
export function queueSettings(config) {
    const raw = config.raw;
    const prefix = raw.IMMICH_REDIS_PREFIX || 'immich';
    if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) {
        throw new UsageError(`IMMICH_REDIS_PREFIX=${prefix} may only contain letters, digits, '_', '.' and '-'`);
    }
    const concurrency = { ...DEFAULT_CONCURRENCY };
    for (const stage of ALL_QUEUES)
        concurrency[stage] = int(raw, concurrencyVariable(stage), concurrency[stage], 1);
    return {
        prefix,
        attempts: int(raw, 'IMMICH_QUEUE_ATTEMPTS', 3, 1),
        backoffMs: int(raw, 'IMMICH_QUEUE_BACKOFF_MS', 5000, 0),
        lockDurationMs: int(raw, 'IMMICH_QUEUE_LOCK_DURATION_MS', 30_000, 1000),
        stalledIntervalMs: int(raw, 'IMMICH_QUEUE_STALLED_INTERVAL_MS', 30_000, 500),
        concurrency,
    };
}
/** `--queues a,b` → stages; 'all' or absent → every queue. */
export function parseQueueList(value, flag = '--queues') {
    if (!value || value === 'all')
        return [...ALL_QUEUES];
    const out = [];
    for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
        if (!isStage(part))
            throw new UsageError(`${flag}: unknown queue '${part}' (one of ${ALL_QUEUES.join(', ')})`);
        if (!out.includes(part))
            out.push(part);
    }
    if (!out.length)
        throw new UsageError(`${flag} needs at least one queue`);
    return out;
}
/** Redis target for messages, never the password. */
export function describeRedis(cfg) {
    return `Redis at ${cfg.host}:${cfg.port}${cfg.dbIndex ? `/${cfg.dbIndex}` : ''}`;
}
//# sourceMappingURL=redis-settings.js.map