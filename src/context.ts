// Builds what a command needs (config, logger, library, database, job queue, lazily loaded
// resources such as ML sessions) and closes it. No module-level singletons: tests open several.
import type { Kysely } from 'kysely';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/connect.js';
import { NoLibraryError } from './errors.js';
import type { DB } from './db/schema.js';
import { InlineQueue } from './jobs/inline.js';
import type { JobProcessor, JobQueue } from './jobs/types.js';
import type { Logger } from './logger.js';
import { Library } from './storage/layout.js';

export interface Context {
  readonly config: Config;
  readonly logger: Logger;
  readonly library: Library;
  readonly database: Database;
  readonly db: Kysely<DB>;
  readonly queue: JobQueue;
  /** Concurrency for in-process work (defaults to the number of cores). */
  readonly concurrency: number;
  /**
   * A resource created on first use and closed with the context (ML sessions, OCR workers,
   * exiftool processes). Keyed by name so feature areas need not edit this file.
   */
  lazy<T>(name: string, create: () => Promise<T> | T, close?: (value: T) => Promise<void> | void): Promise<T>;
  /** Close resources that were created (for idle unloading); they are re-created on next use. */
  release(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Label for the embedded database lock ("immich import"). */
  command?: string;
  concurrency?: number;
  /** Run migrations on open (default true). */
  migrate?: boolean;
  /**
   * Create the library folder and its database when missing (default true). Commands that only read
   * or maintain a library pass false: a mistyped -L, UPLOAD_LOCATION or DB_DATABASE_NAME then exits 3
   * with "no library at …" instead of creating an empty library that looks like lost photos.
   */
  create?: boolean;
  /** Wait this long for an embedded database held by another process (see OpenOptions.lockWaitMs). */
  lockWaitMs?: number;
  onLockWait?: (holder: string) => void;
  /** Builds the job processor once the context exists (services/pipeline.ts). */
  processor?: (ctx: Context) => JobProcessor;
  /** Create the job queue with this (Redis mode); default in-process. */
  queueFactory?: (ctx: Context) => Promise<JobQueue>;
}

const INLINE_JOBS_PER_UNIT = 2;

/**
 * The library folder exists (and, embedded, holds a database). A PostgreSQL database that does not
 * exist is refused by openDatabase({ create: false }).
 */
export function assertLibraryExists(config: Config): void {
  const root = config.uploadLocation;
  const embedded = config.database.kind === 'embedded';
  if (!libraryExists(config)) {
    throw new NoLibraryError(
      `no library at ${root}${embedded && isDir(root) ? ' (the folder has no immich database)' : ''}: check -L / UPLOAD_LOCATION` +
        ' (`immich import` creates a library; `immich restore` restores one)',
    );
  }
}

/** The library folder exists and, with the embedded database, holds one. */
export function libraryExists(config: Config): boolean {
  if (config.database.kind === 'embedded') return fs.existsSync(path.join(config.database.embeddedPath, 'PG_VERSION'));
  return isDir(config.uploadLocation);
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export async function createContext(config: Config, logger: Logger, opts: ContextOptions = {}): Promise<Context> {
  const library = new Library(config.uploadLocation);
  const create = opts.create !== false;
  if (!create) assertLibraryExists(config);
  library.ensure();
  const database = await openDatabase(config.database, {
    command: opts.command,
    migrate: opts.migrate,
    create,
    lockWaitMs: opts.lockWaitMs,
    onLockWait: opts.onLockWait,
  });
  const concurrency = Math.max(1, opts.concurrency ?? os.availableParallelism());
  const resources = new Map<string, { value: Promise<unknown>; close?: (v: any) => Promise<void> | void }>();
  // Stage jobs also wait (fsync, the database, exiftool): two per unit keep the cores busy meanwhile.
  let queue: JobQueue = new InlineQueue({ concurrency: concurrency * INLINE_JOBS_PER_UNIT, attempts: 1 });

  const ctx: Context = {
    config,
    logger,
    library,
    database,
    db: database.db,
    get queue() {
      return queue;
    },
    concurrency,
    lazy<T>(name: string, create: () => Promise<T> | T, close?: (value: T) => Promise<void> | void): Promise<T> {
      let r = resources.get(name);
      if (!r) {
        const value = Promise.resolve().then(create);
        r = { value, close: close as (v: unknown) => Promise<void> | void };
        resources.set(name, r);
        value.catch(() => resources.delete(name));
      }
      return r.value as Promise<T>;
    },
    async release(name: string): Promise<void> {
      const r = resources.get(name);
      if (!r) return;
      resources.delete(name);
      const v = await r.value.catch(() => undefined);
      if (v !== undefined) await r.close?.(v);
    },
    async close(): Promise<void> {
      await queue.close().catch((err) => logger.warn(`closing job queue: ${(err as Error).message}`));
      for (const name of [...resources.keys()].reverse()) {
        await ctx.release(name).catch((err) => logger.warn(`closing ${name}: ${(err as Error).message}`));
      }
      await database.close();
    },
  };

  try {
    if (opts.queueFactory) queue = await opts.queueFactory(ctx);
    // Both the in-process runner and the Redis queue (whose workers run in this process too) take the processor.
    const q = queue as JobQueue & { setProcessor?: (p: JobProcessor) => void };
    if (opts.processor && q.setProcessor) q.setProcessor(opts.processor(ctx));
  } catch (err) {
    await database.close();
    throw err;
  }
  return ctx;
}
