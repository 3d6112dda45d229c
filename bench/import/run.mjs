#!/usr/bin/env node
// bench/import: photos per second of `immich import` on a folder of real JPEGs, side by side in one
// run with the unavoidable work done by the same libraries standalone: SHA-1 of the files,
// exiftool (exiftool-vendored, same maxProcs) on the files, sharp preview (1440 px JPEG) +
// thumbnail (250 px WebP) from one decode. Each part uses both cores.
//
//   node bench/import/run.mjs [--files 300] [--rounds 2] [--concurrency <cores>] [--postgres] [--keep]
//
// --postgres: the import uses the machine's PostgreSQL (127.0.0.1:5432, a fresh database per
// round) instead of the embedded one, to see what the embedded database costs.
//
// Rounds alternate standalone and import (the machine is shared); the best round of each counts.
//
// The input is the corpus's real JPEGs, copied with changed bytes (a counter appended after the
// EOI marker: still valid JPEGs, each with its own SHA-1) until there are --files of them.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExifTool } from 'exiftool-vendored';
import pg from 'pg';
import sharp from 'sharp';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = process.env.IMMICH_TEST_CORPUS ?? path.resolve(ROOT, '../shared/corpus');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const N = Number(opt('--files', '300'));
const CONC = Number(opt('--concurrency', String(os.availableParallelism())));
const KEEP = args.includes('--keep');
const ROUNDS = Number(opt('--rounds', '2'));
const POSTGRES = args.includes('--postgres');

function corpusJpegs() {
  const out = [];
  const visit = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'broken') visit(p);
      } else if (/\.jpe?g$/i.test(e.name)) out.push(p);
    }
  };
  visit(CORPUS);
  return out.sort();
}

async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

function sha1(file) {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha1');
    fs.createReadStream(file, { highWaterMark: 1 << 20 }).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

/** CPU seconds of this process and of its reaped children (exiftool processes, the import), from /proc. */
function cpuSeconds() {
  const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const tick = 100; // USER_HZ
  return { self: (Number(f[11]) + Number(f[12])) / tick, children: (Number(f[13]) + Number(f[14])) / tick };
}

async function timed(label, fn) {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const c1 = cpuSeconds();
  return { label, seconds: s, cpu: c1.self - c0.self + c1.children - c0.children };
}

async function main() {
  const sources = corpusJpegs();
  // Decodable ones only (a real import would refuse the others; they are not what is measured).
  const usable = [];
  for (const f of sources) {
    try {
      const m = await sharp(f).metadata();
      if (m.width && m.height) usable.push(f);
    } catch { /* skip */ }
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-import-'));
  const input = path.join(work, 'photos');
  fs.mkdirSync(input);
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const src = usable[i % usable.length];
    const data = fs.readFileSync(src);
    // Bytes after EOI are ignored by decoders: a valid JPEG with its own checksum.
    const out = Buffer.concat([data, Buffer.from(`immich-bench-${i}`)]);
    fs.writeFileSync(path.join(input, `${String(i).padStart(5, '0')}_${path.basename(src)}`), out);
    bytes += out.length;
  }
  const files = fs.readdirSync(input).sort().map((f) => path.join(input, f));
  // Warm the page cache for both sides.
  await pool(files, CONC, sha1);

  const sharpThreads = Math.max(1, Math.floor(os.availableParallelism() / CONC));
  sharp.cache(false);
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k))), CI: 'true' };
  const empty = path.join(work, 'empty');
  fs.mkdirSync(empty);

  // --- standalone: the same libraries doing only the unavoidable work, one after the other
  const standaloneRound = async () => {
    const parts = [];
    parts.push(await timed('sha1', () => pool(files, CONC, sha1)));
    // exiftool's processes are ended inside the timing so their CPU time is counted (reaped children).
    parts.push(await timed('exiftool', async () => {
      const et = new ExifTool({ maxProcs: CONC });
      await pool(files, CONC, (f) => et.read(f));
      await et.end();
    }));
    sharp.concurrency(sharpThreads);
    // Immich's sizes: preview 1440 px and thumbnail 250 px on the short side, orientation applied.
    parts.push(await timed('sharp preview+thumbnail', () => pool(files, CONC, async (f) => {
      const { data, info } = await sharp(f, { failOn: 'none' }).rotate()
        .resize(1440, 1440, { fit: 'outside', withoutEnlargement: true }).raw().toBuffer({ resolveWithObject: true });
      const raw = { width: info.width, height: info.height, channels: info.channels };
      await Promise.all([
        sharp(data, { raw }).jpeg({ quality: 80 }).toBuffer(),
        sharp(data, { raw }).resize(250, 250, { fit: 'outside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer(),
      ]);
    })));
    return parts;
  };

  // --- immich import into a library whose database already exists (creating it is a one-off cost)
  const importRound = async (round) => {
    const lib = path.join(work, `library-${round}`);
    const dbEnv = {};
    let dropDb = async () => {};
    if (POSTGRES) {
      const name = `immich_bench_${process.pid}_${round}`;
      const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      Object.assign(dbEnv, { DB_HOSTNAME: '127.0.0.1', DB_PORT: '5432', DB_USERNAME: 'postgres', DB_DATABASE_NAME: name });
      dropDb = async () => {
        const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      };
    }
    Object.assign(env, dbEnv);
    execFileSync(process.execPath, [path.join(ROOT, 'bin/immich'), 'import', '--skip-ml', empty], { env: { ...env, UPLOAD_LOCATION: lib }, stdio: 'ignore' });
    const c0 = cpuSeconds();
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/immich'), '--json', 'import', '--skip-ml', '-j', String(CONC), input], {
      env: { ...env, UPLOAD_LOCATION: lib }, encoding: 'utf8', maxBuffer: 1 << 28,
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds().children - c0.children;
    if (r.status !== 0) {
      process.stderr.write(r.stderr);
      throw new Error(`import exited ${r.status}`);
    }
    fs.rmSync(lib, { recursive: true, force: true });
    await dropDb();
    return { seconds, cpu, summary: JSON.parse(r.stdout) };
  };

  let best;
  let bestImport;
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const parts = await standaloneRound();
    const total = parts.reduce((a, p) => a + p.seconds, 0);
    const cpu = parts.reduce((a, p) => a + p.cpu, 0);
    const imp = await importRound(round);
    rounds.push({
      standalone: +total.toFixed(2), import: +imp.seconds.toFixed(2),
      standaloneCpu: +cpu.toFixed(2), importCpu: +imp.cpu.toFixed(2), load: os.loadavg()[0].toFixed(1),
    });
    if (!best || total < best.total) best = { total, parts };
    if (!bestImport || imp.seconds < bestImport.seconds) bestImport = imp;
  }
  const parts = best.parts;
  const standalone = best.total;
  const importSeconds = bestImport.seconds;
  const summary = bestImport.summary;
  const result = {
    machine: { nproc: os.availableParallelism(), cpus: os.cpus()[0]?.model, node: process.version, load: os.loadavg().map((l) => l.toFixed(2)).join(' ') },
    files: N,
    mib: +(bytes / 2 ** 20).toFixed(1),
    distinctSources: usable.length,
    concurrency: CONC,
    database: POSTGRES ? 'postgres (127.0.0.1)' : 'embedded (PGlite)',
    standalone: Object.fromEntries(parts.map((p) => [p.label, { seconds: +p.seconds.toFixed(2), cpu: +p.cpu.toFixed(2) }])),
    standaloneSeconds: +standalone.toFixed(2),
    standalonePhotosPerSec: +(N / standalone).toFixed(1),
    importSeconds: +importSeconds.toFixed(2),
    importInternalSeconds: +(summary.durationMs / 1000).toFixed(2),
    importPhotosPerSec: +(N / importSeconds).toFixed(1),
    ratio: +(standalone / importSeconds).toFixed(2),
    // Robust to other load on a shared machine: CPU seconds of the standalone work / of the import.
    cpuRatio: +(Math.min(...rounds.map((r) => r.standaloneCpu)) / Math.min(...rounds.map((r) => r.importCpu))).toFixed(2),
    rounds,
    imported: summary.counts.imported,
    stages: summary.stages,
  };
  console.log(JSON.stringify(result, null, 2));
  if (!KEEP) fs.rmSync(work, { recursive: true, force: true });
  else console.error(`kept ${work}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
