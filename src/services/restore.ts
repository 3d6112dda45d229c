// `immich restore`: a snapshot back into a library folder and its database. Everything is checked
// before the first byte is written (key, snapshot, every path in the manifest); files land through a
// temporary name and take their final name only when their checksum matches; the database is
// restored in one transaction and then migrated to the current schema.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import { maskUrlCredentials, type Config } from '../config.js';
import type { DB } from '../db/schema.js';
import { createContext } from '../context.js';
import { loadPg, openDatabase } from '../db/connect.js';
import { describeError, EnvironmentError, environmentCause, errorMessage, ImmichError, UsageError } from '../errors.js';
import type { Logger } from '../logger.js';
import { tempPathFor, TMP_MARK } from '../storage/atomic.js';
import { recoverEmbeddedSwap, stagingPath, swapInEmbedded } from '../db/embedded-swap.js';
import { installHint, resolveModel } from '../ml/models.js';
import { acquireLock, LockHeldError } from '../storage/lock.js';
import { countRows, isDiskFailure, mapLimit, pgClientEnv, runBackup } from './backup.js';
import { isObjectId, Repository, RepositoryError, shortId, validateFileList, type FileEntry, type Snapshot } from './backup-repo.js';
import { syncFilesystem } from '../storage/syncfs.js';
import { describeStatement, dumpRules, readDump, type DumpRules, type StatementKind } from './restore-sql.js';
import { fsPath } from '../storage/raw-path.js';
import { loadPGlite } from '../db/pglite-engine.js';
import { createFromTemplate } from '../db/embedded-template.js';

export interface RestoreOptions {
  repository: string;
  passphrase?: string;
  snapshot?: string;
  /** Configuration of the library to restore into (UPLOAD_LOCATION = target folder). */
  target: Config;
  force?: boolean;
  concurrency?: number;
  onProgress?: (p: { done: number; total: number; bytes: number }) => void;
}

export interface RestoreResult {
  repository: string;
  snapshot: string;
  target: string;
  database: { kind: string; target: string; tables: number; rows: number; migrationsApplied: string[] };
  files: { restored: number; skipped: number; failed: number; bytes: number };
  safetySnapshot: string | null;
  /** Models the backed-up library had installed that this one lacks, with the command that installs each. */
  modelsMissing: Array<{ model: string; install: string }>;
  problems: Array<{ path: string; message: string }>;
}

/**
 * In-place originals come back under external/. An asset whose original location is gone (the disk
 * was lost, or this is another machine) is pointed at its restored copy, which the library now owns
 * (storage mode copy), so the restored library is whole; one whose original is still there keeps it.
 * Returns how many files were relinked.
 */
async function relinkExternal(db: Kysely<DB>, files: FileEntry[], root: string): Promise<number> {
  let n = 0;
  for (const f of files) {
    if (f.kind !== 'external' || !f.source || fs.existsSync(fsPath(f.source))) continue;
    if (!fs.existsSync(fsPath(path.join(root, ...f.path.split('/'))))) continue; // failed to restore: reported already
    const a = await db.updateTable('assets').set({ library_path: f.path, storage_mode: 'copy' }).where('library_path', '=', f.source).executeTakeFirst();
    const s = await db.updateTable('exif').set({ sidecar_path: f.path }).where('sidecar_path', '=', f.source).executeTakeFirst();
    const w = await db.updateTable('asset_sidecars').set({ path: f.path }).where('path', '=', f.source).executeTakeFirst();
    if (Number(a.numUpdatedRows) + Number(s.numUpdatedRows) + Number(w.numUpdatedRows) > 0) n++;
  }
  return n;
}

/** Regular files under `dir` (not following links), skipping the given top-level names. */
async function hasFiles(dir: string, skip: Set<string>): Promise<number> {
  let count = 0;
  const walk = async (d: string, top: boolean): Promise<void> => {
    const entries = await fsp.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (top && skip.has(e.name)) continue;
      if (e.isDirectory()) await walk(path.join(d, e.name), false);
      else count++;
      if (count > 0) return;
    }
  };
  await walk(dir, true);
  return count;
}

/**
 * mkdir -p for `dir` inside `root`, refusing any existing component that is a symlink or not a
 * folder: a hostile or stale link in the target must not redirect writes outside it.
 */
async function ensureDirInside(root: string, dir: string): Promise<void> {
  const rel = path.relative(root, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new RepositoryError(`refusing to write outside ${root}: ${dir}`);
  let cur = root;
  for (const part of rel.split(path.sep).filter(Boolean)) {
    cur = path.join(cur, part);
    // (An in-place original's folder may have a name that is not UTF-8: its bytes, raw-path.ts.)
    const st = await fsp.lstat(fsPath(cur)).catch(() => undefined);
    if (!st) {
      await fsp.mkdir(fsPath(cur)).catch((err) => {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      });
      const again = await fsp.lstat(fsPath(cur));
      if (!again.isDirectory()) throw new RepositoryError(`refusing to restore through ${cur}: not a folder`);
    } else if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new RepositoryError(`refusing to restore through ${cur}: it is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}`);
    }
  }
}

async function restoreFile(repo: Repository, root: string, f: FileEntry, force: boolean): Promise<'restored' | 'skipped'> {
  const dest = path.join(root, ...f.path.split('/'));
  await ensureDirInside(root, path.dirname(dest));
  const existing = await fsp.lstat(fsPath(dest)).catch(() => undefined);
  if (existing) {
    if (existing.isFile() && existing.size === f.size) {
      // Resume / restore over a library: an identical file is left alone.
      const hash = crypto.createHash('sha1');
      for await (const chunk of fs.createReadStream(fsPath(dest))) hash.update(chunk as Buffer);
      if (hash.digest('hex') === f.checksum) return 'skipped';
    }
    if (!force) throw new UsageError(`${f.path} exists in the target with other content (use --force)`);
    if (existing.isDirectory()) throw new RepositoryError(`${f.path} is a folder in the target`);
  }
  const tmp = fsPath(tempPathFor(dest));
  const hash = crypto.createHash('sha1');
  try {
    await pipeline(
      repo.readStream(f.object),
      async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) {
          hash.update(chunk);
          yield chunk;
        }
      },
      fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600 }),
    );
    const got = hash.digest('hex');
    if (got !== f.checksum) throw new RepositoryError(`object ${f.object} does not hold the recorded content (checksum ${got} != ${f.checksum})`);
    await fsp.chmod(tmp, (f.mode & 0o777) || 0o644);
    const t = new Date(f.mtime);
    await fsp.utimes(tmp, t, t);
    // rename replaces a symlink at dest itself, it never follows it
    await fsp.rename(tmp, fsPath(dest));
    return 'restored';
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(repo.objectPath(f.object))) {
      throw new RepositoryError(`object data/${f.object.slice(0, 2)}/${f.object} is missing from the repository`);
    }
    throw err;
  }
}

/** Rows in user tables of a PostgreSQL database (0 = empty). */
async function pgRowCount(cfg: Config['database']): Promise<number> {
  const env = pgClientEnv(cfg);
  const pg = await loadPg();
  const client = new pg.Client({ host: env.PGHOST, port: Number(env.PGPORT), user: env.PGUSER, password: env.PGPASSWORD, database: env.PGDATABASE });
  try {
    await client.connect();
  } catch (err) {
    if ((err as { code?: string }).code === '3D000') return 0; // does not exist yet: created on open
    throw new EnvironmentError(`cannot connect to PostgreSQL at ${env.PGHOST}:${env.PGPORT}/${env.PGDATABASE}: ${(err as Error).message}`);
  }
  try {
    const tables = await client.query<{ name: string }>(
      "select quote_ident(tablename) as name from pg_tables where schemaname = 'public' and tablename <> 'schema_migrations'",
    );
    let n = 0;
    for (const t of tables.rows) {
      const r = await client.query<{ n: string }>(`select count(*) as n from ${t.name}`);
      n += Number(r.rows[0]!.n);
    }
    return n;
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensurePgDatabase(cfg: Config['database']): Promise<void> {
  const db = await openDatabase(cfg, { migrate: false }); // creates it on first use, like every command
  await db.close();
}

type DumpRef = NonNullable<Snapshot['database']['dump']>;

/**
 * The dump's statements, checked one by one (restore-sql.ts), read from the repository as a stream;
 * the packed object's checksum is compared at the end, before the caller commits anything.
 */
async function* dumpStatements(repo: Repository, ref: DumpRef, rules: DumpRules): AsyncGenerator<{ text: string; kind: StatementKind }> {
  const hash = crypto.createHash('sha1');
  let size = 0;
  const source = repo.readStream(ref.object);
  const packed = source.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    }),
  );
  source.on('error', (err) => packed.destroy(err));
  try {
    yield* readDump(packed, { packedBytes: ref.size, sqlBytes: ref.sql_bytes }, rules);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RepositoryError(`object ${ref.object} (the database dump) is missing from repository ${repo.root}`);
    if (err instanceof RepositoryError || err instanceof EnvironmentError) throw err;
    throw new RepositoryError(`the database dump (object ${ref.object}) cannot be read: ${(err as Error).message}`);
  }
  if (size !== ref.size || hash.digest('hex') !== ref.sha1) {
    throw new RepositoryError(`object data/${ref.object.slice(0, 2)}/${ref.object} is damaged: content does not match its checksum`);
  }
}

/** Row counts of every public table through a raw query function (PGlite or pg client). */
async function tableRows(query: (text: string) => Promise<Array<Record<string, unknown>>>): Promise<Record<string, number>> {
  const names = (await query("select quote_ident(tablename) as q, tablename as t from pg_catalog.pg_tables where schemaname = 'public'")).map((r) => [String(r.q), String(r.t)] as const);
  const rows: Record<string, number> = {};
  for (const [q, t] of names) rows[t] = Number((await query(`select count(*)::int as n from public.${q}`))[0]!.n);
  return rows;
}

/** Every table of the snapshot has the rows it recorded; else the restore stops before any swap. */
function checkRows(snap: Snapshot, rows: Record<string, number>): void {
  for (const [table, n] of Object.entries(snap.database.rows)) {
    if (rows[table] !== n) {
      throw new RepositoryError(
        `the database dump of snapshot ${shortId(snap.id)} does not give the rows the snapshot recorded (table ${table}: ${rows[table] ?? 'missing'}, recorded ${n}); nothing was changed`,
      );
    }
  }
}

/** Run checked statements; INSERTs (plain literals only) go in batches, everything else one by one. */
async function loadStatements(
  statements: AsyncIterable<{ text: string; kind: StatementKind }>,
  exec: { batch?: (text: string) => Promise<unknown>; one: (text: string) => Promise<unknown> },
  what: string,
): Promise<void> {
  let batch: string[] = [];
  let batchChars = 0;
  let n = 0;
  let last = '';
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    const text = batch.join('\n');
    batch = [];
    batchChars = 0;
    await exec.batch!(text);
  };
  try {
    for await (const s of statements) {
      n++;
      last = s.text;
      if (s.kind === 'skip') continue;
      if (s.kind === 'insert' && exec.batch) {
        batch.push(s.text);
        batchChars += s.text.length;
        if (batchChars > 1 << 20) await flush();
      } else {
        await flush();
        await exec.one(s.text);
      }
    }
    await flush();
  } catch (err) {
    if (err instanceof ImmichError) throw err;
    throw new EnvironmentError(
      `restoring ${what} failed near statement ${n} (${describeStatement(last)}): ${errorMessage(err)}; nothing was changed`,
      { cause: err },
    );
  }
}

interface PendingDatabase {
  /** Put the checked database in place. */
  commit(): Promise<void>;
  /** Drop it (the target's database stays as it was). */
  abort(): Promise<void>;
}

/**
 * The embedded database is built in <database>.restoring with the target's database lock held,
 * its row counts checked against the snapshot, and swapped in only by commit().
 */
async function buildEmbedded(cfg: Config, statements: AsyncIterable<{ text: string; kind: StatementKind }>, snap: Snapshot): Promise<PendingDatabase> {
  const finalDir = cfg.database.embeddedPath;
  fs.mkdirSync(path.dirname(finalDir), { recursive: true });
  let release: () => void;
  try {
    release = acquireLock(path.join(path.dirname(finalDir), '.database.lock'), 'immich restore');
  } catch (err) {
    if (err instanceof LockHeldError) throw new EnvironmentError(`the embedded database at ${finalDir} is in use by pid ${err.holder.pid}; stop it first`);
    throw err;
  }
  const staging = stagingPath(finalDir);
  try {
    recoverEmbeddedSwap(finalDir); // a killed restore's half-built folder goes now
    const { PGlite, extensions } = await loadPGlite();
    createFromTemplate(staging, { bare: true }); // initdb's output, copied (~3 s less CPU)
    const pglite = await PGlite.create(staging, { extensions });
    try {
      await pglite.transaction(async (tx) => {
        // query() is the extended protocol: one statement per call, nothing smuggled after it.
        await loadStatements(statements, { batch: (t) => tx.exec(t), one: (t) => tx.query(t) }, 'the embedded database');
        await tx.exec('reset search_path');
        checkRows(snap, await tableRows(async (q) => (await tx.query<Record<string, unknown>>(q)).rows));
      });
    } finally {
      await pglite.close();
    }
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    release();
    if (err instanceof ImmichError) throw err;
    // The engine's own errors (a full disk is an ErrnoError without a message) in one line.
    throw new EnvironmentError(`building the restored database in ${staging} failed: ${describeError(err)}`, { cause: err });
  }
  let done = false;
  return {
    async commit() {
      done = true;
      try {
        swapInEmbedded(finalDir);
      } finally {
        release();
      }
    },
    async abort() {
      if (done) return;
      done = true;
      fs.rmSync(staging, { recursive: true, force: true });
      release();
    },
  };
}

/** The extensions our migrations use; a non-superuser cannot create vector (untrusted). */
const PG_EXTENSIONS = ['vector', 'pg_trgm', 'unaccent'];

/**
 * IMMICH_RESTORE_ADMIN_URL: the one step that may need a superuser. Creates the database (owned by
 * DB_USERNAME) when missing and the extensions in it; the dump itself is loaded as DB_USERNAME.
 */
async function prepareAsAdmin(adminUrl: string, env: NodeJS.ProcessEnv): Promise<void> {
  const pg = await loadPg();
  const connect = async (database: string) => {
    const u = new URL(adminUrl);
    u.pathname = `/${encodeURIComponent(database)}`;
    const c = new pg.Client({ connectionString: u.toString() });
    c.on('error', () => {});
    try {
      await c.connect();
    } catch (err) {
      throw new EnvironmentError(`cannot connect to PostgreSQL as IMMICH_RESTORE_ADMIN_URL (${maskUrlCredentials(adminUrl)}): ${errorMessage(err)}`);
    }
    return c;
  };
  const db = env.PGDATABASE!;
  const server = await connect(new URL(adminUrl).pathname.replace(/^\//, '') || 'postgres');
  try {
    const exists = await server.query('select 1 from pg_database where datname = $1', [db]);
    if (!exists.rowCount) await server.query(`create database ${pg.escapeIdentifier(db)} owner ${pg.escapeIdentifier(env.PGUSER ?? 'postgres')}`);
  } finally {
    await server.end().catch(() => {});
  }
  const target = await connect(db);
  try {
    const available = await target.query('select name from pg_available_extensions where name = any($1)', [PG_EXTENSIONS]);
    for (const { name } of available.rows as Array<{ name: string }>) await target.query(`create extension if not exists ${pg.escapeIdentifier(name)} with schema public`);
  } catch (err) {
    throw new EnvironmentError(`preparing the PostgreSQL database ${db} as IMMICH_RESTORE_ADMIN_URL failed: ${errorMessage(err)}`);
  } finally {
    await target.end().catch(() => {});
  }
}

/**
 * Drop every object of the public schema except the extensions' own: the dump's CREATE EXTENSION
 * IF NOT EXISTS then finds them in place. Dropping the schema itself would drop the extensions
 * too, which a non-superuser owner can neither do (vector belongs to the admin who created it) nor
 * undo (vector is untrusted).
 */
async function emptyPublicSchema(client: { query: (q: string) => Promise<{ rows: unknown[] }> }): Promise<void> {
  await client.query('create schema if not exists public');
  const { rows } = await client.query(`
    with objs as (
      select case c.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'S' then 'sequence'
                            when 'f' then 'foreign table' else 'table' end as kind,
             c.oid::regclass::text as name, 'pg_class'::regclass as cat, c.oid as oid, 1 as ord
        from pg_class c
       where c.relnamespace = (select oid from pg_namespace where nspname = 'public') and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
      union all
      select case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
             p.oid::regprocedure::text, 'pg_proc'::regclass, p.oid, 2
        from pg_proc p where p.pronamespace = (select oid from pg_namespace where nspname = 'public')
      union all
      select case t.typtype when 'd' then 'domain' else 'type' end, t.oid::regtype::text, 'pg_type'::regclass, t.oid, 3
        from pg_type t
       where t.typnamespace = (select oid from pg_namespace where nspname = 'public')
         and (t.typtype in ('e', 'r', 'm', 'd') or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c'))
    )
    select format('drop %s if exists %s cascade', kind, name) as stmt from objs o
     where not exists (select 1 from pg_depend d where d.classid = o.cat and d.objid = o.oid and d.deptype = 'e')
     order by ord`);
  for (const r of rows as Array<{ stmt: string }>) await client.query(r.stmt);
}

/**
 * PostgreSQL: one transaction replaces the public schema and loads the dump; the row counts are
 * checked inside it and it commits only by commit(). A killed restore is a dropped connection, so
 * the server rolls it back and leaves the old database as it was.
 */
async function buildPostgres(cfg: Config['database'], statements: AsyncIterable<{ text: string; kind: StatementKind }>, snap: Snapshot, adminUrl?: string): Promise<PendingDatabase> {
  const env = pgClientEnv(cfg);
  if (adminUrl) await prepareAsAdmin(adminUrl, env);
  await ensurePgDatabase(cfg);
  const pg = await loadPg();
  const client = new pg.Client({ host: env.PGHOST, port: Number(env.PGPORT), user: env.PGUSER, password: env.PGPASSWORD, database: env.PGDATABASE });
  try {
    await client.connect();
  } catch (err) {
    throw new EnvironmentError(`cannot connect to PostgreSQL at ${env.PGHOST}:${env.PGPORT}/${env.PGDATABASE}: ${errorMessage(err)}`);
  }
  client.on('error', () => {}); // reported by the query that fails
  try {
    await client.query('begin');
    await emptyPublicSchema(client);
    await loadStatements(
      statements,
      {
        // pg_dump writes 500 rows per INSERT: one statement per call is cheap enough here.
        one: (t) => client.query({ text: t, queryMode: 'extended' } as never),
      },
      `the PostgreSQL database ${env.PGDATABASE}`,
    );
    await client.query('reset search_path');
    checkRows(snap, await tableRows(async (q) => (await client.query(q)).rows));
  } catch (err) {
    await client.query('rollback').catch(() => {});
    await client.end().catch(() => {});
    throw err;
  }
  let done = false;
  return {
    async commit() {
      done = true;
      try {
        await client.query('commit');
      } catch (err) {
        throw new EnvironmentError(`restoring the PostgreSQL database ${env.PGDATABASE} failed at commit: ${errorMessage(err)}`);
      } finally {
        await client.end().catch(() => {});
      }
    },
    async abort() {
      if (done) return;
      done = true;
      await client.query('rollback').catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

export async function runRestore(logger: Logger, opts: RestoreOptions): Promise<RestoreResult> {
  const cfg = opts.target;
  const root = path.resolve(cfg.uploadLocation);
  const repo = await Repository.open(opts.repository, { passphrase: opts.passphrase });
  const release = repo.lock('immich restore');
  try {
    const snap = await repo.findSnapshot(opts.snapshot ?? 'latest', { library: root });
    const files = validateFileList(await repo.loadFileList(snap));
    const dumpRef = snap.database.dump;
    if (dumpRef && !isObjectId(dumpRef.object)) throw new RepositoryError(`snapshot ${shortId(snap.id)} has an invalid dump reference`);
    if (repo.root === root || root.startsWith(repo.root + path.sep)) throw new UsageError(`cannot restore into ${root}: it is inside the repository`);

    // Refuse to overwrite unless asked; the repository's own folder (default: backups/) never counts.
    const skip = new Set(['backups', 'tmp']);
    if (repo.root.startsWith(root + path.sep)) skip.add(path.relative(root, repo.root).split(path.sep)[0]!);
    const targetFiles = fs.existsSync(root) ? await hasFiles(root, skip) : 0;
    const pgRows = cfg.database.kind === 'postgres' ? await pgRowCount(cfg.database) : 0;
    const live = targetFiles > 0 || pgRows > 0;
    if (live && !opts.force) {
      throw new UsageError(
        `the target is not empty (${targetFiles ? `files in ${root}` : ''}${targetFiles && pgRows ? ' and ' : ''}${pgRows ? `rows in the PostgreSQL database ${cfg.database.database}` : ''}); ` +
          'restore into an empty folder with --to, or use --force to restore over it (a safety snapshot is taken first)',
      );
    }
    if (dumpRef && snap.database.kind === 'embedded' && cfg.database.kind === 'postgres') {
      throw new UsageError(`snapshot ${shortId(snap.id)} holds an embedded database; restore it into a library that uses the embedded database (unset DB_HOSTNAME/DB_URL)`);
    }
    // Check the whole dump before anything is written: a damaged or tampered dump (a statement we
    // never write, a psql meta-command, more bytes than recorded) stops the restore here.
    const rules = dumpRef ? dumpRules() : undefined;
    if (dumpRef) for await (const _ of dumpStatements(repo, dumpRef, rules!));

    let safety: string | null = null;
    const hasLiveDb = cfg.database.kind === 'postgres' ? pgRows > 0 : fs.existsSync(cfg.database.embeddedPath);
    if (live && hasLiveDb) {
      logger.log(`taking a safety snapshot of ${root} before restoring over it`);
      const ctx = await createContext(cfg, logger, { command: 'immich restore (safety snapshot)', migrate: false });
      try {
        const r = await runBackup(ctx, { repository: repo.root, repo, locked: true, tags: ['safety', 'pre-restore'], safety: true });
        safety = r.snapshot;
      } finally {
        await ctx.close();
      }
    }

    await fsp.mkdir(root, { recursive: true });
    // The database is built and checked aside first; it replaces the target's only after the files.
    let pending: PendingDatabase | undefined;
    if (dumpRef) {
      const statements = dumpStatements(repo, dumpRef, rules!);
      pending = cfg.database.kind === 'embedded' ? await buildEmbedded(cfg, statements, snap) : await buildPostgres(cfg.database, statements, snap, cfg.raw.IMMICH_RESTORE_ADMIN_URL || undefined);
    }
    try {
    const problems: RestoreResult['problems'] = [];
    const counts = { restored: 0, skipped: 0, failed: 0, bytes: 0 };
    let fatal: EnvironmentError | undefined;
    let done = 0;
    await mapLimit(files, opts.concurrency ?? 4, async (f) => {
      try {
        const r = await restoreFile(repo, root, f, Boolean(opts.force));
        counts[r]++;
        counts.bytes += f.size;
      } catch (err) {
        // A full or read-only target: stop before the database is swapped in (exit 3).
        if (isDiskFailure(err)) fatal ??= new EnvironmentError(`restore target ${root}: ${environmentCause(err)} (while writing ${f.path}); the database was not replaced`, { cause: err });
        counts.failed++;
        problems.push({ path: f.path, message: (err as Error).message });
      } finally {
        opts.onProgress?.({ done: ++done, total: files.length, bytes: counts.bytes });
      }
    });
    if (fatal) throw fatal;
    // The restored files live on the target's filesystem, which may not be the repository's.
    // Restored files must be durable before the database says they exist.
    await syncFilesystem(root);

    let migrationsApplied: string[] = [];
    let rows: Record<string, number> = {};
    let relinked = 0;
    if (pending) {
      await pending.commit();
      const database = await openDatabase(cfg.database, { command: 'immich restore' });
      try {
        const before = new Set(snap.database.migrations);
        migrationsApplied = (database.migrations?.applied ?? []).filter((m) => !before.has(m));
        rows = await countRows(database.db);
        relinked = await relinkExternal(database.db, files, root);
      } finally {
        await database.close();
      }
      for (const [table, n] of Object.entries(snap.database.rows)) {
        if (table === 'schema_migrations' || rows[table] === n) continue;
        const message = `has ${rows[table] ?? 'no'} rows after restore, the snapshot recorded ${n}`;
        // Migrations applied after the restore may legitimately change rows; otherwise it is a problem.
        if (migrationsApplied.length) logger.warn(`table ${table} ${message} (after migrations ${migrationsApplied.join(', ')})`);
        else problems.push({ path: `table ${table}`, message });
      }
    } else {
      problems.push({ path: 'database', message: `snapshot ${shortId(snap.id)} has no database dump` });
    }
    const external = files.filter((f) => f.kind === 'external').length;
    if (external) {
      logger.log(
        `${external} in-place files were restored under ${path.join(root, 'external')}; ` +
          `${relinked} whose original location is gone now belong to the library, the others still point at their originals`,
      );
    }
    if (!snap.include_derived) logger.log('thumbnails and encoded videos are not in this snapshot; run `immich verify --repair` to regenerate them');
    // Models are not in backups: without them faces and objects stop silently on this machine.
    const modelsMissing: RestoreResult['modelsMissing'] = [];
    for (const ref of snap.models ?? []) {
      const [task, name, part] = ref.split('/') as [string, string, string];
      if (await resolveModel({ config: cfg }, task, name, part)) continue;
      modelsMissing.push({ model: ref, install: installHint(task, name, part) });
      logger.warn(`model ${ref} was installed in the backed-up library and is not here; install it with: ${installHint(task, name, part)}`);
    }
    return {
      repository: repo.root,
      snapshot: snap.id,
      target: root,
      database: {
        kind: cfg.database.kind,
        target: cfg.database.kind === 'embedded' ? cfg.database.embeddedPath : `${cfg.database.host ?? 'DB_URL'}/${cfg.database.database}`,
        tables: Object.keys(rows).length,
        rows: Object.values(rows).reduce((a, b) => a + b, 0),
        migrationsApplied,
      },
      files: counts,
      safetySnapshot: safety,
      modelsMissing: modelsMissing,
      problems,
    };
    } finally {
      await pending?.abort();
    }
  } finally {
    release();
    await repo.close();
  }
}

