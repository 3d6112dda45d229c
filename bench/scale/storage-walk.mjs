#!/usr/bin/env node
// bench/scale/storage-walk: `immich stats` on a library whose thumbs/ holds the sharded tree of a large
// library (thumbs/ab/cd/<files>: 65,536 folders at 1M assets, ~30 files each with previews), whole
// command on PostgreSQL. Compared in the same run: the first `stats` (every file lstat'ed: what every
// run cost before the folder counts were kept), the next ones (folders lstat'ed, none re-read), one
// after a new file in one folder, and `--no-storage` (no walk at all: the floor).
//
//   node bench/scale/storage-walk.mjs [--folders 65536] [--files 30] [--rounds 3] [--keep]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, BIN, args, opt, cleanEnv } from './cli.mjs';

const FOLDERS = Number(opt('folders', '65536'));
const FILES = Number(opt('files', '30'));
const ROUNDS = Number(opt('rounds', '3'));
const lib = path.resolve(opt('library', path.join(os.tmpdir(), `immich-bench-walk-${FOLDERS}x${FILES}`)));
const db = `bench_walk_${process.pid}`;
const env = { ...cleanEnv, UPLOAD_LOCATION: lib, DB_HOSTNAME: '127.0.0.1', DB_USERNAME: 'postgres', DB_DATABASE_NAME: db };

const hex = (n) => n.toString(16).padStart(2, '0');
const made = path.join(lib, '.made');
if (!fs.existsSync(made)) {
  const t = performance.now();
  const buf = Buffer.alloc(2000);
  for (let k = 0; k < FOLDERS; k++) {
    const d = path.join(lib, 'thumbs', hex(k >> 8), hex(k & 255));
    fs.mkdirSync(d, { recursive: true });
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(d, `${k}-${i}.webp`), buf);
  }
  fs.writeFileSync(made, '');
  process.stderr.write(`made ${FOLDERS} folders x ${FILES} files in ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
}
fs.rmSync(path.join(lib, 'tmp'), { recursive: true, force: true }); // no kept counts: the first run walks everything
spawnSync('createdb', ['-h', '127.0.0.1', '-U', 'postgres', db]);
// the migrations once, outside the timing (a full walk here would keep the counts: --no-storage)
spawnSync(BIN, ['stats', '--json', '--no-storage'], { env });
// files written just now belong to folders changed "now": wait out the 2 s racy window
await new Promise((r) => setTimeout(r, 2100));

const stats = (extra = []) => {
  spawnSync('sync');
  const t = performance.now();
  const p = spawnSync('/usr/bin/time', ['-f', '%M', BIN, 'stats', '--json', ...extra], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = performance.now() - t;
  if (p.status !== 0) throw new Error(p.stderr);
  const thumbs = JSON.parse(p.stdout).storage.folders.find((f) => f.folder === 'thumbs');
  return { ms, files: thumbs?.files ?? 0, rss: Number(p.stderr.trim().split('\n').at(-1)) / 1024 };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
const first = stats();
rows.push({ label: 'first run: every file lstat\'ed (each run before)', ...first });
if (first.files !== FOLDERS * FILES) throw new Error(`counted ${first.files} files, made ${FOLDERS * FILES}`);
const kept = Array.from({ length: ROUNDS }, () => stats());
rows.push({ label: `kept counts: folders lstat'ed only (median of ${ROUNDS})`, ms: median(kept.map((r) => r.ms)), files: kept[0].files, rss: Math.max(...kept.map((r) => r.rss)) });
fs.writeFileSync(path.join(lib, 'thumbs', '00', '00', 'new.webp'), Buffer.alloc(10));
const changed = stats();
rows.push({ label: 'one folder changed (read again)', ...changed });
if (changed.files !== FOLDERS * FILES + 1) throw new Error(`counted ${changed.files} after one new file`);
fs.unlinkSync(path.join(lib, 'thumbs', '00', '00', 'new.webp'));
const none = Array.from({ length: ROUNDS }, () => stats(['--no-storage']));
rows.push({ label: `--no-storage (median of ${ROUNDS})`, ms: median(none.map((r) => r.ms)), files: 0, rss: Math.max(...none.map((r) => r.rss)) });
spawnSync('dropdb', ['-h', '127.0.0.1', '-U', 'postgres', db]);
if (!args.includes('--keep')) fs.rmSync(lib, { recursive: true, force: true });

console.log(`### stats: folder walk of ${FOLDERS.toLocaleString('en')} folders x ${FILES} files (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)\n`);
console.log(`\`node bench/scale/storage-walk.mjs --folders ${FOLDERS} --files ${FILES}\`, whole \`immich stats --json\` on PostgreSQL, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}\n`);
console.log('| run | whole command | vs first run | peak RSS | files counted |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.label} | ${r.ms.toFixed(0)} ms | ${(r.ms / first.ms).toFixed(3)} | ${r.rss.toFixed(0)} MB | ${r.files.toLocaleString('en')} |`);
