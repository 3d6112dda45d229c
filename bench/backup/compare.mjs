#!/usr/bin/env node
// Before/after comparison of two builds of dist/, interleaved in one process so that both see the
// same machine load: first backup of N originals (fresh repository each time) beside `cp -r` and
// `cp -r && sync` of the same files, and the one-new-file incremental of a SMALL-file library.
// Usage: npm run build && node bench/backup/compare.mjs <distA> <distB> [rounds=3] [files=200] [sizeMiB=2] [small=10000]
// (distA/distB are sibling folders of dist/, e.g. a copy of an older build, so ../migrations resolves.)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedAssets } from './seed.mjs';

const [A, B] = [process.argv[2], process.argv[3]].map((d) => path.resolve(d));
const ROUNDS = Number(process.argv[4] ?? 3);
const N = Number(process.argv[5] ?? 200);
const SIZE = Number(process.argv[6] ?? 2) * 1024 * 1024;
const SMALL = Number(process.argv[7] ?? 10_000);
const MB = 1024 * 1024;
const load = async (dir) => ({
  dir,
  loadConfig: (await import(path.join(dir, 'config.js'))).loadConfig,
  createContext: (await import(path.join(dir, 'context.js'))).createContext,
  Logger: (await import(path.join(dir, 'logger.js'))).Logger,
  runBackup: (await import(path.join(dir, 'services/backup.js'))).runBackup,
});
const builds = [await load(A), await load(B)];
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-backup-cmp-'));
const sync = () => spawnSync('sync');

async function withCtx(b, lib, fn) {
  const ctx = await b.createContext(b.loadConfig({ env: { UPLOAD_LOCATION: lib } }), new b.Logger('warn', []), { command: 'bench' });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

async function seed(lib, count, size, prefix) {
  await withCtx(builds[1], lib, (ctx) => seedAssets(ctx, lib, count, size, prefix));
}

const big = path.join(base, 'big');
const small = path.join(base, 'small');
await seed(big, N, SIZE, 'big');
await seed(small, SMALL, 4096, 'many');
const smallRepo = path.join(base, 'repo-small');
await withCtx(builds[1], small, (ctx) => builds[1].runBackup(ctx, { repository: smallRepo }));
execFileSync('sh', ['-c', `cat '${big}'/uploads/big/* > /dev/null`]);

const res = { cp: [], cpSync: [], first: [[], []], incr: [[], []] };
const ms = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
let k = 0;
for (let r = 0; r < ROUNDS; r++) {
  sync();
  res.cp.push(await ms(() => execFileSync('cp', ['-r', path.join(big, 'uploads'), path.join(base, `cp${k++}`)])));
  sync();
  res.cpSync.push(await ms(() => execFileSync('sh', ['-c', `cp -r '${path.join(big, 'uploads')}' '${path.join(base, `cp${k++}`)}' && sync`])));
  for (const i of r % 2 ? [1, 0] : [0, 1]) {
    const b = builds[i];
    sync();
    res.first[i].push(await withCtx(b, big, (ctx) => ms(() => b.runBackup(ctx, { repository: path.join(base, `repo${k++}`) }))));
    await seed(small, 1, 4096, `new${k++}`);
    sync();
    res.incr[i].push(await withCtx(b, small, (ctx) => ms(() => b.runBackup(ctx, { repository: smallRepo }))));
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const totalMB = (N * SIZE) / MB;
const rate = (t) => `${(totalMB / (t / 1000)).toFixed(0)} MB/s (${(t / 1000).toFixed(2)} s)`;
console.log(`machine: ${os.cpus().length} cores, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}; ${ROUNDS} rounds interleaved, medians`);
console.log(`A = ${A}\nB = ${B}\n`);
console.log('| measurement | A | B | cp -r | cp -r && sync |');
console.log('|---|---|---|---|---|');
console.log(`| first backup, ${N} × ${SIZE / MB} MiB | ${rate(med(res.first[0]))} | ${rate(med(res.first[1]))} | ${rate(med(res.cp))} | ${rate(med(res.cpSync))} |`);
console.log(`| ratio to cp -r (to cp -r && sync) | ${(med(res.cp) / med(res.first[0])).toFixed(2)} (${(med(res.cpSync) / med(res.first[0])).toFixed(2)}) | ${(med(res.cp) / med(res.first[1])).toFixed(2)} (${(med(res.cpSync) / med(res.first[1])).toFixed(2)}) | | |`);
console.log(`| incremental, ${SMALL} files + 1 new (service) | ${(med(res.incr[0]) / 1000).toFixed(2)} s | ${(med(res.incr[1]) / 1000).toFixed(2)} s | | |`);
console.log(`\nall (ms): ${JSON.stringify({ cp: res.cp.map(Math.round), cpSync: res.cpSync.map(Math.round), firstA: res.first[0].map(Math.round), firstB: res.first[1].map(Math.round), incrA: res.incr[0].map(Math.round), incrB: res.incr[1].map(Math.round) })}`);
fs.rmSync(base, { recursive: true, force: true });
