// BullMQ job queues on Redis (REDIS_HOSTNAME set): one queue per stage, job ids derived from
// (stage, asset) so re-queueing never duplicates work, 3 attempts with exponential back-off, failed
// jobs kept with their error. The same processor as the in-process runner runs the jobs.
//
// "This run's jobs": every enqueue belongs to a run (a random id per command, or the run of the job
// whose processor queued the follow-up, carried with AsyncLocalStorage). A run keeps in Redis the set
// of job ids it waits for (run:<id>:pending) and per-stage counters; each job id keeps the runs that
// wait for it (waiters:<jobId>). The worker that finishes a job removes it from every waiting run in
// one Lua script, so a re-queue that BullMQ ignores as a duplicate is still waited for, and a
// command's drain() ends when its pending set is empty.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { scrubSecret, type RedisConfig } from '../config.js';
import type { Context } from '../context.js';
import { EnvironmentError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeRedis, queueSettings, type QueueSettings } from './redis-settings.js';
import {
  ALL_QUEUES,
  jobKey,
  type DrainResult,
  type JobOutcome,
  type JobProcessor,
  type JobQueue,
  type JobSpec,
  type QueueProgress,
  type Stage,
} from './types.js';

/** What a BullMQ job carries. */
export interface BullJobData {
  assetId?: string;
  force?: boolean;
  data?: Record<string, unknown>;
  /** The run that queued it (follow-ups inherit it). */
  run: string;
  /** Stages this run is limited to (import --skip-ml): follow-ups of other stages are not queued. */
  only?: string[];
}

/** BullMQ forbids ':' in custom ids; escape it (and '%') so the mapping stays one-to-one. */
export function bullJobId(job: JobSpec): string {
  return jobKey(job).replace(/%/g, '%25').replace(/:/g, '%3A');
}

export function stageOfJobId(id: string): Stage {
  return id.slice(0, id.indexOf('%3A')) as Stage;
}

const RUN_TTL_S = 7 * 24 * 3600;

// KEYS[1] waiters key. ARGV: prefix, jobId, stage, status (done|skipped|failed), failure JSON or ''.
const FINISH_SCRIPT = `
local runs = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
for _, r in ipairs(runs) do
  local base = ARGV[1] .. ':run:' .. r
  if redis.call('SREM', base .. ':pending', ARGV[2]) == 1 then
    redis.call('HINCRBY', base .. ':stats', ARGV[3] .. '.' .. ARGV[4], 1)
    if ARGV[5] ~= '' then redis.call('RPUSH', base .. ':failures', ARGV[5]) end
  end
end
return #runs`;

function redisOptions(cfg: RedisConfig): RedisOptions {
  return { host: cfg.host, port: cfg.port, password: cfg.password, db: cfg.dbIndex };
}

/** Options for the connections BullMQ makes itself (it loads ioredis). */
function bullConnection(cfg: RedisConfig): ConnectionOptions {
  return { host: cfg.host, port: cfg.port, password: cfg.password, db: cfg.dbIndex, maxRetriesPerRequest: null };
}

/** The cause of a Redis error in a few words; the password and URL credentials never appear in it. */
function redisCause(err: unknown, cfg: RedisConfig): string {
  const e = err as NodeJS.ErrnoException;
  const msg = scrubSecret((e?.message ?? String(err)).split('\n')[0]!, cfg.password);
  if (e?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) return 'connection refused (is Redis running?)';
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN' || /ENOTFOUND|EAI_AGAIN/.test(msg)) return 'host not found';
  if (/NOAUTH|WRONGPASS|invalid password/i.test(msg)) return 'authentication failed (check REDIS_PASSWORD)';
  if (/timed? ?out/i.test(msg)) return 'connection timed out';
  return msg;
}

/** Connect once with no retries: an unreachable Redis is an environment error (exit 3), named host:port. */
export async function checkRedis(cfg: RedisConfig, timeoutMs = 5000): Promise<void> {
  const probe = new Redis({
    ...redisOptions(cfg),
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new EnvironmentError(`cannot connect to ${describeRedis(cfg)}: ${redisCause(err, cfg)}`, { cause: err });
  } finally {
    probe.disconnect();
  }
}

export interface QueueCounts {
  queue: Stage;
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
  paused: number;
  isPaused: boolean;
}

/** Queue administration (`immich jobs`): needs Redis only, not the database. */
export class QueueAdmin {
  private queues = new Map<Stage, Queue>();
  private readonly connection: ConnectionOptions;

  constructor(readonly cfg: RedisConfig, readonly settings: QueueSettings, private readonly logger?: Logger) {
    this.connection = bullConnection(cfg);
  }

  queue(stage: Stage): Queue {
    let q = this.queues.get(stage);
    if (!q) {
      q = new Queue(stage, {
        connection: this.connection,
        prefix: this.settings.prefix,
        defaultJobOptions: {
          attempts: this.settings.attempts,
          backoff: { type: 'exponential', delay: this.settings.backoffMs },
          // Completed jobs are kept for a while for `immich jobs`; a re-queue replaces them.
          removeOnComplete: { age: 24 * 3600, count: 10_000 },
          removeOnFail: false,
        },
      });
      q.on('error', (err) => this.logger?.warn(`${describeRedis(this.cfg)}: ${redisCause(err, this.cfg)}`));
      this.queues.set(stage, q);
    }
    return q;
  }

  async counts(stages: readonly Stage[] = ALL_QUEUES): Promise<QueueCounts[]> {
    return Promise.all(
      stages.map(async (stage) => {
        const q = this.queue(stage);
        const [c, isPaused] = await Promise.all([
          q.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'),
          q.isPaused(),
        ]);
        const waiting = (c.waiting ?? 0) + (c.prioritized ?? 0);
        return {
          queue: stage,
          // BullMQ keeps a paused queue's jobs in its wait list: show them as paused.
          waiting: isPaused ? 0 : waiting,
          active: c.active ?? 0,
          completed: c.completed ?? 0,
          failed: c.failed ?? 0,
          delayed: c.delayed ?? 0,
          paused: isPaused ? waiting : 0,
          isPaused,
        };
      }),
    );
  }

  async pause(stage: Stage): Promise<void> {
    await this.queue(stage).pause();
  }

  async resume(stage: Stage): Promise<void> {
    await this.queue(stage).resume();
  }

  /** Move failed jobs back to waiting (attempts start again). Returns how many. */
  async retryFailed(stage: Stage): Promise<number> {
    const q = this.queue(stage);
    const n = await q.getFailedCount();
    if (n > 0) await q.retryJobs({ state: 'failed', count: 1000 });
    return n;
  }

  /** Remove waiting, delayed, completed and failed jobs (active ones finish). Returns how many. */
  async clear(stage: Stage): Promise<number> {
    const q = this.queue(stage);
    const before = await q.getJobCountByTypes('waiting', 'delayed', 'completed', 'failed', 'prioritized');
    await q.drain(true);
    await q.clean(0, 0, 'completed');
    await q.clean(0, 0, 'failed');
    return before;
  }

  /** Failed jobs with their error, newest first. */
  async failedJobs(stage: Stage, limit = 20): Promise<Array<{ id: string; assetId?: string; reason: string; attempts: number }>> {
    const jobs = await this.queue(stage).getFailed(0, limit - 1);
    return jobs.map((j) => ({
      id: String(j.id),
      assetId: (j.data as BullJobData).assetId,
      reason: j.failedReason ?? '',
      attempts: j.attemptsMade,
    }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
    this.queues.clear();
  }
}

export interface WorkOptions {
  queues?: readonly Stage[];
  /** Same concurrency for every queue (overrides IMMICH_QUEUE_CONCURRENCY_*). */
  concurrency?: number;
  /** Per-queue concurrency when `concurrency` is not given (default: the queue settings). */
  perQueue?: (stage: Stage) => number;
  /** Called after each finished job (for progress). */
  onJob?: (stage: Stage, status: 'done' | 'skipped' | 'failed' | 'retry', message?: string) => void;
}

export interface WorkerHandle {
  /**
   * Stop taking jobs, let the in-flight ones finish. `force` (Redis gone for good) does not wait:
   * a graceful close waits for the in-flight jobs' Redis writes and for its own QUIT, which with
   * no Redis and unlimited retries never come.
   */
  close(force?: boolean): Promise<void>;
}

export class RedisJobQueue implements JobQueue {
  readonly kind = 'redis' as const;
  /** The run of this command; follow-ups queued while processing a job inherit that job's run. */
  readonly runId = randomUUID();
  private readonly als = new AsyncLocalStorage<{ run: string; only?: string[] }>();
  private readonly redis: Redis;
  private processor?: JobProcessor;
  private workers: Worker[] = [];
  private lastRedisError = 0;
  private local?: WorkerHandle;
  private reported = { completed: 0, failed: 0, skipped: 0, failures: 0 };

  constructor(
    readonly admin: QueueAdmin,
    private readonly logger: Logger,
    /** Cap per queue for the workers a command runs while it waits in drain() (the context's concurrency). */
    private readonly localConcurrency?: number,
  ) {
    // Commands wait for a reconnect instead of failing, so a Redis restart is survived; an outage
    // longer than IMMICH_REDIS_OUTAGE_MS ends the command (exit 3) instead of hanging it for ever.
    this.redis = new Redis({ ...redisOptions(admin.cfg), maxRetriesPerRequest: null });
    this.redis.on('error', (err) => this.redisError(err));
    this.redis.on('ready', () => (this.downSince = undefined));
    this.gaveUp = new Promise<never>((_, reject) => (this.giveUp = reject));
    this.gaveUp.catch(() => {});
    this.watchdog = setInterval(() => {
      if (this.downSince === undefined || this.dead || Date.now() - this.downSince < this.settings.outageMs) return;
      this.dead = new EnvironmentError(
        `${describeRedis(this.admin.cfg)}: unreachable for ${Math.round((Date.now() - this.downSince) / 1000)} s (${this.lastCause}); giving up (IMMICH_REDIS_OUTAGE_MS)`,
      );
      this.giveUp(this.dead);
    }, 250);
    this.watchdog.unref();
  }

  private downSince?: number;
  private lastCause = 'no answer';
  private dead?: EnvironmentError;
  private giveUp!: (err: EnvironmentError) => void;
  private readonly gaveUp: Promise<never>;
  private readonly watchdog: NodeJS.Timeout;

  /** `p`, or the outage error once Redis has been unreachable for too long. */
  private bounded<T>(p: Promise<T>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    return Promise.race([p, this.gaveUp]);
  }

  get settings(): QueueSettings {
    return this.admin.settings;
  }

  private key(...parts: string[]): string {
    return [this.settings.prefix, ...parts].join(':');
  }

  private redisError(err: unknown): void {
    this.downSince ??= Date.now();
    this.lastCause = redisCause(err, this.admin.cfg);
    // Reconnects are retried until IMMICH_REDIS_OUTAGE_MS; say so at most every 10 s.
    if (Date.now() - this.lastRedisError < 10_000) return;
    this.lastRedisError = Date.now();
    this.logger.warn(`${describeRedis(this.admin.cfg)}: ${redisCause(err, this.admin.cfg)}; retrying`);
  }

  setProcessor(p: JobProcessor): void {
    this.processor = p;
  }

  /** The stage limit of this command's own jobs (the processor's, e.g. import --skip-ml). */
  private get commandOnly(): string[] | undefined {
    return this.processor?.onlyStages ? [...this.processor.onlyStages] : undefined;
  }

  async enqueue(jobs: JobSpec[]): Promise<void> {
    return this.bounded(this.enqueueAll(jobs));
  }

  private async enqueueAll(jobs: JobSpec[]): Promise<void> {
    const store = this.als.getStore();
    const run = store?.run ?? this.runId;
    const only = store ? store.only : this.commandOnly;
    const byStage = new Map<Stage, JobSpec[]>();
    for (const job of jobs) {
      if (only && !only.includes(job.stage)) continue;
      const list = byStage.get(job.stage) ?? [];
      list.push(job);
      byStage.set(job.stage, list);
    }
    for (const [stage, list] of byStage) {
      for (let i = 0; i < list.length; i += 1000) await this.enqueuePage(run, stage, list.slice(i, i + 1000), only);
    }
  }

  private async enqueuePage(run: string, stage: Stage, jobs: JobSpec[], only: string[] | undefined): Promise<void> {
    const seen = new Set<string>();
    const page: Array<{ id: string; job: JobSpec }> = [];
    for (const job of jobs) {
      const id = bullJobId(job);
      if (!seen.has(id)) { seen.add(id); page.push({ id, job }); }
    }
    const pendingKey = this.key('run', run, 'pending');
    const pipe = this.redis.pipeline();
    for (const { id } of page) {
      pipe.sadd(this.key('waiters', id), run);
      pipe.expire(this.key('waiters', id), RUN_TTL_S);
      pipe.sadd(pendingKey, id);
      pipe.zscore(this.key(stage, 'completed'), id);
      pipe.zscore(this.key(stage, 'failed'), id);
    }
    pipe.expire(pendingKey, RUN_TTL_S);
    const res = (await pipe.exec()) ?? [];
    let added = 0;
    const finished: string[] = [];
    page.forEach(({ id }, i) => {
      const r = res.slice(i * 5, i * 5 + 5).map(([err, v]) => {
        if (err) throw err;
        return v;
      });
      if (r[2] === 1) added++;
      if (r[3] !== null || r[4] !== null) finished.push(id);
    });
    const stats = this.key('run', run, 'stats');
    await this.redis.multi().hincrby(stats, `${stage}.total`, added).expire(stats, RUN_TTL_S).exec();
    const queue = this.admin.queue(stage);
    // A finished job with the same id would make BullMQ ignore the new one: replace it.
    for (const id of finished) await queue.remove(id).catch(() => 0);
    await queue.addBulk(
      page.map(({ id, job }) => ({
        name: stage,
        data: { assetId: job.assetId, force: job.force, data: job.data, run, ...(only ? { only } : {}) } satisfies BullJobData,
        opts: { jobId: id },
      })),
    );
  }

  /** Settle job `id` for every run waiting for it (see FINISH_SCRIPT). */
  private async finish(stage: Stage, id: string, status: 'done' | 'skipped' | 'failed', job: JobSpec, message?: string): Promise<void> {
    const failure = status === 'failed' ? JSON.stringify({ stage, assetId: job.assetId, message: message ?? 'failed' }) : '';
    await this.redis.eval(FINISH_SCRIPT, 1, this.key('waiters', id), this.settings.prefix, id, stage, status, failure);
  }

  /** Start BullMQ workers for these queues in this process, running the context's processor. */
  work(opts: WorkOptions = {}): WorkerHandle {
    const processor = this.processor;
    if (!processor) throw new Error('RedisJobQueue: no processor set');
    const stages = opts.queues ?? ALL_QUEUES;
    const started: Worker[] = [];
    for (const stage of stages) {
      const worker = new Worker<BullJobData, JobOutcome>(
        stage,
        (job) => this.process(processor, stage, job, opts),
        {
          connection: bullConnection(this.admin.cfg),
          prefix: this.settings.prefix,
          concurrency: opts.concurrency ?? opts.perQueue?.(stage) ?? this.settings.concurrency[stage],
          lockDuration: this.settings.lockDurationMs,
          stalledInterval: this.settings.stalledIntervalMs,
          // A Redis restart can let locks lapse: allow a couple of stalls before giving up on a job.
          maxStalledCount: 2,
          removeOnComplete: { age: 24 * 3600, count: 10_000 },
          removeOnFail: { count: 100_000 },
          drainDelay: 1,
        },
      );
      worker.on('error', (err) => this.redisError(err));
      worker.on('failed', (job, err) => {
        if (job && job.attemptsMade < (job.opts.attempts ?? 1) && !(err instanceof UnrecoverableError)) {
          opts.onJob?.(stage, 'retry', err.message);
        }
      });
      started.push(worker);
    }
    this.workers.push(...started);
    return {
      close: async (force = false) => {
        if (force) for (const w of started) void w.close(true).catch(() => {});
        else await Promise.all(started.map((w) => w.close()));
        this.workers = this.workers.filter((w) => !started.includes(w));
      },
    };
  }

  private async process(processor: JobProcessor, stage: Stage, job: Job<BullJobData, JobOutcome>, opts: WorkOptions): Promise<JobOutcome> {
    const d = job.data;
    const spec: JobSpec = { stage, assetId: d.assetId, force: d.force, data: d.data };
    const id = String(job.id);
    const attempt = job.attemptsMade + 1;
    let outcome: JobOutcome;
    try {
      outcome = await this.als.run({ run: d.run, only: d.only }, () => processor(spec, attempt));
    } catch (err) {
      const message = ((err as Error)?.message ?? String(err)).split('\n')[0]!;
      if (attempt >= (job.opts.attempts ?? 1)) {
        await this.finish(stage, id, 'failed', spec, message);
        opts.onJob?.(stage, 'failed', message);
      }
      throw err;
    }
    const status = outcome.status === 'success' ? 'done' : outcome.status;
    await this.finish(stage, id, status, spec, outcome.message);
    opts.onJob?.(stage, status, outcome.message);
    // A handler that reports failure (bad file) would fail again: keep it failed, with its error, now.
    if (outcome.status === 'failed') throw new UnrecoverableError(outcome.message ?? 'failed');
    // BullMQ keeps the return value in Redis: the status and message, not the result rows already written.
    return { status: outcome.status, message: outcome.message };
  }

  /** How this run stands: per-stage counters and the number of jobs still pending. */
  async runStatus(run = this.runId): Promise<{ pending: number; stages: QueueProgress[] }> {
    const [pending, stats] = await Promise.all([
      this.redis.scard(this.key('run', run, 'pending')),
      this.redis.hgetall(this.key('run', run, 'stats')),
    ]);
    const map = new Map<Stage, QueueProgress>();
    for (const [field, value] of Object.entries(stats)) {
      const dot = field.lastIndexOf('.');
      const stage = field.slice(0, dot) as Stage;
      const kind = field.slice(dot + 1) as 'total' | 'done' | 'failed' | 'skipped';
      const p = map.get(stage) ?? { stage, done: 0, failed: 0, skipped: 0, total: 0 };
      p[kind] = Number(value);
      map.set(stage, p);
    }
    const stages = ALL_QUEUES.filter((s) => map.has(s)).map((s) => map.get(s)!);
    return { pending, stages };
  }

  /**
   * Wait until this run's jobs (and the follow-ups they queue) are done. Unless `work` is false
   * this process works as a worker meanwhile, so `immich import` alone gets everything done.
   */
  async drain(onProgress?: (p: QueueProgress) => void, opts: { work?: boolean; pollMs?: number } = {}): Promise<DrainResult> {
    // The local workers stay up across drain() calls (import drains while it still walks) until close().
    if (opts.work !== false && this.processor && !this.local) {
      const cap = this.localConcurrency;
      this.local = this.work(cap ? { perQueue: (stage) => Math.min(cap, this.settings.concurrency[stage]) } : {});
    }
    const pollMs = opts.pollMs ?? 200;
    const last = new Map<Stage, string>();
    const suspects = new Map<string, number>();
    let lastSweep = Date.now();
    try {
      for (;;) {
        let status;
        try {
          status = await this.bounded(this.runStatus());
        } catch (err) {
          if (this.dead) throw this.dead;
          this.redisError(err);
          await sleep(1000);
          continue;
        }
        for (const p of status.stages) {
          const sig = `${p.done}/${p.failed}/${p.skipped}/${p.total}`;
          if (last.get(p.stage) !== sig) { last.set(p.stage, sig); onProgress?.(p); }
        }
        if (status.pending === 0) break;
        if (Date.now() - lastSweep > 5000) {
          lastSweep = Date.now();
          // Bounded like every Redis wait of a command: a sweep caught by the outage would wait for ever.
          await this.bounded(this.sweep(suspects)).catch((err) => {
            if (this.dead) throw this.dead;
            this.redisError(err);
          });
        }
        await sleep(pollMs);
      }
    } catch (err) {
      // Redis gone for good (the watchdog fired): end now. Awaiting a graceful close here left the
      // command sleeping for ever between reconnect attempts, its outage error never reported.
      const local = this.local;
      this.local = undefined;
      await local?.close(Boolean(this.dead));
      throw err;
    }
    // Like the in-process runner, each drain() reports what finished since the previous one.
    const { stages } = await this.bounded(this.runStatus());
    const failures = (await this.bounded(this.redis.lrange(this.key('run', this.runId, 'failures'), this.reported.failures, -1))).map((s) => {
      const f = JSON.parse(s) as { stage: Stage; assetId?: string; message: string };
      return { job: { stage: f.stage, assetId: f.assetId }, message: f.message };
    });
    const total = {
      completed: stages.reduce((n, p) => n + p.done, 0),
      failed: stages.reduce((n, p) => n + p.failed, 0),
      skipped: stages.reduce((n, p) => n + p.skipped, 0),
    };
    const result: DrainResult = {
      completed: total.completed - this.reported.completed,
      failed: total.failed - this.reported.failed,
      skipped: total.skipped - this.reported.skipped,
      failures,
    };
    this.reported = { ...total, failures: this.reported.failures + failures.length };
    return result;
  }

  /**
   * Safety net for drain(): a pending job that BullMQ no longer has, or has failed without our
   * processor seeing it (stalled too often), is settled after two sweeps in a row find it so.
   */
  private async sweep(suspects: Map<string, number>): Promise<void> {
    const ids = await this.redis.smembers(this.key('run', this.runId, 'pending'));
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const pipe = this.redis.pipeline();
      for (const id of chunk) {
        const stage = stageOfJobId(id);
        pipe.exists(this.key(stage, id));
        pipe.zscore(this.key(stage, 'failed'), id);
      }
      const res = (await pipe.exec()) ?? [];
      for (let j = 0; j < chunk.length; j++) {
        const id = chunk[j]!;
        const exists = res[j * 2]?.[1] === 1;
        const failed = res[j * 2 + 1]?.[1] !== null && res[j * 2 + 1]?.[1] !== undefined;
        if (exists && !failed) { suspects.delete(id); continue; }
        const seen = (suspects.get(id) ?? 0) + 1;
        suspects.set(id, seen);
        if (seen < 2) continue;
        suspects.delete(id);
        const stage = stageOfJobId(id);
        // Gone without our processor finishing it: removed (immich jobs clear) before it ran.
        let reason = 'removed from the queue before it ran (immich jobs clear?)';
        if (failed) {
          const job = await this.admin.queue(stage).getJob(id);
          reason = job?.failedReason || 'failed';
        }
        const assetId = (await this.admin.queue(stage).getJob(id))?.data?.assetId;
        await this.finish(stage, id, 'failed', { stage, assetId }, reason);
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    if (this.dead) {
      // Redis is gone: a graceful close would wait for it for ever.
      for (const w of this.workers) void w.close(true).catch(() => {});
      void this.admin.close().catch(() => {});
      this.redis.disconnect();
      return;
    }
    this.local = undefined;
    await Promise.all(this.workers.map((w) => w.close().catch(() => {})));
    this.workers = [];
    await this.admin.close();
    this.redis.disconnect();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Build the Redis job queue for a context (called by cli/runtime.ts when REDIS_HOSTNAME is set). */
export async function createRedisQueue(ctx: Context): Promise<JobQueue> {
  const redis = ctx.config.redis;
  if (!redis) throw new Error('createRedisQueue: REDIS_HOSTNAME is not set');
  const settings = queueSettings(ctx.config);
  await checkRedis(redis);
  return new RedisJobQueue(new QueueAdmin(redis, settings, ctx.logger), ctx.logger, ctx.concurrency);
}
