// Redis-mode queue settings, parsed from the raw configuration (IMMICH_QUEUE_* variables), so the
// feature does not need its own entries in config.ts. Defaults follow Immich's per-queue concurrency.
import { maskUrlCredentials, type Config, type RedisConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { ALL_QUEUES, isStage, type Stage } from './types.js';

export interface QueueSettings {
  /** Redis key prefix; libraries sharing one Redis use different prefixes. */
  prefix: string;
  /** Attempts per job (a thrown error is retried with exponential back-off). */
  attempts: number;
  /** First back-off delay; doubles with each attempt. */
  backoffMs: number;
  /** How long a worker's lock on a job lasts without renewal (a killed worker's job is retried after it). */
  lockDurationMs: number;
  /** How often workers look for stalled jobs (locks of dead workers). */
  stalledIntervalMs: number;
  /** Jobs per queue a worker process runs at once. */
  concurrency: Record<Stage, number>;
  /** How long a command (import, index...) waits for an unreachable Redis before it gives up (exit 3). */
  outageMs: number;
}

/** Immich's defaults (metadataExtraction 5, thumbnailGeneration 3, videoConversion 1, ...). */
export const DEFAULT_CONCURRENCY: Record<Stage, number> = {
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
  'IMMICH_REDIS_OUTAGE_MS',
  ...ALL_QUEUES.map(concurrencyVariable),
] as const;

export function concurrencyVariable(stage: Stage): string {
  return `IMMICH_QUEUE_CONCURRENCY_${stage.toUpperCase().replace(/-/g, '_')}`;
}

function int(raw: Readonly<Record<string, string>>, name: string, fallback: number, min: number): number {
  const v = raw[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name}=${v} must be an integer >= ${min}`);
  return n;
}

export function queueSettings(config: Pick<Config, 'raw'>): QueueSettings {
  const raw = config.raw;
  const prefix = raw.IMMICH_REDIS_PREFIX || 'immich';
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) {
    throw new UsageError(`IMMICH_REDIS_PREFIX=${prefix} may only contain letters, digits, '_', '.' and '-'`);
  }
  const concurrency = { ...DEFAULT_CONCURRENCY };
  for (const stage of ALL_QUEUES) concurrency[stage] = int(raw, concurrencyVariable(stage), concurrency[stage], 1);
  return {
    prefix,
    attempts: int(raw, 'IMMICH_QUEUE_ATTEMPTS', 3, 1),
    backoffMs: int(raw, 'IMMICH_QUEUE_BACKOFF_MS', 5000, 0),
    lockDurationMs: int(raw, 'IMMICH_QUEUE_LOCK_DURATION_MS', 30_000, 1000),
    stalledIntervalMs: int(raw, 'IMMICH_QUEUE_STALLED_INTERVAL_MS', 30_000, 500),
    concurrency,
    outageMs: int(raw, 'IMMICH_REDIS_OUTAGE_MS', 120_000, 100),
  };
}

/** `--queues a,b` → stages; 'all' or absent → every queue. */
export function parseQueueList(value: string | undefined, flag = '--queues'): Stage[] {
  if (!value || value === 'all') return [...ALL_QUEUES];
  const out: Stage[] = [];
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!isStage(part)) throw new UsageError(`${flag}: unknown queue '${part}' (one of ${ALL_QUEUES.join(', ')})`);
    if (!out.includes(part)) out.push(part);
  }
  if (!out.length) throw new UsageError(`${flag} needs at least one queue`);
  return out;
}

/** Redis target for messages, never the password. */
export function describeRedis(cfg: RedisConfig): string {
  return `Redis at ${maskUrlCredentials(cfg.host)}:${cfg.port}${cfg.dbIndex ? `/${cfg.dbIndex}` : ''}`;
}
