// `immich backup`: a snapshot of the library into a repository (see backup-repo.ts): a consistent
// database dump plus the originals, each stored once across all snapshots (incremental), and a file
// list with every file's path, checksum, size, mode and mtime. The snapshot header is written last.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { sql } from '../db/kysely.js';
import type { Kysely, Transaction } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import type { Context } from '../context.js';
import type { DB } from '../db/schema.js';
import { EnvironmentError, environmentCause, errorCode } from '../errors.js';
import { sha1File } from '../storage/checksum.js';
import { listInstalled } from '../ml/models.js';
import { referencedLibraryPaths } from './cache.js';
import {
  hostname,
  Repository,
  type BackupStats,
  type FileEntry,
  type FileKind,
  type PutResult,
  type Snapshot,
  type SnapshotHeader,
} from './backup-repo.js';
import { fsPath } from '../storage/raw-path.js';

export interface BackupOptions {
  repository: string;
  passphrase?: string;
  includeDerived?: boolean;
  tags?: string[];
  /** Files processed at once (default 4). */
  concurrency?: number;
  onProgress?: (p: { done: number; total: number; bytes: number }) => void;
  /** An already opened repository (the caller closes it). */
  repo?: Repository;
  /** The caller holds the repository lock already (restore's safety snapshot). */
  locked?: boolean;
  /** A safety snapshot (restore --force, of the library it overwrites): marked as such. */
  safety?: boolean;
}

export interface BackupProblem {
  path: string;
  message: string;
}

export interface BackupResult {
  repository: string;
  snapshot: string;
  encrypted: boolean;
  created: boolean;
  parent: string | null;
  database: { kind: string; tables: number; rows: number; dump_bytes: number };
  stats: BackupStats;
  /** Repository objects re-read this run (first use, written since the parent, the rolling sample) and found damaged (stored again). */
  objectChecks: { checked: number; damaged: number };
  problems: BackupProblem[];
}

/**
 * The most of the rolling sample (see runBackup) one backup re-reads, in bytes and in objects: bounds an
 * incremental's cost (each re-read object is an open, a read and a decrypt; 625 of them doubled the
 * 10k-file incremental to 2 s).
 */
const SAMPLE_BYTES = 256 * 1024 * 1024;
const SAMPLE_OBJECTS = 128;

interface Candidate {
  path: string;
  abs: string;
  kind: FileKind;
  checksum?: string;
  source?: string;
}

const gzip = promisify(zlib.gzip);

export const EMBEDDED_DUMP_ARGS = [
  '--no-owner',
  '--no-privileges',
  '--no-comments',
  '--no-security-labels',
  '--no-publications',
  '--no-subscriptions',
  '--no-tablespaces',
  '--no-table-access-method',
];

/** The disk written to failed (full, over quota, read-only, I/O error): nothing more can be stored. */
export function isDiskFailure(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (/^E(NOSPC|DQUOT|ROFS|IO)$/.test(errorCode(e) ?? '')) return true;
  }
  return false;
}

/** pg client environment for pg_dump/psql: the password travels in the environment, never in argv. */
export function pgClientEnv(cfg: DatabaseConfig): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('PG')) delete env[k];
  if (cfg.url) {
    const u = new URL(cfg.url);
    env.PGHOST = decodeURIComponent(u.hostname);
    env.PGPORT = u.port || '5432';
    if (u.username) env.PGUSER = decodeURIComponent(u.username);
    if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
    env.PGDATABASE = decodeURIComponent(u.pathname.replace(/^\//, '')) || cfg.database;
    const ssl = u.searchParams.get('sslmode');
    if (ssl) env.PGSSLMODE = ssl;
  } else {
    env.PGHOST = cfg.host;
    env.PGPORT = String(cfg.port);
    env.PGUSER = cfg.username;
    if (cfg.password) env.PGPASSWORD = cfg.password;
    env.PGDATABASE = cfg.database;
  }
  return env;
}

/** Every table in the public schema with its row count (two queries, whatever the table count). */
export async function countRows(db: Kysely<DB> | Transaction<DB>): Promise<Record<string, number>> {
  const k = db as unknown as Kysely<any>;
  // pg_tables instead of kysely's introspection, which also reads every column of every table.
  const names = (await k.selectFrom('pg_catalog.pg_tables').select('tablename').where('schemaname', '=', 'public').execute())
    .map((r) => String(r.tablename))
    .sort((a, b) => a.localeCompare(b));
  const rows: Record<string, number> = {};
  if (!names.length) return rows;
  const one = (t: string) => k.selectFrom(t).select((eb) => [eb.val(t).as('t'), eb.fn.countAll<number>().as('n')]);
  let q = one(names[0]!);
  for (const t of names.slice(1)) q = q.unionAll(one(t));
  for (const r of await q.execute()) rows[String(r.t)] = Number(r.n);
  for (const t of names) rows[t] ??= 0;
  return Object.fromEntries(names.map((t) => [t, rows[t]!]));
}

interface DbCapture {
  dump: PutResult;
  /** Unpacked size of the dump: restore reads no more than this. */
  sqlBytes: number;
  tool: string;
  rows: Record<string, number>;
  migrations: string[];
}

/** Starts storing the files of the snapshot; called once the file list is read from the database. */
type StartFiles = (candidates: Candidate[]) => Promise<void>;

async function listCandidates(ctx: Context, db: Kysely<DB> | Transaction<DB>, includeDerived: boolean): Promise<Candidate[]> {
  const root = ctx.library.root;
  const out: Candidate[] = [];
  const entryPath = (p: string): { path: string; kind: 'inside' | 'external' } => {
    if (!path.isAbsolute(p)) return { path: path.posix.normalize(p.split(path.sep).join('/')), kind: 'inside' };
    const rel = path.relative(root, p);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return { path: rel.split(path.sep).join('/'), kind: 'inside' };
    return { path: 'external/' + p.replace(/^\/+/, '').split(path.sep).join('/'), kind: 'external' };
  };
  const assets = await db.selectFrom('assets').select(['checksum', 'library_path']).orderBy('library_path').execute();
  for (const a of assets) {
    const e = entryPath(a.library_path);
    out.push({ path: e.path, abs: ctx.library.resolve(a.library_path), checksum: a.checksum, kind: e.kind === 'external' ? 'external' : 'original', source: e.kind === 'external' ? a.library_path : undefined });
  }
  // The sidecars photos came with, and the ones edits were written to (asset_sidecars: beside the
  // file, or under sidecars/ with IMMICH_SIDECAR_LOCATION=library): a restored library has its edits
  // in its files too, without a metadata sync.
  const sidecars = await db
    .selectFrom('exif')
    .select('sidecar_path')
    .where('sidecar_path', 'is not', null)
    .union(db.selectFrom('asset_sidecars').select('path as sidecar_path').where('path', '<>', ''))
    .execute();
  for (const s of sidecars) {
    const e = entryPath(s.sidecar_path!);
    out.push({ path: e.path, abs: ctx.library.resolve(s.sidecar_path!), kind: e.kind === 'external' ? 'external' : 'sidecar', source: e.kind === 'external' ? s.sidecar_path! : undefined });
  }
  if (includeDerived) {
    // Every derived file a row references (thumbnails, previews, encoded video, face crops, ...).
    const derived = [...(await referencedLibraryPaths(db, root))].filter((p) => /^(thumbs|encoded)[\\/]/.test(p)).sort();
    for (const d of derived) out.push({ path: d.split(path.sep).join('/'), abs: path.join(root, d), kind: 'derived' });
  }
  // One entry per path (a sidecar shared by two assets, say).
  const seen = new Set<string>();
  return out.filter((c) => (seen.has(c.path) ? false : (seen.add(c.path), true)));
}

async function migrationsApplied(db: Kysely<DB> | Transaction<DB>): Promise<string[]> {
  const rows = await db.selectFrom('schema_migrations').select('name').orderBy('name').execute();
  return rows.map((r) => r.name);
}

/**
 * Dump the database and read what the snapshot needs from the same point in time. PostgreSQL: a
 * repeatable-read transaction exports its snapshot and pg_dump runs on it (--snapshot), so the
 * dump, the file list and the row counts agree. Embedded: this process holds the database's
 * exclusive lock, so nothing else writes while it is read and dumped.
 */
async function captureDatabase(
  ctx: Context,
  repo: Repository,
  includeDerived: boolean,
  startFiles: StartFiles,
): Promise<DbCapture & { files: Promise<void> }> {
  let mark = performance.now();
  const phase = (name: string): void => {
    const now = performance.now();
    ctx.logger.debug(`backup phase ${name}`, { ms: Math.round(now - mark) });
    mark = now;
  };
  if (ctx.database.kind === 'embedded') {
    const pglite = ctx.database.pglite;
    if (!pglite) throw new EnvironmentError('the embedded database engine is not available for dumping');
    const loadingDump = import('@electric-sql/pglite-tools/pg_dump');
    loadingDump.catch(() => {}); // awaited below
    const candidates = await listCandidates(ctx, ctx.db, includeDerived);
    phase('db candidates');
    // The files go to the copy workers now and are stored while this thread dumps the database
    // (the embedded engine runs on this thread). This process holds the database's exclusive
    // lock, so the dump and the file list still describe the same moment.
    const files = startFiles(candidates);
    files.catch(() => {}); // awaited by the caller
    phase('db files queued');
    const rows = await countRows(ctx.db);
    phase('db rows');
    const migrations = await migrationsApplied(ctx.db);
    const { pgDump } = await loadingDump;
    phase('db import');
    let file: File;
    try {
      // Skipping what the embedded database never has (security labels, publications, tablespaces...)
      // and the extensions' own comments (CREATE EXTENSION restores them) saves catalog queries:
      // ~20% of a dump's second, which a fresh process pays with cold catalog caches.
      file = await pgDump({ pg: pglite, args: EMBEDDED_DUMP_ARGS });
    } catch (err) {
      throw new EnvironmentError(`dumping ${ctx.database.target} failed: ${(err as Error).message}`);
    }
    // pg_dump leaves search_path empty on the shared session; later queries in this process need it back.
    await pglite.exec('reset search_path');
    phase('db dump');
    // Off this thread (libuv pool), so finished copies are collected meanwhile.
    const sql = Buffer.from(await file.arrayBuffer());
    const gz = await gzip(sql, { level: 6 });
    const dump = await repo.putBuffer(gz);
    phase('db gzip+put');
    return { dump, sqlBytes: sql.length, tool: 'pglite-tools pg_dump', rows, migrations, files };
  }
  return ctx.db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    // pg_export_snapshot has no query-builder form; the id only lets pg_dump see this transaction's view.
    const snap = await sql<{ id: string }>`select pg_export_snapshot() as id`.execute(trx);
    const snapshotId = snap.rows[0]!.id;
    const dumping = pgDumpToRepo(ctx.config.database, repo, snapshotId);
    dumping.catch(() => {}); // awaited below; avoid an unhandled rejection while the reads run
    const candidates = await listCandidates(ctx, trx, includeDerived);
    const files = startFiles(candidates);
    files.catch(() => {}); // awaited by the caller
    const rows = await countRows(trx);
    const migrations = await migrationsApplied(trx);
    const { put, version, sqlBytes } = await dumping;
    return { dump: put, sqlBytes, tool: version, rows, migrations, files };
  });
}

function pgDumpToRepo(cfg: DatabaseConfig, repo: Repository, snapshotId: string): Promise<{ put: PutResult; version: string; sqlBytes: number }> {
  return new Promise((resolve, reject) => {
    // Plain SQL with INSERTs restores through psql and through the embedded engine alike.
    const child = spawn(
      'pg_dump',
      ['--no-owner', '--no-privileges', '--format=plain', '--inserts', '--rows-per-insert=500', `--snapshot=${snapshotId}`],
      { env: pgClientEnv(cfg), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? 1)));
    let sqlBytes = 0;
    child.stdout.on('data', (d: Buffer) => (sqlBytes += d.length));
    const gz = child.stdout.pipe(zlib.createGzip({ level: 6 }));
    repo.putStream(gz).then(
      async (put) => {
        const code = await exited;
        if (spawnError || code !== 0) {
          const why = spawnError
            ? `cannot run pg_dump (${(spawnError as NodeJS.ErrnoException).code}); install the PostgreSQL client (apt-get install postgresql-client)`
            : stderr.trim().split('\n').slice(-2).join(' ');
          // The object may already be stored; it is unreferenced and removed by the next prune.
          reject(new EnvironmentError(`pg_dump failed: ${why}`));
          return;
        }
        resolve({ put, version: await pgDumpVersion(), sqlBytes });
      },
      async (err) => {
        child.kill();
        await exited;
        reject(spawnError ? new EnvironmentError(`cannot run pg_dump: ${spawnError.message}`) : err);
      },
    );
  });
}

function pgDumpVersion(): Promise<string> {
  return new Promise((resolve) => {
    const c = spawn('pg_dump', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('close', () => resolve(out.trim() || 'pg_dump'));
    c.on('error', () => resolve('pg_dump'));
  });
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        await fn(items[i]!, i);
      }
    }),
  );
}

export { mapLimit };

/** Models installed in the library's models folder, as task/name/part (no checksums: names only). */
async function installedModels(ctx: Context): Promise<string[]> {
  const parts = await listInstalled({ config: { modelsDir: ctx.config.modelsDir, modelCacheDir: ctx.config.modelsDir, raw: ctx.config.raw } }, { checksums: false }).catch(() => []);
  return parts.filter((p) => p.where === 'models').map((p) => `${p.task}/${p.name}/${p.part}`).sort();
}

/** The newest backup of this library (for change detection), or undefined; safety snapshots are not. */
async function parentSnapshot(repo: Repository, library: string): Promise<Snapshot | undefined> {
  const { snapshots } = await repo.listSnapshots();
  const host = hostname();
  const mine = snapshots.filter((s) => s.library === library && s.hostname === host && !s.safety);
  return mine[mine.length - 1];
}

export async function runBackup(ctx: Context, opts: BackupOptions): Promise<BackupResult> {
  const started = performance.now();
  // Phase timings at debug level (bench/backup reads them to see where a run's time goes).
  let mark = started;
  const phase = (name: string): void => {
    const now = performance.now();
    ctx.logger.debug(`backup phase ${name}`, { ms: Math.round(now - mark) });
    mark = now;
  };
  const existed = fs.existsSync(path.join(path.resolve(opts.repository), 'config.json'));
  const repo = opts.repo ?? (await Repository.open(opts.repository, { passphrase: opts.passphrase, create: true }));
  const release = opts.locked ? () => {} : repo.lock('immich backup');
  try {
    phase('open');
    if (!opts.locked) await repo.cleanTemp();
    const listing = repo.listObjects();
    listing.catch(() => {}); // awaited below
    const parent = await parentSnapshot(repo, ctx.library.root);
    const prevFiles = new Map<string, FileEntry>();
    if (parent) {
      try {
        for (const f of await repo.loadFileList(parent)) prevFiles.set(f.path, f);
      } catch (err) {
        ctx.logger.warn(`previous snapshot ${parent.id.slice(0, 8)} is unreadable (${(err as Error).message}); reading every file`);
      }
    }
    const objects = await listing;
    phase('parent + objects');
    // An object is reused as it is only when its size is right (every reused object is stat'ed) and
    // nothing wrote to it since the parent snapshot (objects are written once, before the snapshot
    // that needs them); any other is re-read and checked first, and stored again when damaged. So is
    // an object this snapshot is the first to reference (`firstUse`), and a rolling sample of the
    // reused ones: the objects whose id starts with this backup's hex digit (the count of snapshots
    // in the repository, mod 16), up to SAMPLE_BYTES and SAMPLE_OBJECTS. Silent decay of the rest is found by a later
    // backup's sample or by \`immich backup repair\` (a full read).
    const stats: BackupStats = { files: 0, bytes: 0, new_files: 0, new_bytes: 0, stored_bytes: 0, duration_ms: 0 };
    const parentTime = parent ? Date.parse(parent.time) : -Infinity;
    const sampleDigit = ((await repo.snapshotIds()).length % 16).toString(16);
    let sampleBudget = SAMPLE_BYTES;
    let sampleCount = SAMPLE_OBJECTS;
    const objectChecks = { checked: 0, damaged: 0 };
    const checked = new Map<string, Promise<boolean>>();
    const referenced = new Set([...prevFiles.values()].map((f) => f.object));
    const intact = (id: string, plainSize: number, firstUse = false): boolean | Promise<boolean> => {
      const st = fs.statSync(repo.objectPath(id), { throwIfNoEntry: false });
      if (!st) return false;
      let reread = firstUse || st.size !== repo.storedSize(plainSize) || st.mtimeMs >= parentTime;
      if (!reread && id[0] === sampleDigit && sampleBudget > 0 && sampleCount > 0 && !checked.has(id)) {
        sampleBudget -= st.size;
        sampleCount--;
        reread = true;
      }
      if (!reread && !checked.has(id)) return true;
      let p = checked.get(id);
      if (!p) {
        p = (async () => {
          objectChecks.checked++;
          const problem = st.size === repo.storedSize(plainSize) ? await repo.checkObject(id) : 'wrong size';
          if (!problem) return true;
          ctx.logger.warn(`object data/${id.slice(0, 2)}/${id} in the repository is damaged (${problem}): storing it again`);
          objectChecks.damaged++;
          await repo.removeObject(id);
          objects.delete(id);
          return false;
        })();
        checked.set(id, p);
      }
      return p;
    };

    const problems: BackupProblem[] = [];
    let fatal: EnvironmentError | undefined;
    let entries: Array<FileEntry | undefined> = [];

    // Runs while the database is dumped: every file is stat'ed here in one synchronous pass (no
    // promise per unchanged file), and every file to copy is handed to the workers at once.
    const startFiles = (candidates: Candidate[]): Promise<void> => {
      entries = new Array(candidates.length);
      const total = candidates.length;
      let done = 0;
      let bytesDone = 0;
      const progress = (size: number): void => {
        done++;
        bytesDone += size;
        opts.onProgress?.({ done, total, bytes: bytesDone });
      };
      const work: Array<Promise<void>> = [];
      candidates.forEach((c, i) => {
        const prev = prevFiles.get(c.path);
        let st: fs.Stats;
        try {
          st = fs.statSync(fsPath(c.abs));
          if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'error';
          if (prev && objects.has(prev.object) && (!c.checksum || prev.checksum === c.checksum)) {
            entries[i] = prev;
            problems.push({ path: c.path, message: `missing from the library (${code}); kept the copy from snapshot ${parent!.id.slice(0, 8)}` });
          } else {
            problems.push({ path: c.path, message: `missing from the library (${code}); not in this snapshot` });
          }
          return;
        }
        const base = { path: c.path, kind: c.kind, mode: st.mode & 0o7777, mtime: st.mtimeMs, ...(c.source ? { source: c.source } : {}) };
        // Unchanged since the last snapshot (size, mtime, checksum) and still stored: nothing to read.
        const unchanged = prev && prev.size === st.size && prev.mtime === st.mtimeMs && (!c.checksum || prev.checksum === c.checksum) && objects.has(prev.object);
        const ok = unchanged ? intact(prev.object, prev.size) : false;
        if (unchanged && ok === true) {
          entries[i] = { ...base, checksum: prev.checksum, size: st.size, object: prev.object };
          progress(st.size);
          return;
        }
        const store = async (): Promise<void> => {
          let put = await repo.putFile(c.abs);
          // Already stored (same content under another path, a derived file): the repository kept
          // the object it had without reading it; check it as any object used for the first time.
          if (!put.written && !(await intact(put.object, put.size, true))) put = await repo.putFile(c.abs);
          objects.set(put.object, -1);
          if (c.checksum && put.sha1 !== c.checksum) {
            problems.push({ path: c.path, message: `content differs from the checksum recorded at import (${put.sha1} != ${c.checksum}); backed up as it is now` });
          }
          if (put.written) {
            stats.new_files++;
            stats.new_bytes += put.size;
            stats.stored_bytes += put.stored;
          }
          entries[i] = { ...base, checksum: put.sha1, size: put.size, object: put.object };
        };
        let job: Promise<void>;
        if (unchanged && ok !== false) {
          // Written to since the parent snapshot: reused only once re-read and found intact.
          const p = prev;
          job = Promise.resolve(ok).then((good) => {
            if (good) entries[i] = { ...base, checksum: p.checksum, size: st.size, object: p.object };
            else return store();
          });
        } else if (c.checksum && objects.has(repo.objectIdFor(c.checksum))) {
          // Stored already (another path, an earlier snapshot): confirm the file still has that content.
          const checksum = c.checksum;
          job = sha1File(c.abs).then(async (sha1) => {
            if (sha1 === checksum && (await intact(repo.objectIdFor(sha1), st.size, !referenced.has(repo.objectIdFor(sha1))))) {
              entries[i] = { ...base, checksum: sha1, size: st.size, object: repo.objectIdFor(sha1) };
            } else return store();
          });
        } else {
          job = store(); // queued on a worker before store() first yields
        }
        work.push(
          job.then(
            () => progress(st.size),
            (err: unknown) => {
              // The repository's disk is full or read-only: no snapshot at all (exit 3), not a
              // snapshot that silently lacks every file after the first failure.
              if (isDiskFailure(err)) fatal ??= new EnvironmentError(`backup repository ${repo.root}: ${environmentCause(err)} (while storing ${c.path})`, { cause: err });
              problems.push({ path: c.path, message: `cannot back up: ${(err as Error).message}` });
              progress(st.size);
            },
          ),
        );
      });
      const queued = performance.now();
      return Promise.all(work).then(() => {
        ctx.logger.debug('backup phase files stored (from queued, overlaps the dump)', { ms: Math.round(performance.now() - queued) });
      });
    };

    const capture = await captureDatabase(ctx, repo, Boolean(opts.includeDerived), startFiles);
    objects.set(capture.dump.object, -1);
    stats.stored_bytes += capture.dump.stored;
    phase('database');
    await capture.files;
    phase('files');
    if (fatal) throw fatal;
    const files = entries.filter((e): e is FileEntry => e !== undefined);
    stats.files = files.length;
    stats.bytes = files.reduce((n, f) => n + f.size, 0);
    const list = await repo.putFileList(files);
    stats.stored_bytes += list.stored;
    // Objects durable before the header that references them becomes visible.
    phase('file list');
    await repo.flush();
    phase('flush');
    stats.duration_ms = Math.round(performance.now() - started);
    const header: SnapshotHeader = {
      version: 1,
      time: new Date().toISOString(),
      hostname: hostname(),
      library: ctx.library.root,
      tags: opts.tags ?? [],
      ...(opts.safety ? { safety: true } : {}),
      models: await installedModels(ctx),
      parent: parent?.id ?? null,
      include_derived: Boolean(opts.includeDerived),
      database: {
        kind: ctx.database.kind,
        migrations: capture.migrations,
        rows: capture.rows,
        dump: { object: capture.dump.object, sha1: capture.dump.sha1, size: capture.dump.size, format: 'sql.gz', tool: capture.tool, sql_bytes: capture.sqlBytes },
      },
      files: { object: list.object, sha1: list.sha1, size: list.size, count: files.length, bytes: stats.bytes },
      stats,
    };
    const id = await repo.saveSnapshot(header);
    return {
      repository: repo.root,
      snapshot: id,
      encrypted: repo.encrypted,
      created: !existed && !opts.locked,
      parent: header.parent,
      database: {
        kind: ctx.database.kind,
        tables: Object.keys(capture.rows).length,
        rows: Object.values(capture.rows).reduce((a, b) => a + b, 0),
        dump_bytes: capture.dump.size,
      },
      stats,
      objectChecks,
      problems,
    };
  } finally {
    release();
    if (!opts.repo) await repo.close();
  }
}

/** Readable over a Buffer (restore of dumps). */
export function bufferStream(buf: Buffer): Readable {
  return Readable.from([buf]);
}
