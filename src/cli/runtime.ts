// Shared plumbing for command files: global options → config, logger and output; a context that
// is always closed; errors mapped to exit codes.
import type { Command } from 'commander';
import v8 from 'node:v8';
import { loadConfig, LOG_LEVELS, type Config, type LogLevel } from '../config.js';
import { createContext, type Context, type ContextOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { Logger } from '../logger.js';
import type { JobProcessor } from '../jobs/types.js';
import { loadTranscodeSettings } from '../media/transcode.js';
import { redactText } from '../logging/format.js';
import { installLogSinks } from '../logging/install.js';
import { validateSettings } from '../settings.js';
import { parseDuration } from '../validate.js';
import { storageTemplateFrom } from '../storage/template.js';
import { Output } from './render.js';

export interface GlobalOptions {
  /** --wait[=<time>]: queue behind another process holding the embedded database. */
  wait?: string | boolean;
  json?: boolean;
  quiet?: boolean;
  wide?: boolean;
  envFile?: string;
  library?: string;
  logLevel?: string;
  logFormat?: string;
  logFile?: string;
}

export interface Runtime {
  config: Config;
  logger: Logger;
  out: Output;
  globals: GlobalOptions;
}

/** Hooks other areas can install (log files, metrics) without editing every command. */
export const runtimeHooks: Array<(rt: Runtime) => void | Promise<void>> = [];

export async function loadRuntime(cmd: Command): Promise<Runtime> {
  const globals = cmd.optsWithGlobals() as GlobalOptions;
  // import and index have their own --no-wait (jobs): the program's --wait is read from the program.
  let root = cmd;
  while (root.parent) root = root.parent;
  globals.wait = (root.opts() as GlobalOptions).wait;
  const env = { ...process.env };
  if (globals.library) env.UPLOAD_LOCATION = globals.library;
  if (globals.logLevel) {
    if (!LOG_LEVELS.includes(globals.logLevel as LogLevel)) {
      throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    }
    env.IMMICH_LOG_LEVEL = globals.logLevel;
  }
  const config = loadConfig({ env, envFile: globals.envFile });
  // Bad IMMICH_FFMPEG_* values are usage errors up front (exit 2), not a failed video job later.
  loadTranscodeSettings(config.raw, { driEntries: [] });
  // So are the other IMMICH_* settings (IMMICH_FACE_MIN_SCORE=abc), instead of a silent default.
  validateSettings(config.raw);
  storageTemplateFrom(config.raw); // a bad IMMICH_STORAGE_TEMPLATE: exit 2 before anything runs
  // NO_COLOR (no-color.org): present and not empty turns colours off.
  const out = new Output({ json: Boolean(globals.json), quiet: Boolean(globals.quiet), wide: Boolean(globals.wide), color: !config.raw.NO_COLOR });
  const logger = new Logger(config.logLevel, []);
  const rt: Runtime = { config, logger, out, globals };
  // --log-format json / --log-file (and IMMICH_LOG_*): JSON lines on stderr and/or a rotated file
  const logs = installLogSinks({ logger, raw: config.raw, flags: { logFormat: globals.logFormat, logFile: globals.logFile } });
  if (logs.settings.format === 'text') logger.addSink((r) => out.logSink({ ...r, msg: redactText(r.msg) }));
  for (const hook of runtimeHooks) await hook(rt);
  return rt;
}

/**
 * A command that runs a few queries and exits (search): V8 then compiles the embedded database's
 * WebAssembly (~9 MB) with its baseline compiler only. By default it also re-compiles hot
 * functions with its optimising compiler on background threads, which a run this short never
 * earns back: with it off, opening PGlite and running a query takes half the CPU time and wall
 * time (bench/RESULTS.md, search section). Commands that run for long (import, index, HNSW
 * builds) keep the default. Takes effect for WebAssembly compiled after the call, so it must come
 * before the database is opened.
 */
function preferQuickStart(rt: Runtime): void {
  if (rt.config.database.kind === 'embedded') v8.setFlagsFromString('--liftoff-only');
}

/** Open a context for the command, run fn, always close. Returns fn's exit code. */
export async function withContext(
  rt: Runtime,
  { quickStart, ...opts }: ContextOptions & { command: string; /** see preferQuickStart */ quickStart?: boolean },
  fn: (ctx: Context) => Promise<number | void>,
): Promise<number> {
  if (quickStart) preferQuickStart(rt);
  const ctx = await createContext(rt.config, rt.logger, {
    // Only commands that add to a library create one (import passes create: true).
    create: false,
    lockWaitMs: lockWait(rt),
    onLockWait: (holder) => rt.out.note(`immich: waiting for the embedded database, in use by ${holder}...`),
    // The pipeline pulls in every stage's libraries (sharp, exiftool, onnxruntime): load it when the
    // first job runs, so commands that run none (search, stats) start faster.
    processor: (c) => {
      // One processor for all jobs (it batches their statuses): the first job's import makes it.
      let run: Promise<JobProcessor> | undefined;
      const lazy: JobProcessor = async (job, attempt) => {
        run ??= import('../services/pipeline.js').then((m) => m.createProcessor(c));
        return (await run)(job, attempt);
      };
      lazy.flush = async () => (await run)?.flush?.();
      return lazy;
    },
    queueFactory: rt.config.redis ? (c) => redisQueueFactory(c) : undefined,
    ...opts,
  });
  try {
    return (await fn(ctx)) ?? 0;
  } finally {
    await ctx.close();
  }
}

/** --wait[=<time>] (no time: until free), else IMMICH_LOCK_WAIT, else 0 (fail at once). */
function lockWait(rt: Runtime): number {
  const flag = rt.globals.wait;
  if (flag === true) return Infinity;
  if (typeof flag === 'string') return parseDuration('--wait', flag);
  const env = rt.config.raw.IMMICH_LOCK_WAIT;
  return env ? parseDuration('IMMICH_LOCK_WAIT', env) : 0;
}

/** Set by the Redis mode (src/jobs/bullmq.ts) when REDIS_HOSTNAME is configured. */
async function redisQueueFactory(ctx: Context) {
  const mod = (await import('../jobs/bullmq.js').catch(() => undefined)) as
    | { createRedisQueue?: (ctx: Context) => Promise<import('../jobs/types.js').JobQueue> }
    | undefined;
  if (!mod?.createRedisQueue) {
    ctx.logger.warn('REDIS_HOSTNAME is set but Redis job queues are not available in this build; running jobs in-process');
    return ctx.queue;
  }
  return mod.createRedisQueue(ctx);
}

/** Parse a positive integer flag or throw a usage error naming it. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min} (got ${value})`);
  return n;
}
