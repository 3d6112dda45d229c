// Uploads from Immich's clients (`@immich/cli`, the web): the received file goes through the same
// import pipeline as `immich import` (SHA-1 dedupe, placement by date, metadata, then the stages).
//
// Requests stream their file into a private staging folder outside the library (the import refuses
// sources inside it), then wait for the next import batch: uploads that arrive while a batch is
// importing go together into the following one, so concurrent clients get the import's parallelism,
// and two uploads never choose a library file name at the same time.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../context.js';
import { ItemError, UsageError } from '../errors.js';
import { formatOf } from '../media/formats.js';
import { editAssets } from './edit.js';
import { importFiles } from './import.js';

export type UploadVisibility = 'timeline' | 'archive';

export interface StagedUpload {
  /** The staged file; its name is the client's file name (the asset's original name). */
  file: string;
  sha1: string;
  sidecar?: string;
  fileModifiedAt?: Date;
  visibility?: UploadVisibility;
  isFavorite?: boolean;
}

export interface UploadResult {
  id: string;
  status: 'created' | 'duplicate';
}

/** A file name from a client, made safe to use as a single path component (never a path). */
export function safeFileName(name: string | undefined): string {
  const base = path.basename(String(name ?? '').replace(/\\/g, '/')).replace(/[\u0000-\u001f]/g, '').trim();
  return base && base !== '.' && base !== '..' ? base.slice(-200) : 'upload';
}

export class UploadService {
  private waiting: Array<{ upload: StagedUpload; resolve: (r: UploadResult) => void; reject: (e: unknown) => void }> = [];
  private running?: Promise<void>;

  private constructor(
    private readonly ctx: Context,
    /** Staging folder of this process (removed on close). */
    readonly stagingDir: string,
    /** Called after a batch queued jobs (the server runs the in-process queue). */
    private readonly onQueued: () => void,
  ) {}

  static async open(ctx: Context, onQueued: () => void): Promise<UploadService> {
    const base = ctx.config.raw.IMMICH_UPLOAD_STAGING || os.tmpdir();
    await fsp.mkdir(base, { recursive: true });
    return new UploadService(ctx, await fsp.mkdtemp(path.join(base, 'immich-upload-')), onQueued);
  }

  /** A new empty folder for one request's files (so the client's file name can be kept as is). */
  async stagingFolder(): Promise<string> {
    const dir = path.join(this.stagingDir, crypto.randomUUID());
    await fsp.mkdir(dir);
    return dir;
  }

  /** The asset with this SHA-1 (hex or base64, as Immich's clients send it), if the library has it. */
  async findByChecksum(checksum: string): Promise<{ id: string; trashed: boolean } | undefined> {
    const hex = /^[0-9a-f]{40}$/i.test(checksum) ? checksum.toLowerCase() : Buffer.from(checksum, 'base64').toString('hex');
    if (hex.length !== 40) return undefined;
    const row = await this.ctx.db.selectFrom('assets').select(['id', 'deleted_at']).where('checksum', '=', hex).executeTakeFirst();
    return row ? { id: row.id, trashed: row.deleted_at !== null } : undefined;
  }

  /** Bulk check: which of these checksums the library already has. */
  async check(items: Array<{ id: string; checksum: string }>): Promise<Array<{ id: string; assetId?: string; trashed?: boolean }>> {
    const out = [];
    for (const item of items) {
      const found = await this.findByChecksum(item.checksum);
      out.push(found ? { id: item.id, assetId: found.id, trashed: found.trashed } : { id: item.id });
    }
    return out;
  }

  async upload(upload: StagedUpload): Promise<UploadResult> {
    if (!formatOf(upload.file)) throw new UsageError(`${path.basename(upload.file)}: unsupported file type`);
    const known = await this.findByChecksum(upload.sha1);
    if (known) return { id: known.id, status: 'duplicate' };
    if (upload.fileModifiedAt && !Number.isNaN(upload.fileModifiedAt.getTime())) {
      // The import falls back to the file's time for photos without a capture date: the client's.
      await fsp.utimes(upload.file, upload.fileModifiedAt, upload.fileModifiedAt);
    }
    if (upload.sidecar) await fsp.rename(upload.sidecar, `${upload.file}.xmp`);
    const result = await new Promise<UploadResult>((resolve, reject) => {
      this.waiting.push({ upload, resolve, reject });
      this.running ??= this.runBatches();
    });
    if (result.status === 'created' && (upload.visibility === 'archive' || upload.isFavorite)) {
      await editAssets(this.ctx, [result.id], { archive: upload.visibility === 'archive' || undefined, favorite: upload.isFavorite || undefined, tag: [], untag: [] });
    }
    return result;
  }

  private async runBatches(): Promise<void> {
    try {
      while (this.waiting.length) {
        const batch = this.waiting;
        this.waiting = [];
        await this.importBatch(batch);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async importBatch(batch: UploadService['waiting']): Promise<void> {
    try {
      const summary = await importFiles(this.ctx, {
        paths: batch.map((b) => b.upload.file),
        mode: 'move',
        concurrency: this.ctx.concurrency,
        // The server's queue runs the stages (or `immich worker` processes in Redis mode).
        wait: false,
      });
      this.onQueued();
      const imported = new Set(summary.imported.map((i) => i.path));
      const failures = new Map(summary.failures.map((f) => [f.path, f]));
      for (const b of batch) {
        const file = path.resolve(b.upload.file);
        const failure = failures.get(file);
        if (failure) {
          b.reject(new ItemError(file, `${path.basename(file)}: ${failure.stage}: ${failure.reason}`));
          continue;
        }
        const found = await this.findByChecksum(b.upload.sha1);
        if (!found) b.reject(new ItemError(file, `${path.basename(file)}: not imported`));
        else b.resolve({ id: found.id, status: imported.has(file) ? 'created' : 'duplicate' });
      }
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  async close(): Promise<void> {
    await this.running;
    fs.rmSync(this.stagingDir, { recursive: true, force: true });
  }
}

/** Asset counts as Immich's /assets/statistics gives them (trash and archive as asked). */
export async function assetStatistics(
  ctx: Context,
  opts: { isTrashed?: boolean; isFavorite?: boolean; visibility?: string } = {},
): Promise<{ images: number; videos: number; total: number }> {
  let q = ctx.db
    .selectFrom('assets')
    .select(['type', (eb) => eb.fn.countAll<number>().as('n')])
    .where('is_motion_part', '=', false)
    .where('deleted_at', opts.isTrashed ? 'is not' : 'is', null)
    .groupBy('type');
  if (opts.isFavorite !== undefined) q = q.where('is_favorite', '=', opts.isFavorite);
  if (opts.visibility === 'archive') q = q.where('is_archived', '=', true);
  else if (opts.visibility === 'timeline') q = q.where('is_archived', '=', false);
  const rows = await q.execute();
  const count = (t: string) => Number(rows.find((r) => r.type === t)?.n ?? 0);
  return { images: count('image'), videos: count('video'), total: count('image') + count('video') };
}

/**
 * Runs the in-process job queue in the background of a long-running process (`immich serve` without
 * Redis): uploads queue their stages and return; kick() starts a drain unless one is running, and a
 * drain that ends while more was queued starts again. In Redis mode `immich worker` runs the jobs.
 */
export class JobPump {
  private running?: Promise<void>;
  private again = false;

  constructor(private readonly ctx: Context) {}

  kick(): void {
    if (this.ctx.queue.kind !== 'inline') return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        const r = await this.ctx.queue.drain().catch((err) => {
          this.ctx.logger.error(`job queue: ${(err as Error).message}`);
          return undefined;
        });
        for (const f of r?.failures ?? []) this.ctx.logger.warn(`${f.job.stage} ${f.job.assetId ?? ''}: ${f.message}`, { stage: f.job.stage, asset: f.job.assetId });
      } while (this.again);
    })().finally(() => (this.running = undefined));
  }

  /** Resolves once the queue is empty (the jobs queued so far have run). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
