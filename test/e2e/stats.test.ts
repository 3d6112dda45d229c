// `immich stats` as a user runs it: after jobs ran through the real pipeline (job history, queue
// status, a failure logged as a JSON line with asset, stage and cause), on the embedded database
// and on PostgreSQL; --json, the human tables, and the Prometheus textfile.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { installLogSinks } from '../../src/logging/install.js';
import { Logger } from '../../src/logger.js';
import { createProcessor } from '../../src/services/pipeline.js';
import { toPrometheus } from '../../src/services/stats.js';
import { createPgDatabase, pgEnv, REDIS_HOST, REDIS_PORT, runCli, tmpDir } from '../helpers/env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let lib: string;
let logFile: string;
const assetIds: string[] = [];

beforeAll(async () => {
  lib = tmpDir('immich-stats-');
  logFile = path.join(lib, 'logs', 'immich.log');
  const config = loadConfig({ env: { UPLOAD_LOCATION: lib, HOME: lib }, cwd: lib });
  const logger = new Logger('log');
  const logs = installLogSinks({ logger, raw: { IMMICH_LOG_FILE: logFile }, flags: {} });
  const ctx = await createContext(config, logger, { command: 'stats test' });
  try {
    fs.writeFileSync(path.join(lib, 'uploads', 'a.jpg'), Buffer.alloc(3000, 1));
    fs.writeFileSync(path.join(lib, 'thumbs', 't.webp'), Buffer.alloc(500, 2));
    for (let i = 0; i < 4; i++) {
      const row = await ctx.db
        .insertInto('assets')
        .values({
          checksum: `c${i}`.padEnd(40, '0'), original_path: `/src/${i}.jpg`, original_name: `${i}.jpg`,
          library_path: i === 3 ? `/elsewhere/${i}.mp4` : `uploads/${i}.jpg`, storage_mode: i === 3 ? 'in-place' : 'copy',
          type: i === 3 ? 'video' : 'image', mime_type: i === 3 ? 'video/mp4' : 'image/jpeg', file_size: 1000 + i, file_mtime: new Date(),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      assetIds.push(row.id);
    }
    // The real processor with stand-in handlers of known duration: metadata ~40 ms, thumbnails
    // fails for the video, smart-search is skipped.
    const proc = createProcessor(ctx, {
      followUps: false,
      handlers: {
        metadata: async () => { await sleep(40); return { status: 'success' }; },
        thumbnails: async (_c, job) => {
          await sleep(10);
          if (job.assetId === assetIds[3]) throw new Error('ffmpeg exited with code 1: moov atom not found');
          return { status: 'success' };
        },
        'smart-search': async () => ({ status: 'skipped', message: 'no CLIP model' }),
      },
    });
    for (const id of assetIds) {
      await proc({ stage: 'metadata', assetId: id }, 1);
      await proc({ stage: 'thumbnails', assetId: id }, 1).catch(() => undefined);
      await proc({ stage: 'smart-search', assetId: id }, 1);
    }
    // In-process, statuses are written in batches: the queue flushes after a drain, as here.
    await proc.flush?.();
  } finally {
    await ctx.close();
    logs.close();
  }
});
afterAll(() => fs.rmSync(lib, { recursive: true, force: true }));

describe('immich stats (embedded database)', () => {
  it('a failed job is logged as a JSON line with asset, stage and cause, in a 0600 file', () => {
    const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const failure = lines.find((l) => l.level === 'warn' && l.stage === 'thumbnails');
    expect(failure).toMatchObject({ asset: assetIds[3], stage: 'thumbnails', cause: 'ffmpeg exited with code 1: moov atom not found' });
    expect(failure.msg).toContain(assetIds[3]);
    expect(Date.parse(failure.time)).toBeGreaterThan(0);
    expect(fs.statSync(logFile).mode & 0o777).toBe(0o600);
  });

  it('--json: counts, storage, queue depths and per-stage timings from the job history', async () => {
    const prom = path.join(lib, 'textfile', 'immich.prom');
    const r = await runCli(['stats', '--json', '--prometheus', prom], { UPLOAD_LOCATION: lib });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.counts).toMatchObject({ photos: 3, videos: 1 });
    const folder = (name: string) => s.storage.folders.find((f: any) => f.folder === name);
    expect(folder('uploads')).toMatchObject({ bytes: 3000, files: 1 });
    expect(folder('thumbs')).toMatchObject({ bytes: 500, files: 1 });
    expect(folder('database').bytes).toBeGreaterThan(1_000_000);
    expect(s.storage.inPlaceBytes).toBe(1003);
    expect(s.storage.filesystem.freeBytes).toBeGreaterThan(0);
    expect(s.database).toMatchObject({ kind: 'embedded' });
    expect(s.database.sizeBytes).toBeGreaterThan(100_000);

    const q = Object.fromEntries(s.queues.map((x: any) => [x.stage, x.counts]));
    expect(q.metadata).toMatchObject({ done: 4, failed: 0 });
    expect(q.thumbnails).toMatchObject({ done: 3, failed: 1 });
    expect(q['smart-search']).toMatchObject({ skipped: 4 });

    const t = Object.fromEntries(s.stages.map((x: any) => [x.stage, x]));
    expect(t.metadata).toMatchObject({ runs: 4, failed: 0, skipped: 0 });
    expect(t.metadata.p50Ms).toBeGreaterThanOrEqual(38);
    expect(t.metadata.p95Ms).toBeGreaterThanOrEqual(t.metadata.p50Ms);
    expect(t.metadata.p95Ms).toBeLessThan(2000);
    expect(t.metadata.perSecond).toBeGreaterThan(0);
    expect(t.thumbnails).toMatchObject({ runs: 4, failed: 1 });
    expect(t['smart-search']).toMatchObject({ runs: 4, skipped: 4, p50Ms: 0 });

    // The Prometheus file carries the same figures, with HELP/TYPE lines, and no temp file is left.
    const text = fs.readFileSync(prom, 'utf8');
    expect(fs.readdirSync(path.dirname(prom))).toEqual(['immich.prom']);
    const l = `library="${lib}"`;
    expect(text).toContain('# TYPE immich_assets gauge');
    expect(text).toContain(`immich_stats_database_up{${l}} 1\n`);
    expect(text).toContain(`immich_assets{${l},type="photo"} 3\n`);
    expect(text).toContain(`immich_storage_bytes{${l},folder="uploads"} 3000\n`);
    expect(text).toContain(`immich_queue_jobs{${l},stage="thumbnails",status="failed",source="database"} 1\n`);
    expect(text).toContain(`immich_stage_duration_seconds{${l},stage="metadata",quantile="0.5"} ${t.metadata.p50Ms / 1000}\n`);
    expect(text).toContain(`immich_stage_duration_seconds_count{${l},stage="metadata"} 4\n`);
    expect(text).toContain(`immich_jobs_total{${l},stage="thumbnails",status="failed"} 1\n`);
    expect(text).toMatch(new RegExp(`immich_database_size_bytes\\{${l.replace(/[/.]/g, '\\$&')},kind="embedded"\\} \\d+\\n`));
    // Every sample line is a valid exposition line, and every metric has HELP and TYPE.
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) immich_\w+ .+|immich_\w+(\{[^}]*\})? (-?\d+(\.\d+)?(e[+-]?\d+)?|NaN))$/);
    }
    const names = new Set([...text.matchAll(/^immich_(\w+?)(_sum|_count)?[{ ]/gm)].map((m) => m[1]));
    for (const n of names) expect(text).toContain(`# TYPE immich_${n} `);
    // Same figures as --json (modulo the collection time).
    expect(toPrometheus({ ...s, generatedAt: s.generatedAt }).split('\n').filter((x: string) => !x.startsWith('immich_stats_generated'))).toEqual(
      text.split('\n').filter((x) => !x.startsWith('immich_stats_generated')),
    );
  });

  it('human output on stdout; --log-format json puts log lines on stderr as JSON, --log-file appends them', async () => {
    const prom = path.join(lib, 'p2.prom');
    const file = path.join(lib, 'cli.log');
    const r = await runCli(['--log-level', 'debug', '--log-format', 'json', '--log-file', file, 'stats', '--no-storage', '--prometheus', prom], { UPLOAD_LOCATION: lib });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/photos.*videos.*people.*faces.*tags/s);
    expect(r.stdout).toMatch(/│ metadata\s+│ 4\s+│ 0\s+│ 0\s+│ \d+ ms/);
    expect(r.stdout).toContain('database: embedded');
    expect(r.stdout).not.toContain('uploads');
    const lines = r.stderr.trim().split('\n').map((x) => JSON.parse(x));
    expect(lines.find((x) => x.msg.startsWith('wrote Prometheus metrics'))).toMatchObject({ level: 'debug', msg: `wrote Prometheus metrics to ${prom}` });
    expect(fs.readFileSync(file, 'utf8')).toContain('"wrote Prometheus metrics');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('usage errors: --log-format, --last', async () => {
    const bad = await runCli(['--log-format', 'xml', 'stats'], { UPLOAD_LOCATION: lib });
    expect(bad.stderr).toBe('immich: --log-format must be text or json (got xml)\n');
    expect(bad.code).toBe(2);
    const crf = await runCli(['stats'], { UPLOAD_LOCATION: lib, IMMICH_FFMPEG_CRF: '99' });
    expect(crf.stderr).toBe('immich: IMMICH_FFMPEG_CRF=99 must be an integer from 0 to 63\n');
    expect(crf.code).toBe(2);
    const last = await runCli(['stats', '--last', 'x'], { UPLOAD_LOCATION: lib });
    expect(last.code).toBe(2);
    expect(last.stderr).toContain('--last must be an integer');
  });

  it('while another process holds the embedded database: exit 3, and the textfile gets storage figures with database_up 0', async () => {
    const holder = await createContext(loadConfig({ env: { UPLOAD_LOCATION: lib, HOME: lib }, cwd: lib }), new Logger('error'), { command: 'immich index' });
    try {
      const prom = path.join(lib, 'locked.prom');
      const r = await runCli(['stats', '--prometheus', prom], { UPLOAD_LOCATION: lib });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/in use by another immich process \(pid \d+, immich index\)/);
      const text = fs.readFileSync(prom, 'utf8');
      expect(text).toContain(`immich_stats_database_up{library="${lib}"} 0\n`);
      expect(text).toContain(`immich_storage_bytes{library="${lib}",folder="uploads"} 3000\n`);
      expect(text).not.toContain('immich_assets');
    } finally {
      await holder.close();
    }
  });

  it('an unwritable Prometheus path is an environment error', async () => {
    const blocker = path.join(lib, 'blocker');
    fs.writeFileSync(blocker, 'x');
    const r = await runCli(['stats', '--prometheus', path.join(blocker, 'immich.prom')], { UPLOAD_LOCATION: lib });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot write ${path.join(blocker, 'immich.prom')}`);
  });
});

describe('immich stats (PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  let dir: string;
  beforeAll(async () => {
    db = await createPgDatabase('immich_stats');
    dir = tmpDir('immich-stats-pg-');
  });
  afterAll(async () => {
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('works without the tables of areas that need pgvector, and reports the server database size', async () => {
    const r = await runCli(['stats', '--json'], { UPLOAD_LOCATION: dir, ...pgEnv(db.name) });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.database.kind).toBe('postgres');
    expect(s.database.sizeBytes).toBeGreaterThan(1_000_000);
    expect(s.counts).toMatchObject({ photos: 0, videos: 0 });
    expect(s.storage.folders.map((f: any) => f.folder)).toEqual(['uploads', 'thumbs', 'encoded', 'backups']);
    expect(s.stages).toEqual([]);
  });

  it('with Redis configured, queue depths come from the BullMQ queues too', async () => {
    const env = { UPLOAD_LOCATION: dir, ...pgEnv(db.name), REDIS_HOSTNAME: REDIS_HOST, REDIS_PORT: String(REDIS_PORT), IMMICH_REDIS_PREFIX: `stats-test-${process.pid}` };
    const r = await runCli(['stats', '--json', '--no-storage'], env);
    expect(r.code).toBe(0);
    const redis = JSON.parse(r.stdout).queues.filter((q: any) => q.source === 'redis');
    expect(redis.map((q: any) => q.stage)).toContain('metadata');
    expect(redis.find((q: any) => q.stage === 'metadata').counts).toEqual({ waiting: 0, active: 0, delayed: 0, paused: 0, failed: 0, completed: 0 });
  });
});
