import os from 'node:os';
import { openDatabase } from './db/connect.js';
import { InlineQueue } from './jobs/inline.js';
import { Library } from './storage/layout.js';
export async function createContext(config, logger, opts = {}) {
    const library = new Library(config.uploadLocation);
    library.ensure();
    const database = await openDatabase(config.database, { command: opts.command, migrate: opts.migrate });
    const concurrency = Math.max(1, opts.concurrency ?? os.availableParallelism());
    const resources = new Map();
    let queue = new InlineQueue({ concurrency, attempts: 1 });
    const ctx = {
        config,
        logger,
        library,
        database,
        db: database.db,
        get queue() {
            return queue;
        },
        concurrency,
        lazy(name, create, close) {
            let r = resources.get(name);
            if (!r) {
                const value = Promise.resolve().then(create);
                r = { value, close: close };
                resources.set(name, r);
                value.catch(() => resources.delete(name));
            }
            return r.value;
        },
        async release(name) {
            const r = resources.get(name);
            if (!r)
                return;
            resources.delete(name);
            const v = await r.value.catch(() => undefined);
            if (v !== undefined)
                await r.close?.(v);
        },
        async close() {
            await queue.close().catch((err) => logger.warn(`closing job queue: ${err.message}`));
            for (const name of [...resources.keys()].reverse()) {
                await ctx.release(name).catch((err) => logger.warn(`closing ${name}: ${err.message}`));
            }
            await database.close();
        },
    };
    try {
        if (opts.queueFactory)
            queue = await opts.queueFactory(ctx);
        // Both the in-process runner and the Redis queue (whose workers run in this process too) take the processor.
        const q = queue;
        if (opts.processor && q.setProcessor)
            q.setProcessor(opts.processor(ctx));
    }
    catch (err) {
        await database.close();
        throw err;
    }
    return ctx;
}
//# sourceMappingURL=context.js.map