// One interface over two backends: embedded PGlite (with pgvector) in the library folder, or a
// PostgreSQL server through pg. Both get the same migrations and the same kysely API.
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { describeDatabase } from '../config.js';
import { EnvironmentError } from '../errors.js';
import { acquireLock, LockHeldError } from '../storage/lock.js';
import { migrate } from './migrate.js';
import { PGliteDialect } from './pglite-dialect.js';
const INT8 = 20;
const NUMERIC = 1700;
export async function openDatabase(cfg, opts = {}) {
    const database = cfg.kind === 'embedded' ? await openEmbedded(cfg, opts) : await openPostgres(cfg);
    if (opts.migrate !== false) {
        try {
            database.migrations = await migrate(database.db, database.hasVector);
        }
        catch (err) {
            await database.close();
            throw new EnvironmentError(`migrating ${database.target} failed: ${err.message}`, { cause: err });
        }
    }
    return database;
}
async function openEmbedded(cfg, opts) {
    const dir = cfg.embeddedPath;
    try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    catch (err) {
        throw new EnvironmentError(`cannot create the embedded database folder ${dir}: ${err.message}`);
    }
    let release;
    try {
        release = acquireLock(path.join(path.dirname(dir), '.database.lock'), opts.command);
    }
    catch (err) {
        if (err instanceof LockHeldError) {
            throw new EnvironmentError(`the embedded database at ${dir} is in use by another immich process (pid ${err.holder.pid}` +
                `${err.holder.command ? `, ${err.holder.command}` : ''}); wait for it to finish, or use PostgreSQL (DB_HOSTNAME) to run several at once`);
        }
        throw err;
    }
    const [{ PGlite }, { vector }, { pg_trgm }, { unaccent }] = await Promise.all([
        import('@electric-sql/pglite'),
        import('@electric-sql/pglite-pgvector'),
        import('@electric-sql/pglite/contrib/pg_trgm'),
        import('@electric-sql/pglite/contrib/unaccent'),
    ]);
    let pglite;
    try {
        pglite = await PGlite.create(dir, {
            extensions: { vector, pg_trgm, unaccent },
            parsers: { [INT8]: (v) => Number(v), [NUMERIC]: (v) => Number(v) },
        });
        await pglite.exec('create extension if not exists vector');
    }
    catch (err) {
        release();
        throw new EnvironmentError(`cannot open the embedded database at ${dir}: ${err.message}`);
    }
    const db = new Kysely({ dialect: new PGliteDialect(pglite) });
    let closed = false;
    return {
        kind: 'embedded',
        db,
        hasVector: true,
        target: describeDatabase(cfg),
        pglite,
        async close() {
            if (closed)
                return;
            closed = true;
            await db.destroy();
            await pglite.close();
            release();
        },
    };
}
function pgError(cfg, err) {
    const e = err;
    const target = describeDatabase(cfg);
    const cause = e.code === 'ECONNREFUSED' ? 'connection refused (is PostgreSQL running?)'
        : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'host not found'
            : e.code === 'ETIMEDOUT' ? 'connection timed out'
                : e.code === '28P01' || e.code === '28000' ? 'authentication failed (check DB_USERNAME / DB_PASSWORD)'
                    : (e.message || String(err)).split('\n')[0];
    return new EnvironmentError(`cannot connect to ${target}: ${cause}`, { cause: err });
}
function poolConfig(cfg, database) {
    const types = {
        getTypeParser: ((oid, format) => {
            if (oid === INT8 || oid === NUMERIC)
                return (v) => Number(v);
            return pg.types.getTypeParser(oid, format);
        }),
    };
    const base = cfg.url
        ? { connectionString: cfg.url }
        : { host: cfg.host, port: cfg.port, user: cfg.username, password: cfg.password, database: database ?? cfg.database };
    if (cfg.url && database)
        base.connectionString = cfg.url.replace(/\/[^/?]*(\?|$)/, `/${database}$1`);
    return { ...base, types, max: 10, connectionTimeoutMillis: 10_000 };
}
async function openPostgres(cfg) {
    let pool = new pg.Pool(poolConfig(cfg));
    pool.on('error', () => { }); // idle client errors surface on the next query
    try {
        await pool.query('select 1');
    }
    catch (err) {
        await pool.end().catch(() => { });
        if (err.code === '3D000' && !cfg.url) {
            await createDatabase(cfg);
            pool = new pg.Pool(poolConfig(cfg));
            pool.on('error', () => { });
        }
        else {
            throw pgError(cfg, err);
        }
    }
    const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
    let hasVector = false;
    try {
        await sql `create extension if not exists vector`.execute(db);
        hasVector = true;
    }
    catch {
        const r = await sql `select count(*)::int as n from pg_extension where extname = 'vector'`.execute(db);
        hasVector = (r.rows[0]?.n ?? 0) > 0;
    }
    let closed = false;
    return {
        kind: 'postgres',
        db,
        hasVector,
        target: describeDatabase(cfg),
        async close() {
            if (closed)
                return;
            closed = true;
            await db.destroy();
        },
    };
}
/** First run against a server: create the database (Immich's compose does the same). */
async function createDatabase(cfg) {
    const admin = new pg.Client(poolConfig(cfg, 'postgres'));
    try {
        await admin.connect();
        await admin.query(`create database ${pg.escapeIdentifier(cfg.database)}`);
    }
    catch (err) {
        if (err.code !== '42P04')
            throw pgError(cfg, err);
    }
    finally {
        await admin.end().catch(() => { });
    }
}
//# sourceMappingURL=connect.js.map