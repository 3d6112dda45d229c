// Numbered SQL migrations in migrations/, run in order on PGlite and PostgreSQL alike.
// A migration whose first lines say `-- requires: vector` is held back while pgvector is missing
// and applied on a later run once it is installed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
export function listMigrations(dir = MIGRATIONS_DIR) {
    return fs
        .readdirSync(dir)
        .filter((f) => /^\d{4}_.+\.sql$/.test(f))
        .sort()
        .map((f) => {
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        return { name: f.replace(/\.sql$/, ''), sql: text, requiresVector: /^--\s*requires:\s*vector\b/m.test(text) };
    });
}
async function ensureTable(db) {
    await sql `create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())`.execute(db);
}
export async function migrationState(db, hasVector) {
    await ensureTable(db);
    const rows = await db.selectFrom('schema_migrations').select('name').execute();
    const applied = new Set(rows.map((r) => r.name));
    const all = listMigrations();
    return {
        applied: all.filter((m) => applied.has(m.name)).map((m) => m.name),
        pending: all.filter((m) => !applied.has(m.name) && (hasVector || !m.requiresVector)).map((m) => m.name),
        blocked: all.filter((m) => !applied.has(m.name) && !hasVector && m.requiresVector).map((m) => m.name),
    };
}
/** Apply pending migrations. Concurrent processes (several workers) serialise on an advisory lock. */
export async function migrate(db, hasVector) {
    await db.transaction().execute(async (trx) => {
        await sql `select pg_advisory_xact_lock(727274)`.execute(trx);
        // Under the lock: concurrent `create table if not exists` on a fresh database (workers starting
        // together) can fail with a duplicate pg_type key.
        await ensureTable(trx);
        const rows = await trx.selectFrom('schema_migrations').select('name').execute();
        const applied = new Set(rows.map((r) => r.name));
        for (const m of listMigrations()) {
            if (applied.has(m.name))
                continue;
            if (m.requiresVector && !hasVector)
                continue;
            await sql.raw(m.sql).execute(trx);
            await trx.insertInto('schema_migrations').values({ name: m.name }).execute();
        }
    });
    return migrationState(db, hasVector);
}
//# sourceMappingURL=migrate.js.map