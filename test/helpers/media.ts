// Helpers for the media suites: a Context on a temporary embedded library, and asset rows that
// reference files in place (as `import --in-place` does) so the stage handlers can run on them.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import type { JobOutcome } from '../../src/jobs/types.js';
import { Logger, type LogRecord } from '../../src/logger.js';
import { sniff } from '../../src/media/sniff.js';
import { mediaHandlers } from '../../src/services/media-jobs.js';
import { createProcessor } from '../../src/services/pipeline.js';
import { tmpDir } from './env.js';

export interface MediaTestContext {
  ctx: Context;
  logs: LogRecord[];
  library: string;
}

export async function openMediaContext(env: Record<string, string> = {}): Promise<MediaTestContext> {
  const library = tmpDir('immich-media-');
  const logs: LogRecord[] = [];
  const logger = new Logger('warn', [(r) => logs.push(r)]);
  const ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: library, ...env }, cwd: library }), logger, { command: 'test', concurrency: 2 });
  return { ctx, logs, library };
}

/** Insert an asset row pointing at `file` where it is; type and mime from its content. */
export async function addAsset(ctx: Context, file: string): Promise<string> {
  const head = Buffer.alloc(4096);
  const fd = fs.openSync(file, 'r');
  const n = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  const s = sniff(head.subarray(0, n), path.extname(file).slice(1).toLowerCase());
  const st = fs.statSync(file);
  const row = await ctx.db
    .insertInto('assets')
    .values({
      checksum: crypto.createHash('sha1').update(file).update(crypto.randomBytes(8)).digest('hex'),
      original_path: file,
      original_name: path.basename(file),
      library_path: file,
      storage_mode: 'in-place',
      type: s?.type ?? 'image',
      mime_type: s?.mime ?? 'application/octet-stream',
      file_size: st.size,
      file_mtime: st.mtime,
      taken_at: null,
      local_taken_at: null,
      time_zone: null,
      width: null,
      height: null,
      thumbhash: null,
      live_photo_video_id: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Run one stage through the real job processor (no follow-ups): the stage's result rows are written
 * with its status, as in an import.
 */
export async function runStage(ctx: Context, stage: 'metadata' | 'thumbnails' | 'video', assetId: string): Promise<JobOutcome> {
  const processor = createProcessor(ctx, { followUps: false, handlers: mediaHandlers });
  const outcome = await processor({ stage, assetId, force: true }, 1);
  await processor.flush?.();
  return outcome;
}

export async function assetFiles(ctx: Context, assetId: string) {
  const rows = await ctx.db.selectFrom('asset_files').selectAll().where('asset_id', '=', assetId).execute();
  return Object.fromEntries(rows.map((r) => [r.kind, r]));
}

/** Run `fn` over items with at most `n` in flight. */
export async function mapLimit<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
