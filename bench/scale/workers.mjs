#!/usr/bin/env node
// bench/scale/workers: the same import of generated photos processed by 1, 2 and 4 `immich worker`
// processes on one PostgreSQL + Redis, against the in-process run (`immich import` without Redis)
// measured in the same run. Each run gets a fresh database and Redis prefix; the workers are started
// and idle first, then the clock runs from `immich import --no-wait` until every queue is empty.
// Reported: wall time, photos/s, speed-up over 1 worker, and CPU seconds per 100 photos (all
// processes: import + workers, exiftool and other children included; GNU time) so the coordination
// cost shows even when the machine is loaded.
//
//   node bench/scale/workers.mjs [--photos 2000] [--size 1600x1200] [--workers 1,2,4] [--ml] [--keep]
//
// Without --ml the import runs the media stages only (--skip-ml: metadata, thumbnails, previews);
// with --ml also CLIP, faces, objects and OCR (IMMICH_MODELS_DIR=/work/shared/models by default).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import sharp from 'sharp';
import { ROOT, BIN, args, opt } from './cli.mjs';

const PHOTOS = Number(opt('photos', '2000'));
const [W, H] = opt('size', '1600x1200').split('x').map(Number);
const COUNTS = opt('workers', '1,2,4').split(',').map(Number);
const ML = args.includes('--ml');
const KEEP = args.includes('--keep');
const WORK = path.resolve(opt('dir', path.join(os.tmpdir(), 'immich-bench-workers')));
const MODELS = opt('models', process.env.IMMICH_TEST_MODELS ?? '/work/shared/models');
const tag = `w${process.pid}`;
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const QUEUES = ['metadata', 'thumbnails', 'video', 'smart-search', 'face-detection', 'face-recognition', 'objects', 'ocr', 'duplicates', 'backup'];

// Photos: distinct ${W}x${H} JPEGs (gradient + noise, so each encodes and hashes differently) with
// EXIF camera and date, generated once and reused.
const photoDir = path.join(WORK, `photos-${PHOTOS}-${W}x${H}`);
fs.mkdirSync(photoDir, { recursive: true });
const have = fs.readdirSync(photoDir).filter((f) => f.endsWith('.jpg')).length;
if (have < PHOTOS) {
  const t = performance.now();
  const noise = await sharp({ create: { width: W, height: H, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).raw().toBuffer();
  for (let i = have; i < PHOTOS; i++) {
    const bg = { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 };
    const overlay = await sharp(noise, { raw: { width: W, height: H, channels: 3 } }).extract({ left: (i * 7) % (W / 4), top: (i * 11) % (H / 4), width: (W * 3) / 4, height: (H * 3) / 4 }).png().toBuffer();
    const day = new Date(Date.UTC(2015, 0, 1) + i * 3_600_000 * 7);
    const stamp = day.toISOString().slice(0, 19).replace('T', ' ').replace(/-/g, ':');
    await sharp({ create: { width: W, height: H, channels: 3, background: bg } })
      .composite([{ input: overlay, blend: 'overlay', left: W / 8, top: H / 8 }])
      .withExif({ IFD0: { Make: 'Canon', Model: 'Canon EOS R6', DateTime: stamp }, IFD2: { DateTimeOriginal: stamp } })
      .jpeg({ quality: 85 })
      .toFile(path.join(photoDir, `IMG_${String(i).padStart(5, '0')}.jpg`));
  }
  process.stderr.write(`generated ${PHOTOS - have} photos in ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
}

const admin = new pg.Client({ ...PG, database: 'postgres' });
await admin.connect();
const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
await redis.connect();

function envFor(db, prefix) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)) env[k] = v;
  return {
    ...env,
    DB_HOSTNAME: PG.host, DB_PORT: String(PG.port), DB_USERNAME: PG.user, DB_DATABASE_NAME: db,
    UPLOAD_LOCATION: path.join(WORK, `lib-${db}`), IMMICH_MODELS_DIR: MODELS, IMMICH_LOG_LEVEL: 'warn',
    ...(prefix ? { REDIS_HOSTNAME: '127.0.0.1', REDIS_PORT: '6379', IMMICH_REDIS_PREFIX: prefix } : {}),
  };
}

/** A process under GNU time: resolves with its exit code, wall, user+sys CPU seconds and peak RSS. */
function timed(argv, env) {
  const child = spawn('/usr/bin/time', ['-f', '@@time %e %U %S %M', BIN, ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const done = new Promise((resolve) => child.on('exit', (code) => {
    const m = /@@time (\S+) (\S+) (\S+) (\S+)/.exec(err);
    if (!m) process.stderr.write(err.slice(-2000));
    const lines = err.split('\n').filter((l) => l && !l.startsWith('@@time') && !/exited with non-zero status/.test(l));
    resolve({ code: m && /exited with non-zero status (\d+)/.exec(err)?.[1] ? Number(/exited with non-zero status (\d+)/.exec(err)[1]) : code, wall: m ? Number(m[1]) : NaN, cpu: m ? Number(m[2]) + Number(m[3]) : NaN, rssMb: m ? Number(m[4]) / 1024 : NaN, stderr: lines.slice(-5).join(' | ') });
  }));
  return { child, done };
}

/** SIGTERM to the immich process under GNU time (bin/immich execs node, so it is time's one child). */
function stop(p) {
  const kids = fs.readFileSync(`/proc/${p.child.pid}/task/${p.child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  for (const k of kids) process.kill(Number(k), 'SIGTERM');
}

async function queuesIdle(prefix) {
  let n = 0;
  for (const q of QUEUES) {
    const k = `${prefix}:${q}`;
    n += (await redis.llen(`${k}:wait`)) + (await redis.llen(`${k}:active`)) + (await redis.zcard(`${k}:delayed`)) + (await redis.zcard(`${k}:prioritized`));
  }
  return n === 0;
}

async function dropRedis(prefix) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

async function counts(db) {
  const c = new pg.Client({ ...PG, database: db });
  await c.connect();
  const r = await c.query(`select (select count(*)::int from assets) as assets,
    (select count(*)::int from asset_files where kind = 'thumbnail') as thumbs,
    (select count(*)::int from asset_job_status where status = 'failed') as failed`);
  await c.end();
  return r.rows[0];
}

const importArgs = ['import', photoDir, ...(ML ? [] : ['--skip-ml'])];
const results = [];
const load0 = os.loadavg();

async function inline() {
  const db = `scale_${tag}_inline`;
  await admin.query(`create database ${db}`);
  const p = timed(['--json', ...importArgs], envFor(db));
  const r = await p.done;
  const c = await counts(db);
  results.push({ label: 'in-process (no Redis)', workers: 0, ...r, ...c, load: os.loadavg()[0] });
  process.stderr.write(`inline: ${r.wall} s wall, ${r.cpu.toFixed(0)} s CPU, exit ${r.code}, ${JSON.stringify(c)}\n`);
  if (!KEEP) await admin.query(`drop database ${db}`);
}

async function withWorkers(n) {
  const db = `scale_${tag}_w${n}`;
  const prefix = `scale-${tag}-w${n}`;
  await admin.query(`create database ${db}`);
  const env = envFor(db, prefix);
  // migrate the database first (a worker does not create a library)
  fs.mkdirSync(path.join(WORK, 'empty'), { recursive: true });
  await timed(['--json', 'import', path.join(WORK, 'empty')], envFor(db)).done;
  const workers = Array.from({ length: n }, () => timed(['worker'], env));
  await new Promise((r) => setTimeout(r, 8000)); // start-up is not what is measured
  const t = performance.now();
  const imp = timed(['--json', ...importArgs, '--no-wait'], env);
  const ir = await imp.done;
  let idle = 0;
  while (idle < 2) {
    await new Promise((r) => setTimeout(r, 250));
    idle = (await queuesIdle(prefix)) ? idle + 1 : 0;
  }
  const wall = (performance.now() - t) / 1000 - 0.25;
  for (const w of workers) stop(w);
  const wr = await Promise.all(workers.map((w) => w.done));
  const c = await counts(db);
  const cpu = ir.cpu + wr.reduce((s, w) => s + w.cpu, 0);
  const rssMb = Math.max(ir.rssMb, ...wr.map((w) => w.rssMb));
  results.push({ label: `${n} × immich worker (Redis)`, workers: n, wall, cpu, rssMb, code: Math.max(ir.code, ...wr.map((w) => w.code)), importWall: ir.wall, ...c, load: os.loadavg()[0] });
  process.stderr.write(`${n} workers: ${wall.toFixed(1)} s wall (import ${ir.wall} s), ${cpu.toFixed(0)} s CPU, exits ${ir.code}/${wr.map((w) => w.code).join(',')}, ${JSON.stringify(c)}${ir.code ? ` ${ir.stderr}` : ''}\n`);
  await dropRedis(prefix);
  if (!KEEP) await admin.query(`drop database ${db}`);
}

await inline();
for (const n of COUNTS) await withWorkers(n);
await admin.end();
redis.disconnect();

const base = results.find((r) => r.workers === 1);
const inl = results.find((r) => r.workers === 0);
console.log(`### Many workers: ${PHOTOS} generated photos (${W}x${H} JPEG)${ML ? ', all stages' : ', media stages (--skip-ml)'} (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)\n`);
console.log(`\`node bench/scale/workers.mjs --photos ${PHOTOS} --size ${W}x${H} --workers ${COUNTS.join(',')}${ML ? ' --ml' : ''}\`, one PostgreSQL 15 + one Redis, ${os.cpus().length} cores, load at start ${load0.map((l) => l.toFixed(1)).join(' / ')}\n`);
console.log('| run | wall | photos/s | vs 1 worker | vs in-process | CPU s / 100 photos | peak RSS | assets / thumbnails / failed | load |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.label} | ${r.wall.toFixed(1)} s | ${(PHOTOS / r.wall).toFixed(1)} | ${base ? (base.wall / r.wall).toFixed(2) + '×' : ''} | ${inl ? (inl.wall / r.wall).toFixed(2) + '×' : ''} | ${((r.cpu / PHOTOS) * 100).toFixed(1)} | ${r.rssMb.toFixed(0)} MB | ${r.assets} / ${r.thumbs} / ${r.failed} | ${r.load.toFixed(1)} |`);
}
