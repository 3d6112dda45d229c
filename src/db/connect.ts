// One interface over two backends: embedded PGlite (with pgvector) in the library folder, or a
// PostgreSQL server through pg. Both get the same migrations and the same kysely API.
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { Kysely, PostgresDialect } from './kysely.js';
import { describeDatabase, type DatabaseConfig } from '../config.js';
import { describeError, EnvironmentError, NoLibraryError } from '../errors.js';
import { acquireLock, LockHeldError } from '../storage/lock.js';
import { ensureVector, prepareSchema, type MigrationState } from './migrate.js';
import { recoverEmbeddedSwap } from './embedded-swap.js';
import { createFromTemplate } from './embedded-template.js';
import { loadPGlite } from './pglite-engine.js';
import { PGliteDialect } from './pglite-dialect.js';
import { loadBundled } from '../vendor.js';
import type { DB } from './schema.js';

export interface Database {
  kind: 'embedded' | 'postgres';
  db: Kysely<DB>;
  /** pgvector is installed (always on the embedded database), known once the schema is prepared. */
  hasVector: boolean;
  /** Human description without secrets: "PostgreSQL at host:port/db". */
  target: string;
  migrations?: MigrationState;
  /** The embedded engine, for tools that need it (pg_dump on PGlite). */
  pglite?: import('@electric-sql/pglite').PGlite;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Run pending migrations (default true). */
  migrate?: boolean;
  /** Label written into the embedded lock file. */
  command?: string;
  /** CREATE DATABASE on a server where it does not exist yet (default true; see ContextOptions.create). */
  create?: boolean;
  /**
   * Embedded database held by another process: wait up to this long for it (--wait, IMMICH_LOCK_WAIT;
   * Infinity = until it is free) instead of failing at once. onWait is told once, when waiting starts.
   */
  lockWaitMs?: number;
  onLockWait?: (holder: string) => void;
}

const INT8 = 20;
const LOCK_POLL_MS = 250;
const NUMERIC = 1700;

export async function openDatabase(cfg: DatabaseConfig, opts: OpenOptions = {}): Promise<Database> {
  const database = cfg.kind === 'embedded' ? await openEmbedded(cfg, opts) : await openPostgres(cfg, opts.create !== false);
  try {
    if (opts.migrate === false) database.hasVector = await ensureVector(database.db);
    else ({ hasVector: database.hasVector, migrations: database.migrations } = await prepareSchema(database.db));
  } catch (err) {
    await database.close();
    const what = opts.migrate === false ? 'preparing' : 'migrating';
    throw new EnvironmentError(`${what} ${database.target} failed: ${(err as Error).message}`, { cause: err });
  }
  return database;
}

async function openEmbedded(cfg: DatabaseConfig, opts: OpenOptions): Promise<Database> {
  const dir = cfg.embeddedPath;
  try {
    fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new EnvironmentError(`cannot create the embedded database folder ${dir}: ${(err as Error).message}`);
  }
  let release: () => void;
  const deadline = Date.now() + (opts.lockWaitMs ?? 0);
  let told = false;
  for (;;) {
    try {
      release = acquireLock(path.join(path.dirname(dir), '.database.lock'), opts.command);
      break;
    } catch (err) {
      if (!(err instanceof LockHeldError)) throw err;
      const holder = `pid ${err.holder.pid}${err.holder.command ? `, ${err.holder.command}` : ''}`;
      if (Date.now() >= deadline) {
        throw new EnvironmentError(
          `the embedded database at ${dir} is in use by another immich process (${holder}); ` +
            `${opts.lockWaitMs ? 'gave up waiting for it' : 'wait for it to finish (--wait[=<time>] or IMMICH_LOCK_WAIT queue behind it)'}, ` +
            'or use PostgreSQL (DB_HOSTNAME) to run several at once',
        );
      }
      if (!told) opts.onLockWait?.(holder);
      told = true;
      await new Promise((r) => setTimeout(r, Math.min(LOCK_POLL_MS, Math.max(1, deadline - Date.now()))));
    }
  }
  try {
    // Under the lock: undo a restore killed mid-swap before the folder is created empty.
    recoverEmbeddedSwap(dir);
    createFromTemplate(dir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    release();
    throw new EnvironmentError(`cannot create the embedded database folder ${dir}: ${(err as Error).message}`);
  }
  const { PGlite, extensions } = await loadPGlite();
  let pglite: import('@electric-sql/pglite').PGlite;
  try {
    pglite = await PGlite.create(dir, {
      extensions,
      parsers: { [INT8]: (v: string) => Number(v), [NUMERIC]: (v: string) => Number(v) },
    });
  } catch (err) {
    release();
    throw new EnvironmentError(`cannot open the embedded database at ${dir}: ${describeError(err)}`);
  }
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  let closed = false;
  return {
    kind: 'embedded',
    db,
    hasVector: true,
    target: describeDatabase(cfg),
    pglite,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      await pglite.close();
      release();
    },
  };
}

function pgError(cfg: DatabaseConfig, err: unknown): EnvironmentError {
  const e = err as NodeJS.ErrnoException & { code?: string };
  const target = describeDatabase(cfg);
  const cause =
    e.code === 'ECONNREFUSED' ? 'connection refused (is PostgreSQL running?)'
    : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'host not found'
    : e.code === 'ETIMEDOUT' ? 'connection timed out'
    : e.code === '28P01' || e.code === '28000' ? 'authentication failed (check DB_USERNAME / DB_PASSWORD)'
    : (e.message || String(err)).split('\n')[0];
  return new EnvironmentError(`cannot connect to ${target}: ${cause}`, { cause: err });
}

// pg is loaded only for a PostgreSQL server, from its bundle when there is one (src/vendor.ts).
export const loadPg = async (): Promise<typeof import('pg').default> => loadBundled<typeof import('pg').default>('pg') ?? (await import('pg')).default;

function poolConfig(lib: typeof import('pg').default, cfg: DatabaseConfig, database?: string): pg.PoolConfig {
  const types = {
    getTypeParser: ((oid: number, format?: string) => {
      if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
      return lib.types.getTypeParser(oid, format as 'text');
    }) as typeof lib.types.getTypeParser,
  };
  const base: pg.PoolConfig = cfg.url
    ? { connectionString: cfg.url }
    : { host: cfg.host, port: cfg.port, user: cfg.username, password: cfg.password, database: database ?? cfg.database };
  if (cfg.url && database) base.connectionString = cfg.url.replace(/\/[^/?]*(\?|$)/, `/${database}$1`);
  // JIT off for our sessions: the planner's row estimates for the selection's semi-joins at 100k+
  // assets cross jit_above_cost, and compiling then took 2.8 of a 3.6 s `search --place` while the
  // query itself ran in 0.7 s (bench/scale). Our queries are short and interactive.
  return { ...base, types, max: 10, connectionTimeoutMillis: 10_000, options: '-c jit=off' };
}

async function openPostgres(cfg: DatabaseConfig, create: boolean): Promise<Database> {
  const pg = await loadPg();
  let pool = new pg.Pool(poolConfig(pg, cfg));
  pool.on('error', () => {}); // idle client errors surface on the next query
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end().catch(() => {});
    if ((err as { code?: string }).code === '3D000' && !create) {
      throw new NoLibraryError(
        `no library at ${describeDatabase(cfg).replace(/^PostgreSQL at /, 'postgresql://')} (no such database): check DB_DATABASE_NAME / DB_URL` +
          ' (`immich import` creates it; `immich restore` restores one)',
      );
    }
    if ((err as { code?: string }).code === '3D000' && !cfg.url) {
      await createDatabase(pg, cfg);
      pool = new pg.Pool(poolConfig(pg, cfg));
      pool.on('error', () => {});
    } else {
      throw pgError(cfg, err);
    }
  }
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    kind: 'postgres',
    db,
    hasVector: false,
    target: describeDatabase(cfg),
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/** First run against a server: create the database (Immich's compose does the same). */
async function createDatabase(lib: typeof import('pg').default, cfg: DatabaseConfig): Promise<void> {
  const admin = new lib.Client(poolConfig(lib, cfg, 'postgres'));
  try {
    await admin.connect();
    await admin.query(`create database ${lib.escapeIdentifier(cfg.database)}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw pgError(cfg, err);
  } finally {
    await admin.end().catch(() => {});
  }
}
