// Numbered SQL migrations in migrations/, run in order on PGlite and PostgreSQL alike.
// A migration whose first lines say `-- requires: vector` is held back while pgvector is missing
// and applied on a later run once it is installed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from './kysely.js';
import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export interface Migration {
  name: string;
  sql: string;
  requiresVector: boolean;
}

/** Migration names in order, without reading the files. */
export function migrationNames(dir = MIGRATIONS_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort()
    .map((f) => f.replace(/\.sql$/, ''));
}

function readMigration(name: string, dir = MIGRATIONS_DIR): Migration {
  const text = fs.readFileSync(path.join(dir, `${name}.sql`), 'utf8');
  return { name, sql: text, requiresVector: /^--\s*requires:\s*vector\b/m.test(text) };
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return migrationNames(dir).map((name) => readMigration(name, dir));
}

export interface MigrationState {
  applied: string[];
  pending: string[];
  /** Held back because pgvector is missing. */
  blocked: string[];
}

async function ensureTable(db: Kysely<DB>): Promise<void> {
  await sql`create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())`.execute(db);
}

function stateOf(applied: Set<string>, hasVector: boolean): MigrationState {
  const all = migrationNames();
  const missing = all.filter((n) => !applied.has(n)).map((n) => readMigration(n));
  return {
    applied: all.filter((n) => applied.has(n)),
    pending: missing.filter((m) => hasVector || !m.requiresVector).map((m) => m.name),
    blocked: missing.filter((m) => !hasVector && m.requiresVector).map((m) => m.name),
  };
}

/** Read-only: a database never migrated (no schema_migrations table) has every migration pending. */
export async function migrationState(db: Kysely<DB>, hasVector: boolean): Promise<MigrationState> {
  const rows = await db.selectFrom('schema_migrations').select('name').execute().catch(() => []);
  return stateOf(new Set(rows.map((r) => r.name)), hasVector);
}

/** Apply pending migrations. Concurrent processes (several workers) serialise on an advisory lock. */
export async function migrate(db: Kysely<DB>, hasVector: boolean): Promise<MigrationState> {
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(727274)`.execute(trx);
    // Under the lock: concurrent `create table if not exists` on a fresh database (workers starting
    // together) can fail with a duplicate pg_type key.
    await ensureTable(trx);
    const rows = await trx.selectFrom('schema_migrations').select('name').execute();
    const applied = new Set(rows.map((r) => r.name));
    for (const m of listMigrations()) {
      if (applied.has(m.name)) continue;
      if (m.requiresVector && !hasVector) continue;
      await sql.raw(m.sql).execute(trx);
      await trx.insertInto('schema_migrations').values({ name: m.name }).execute();
    }
  });
  return migrationState(db, hasVector);
}

/** Whether pgvector is installed, creating it where the server has it (always on the embedded database). */
export async function ensureVector(db: Kysely<DB>): Promise<boolean> {
  try {
    await sql`create extension if not exists vector`.execute(db);
    return true;
  } catch {
    const r = await sql<{ n: number }>`select count(*)::int as n from pg_extension where extname = 'vector'`.execute(db);
    return (r.rows[0]?.n ?? 0) > 0;
  }
}

/**
 * What every command does on open: make sure pgvector and the schema are current. A current schema
 * costs one query (applied migrations and pgvector together) and a directory listing; the
 * migration transaction, its advisory lock and the migration files are only for a database that
 * needs them.
 */
export async function prepareSchema(db: Kysely<DB>): Promise<{ hasVector: boolean; migrations: MigrationState }> {
  const probe = await sql<{ name: string; ext: boolean }>`
    select name, false as ext from schema_migrations
    union all select extname, true from pg_extension where extname = 'vector'`
    .execute(db)
    .then((r) => r.rows)
    .catch(() => undefined); // no schema_migrations table yet: a new database
  let hasVector = probe?.some((r) => r.ext) ?? false;
  // A server where pgvector was installed since the last run gets it now.
  if (!hasVector) hasVector = await ensureVector(db);
  if (probe) {
    const state = stateOf(new Set(probe.filter((r) => !r.ext).map((r) => r.name)), hasVector);
    if (!state.pending.length) return { hasVector, migrations: state };
  }
  return { hasVector, migrations: await migrate(db, hasVector) };
}
