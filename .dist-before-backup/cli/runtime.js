import { loadConfig, LOG_LEVELS } from '../config.js';
import { createContext } from '../context.js';
import { UsageError } from '../errors.js';
import { Logger } from '../logger.js';
import { loadTranscodeSettings } from '../media/transcode.js';
import { redactText } from '../logging/format.js';
import { installLogSinks } from '../logging/install.js';
import { createProcessor } from '../services/pipeline.js';
import { Output } from './render.js';
/** Hooks other areas can install (log files, metrics) without editing every command. */
export const runtimeHooks = [];
export async function loadRuntime(cmd) {
    const globals = cmd.optsWithGlobals();
    const env = { ...process.env };
    if (globals.library)
        env.UPLOAD_LOCATION = globals.library;
    if (globals.logLevel) {
        if (!LOG_LEVELS.includes(globals.logLevel)) {
            throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
        }
        env.IMMICH_LOG_LEVEL = globals.logLevel;
    }
    const config = loadConfig({ env, envFile: globals.envFile });
    // Bad IMMICH_FFMPEG_* values are usage errors up front (exit 2), not a failed video job later.
    loadTranscodeSettings(config.raw, { driEntries: [] });
    const out = new Output({ json: Boolean(globals.json), quiet: Boolean(globals.quiet) });
    const logger = new Logger(config.logLevel, []);
    const rt = { config, logger, out, globals };
    // --log-format json / --log-file (and IMMICH_LOG_*): JSON lines on stderr and/or a rotated file
    const logs = installLogSinks({ logger, raw: config.raw, flags: { logFormat: globals.logFormat, logFile: globals.logFile } });
    if (logs.settings.format === 'text')
        logger.addSink((r) => out.logSink({ ...r, msg: redactText(r.msg) }));
    for (const hook of runtimeHooks)
        await hook(rt);
    return rt;
}
/** Open a context for the command, run fn, always close. Returns fn's exit code. */
export async function withContext(rt, opts, fn) {
    const ctx = await createContext(rt.config, rt.logger, {
        processor: (c) => createProcessor(c),
        queueFactory: rt.config.redis ? (c) => redisQueueFactory(c) : undefined,
        ...opts,
    });
    try {
        return (await fn(ctx)) ?? 0;
    }
    finally {
        await ctx.close();
    }
}
/** Set by the Redis mode (src/jobs/bullmq.ts) when REDIS_HOSTNAME is configured. */
async function redisQueueFactory(ctx) {
    const mod = (await import('../jobs/bullmq.js').catch(() => undefined));
    if (!mod?.createRedisQueue) {
        ctx.logger.warn('REDIS_HOSTNAME is set but Redis job queues are not available in this build; running jobs in-process');
        return ctx.queue;
    }
    return mod.createRedisQueue(ctx);
}
/** Parse a positive integer flag or throw a usage error naming it. */
export function intOption(name, value, fallback, min = 1) {
    if (value === undefined)
        return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
        throw new UsageError(`${name} must be an integer >= ${min} (got ${value})`);
    return n;
}
//# sourceMappingURL=runtime.js.map