import { CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, } from 'kysely';
class Mutex {
    tail = Promise.resolve();
    lock() {
        let release;
        const next = new Promise((r) => (release = r));
        const prev = this.tail;
        this.tail = prev.then(() => next);
        return prev.then(() => release);
    }
}
class PGliteConnection {
    pg;
    constructor(pg) {
        this.pg = pg;
    }
    async executeQuery(compiled) {
        // Without parameters use the simple protocol, which allows several statements (migrations).
        const res = compiled.parameters.length === 0
            ? ((await this.pg.exec(compiled.sql)).at(-1) ?? { rows: [], affectedRows: 0 })
            : await this.pg.query(compiled.sql, compiled.parameters);
        const affected = res.affectedRows;
        return {
            rows: res.rows,
            numAffectedRows: affected !== undefined ? BigInt(affected) : undefined,
        };
    }
    // eslint-disable-next-line require-yield
    async *streamQuery() {
        throw new Error('streaming queries are not supported on the embedded database');
    }
}
class PGliteDriver {
    pg;
    mutex = new Mutex();
    releaseFn;
    conn;
    constructor(pg) {
        this.pg = pg;
        this.conn = new PGliteConnection(pg);
    }
    async init() { }
    async acquireConnection() {
        this.releaseFn = await this.mutex.lock();
        return this.conn;
    }
    async beginTransaction(conn, settings) {
        let sql = 'begin';
        if (settings.isolationLevel)
            sql += ` isolation level ${settings.isolationLevel}`;
        if (settings.accessMode)
            sql += ` ${settings.accessMode}`;
        await conn.executeQuery(CompiledQuery.raw(sql));
    }
    async commitTransaction(conn) {
        await conn.executeQuery(CompiledQuery.raw('commit'));
    }
    async rollbackTransaction(conn) {
        await conn.executeQuery(CompiledQuery.raw('rollback'));
    }
    async releaseConnection() {
        const r = this.releaseFn;
        this.releaseFn = undefined;
        r?.();
    }
    async destroy() {
        // The owner closes PGlite (it also holds the folder lock).
    }
}
export class PGliteDialect {
    pg;
    constructor(pg) {
        this.pg = pg;
    }
    createAdapter() { return new PostgresAdapter(); }
    createDriver() { return new PGliteDriver(this.pg); }
    createQueryCompiler() { return new PostgresQueryCompiler(); }
    createIntrospector(db) { return new PostgresIntrospector(db); }
}
//# sourceMappingURL=pglite-dialect.js.map