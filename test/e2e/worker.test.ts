// The Redis-mode commands as a user runs them: `immich import --no-wait`, `immich worker` (several,
// SIGTERM), `immich jobs`, `immich index`, against the running PostgreSQL and Redis, plus the
// in-process `immich jobs`/`immich index` (in-place sync) on the embedded database.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { QueueAdmin } from '../../src/jobs/bullmq.js';
import { queueSettings } from '../../src/jobs/redis-settings.js';
import { acquireLock } from '../../src/storage/lock.js';
import { BIN, createPgDatabase, PG_HOST, PG_PORT, PG_USER, pgEnv, REDIS_HOST, REDIS_PORT, runCli, tmpDir } from '../helpers/env.js';

async function makeImages(dir: string, n: number, seed = 0): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `img-${seed}-${i}.jpg`);
    await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: (i * 37 + seed * 11) % 256, g: (i * 91) % 256, b: 60 + seed } } })
      .jpeg()
      .toFile(file);
    out.push(file);
  }
  return out;
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function startWorker(args: string[], env: Record<string, string>): { child: ChildProcess; ready: Promise<void>; exit: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)) base[k] = v;
  const child = spawn(process.execPath, [BIN, 'worker', ...args], { env: { ...base, CI: 'true', ...env }, cwd: os.tmpdir() });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (stderr.includes('listening on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`worker exited ${code}: ${stderr}`)));
  });
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.on('exit', (code) => r({ code, stdout, stderr })));
  return { child, ready, exit };
}

interface QueueRow { queue: string; waiting: number; active: number; completed: number; failed: number; delayed: number; paused: number; isPaused: boolean }

async function jobsJson(env: Record<string, string>): Promise<QueueRow[]> {
  const r = await runCli(['jobs', '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { queues: QueueRow[] }).queues;
}

const outstanding = (rows: QueueRow[]) => rows.reduce((n, q) => n + q.waiting + q.active + q.delayed + q.paused, 0);

describe('immich worker, jobs and index in Redis mode (PostgreSQL 127.0.0.1, Redis)', () => {
  let dbName: string;
  let drop: () => Promise<void>;
  let env: Record<string, string>;
  let client: pg.Client;
  let admin: QueueAdmin;
  const src = tmpDir('immich-worker-src-');
  beforeAll(async () => {
    ({ name: dbName, drop } = await createPgDatabase('immich_worker'));
    env = {
      ...pgEnv(dbName),
      REDIS_HOSTNAME: REDIS_HOST,
      REDIS_PORT: String(REDIS_PORT),
      IMMICH_REDIS_PREFIX: `immich-e2e-${process.pid}`,
      UPLOAD_LOCATION: tmpDir('immich-worker-lib-'),
      IMMICH_MODELS_DIR: tmpDir('immich-no-models-'),
    };
    const config = loadConfig({ env, cwd: tmpDir() });
    admin = new QueueAdmin(config.redis!, queueSettings(config));
    client = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: dbName });
    await makeImages(src, 6);
  });
  afterAll(async () => {
    await client?.end().catch(() => {});
    await admin?.close();
    // Remove this suite's keys from the shared Redis.
    const r = new Redis({ host: REDIS_HOST, port: REDIS_PORT });
    for (const prefix of [env.IMMICH_REDIS_PREFIX, `immich-e2e-emb-${process.pid}`]) {
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length) await r.del(...keys);
    }
    r.disconnect();
    await drop?.();
  });

  it('refuses clearly: worker without REDIS_HOSTNAME (2); Redis unreachable names host:port, never the password (3)', async () => {
    const noRedis = await runCli(['worker'], { UPLOAD_LOCATION: tmpDir() });
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toMatch(/REDIS_HOSTNAME/);
    const port = await closedPort();
    const bad = await runCli(['jobs'], { ...env, REDIS_PORT: String(port), REDIS_PASSWORD: 'hunter2-secret' });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(`Redis at 127.0.0.1:${port}`);
    expect(bad.stderr).not.toContain('hunter2-secret');
  });

  it('import --no-wait queues; a worker with PostgreSQL unreachable exits 3 and loses nothing; two workers finish; SIGTERM exits 0', { timeout: 240_000 }, async () => {
    // --skip-ml travels with the jobs: the workers queue no ML stages either.
    const imp = await runCli(['import', src, '--no-wait', '--skip-ml', '--json'], env);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout).counts.imported).toBe(6);
    const queued = outstanding(await jobsJson(env));
    expect(queued).toBeGreaterThanOrEqual(6);

    const port = await closedPort();
    const down = await runCli(['worker'], { ...env, DB_PORT: String(port) });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`127.0.0.1:${port}`);
    expect(outstanding(await admin.counts())).toBe(queued); // nothing lost

    const workers = [startWorker(['--concurrency', '2'], env), startWorker(['--queues', 'thumbnails,smart-search,face-detection,objects,ocr,metadata,video'], env)];
    await Promise.all(workers.map((w) => w.ready));
    const deadline = Date.now() + 60_000;
    while (outstanding(await admin.counts()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(outstanding(await jobsJson(env))).toBe(0);
    for (const w of workers) w.child.kill('SIGTERM');
    const exits = await Promise.all(workers.map((w) => w.exit));
    for (const e of exits) {
      expect(e.code, e.stderr).toBe(0);
      expect(e.stdout).toMatch(/worker stopped: \d+ done/);
    }

    await client.connect();
    const thumbs = await client.query(`select status, attempts from asset_job_status where stage = 'thumbnails'`);
    expect(thumbs.rows).toHaveLength(6);
    const ml = await client.query(`select count(*)::int as n from asset_job_status where stage not in ('metadata', 'thumbnails', 'video')`);
    expect(ml.rows[0].n).toBe(0);
    expect(thumbs.rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
    const files = await client.query(`select count(*)::int as n from asset_files where kind = 'thumbnail'`);
    expect(files.rows[0].n).toBe(6);
  });

  it('index --missing queues nothing that is done; index --force --jobs thumbnails redoes them and waits, working itself', { timeout: 240_000 }, async () => {
    const missing = await runCli(['index', '--jobs', 'metadata,thumbnails', '--json'], env);
    expect(missing.code, missing.stderr).toBe(0);
    // Nothing is missing: no asset had a stage queued (answered from the trigger-kept counts, 0200).
    expect(JSON.parse(missing.stdout)).toMatchObject({ queue: 'redis', assets: 0, jobs: 0 });

    const forced = await runCli(['index', '--force', '--jobs', 'thumbnails', '--json'], env);
    expect(forced.code, forced.stderr).toBe(0);
    const j = JSON.parse(forced.stdout);
    expect(j).toMatchObject({ mode: 'force', assets: 6, jobs: 6, queued: { thumbnails: 6 } });
    expect(j.result).toEqual({ completed: 6, skipped: 0, failed: 0 }); // --jobs: no follow-up stages
    const r = await client.query(`select attempts from asset_job_status where stage = 'thumbnails'`);
    expect(r.rows.every((x) => x.attempts === 2)).toBe(true);
  });

  it('jobs pause, resume, retry-failed and clear; usage errors for unknown queues', { timeout: 240_000 }, async () => {
    expect((await runCli(['jobs', 'pause', 'thumbnails'], env)).code).toBe(0);
    let rows = await jobsJson(env);
    expect(rows.find((q) => q.queue === 'thumbnails')!.isPaused).toBe(true);
    const idx = await runCli(['index', '--force', '--jobs', 'thumbnails', '--no-wait', '--json'], env);
    expect(idx.code, idx.stderr).toBe(0);
    rows = await admin.counts();
    expect(rows.find((q) => q.queue === 'thumbnails')!.paused).toBe(6);
    expect((await runCli(['jobs', 'resume', 'all'], env)).code).toBe(0);
    rows = await admin.counts();
    expect(rows.find((q) => q.queue === 'thumbnails')).toMatchObject({ isPaused: false, waiting: 6 });
    const cleared = await runCli(['jobs', 'clear', 'thumbnails', '--json'], env);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(JSON.parse(cleared.stdout).removed.thumbnails).toBeGreaterThanOrEqual(6);
    expect(outstanding(await admin.counts())).toBe(0);
    const retry = await runCli(['jobs', 'retry-failed', 'all', '--json'], env);
    expect(retry.code, retry.stderr).toBe(0);
    const bad = await runCli(['jobs', 'pause', 'nope'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown queue 'nope'/);
    const badLimit = await runCli(['jobs', 'failed', 'all', '--limit', '5x'], env);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toMatch(/--limit must be an integer >= 1 \(got 5x\)/);
  });
});

describe('embedded database and in-process mode', () => {
  it('a worker on an embedded database in use by another process is refused: it is locked to one process', async () => {
    const lib = tmpDir('immich-worker-emb-');
    // A library must exist (commands other than import/restore never create one).
    const made = await runCli(['import', tmpDir('immich-worker-empty-')], { UPLOAD_LOCATION: lib });
    expect(made.code, made.stderr).toBe(0);
    // The same lock an `immich import` holds on the embedded database.
    const release = acquireLock(path.join(lib, '.database.lock'), 'immich import');
    try {
      const r = await runCli(['worker'], { UPLOAD_LOCATION: lib, REDIS_HOSTNAME: REDIS_HOST, REDIS_PORT: String(REDIS_PORT), IMMICH_REDIS_PREFIX: `immich-e2e-emb-${process.pid}` });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/in use by another immich process \(pid \d+, immich import\)/);
      expect(r.stderr).toMatch(/locked to one process/);
      expect(r.stderr).toMatch(/DB_HOSTNAME/);
    } finally {
      release();
    }
  });

  it('in-process mode: jobs shows per-stage counts; index syncs in-place folders (new, changed, removed)', { timeout: 240_000 }, async () => {
    const folder = tmpDir('immich-inplace-');
    // In-process mode (no REDIS_HOSTNAME) on a throwaway PostgreSQL database (faster to open than PGlite).
    const { name, drop } = await createPgDatabase('immich_inplace');
    const env = { ...pgEnv(name), UPLOAD_LOCATION: tmpDir('immich-index-lib-'), IMMICH_MODELS_DIR: tmpDir('immich-no-models-') };
    try {
    const files = await makeImages(folder, 3, 1);
    const imp = await runCli(['import', '--in-place', folder, '--skip-ml', '--json'], env);
    expect(imp.code, imp.stderr).toBe(0);

    const jobs = await runCli(['jobs', '--json'], env);
    expect(jobs.code, jobs.stderr).toBe(0);
    const stages = JSON.parse(jobs.stdout) as { mode: string; stages: Array<{ stage: string; done: number }> };
    expect(stages.mode).toBe('in-process');
    expect(stages.stages.find((s) => s.stage === 'thumbnails')!.done).toBe(3);

    // one new file, one changed, one removed
    await makeImages(path.join(folder, 'more'), 1, 2);
    const before = fs.statSync(files[0]!).mtime;
    await sharp({ create: { width: 80, height: 80, channels: 3, background: { r: 1, g: 2, b: 3 } } }).jpeg().toFile(files[0]! + '.tmp.jpg');
    fs.renameSync(files[0]! + '.tmp.jpg', files[0]!);
    // An edit made later (a solid-colour JPEG of the same size can be rewritten within the second
    // the import ran in, and index trusts size + mtime within a second).
    const later = new Date(before.getTime() + 10_000);
    fs.utimesSync(files[0]!, later, later);
    const saved = fs.readFileSync(files[1]!);
    fs.rmSync(files[1]!);
    const idx = await runCli(['index', '--jobs', 'metadata,thumbnails', '--json'], env);
    expect(idx.code, idx.stderr).toBe(0);
    const r = JSON.parse(idx.stdout);
    expect(r.queue).toBe('inline');
    expect(r.inPlace).toMatchObject({ new: 1, changed: 1, offline: 1 });
    // the removed file's asset is offline and left out; the new file was processed as it was imported
    // in place, so only the changed one had a stage queued (its new thumbnail)
    expect(r.assets).toBe(1);
    expect(r.queued).toMatchObject({ thumbnails: 1 });

    const again = await runCli(['index', '--jobs', 'metadata,thumbnails', '--json'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ jobs: 0, inPlace: { new: 0, changed: 0, offline: 0 } });
    fs.writeFileSync(files[1]!, saved); // the file is back: the asset is online again, not changed
    const back = await runCli(['index', '--jobs', 'metadata', '--json'], env);
    expect(JSON.parse(back.stdout).inPlace).toMatchObject({ restored: 1, changed: 0, new: 0 });

    const noWait = await runCli(['index', '--no-wait'], env);
    expect(noWait.code).toBe(2);
    } finally {
      await drop();
    }
  });
});
