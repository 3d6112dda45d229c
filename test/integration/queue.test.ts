// Redis mode against the running PostgreSQL and Redis (no mocks): worker processes share BullMQ
// queues; every job runs once; a SIGKILLed worker's job is retried; a Redis restart is survived.
// Fails (does not skip) when PostgreSQL or Redis cannot be reached.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { bullJobId, createRedisQueue, RedisJobQueue } from '../../src/jobs/bullmq.js';
import { silentLogger } from '../../src/logger.js';
import { createPgDatabase, pgEnv, REDIS_HOST, REDIS_PORT, tmpDir } from '../helpers/env.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'queue-worker.mjs');

interface Env { [k: string]: string }

function baseEnv(db: string, redisPort: number, prefix: string): Env {
  return {
    ...pgEnv(db),
    REDIS_HOSTNAME: REDIS_HOST,
    REDIS_PORT: String(redisPort),
    IMMICH_REDIS_PREFIX: prefix,
    UPLOAD_LOCATION: tmpDir('immich-queue-lib-'),
    IMMICH_QUEUE_BACKOFF_MS: '100',
  };
}

/** Short locks so a dead worker's job is taken over in seconds (the defaults are 30 s). */
const SHORT_LOCKS: Env = { IMMICH_QUEUE_LOCK_DURATION_MS: '3000', IMMICH_QUEUE_STALLED_INTERVAL_MS: '1000' };

function startWorker(env: Env, extra: Env = {}): { child: ChildProcess; ready: Promise<void>; exit: Promise<number | null>; output: () => string } {
  const clean: Env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)) clean[k] = v;
  const child = spawn(process.execPath, [WORKER], { env: { ...clean, ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${out}`)));
  });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, ready, exit, output: () => out };
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A context like the CLI's in Redis mode, without a processor: it queues and waits, workers run the jobs. */
async function openProducer(env: Env): Promise<Context> {
  const config = loadConfig({ env, cwd: tmpDir() });
  const ctx = await createContext(config, silentLogger(), { command: 'queue test', queueFactory: createRedisQueue });
  await sql`create table if not exists queue_test_runs (asset_id uuid not null, stage text not null, pid int not null, phase text not null, at timestamptz not null default now())`.execute(ctx.db);
  return ctx;
}

async function insertAssets(ctx: Context, n: number, tag: string): Promise<string[]> {
  const rows = Array.from({ length: n }, (_, i) => ({
    checksum: `${tag}${String(i).padStart(4, '0')}`.padEnd(40, '0'),
    original_path: `/src/${tag}-${i}.jpg`,
    original_name: `${tag}-${i}.jpg`,
    library_path: `uploads/${tag}-${i}.jpg`,
    storage_mode: 'copy' as const,
    type: 'image' as const,
    mime_type: 'image/jpeg',
    file_size: 1000 + i,
    file_mtime: new Date(),
    taken_at: null, local_taken_at: null, time_zone: null, width: null, height: null, thumbhash: null, live_photo_video_id: null,
  }));
  const out = await ctx.db.insertInto('assets').values(rows).returning('id').execute();
  return out.map((r) => r.id);
}

async function runCounts(ctx: Context, ids: string[]) {
  const rows = await ctx.db
    .selectFrom('queue_test_runs' as any)
    .select(['asset_id', 'stage', 'phase', 'pid', sql<number>`count(*)::int`.as('n')] as any)
    .where('asset_id' as any, 'in', ids)
    .groupBy(['asset_id', 'stage', 'phase', 'pid'] as any)
    .execute() as Array<{ asset_id: string; stage: string; phase: string; pid: number; n: number }>;
  const ends = new Map<string, number>();
  const starts = new Map<string, number>();
  const pids = new Set<number>();
  for (const r of rows) {
    const k = `${r.stage}/${r.asset_id}`;
    const m = r.phase === 'end' ? ends : starts;
    m.set(k, (m.get(k) ?? 0) + r.n);
    pids.add(r.pid);
  }
  return { ends, starts, pids };
}

/** Remove this suite's keys from the shared Redis. */
async function dropPrefix(prefix: string): Promise<void> {
  const r = new Redis({ host: REDIS_HOST, port: REDIS_PORT, lazyConnect: true });
  await r.connect();
  for (let cursor = '0'; ;) {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await r.del(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  r.disconnect();
}

describe('Redis job queues with worker processes (PostgreSQL 127.0.0.1, Redis)', () => {
  let dbName: string;
  let drop: () => Promise<void>;
  beforeAll(async () => ({ name: dbName, drop } = await createPgDatabase('immich_queue')));
  afterAll(async () => {
    await dropPrefix(`immich-test-${process.pid}-`);
    await drop?.();
  });

  it('two workers share the queues: every job runs exactly once, follow-ups included; SIGTERM exits 0', async () => {
    const env = baseEnv(dbName, REDIS_PORT, `immich-test-${process.pid}-a`);
    const ctx = await openProducer(env);
    const workers = [startWorker(env), startWorker(env)];
    let codes: Array<number | null> = [];
    try {
      await Promise.all(workers.map((w) => w.ready));
      const ids = await insertAssets(ctx, 40, 'aa');
      const jobs = ids.map((assetId) => ({ stage: 'metadata' as const, assetId }));
      await ctx.queue.enqueue(jobs);
      await ctx.queue.enqueue(jobs); // re-queueing never duplicates work
      expect(ctx.queue).toBeInstanceOf(RedisJobQueue);
      const result = await (ctx.queue as RedisJobQueue).drain(undefined, { work: false });
      // 40 metadata + the 40 thumbnails follow-ups queued by the workers' processor
      expect(result).toMatchObject({ completed: 80, failed: 0, skipped: 0 });
      const { ends, starts, pids } = await runCounts(ctx, ids);
      expect(ends.size).toBe(80);
      expect([...ends.values()].every((n) => n === 1)).toBe(true);
      expect([...starts.values()].every((n) => n === 1)).toBe(true);
      expect(pids.size).toBe(2); // both processes took work
      const status = await ctx.db.selectFrom('asset_job_status').select(['status', 'attempts']).where('asset_id', 'in', ids).execute();
      expect(status).toHaveLength(80);
      expect(status.every((s) => s.status === 'done' && s.attempts === 1)).toBe(true);
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
      codes = await Promise.all(workers.map((w) => w.exit));
      await ctx.close();
    }
    expect(codes, workers.map((w) => w.output()).join('\n')).toEqual([0, 0]);
  });

  it('a worker SIGKILLed mid-job: the job is retried by another worker and completed once', async () => {
    const env = { ...baseEnv(dbName, REDIS_PORT, `immich-test-${process.pid}-b`), ...SHORT_LOCKS };
    const ctx = await openProducer(env);
    const slow = startWorker(env, { QUEUE_TEST_DELAY_MS: '60000', QUEUE_TEST_CONCURRENCY: '1' });
    let fast: ReturnType<typeof startWorker> | undefined;
    try {
      await slow.ready;
      const ids = await insertAssets(ctx, 6, 'bb');
      await ctx.queue.enqueue(ids.map((assetId) => ({ stage: 'metadata' as const, assetId })));
      let victim = '';
      await until('the slow worker to start a job', async () => {
        const r = await ctx.db.selectFrom('queue_test_runs' as any).select('asset_id' as any).where('pid' as any, '=', slow.child.pid).executeTakeFirst() as { asset_id: string } | undefined;
        victim = r?.asset_id ?? '';
        return Boolean(victim);
      });
      slow.child.kill('SIGKILL');
      await slow.exit;
      fast = startWorker(env);
      await fast.ready;
      const result = await (ctx.queue as RedisJobQueue).drain(undefined, { work: false });
      expect(result).toMatchObject({ completed: 12, failed: 0 });
      const { ends, starts } = await runCounts(ctx, ids);
      expect(ends.size).toBe(12);
      expect([...ends.values()].every((n) => n === 1)).toBe(true); // no duplicate results
      expect(starts.get(`metadata/${victim}`)).toBe(2); // killed once, retried once
      const row = await ctx.db.selectFrom('asset_job_status').selectAll().where('asset_id', '=', victim).where('stage', '=', 'metadata').executeTakeFirstOrThrow();
      expect(row.status).toBe('done');
      expect(row.attempts).toBe(2);
    } finally {
      slow.child.kill('SIGKILL');
      fast?.child.kill('SIGTERM');
      if (fast) expect(await fast.exit).toBe(0);
      await ctx.close();
    }
  });

  it('Redis restarted during a run: workers and the waiting command reconnect and finish', async () => {
    const port = await freePort();
    const dir = tmpDir('immich-redis-');
    // Persistence as in docker-compose.yml (append-only file), so the restart keeps the queues.
    const startRedis = () => {
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
      return { child, exit: new Promise((r) => child.on('exit', r)) };
    };
    const pingable = () => new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => { s.write('PING\r\n'); });
      s.on('data', (d) => { s.destroy(); resolve(String(d).includes('PONG')); });
      s.on('error', () => resolve(false));
    });
    let redis = startRedis();
    await until('private redis-server', pingable, 10_000);
    const env = { ...baseEnv(dbName, port, `immich-test-${process.pid}-c`), ...SHORT_LOCKS, IMMICH_QUEUE_LOCK_DURATION_MS: '5000' };
    const ctx = await openProducer(env);
    const workers = [startWorker(env, { QUEUE_TEST_DELAY_MS: '100' }), startWorker(env, { QUEUE_TEST_DELAY_MS: '100' })];
    let codes: Array<number | null> = [];
    try {
      await Promise.all(workers.map((w) => w.ready));
      const ids = await insertAssets(ctx, 30, 'cc');
      await ctx.queue.enqueue(ids.map((assetId) => ({ stage: 'metadata' as const, assetId })));
      const draining = (ctx.queue as RedisJobQueue).drain(undefined, { work: false });
      await until('some jobs done', async () => (await runCounts(ctx, ids)).ends.size >= 5);
      redis.child.kill('SIGKILL');
      await redis.exit;
      await new Promise((r) => setTimeout(r, 1500));
      redis = startRedis();
      await until('redis back', pingable, 10_000);
      const result = await draining;
      expect(result.failed).toBe(0);
      const { ends } = await runCounts(ctx, ids);
      expect(ends.size).toBe(60);
      // At-least-once delivery, exactly-once results: a job redelivered after the restart finds its stage done.
      expect([...ends.values()].every((n) => n === 1)).toBe(true);
      const status = await ctx.db.selectFrom('asset_job_status').select('status').where('asset_id', 'in', ids).execute();
      expect(status.filter((s) => s.status === 'done')).toHaveLength(60);
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
      codes = await Promise.all(workers.map((w) => w.exit));
      await ctx.close();
      redis.child.kill('SIGTERM');
      await redis.exit;
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(codes, workers.map((w) => w.output()).join('\n')).toEqual([0, 0]);
  });

  it('a thrown error is retried 3 times with back-off, then kept failed with its error; a reported failure is not retried', async () => {
    const env = baseEnv(dbName, REDIS_PORT, `immich-test-${process.pid}-d`);
    const ctx = await openProducer(env);
    const worker = startWorker(env);
    let code: number | null = null;
    try {
      await worker.ready;
      const [ok, throws, corrupt] = [await insertAssets(ctx, 1, 'ok'), await insertAssets(ctx, 1, 'throws'), await insertAssets(ctx, 1, 'corrupt')].map((x) => x[0]!);
      const queue = ctx.queue as RedisJobQueue;
      await queue.enqueue([ok, throws, corrupt].map((assetId) => ({ stage: 'metadata' as const, assetId })));
      const t0 = Date.now();
      const result = await queue.drain(undefined, { work: false });
      expect(result).toMatchObject({ completed: 2, failed: 2 }); // ok: metadata + thumbnails
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300); // back-off 100 ms, then 200 ms
      expect(result.failures.map((f) => f.message).sort()).toEqual(['cannot read throws-0.jpg: disk error', 'corrupt-0.jpg: not a JPEG']);
      const failed = await queue.admin.failedJobs('metadata');
      expect(failed.map((f) => [f.assetId, f.attempts, f.reason]).sort()).toEqual(
        [[throws, 3, 'cannot read throws-0.jpg: disk error'], [corrupt, 1, 'corrupt-0.jpg: not a JPEG']].sort(),
      );
      const status = await ctx.db.selectFrom('asset_job_status').select(['asset_id', 'status', 'attempts', 'error']).where('asset_id', 'in', [throws, corrupt]).execute();
      expect(status.find((s) => s.asset_id === throws)).toMatchObject({ status: 'failed', attempts: 3 });
      expect(status.find((s) => s.asset_id === corrupt)).toMatchObject({ status: 'failed', attempts: 1 });
      // retry-failed: back to waiting, and they fail again
      expect(await queue.admin.retryFailed('metadata')).toBe(2);
      await until('the retried jobs to fail again', async () => (await queue.admin.counts(['metadata']))[0]!.failed === 2 && (await queue.admin.counts(['metadata']))[0]!.waiting === 0);
    } finally {
      worker.child.kill('SIGTERM');
      code = await worker.exit;
      await ctx.close();
    }
    expect(code).toBe(0);
  });

  it('job ids: derived from (stage, asset), no ":" (BullMQ forbids it), one-to-one', () => {
    expect(bullJobId({ stage: 'thumbnails', assetId: 'abc' })).toBe('thumbnails%3Aabc');
    expect(bullJobId({ stage: 'backup', data: { a: 'x:y' } })).not.toContain(':');
    expect(bullJobId({ stage: 'backup', data: { a: '%3A' } })).not.toBe(bullJobId({ stage: 'backup', data: { a: ':' } }));
  });
});
