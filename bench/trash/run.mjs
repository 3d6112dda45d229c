#!/usr/bin/env node
// bench/trash: two figures of the trash/stacks area, on the machine's PostgreSQL (127.0.0.1:5432).
//
// 1. `immich trash empty` of N trashed assets (synthetic: a 4 KB original, a thumbnail and a preview
//    each, rows in assets and asset_files) against the floor of the same work in the same run: `rm`
//    of the same files (xargs rm -f) plus one `DELETE FROM assets` (cascading to asset_files) on an
//    identical library. Rounds alternate baseline and trash empty (the machine is shared); the best
//    round of each counts. Target: baseline / trash empty >= 0.5.
// 2. `immich stack auto` over M assets (half RAW+JPEG pairs, bursts, edits, singles) end to end
//    (process start-up included), dry run and real; target < 10 s.
//
//   node bench/trash/run.mjs [--assets 10000] [--stack-assets 100000] [--rounds 3] [--stack-only] [--keep] [--reuse <db>]
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/immich');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const N = Number(opt('--assets', '10000'));
const M = Number(opt('--stack-assets', '100000'));
const ROUNDS = Number(opt('--rounds', '3'));
const KEEP = args.includes('--keep');
const SKIP_PURGE = args.includes('--stack-only');
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };

async function admin(sql) {
  const c = new pg.Client({ ...PG, database: 'postgres' });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function envFor(lib, db) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)) env[k] = v;
  return { ...env, CI: 'true', UPLOAD_LOCATION: lib, DB_HOSTNAME: PG.host, DB_PORT: String(PG.port), DB_USERNAME: PG.user, DB_DATABASE_NAME: db };
}

const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** Runs bin/immich; wall ms, and CPU seconds (user + system, the process and its children) when /usr/bin/time is there. */
function cli(lib, db, ...a) {
  const extra = a[0] === '--debug' ? (a.shift(), { IMMICH_LOG_LEVEL: 'debug' }) : {};
  const cmd = TIME ? [TIME, ['-f', 'cpu %U %S', process.execPath, BIN, ...a]] : [process.execPath, [BIN, ...a]];
  const t = performance.now();
  const r = spawnSync(cmd[0], cmd[1], { env: { ...envFor(lib, db), ...extra }, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`immich ${a.join(' ')}: exit ${r.status}\n${r.stderr}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { ms, stdout: r.stdout, stderr: r.stderr, cpu: m ? Number(m[1]) + Number(m[2]) : NaN };
}

/** A fresh database (migrated by a first command) and library folder. */
async function freshLibrary(tag) {
  const db = `trash_bench_${tag}_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  await admin(`create database ${db}`);
  const lib = fs.mkdtempSync(path.join(os.tmpdir(), `immich-bench-trash-${tag}-`));
  cli(lib, db, 'trash', 'list');
  return { db, lib, drop: async () => { if (!KEEP) { await admin(`drop database if exists ${db} with (force)`); fs.rmSync(lib, { recursive: true, force: true }); } } };
}

async function withDb(db, fn) {
  const c = new pg.Client({ ...PG, database: db });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** N trashed assets with their three files. Returns every file written. */
async function seedTrash({ db, lib }) {
  const ids = Array.from({ length: N }, () => crypto.randomUUID());
  const files = [];
  const blob = crypto.randomBytes(4096);
  const rows = { id: [], checksum: [], orig: [], name: [], lib: [] };
  const derived = { asset: [], kind: [], path: [] };
  for (let i = 0; i < N; i++) {
    const id = ids[i];
    const rel = path.join('uploads', 'bench', String(i % 100).padStart(2, '0'), `IMG_${i}.jpg`);
    rows.id.push(id);
    rows.checksum.push(crypto.createHash('sha1').update(id).digest('hex'));
    rows.orig.push(`/src/IMG_${i}.jpg`);
    rows.name.push(`IMG_${i}.jpg`);
    rows.lib.push(rel);
    files.push(rel);
    for (const [kind, suffix] of [['thumbnail', '-thumbnail.webp'], ['preview', '-preview.jpeg']]) {
      const p = path.join('thumbs', id.slice(0, 2), id.slice(2, 4), `${id}${suffix}`);
      derived.asset.push(id);
      derived.kind.push(kind);
      derived.path.push(p);
      files.push(p);
    }
  }
  for (const f of files) {
    const abs = path.join(lib, f);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, blob);
  }
  await withDb(db, async (c) => {
    await c.query(
      `insert into assets (id, checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime, deleted_at)
       select unnest($1::uuid[]), unnest($2::text[]), unnest($3::text[]), unnest($4::text[]), unnest($5::text[]), 'copy', 'image', 'image/jpeg', 4096, now(), now() - interval '1 day'`,
      [rows.id, rows.checksum, rows.orig, rows.name, rows.lib],
    );
    await c.query(
      `insert into asset_files (asset_id, kind, path) select unnest($1::uuid[]), unnest($2::text[]), unnest($3::text[])`,
      [derived.asset, derived.kind, derived.path],
    );
  });
  spawnSync('sync');
  return files;
}

async function baselineRound() {
  const L = await freshLibrary('base');
  try {
    const files = await seedTrash(L);
    const t = performance.now();
    const r = spawnSync('xargs', ['-0', 'rm', '-f'], { cwd: L.lib, input: files.join('\0') });
    if (r.status !== 0) throw new Error(`rm: ${r.stderr}`);
    await withDb(L.db, (c) => c.query('delete from assets where deleted_at is not null'));
    return performance.now() - t;
  } finally {
    await L.drop();
  }
}

async function trashRound() {
  const L = await freshLibrary('empty');
  try {
    const files = await seedTrash(L);
    const { ms, stdout } = cli(L.lib, L.db, '--json', 'trash', 'empty');
    const s = JSON.parse(stdout);
    if (s.purged !== N || s.filesDeleted !== files.length) throw new Error(`trash empty purged ${s.purged}/${N}, ${s.filesDeleted}/${files.length} files`);
    const left = await withDb(L.db, async (c) => Number((await c.query('select count(*) n from assets')).rows[0].n));
    if (left) throw new Error(`${left} rows left`);
    return ms;
  } finally {
    await L.drop();
  }
}

/** M assets with exif: pairs, bursts (Samsung names and close shots), edits and singles. */
async function seedStacks({ db }) {
  const cols = { id: [], checksum: [], orig: [], name: [], taken: [], make: [], model: [] };
  const base = Date.parse('2020-01-01T00:00:00Z');
  let i = 0;
  const add = (name, taken, make = 'Canon', model = 'EOS R5') => {
    const id = crypto.randomUUID();
    cols.id.push(id);
    cols.checksum.push(crypto.createHash('sha1').update(id).digest('hex'));
    cols.orig.push(`/photos/${Math.floor(i / 500)}/${name}`);
    cols.name.push(name);
    cols.taken.push(new Date(taken).toISOString());
    cols.make.push(make);
    cols.model.push(model);
    i++;
  };
  let n = 0;
  while (i < M) {
    const t = base + n * 60_000;
    const kind = n % 10;
    if (kind < 5) { add(`IMG_${n}.CR3`, t); add(`IMG_${n}.JPG`, t); }
    else if (kind === 5) { for (let k = 1; k <= 4; k++) add(`20200101_${String(n).padStart(6, '0')}_00${k}.jpg`, t + k * 100, 'samsung', 'SM-G991B'); }
    else if (kind === 6) { for (let k = 0; k < 3; k++) add(`BURST_${n}_${k}.jpg`, t + k * 300); }
    else if (kind === 7) { add(`PIC_${n}.jpg`, t, 'Apple', 'iPhone 12'); add(`PIC_${n}-edited.jpg`, t + 5000, 'Apple', 'iPhone 12'); }
    else add(`SOLO_${n}.jpg`, t, 'Nikon', 'Z6');
    n++;
  }
  await withDb(db, async (c) => {
    for (let k = 0; k < cols.id.length; k += 20000) {
      const s = (a) => a.slice(k, k + 20000);
      await c.query(
        `insert into assets (id, checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime, taken_at)
         select unnest($1::uuid[]), unnest($2::text[]), unnest($3::text[]), unnest($4::text[]), unnest($3::text[]), 'in-place', 'image', 'image/jpeg', 1, now(), unnest($5::timestamptz[])`,
        [s(cols.id), s(cols.checksum), s(cols.orig), s(cols.name), s(cols.taken)],
      );
      await c.query(`insert into exif (asset_id, make, model) select unnest($1::uuid[]), unnest($2::text[]), unnest($3::text[])`, [s(cols.id), s(cols.make), s(cols.model)]);
    }
    await c.query('analyze assets');
    await c.query('analyze exif');
  });
  return cols.id.length;
}

const best = (xs) => Math.min(...xs);
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

const load = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
console.log(`bench/trash: ${N} assets to purge, ${M} to stack, ${ROUNDS} rounds, load ${load}`);
const base = [];
const empty = [];
for (let r = 0; r < (SKIP_PURGE ? 0 : ROUNDS); r++) {
  base.push(await baselineRound());
  empty.push(await trashRound());
  console.log(`round ${r + 1}: rm + DELETE ${fmt(base.at(-1))}, trash empty ${fmt(empty.at(-1))}`);
}
if (!SKIP_PURGE) console.log(`trash empty: best ${fmt(best(empty))}; baseline best ${fmt(best(base))}; ratio baseline/trash = ${(best(base) / best(empty)).toFixed(2)} (target >= 0.5)`);

// --reuse <database>: a database seeded by an earlier run with --keep (profiling without re-seeding).
const REUSE = opt('--reuse', '');
const S = REUSE
  ? { db: REUSE, lib: fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-trash-reuse-')), drop: async () => {} }
  : await freshLibrary('stack');
if (KEEP && !REUSE) console.log(`kept: database ${S.db}, library ${S.lib} (re-run with --reuse ${S.db})`);
try {
  const count = REUSE ? await withDb(S.db, async (c) => Number((await c.query('select count(*) n from assets')).rows[0].n)) : await seedStacks(S);
  // Where the time goes inside PostgreSQL: the candidate query (the only read of stack auto).
  await withDb(S.db, async (c) => {
    // (A tree from before migration 0073 kept membership in assets.stack_id: its query, for a baseline.)
    const narrow = (await c.query(`select to_regclass('stack_assets') is not null as t`)).rows[0].t;
    const plan = (await c.query(narrow
      ? `explain (analyze, buffers) select a.id, a.original_path, a.type, (extract(epoch from a.taken_at) * 1000)::float8 as taken_ms, sa.stack_id, e.make, e.model, e.burst_id
      from assets a left join exif e on e.asset_id = a.id left join stack_assets sa on sa.asset_id = a.id
      where a.deleted_at is null and not a.is_motion_part`
      : `explain (analyze, buffers) select a.id, a.original_path, a.type, a.taken_at, a.stack_id, e.make, e.model, e.burst_id
      from assets a left join exif e on e.asset_id = a.id where a.deleted_at is null and not a.is_motion_part`)).rows.map((r) => r['QUERY PLAN']);
    console.log(`EXPLAIN ANALYZE of the candidate query:\n  ${plan.join('\n  ')}`);
    // The membership write for 90% of the assets, in a transaction rolled back: narrow stack_assets
    // rows (this tree) or the wide assets rows' stack_id (a tree before migration 0073).
    await c.query('begin');
    try {
      const stack = (await c.query(`insert into stacks (primary_asset_id) select id from assets limit 1 returning id`)).rows[0].id;
      const write = narrow
        ? `explain (analyze, buffers) insert into stack_assets (asset_id, stack_id) select id, '${stack}'::uuid from assets where random() < 0.9`
        : `explain (analyze, buffers) update assets set stack_id = '${stack}'::uuid where random() < 0.9`;
      const wplan = (await c.query(write)).rows.map((r) => r['QUERY PLAN']);
      console.log(`EXPLAIN ANALYZE of the membership write (${narrow ? 'insert into stack_assets' : 'update assets set stack_id'}), rolled back:\n  ${wplan.join('\n  ')}`);
    } finally {
      await c.query('rollback');
    }
  });
  const dry = [];
  const real = [];
  const cpu = [];
  let made = 0;
  const phases = (stderr) => /stack auto: .*?; (load .*?, rules .*?, write .*?\))/.exec(stderr)?.[1] ?? 'no phase line';
  for (let r = 0; r < ROUNDS; r++) {
    dry.push(cli(S.lib, S.db, 'stack', 'auto', '--dry-run').ms);
    // The human summary line: the JSON lists every stack (tens of MB at this size).
    const run = cli(S.lib, S.db, '--debug', 'stack', 'auto');
    real.push(run.ms);
    cpu.push(run.cpu);
    made = Number(/made (\d+) stack/.exec(run.stdout)?.[1]);
    // A second run finds nothing new (nothing written).
    const again = cli(S.lib, S.db, 'stack', 'auto');
    await withDb(S.db, async (c) => {
      await c.query('delete from stacks'); // membership rows go with them (cascade)
    });
    console.log(`round ${r + 1}: stack auto --dry-run ${fmt(dry.at(-1))}, stack auto ${fmt(real.at(-1))} (${made} stacks; CPU ${run.cpu.toFixed(2)} s; ${phases(run.stderr)}), again ${fmt(again.ms)}; load ${os.loadavg()[0].toFixed(1)}`);
  }
  const ver = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    spawnSync(process.execPath, [BIN, '--version']);
    ver.push(performance.now() - t);
  }
  console.log(`stack auto over ${count} assets: best ${fmt(best(real))}, CPU ${best(cpu).toFixed(2)} s (dry run ${fmt(best(dry))}; immich --version alone ${fmt(best(ver))}); target < 10 s; load ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}`);
} finally {
  await S.drop();
}
