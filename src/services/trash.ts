// The trash: `immich rm` sets assets.deleted_at (hidden everywhere, files kept), `trash restore` clears
// it, and a purge (`trash empty`, or the retention maintenance after IMMICH_TRASH_DAYS) deletes the
// asset's files and rows.
//
// Purge order (kill -9 safe, see migrations/0070_trash.sql): 1. mark the assets in asset_purge, in one
// transaction; 2. delete their files (derived files, face crops, then sidecar and original when the
// original goes); 3. delete their rows (the mark goes with them). Every later purge, and the
// maintenance that import, index and worker run, first finishes marked assets. Marked assets are
// trashed, so no reader shows them meanwhile.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { UsageError, errorMessage } from '../errors.js';
import { fsPath } from '../storage/raw-path.js';

const CHUNK = 500;
export const DEFAULT_TRASH_DAYS = 30;
const DAY_MS = 86_400_000;

/** IMMICH_TRASH_DAYS: days an asset stays in the trash (default 30); 0 = no trash, `rm` purges at once. */
export function trashDays(config: Pick<Config, 'raw'>): number {
  const v = config.raw.IMMICH_TRASH_DAYS;
  if (v === undefined || v === '') return DEFAULT_TRASH_DAYS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`IMMICH_TRASH_DAYS=${v} must be a whole number of days >= 0`);
  return n;
}

/**
 * The current time. IMMICH_NOW (an ISO date) replaces it for tests of the retention only: the trash
 * date of `rm` and the cut-off of the retention both follow it.
 */
export function clockNow(config: Pick<Config, 'raw'>): Date {
  const v = config.raw.IMMICH_NOW;
  if (!v) return new Date();
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new UsageError(`IMMICH_NOW=${v} is not a date`);
  return d;
}

/** '30d', '12h', '2w' or a bare number of days → milliseconds. */
export function parseAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([dhw]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--older-than must look like 30d, 12h or 2w (got ${text})`);
  const unit = m[2] === 'h' ? 3_600_000 : m[2] === 'w' ? 7 * DAY_MS : DAY_MS;
  return Number(m[1]) * unit;
}

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let k = 0; k < items.length; k += size) out.push(items.slice(k, k + size));
  return out;
}

/** The ids plus the video halves of their Live Photos, which go and come back with the still. */
async function withMotionParts(ctx: Context, ids: string[]): Promise<string[]> {
  const all = new Set(ids);
  for (const chunk of chunks(ids)) {
    const rows = await ctx.db.selectFrom('assets').select('live_photo_video_id').where('id', 'in', chunk).where('live_photo_video_id', 'is not', null).execute();
    for (const r of rows) all.add(r.live_photo_video_id!);
  }
  return [...all];
}

export interface StackPrimaryHit {
  stackId: string;
  primaryId: string;
  /** Members of the stack that are not selected (and not trashed). */
  others: string[];
}

/** Selected assets that are the primary of a stack with members outside the selection. */
export async function primariesWithOthers(ctx: Context, ids: string[]): Promise<StackPrimaryHit[]> {
  const selected = new Set(ids);
  const hits: StackPrimaryHit[] = [];
  for (const chunk of chunks(ids)) {
    const stacks = await ctx.db.selectFrom('stacks').select(['id', 'primary_asset_id']).where('primary_asset_id', 'in', chunk).execute();
    if (!stacks.length) continue;
    const members = await ctx.db
      .selectFrom('stack_assets as sa')
      .innerJoin('assets', 'assets.id', 'sa.asset_id')
      .select(['assets.id', 'sa.stack_id'])
      .where('sa.stack_id', 'in', stacks.map((s) => s.id))
      .where('assets.deleted_at', 'is', null)
      .execute();
    for (const s of stacks) {
      const others = members.filter((m) => m.stack_id === s.id && !selected.has(m.id)).map((m) => m.id);
      if (others.length) hits.push({ stackId: s.id, primaryId: s.primary_asset_id, others });
    }
  }
  return hits;
}

export interface TrashResult {
  /** Assets moved to the trash by this call (Live Photo video halves included). */
  trashed: string[];
  /** Already in the trash. */
  already: number;
  /** With IMMICH_TRASH_DAYS=0: purged at once. */
  purge?: PurgeSummary;
}

/**
 * Move assets to the trash. With `withStacks`, every member of a stack whose primary is selected
 * goes too; otherwise a trashed primary hands the stack to the next member so the stack stays shown.
 */
export async function moveToTrash(ctx: Context, ids: string[], opts: { dryRun?: boolean; withStacks?: boolean; deleteFiles?: boolean } = {}): Promise<TrashResult> {
  let all = ids;
  if (opts.withStacks) all = [...new Set([...ids, ...(await primariesWithOthers(ctx, ids)).flatMap((h) => h.others)])];
  all = await withMotionParts(ctx, all);
  const now = clockNow(ctx.config);
  const trashed: string[] = [];
  let already = 0;
  for (const chunk of chunks(all)) {
    const rows = await ctx.db.selectFrom('assets').select(['id', 'deleted_at']).where('id', 'in', chunk).execute();
    for (const r of rows) (r.deleted_at ? (already++, undefined) : trashed.push(r.id));
  }
  if (opts.dryRun || !trashed.length) return { trashed, already };
  for (const chunk of chunks(trashed)) {
    await ctx.db.transaction().execute(async (trx) => {
      await trx.updateTable('assets').set({ deleted_at: now, updated_at: now }).where('id', 'in', chunk).where('deleted_at', 'is', null).execute();
      await promoteStackPrimaries(trx, chunk);
    });
  }
  const result: TrashResult = { trashed, already };
  if (trashDays(ctx.config) === 0) result.purge = await purgeAssets(ctx, trashed, { deleteFiles: opts.deleteFiles });
  return result;
}

type Trx = Parameters<Parameters<ReturnType<Context['db']['transaction']>['execute']>[0]>[0];

/**
 * Stacks whose primary is among `gone`: the oldest member still shown becomes the primary (the stack
 * stays, so a restored member is back in it). `purge`: members about to be deleted do not count,
 * and any remaining member will do; stacks left with fewer than two members are dissolved after the
 * delete (dissolveSmallStacks).
 */
async function promoteStackPrimaries(trx: Trx, gone: string[], purge = false): Promise<void> {
  const stacks = await trx.selectFrom('stacks').select(['id', 'primary_asset_id']).where('primary_asset_id', 'in', gone).execute();
  const goneSet = new Set(gone);
  for (const s of stacks) {
    const members = await trx
      .selectFrom('stack_assets as sa')
      .innerJoin('assets', 'assets.id', 'sa.asset_id')
      .select(['assets.id', 'assets.deleted_at'])
      .where('sa.stack_id', '=', s.id)
      .orderBy('assets.taken_at')
      .orderBy('assets.created_at')
      .execute();
    const rest = members.filter((m) => !goneSet.has(m.id));
    const next = rest.find((m) => !m.deleted_at) ?? (purge ? rest[0] : undefined);
    if (!next) continue;
    await trx.updateTable('stacks').set({ primary_asset_id: next.id }).where('id', '=', s.id).execute();
    // Trashed (not purged): remember the primary the stack had, so restoring it gives the role back.
    // The first one counts: a member promoted in its stead and trashed in turn was never chosen.
    if (!purge) {
      await trx.insertInto('stack_former_primaries').values({ stack_id: s.id, asset_id: s.primary_asset_id }).onConflict((oc) => oc.column('stack_id').doNothing()).execute();
    }
  }
}

/** Restored assets that were the primary of their stack before they were trashed take the role back. */
async function reinstateStackPrimaries(trx: Trx, restored: string[]): Promise<void> {
  const back = await trx
    .selectFrom('stack_former_primaries as f')
    .innerJoin('stack_assets as sa', (j) => j.onRef('sa.asset_id', '=', 'f.asset_id').onRef('sa.stack_id', '=', 'f.stack_id'))
    .select(['f.stack_id', 'f.asset_id'])
    .where('f.asset_id', 'in', restored)
    .execute();
  for (const r of back) await trx.updateTable('stacks').set({ primary_asset_id: r.asset_id }).where('id', '=', r.stack_id).execute();
  await trx.deleteFrom('stack_former_primaries').where('asset_id', 'in', restored).execute();
}

/** After a purge: these stacks, when left with fewer than two members, are no stacks. */
async function dissolveSmallStacks(trx: Trx, stackIds: string[]): Promise<void> {
  if (!stackIds.length) return;
  const small = trx.selectFrom('stack_assets').select('stack_id').where('stack_id', 'in', stackIds).groupBy('stack_id').having((eb) => eb.fn.countAll(), '<', 2);
  // Deleting the stack deletes its membership rows (cascade); those whose primary went with the
  // purge's cascade are gone already.
  await trx.deleteFrom('stacks').where('id', 'in', stackIds).where((eb) => eb.or([eb('id', 'in', small), eb('id', 'not in', trx.selectFrom('stack_assets').select('stack_id').where('stack_id', 'in', stackIds))])).execute();
}

/** Take assets out of the trash (with their Live Photo video halves). Assets being purged stay gone. */
export async function restoreFromTrash(ctx: Context, ids: string[], opts: { dryRun?: boolean } = {}): Promise<{ restored: string[]; notTrashed: number }> {
  const all = await withMotionParts(ctx, ids);
  const restored: string[] = [];
  let notTrashed = 0;
  for (const chunk of chunks(all)) {
    const rows = await ctx.db
      .selectFrom('assets')
      .leftJoin('asset_purge', 'asset_purge.asset_id', 'assets.id')
      .select(['assets.id', 'assets.deleted_at', 'asset_purge.asset_id as purging'])
      .where('assets.id', 'in', chunk)
      .execute();
    for (const r of rows) (r.deleted_at && !r.purging ? restored.push(r.id) : notTrashed++);
  }
  if (opts.dryRun) return { restored, notTrashed };
  const now = clockNow(ctx.config);
  for (const chunk of chunks(restored)) {
    await ctx.db.transaction().execute(async (trx) => {
      await trx.updateTable('assets').set({ deleted_at: null, updated_at: now }).where('id', 'in', chunk).execute();
      await reinstateStackPrimaries(trx, chunk);
    });
  }
  return { restored, notTrashed };
}

export interface TrashEntry {
  id: string;
  path: string;
  originalName: string;
  deletedAt: string;
  /** When the retention purges it (deletedAt + IMMICH_TRASH_DAYS). */
  purgeAt: string;
  fileSize: number;
  storageMode: string;
}

export async function listTrash(ctx: Context): Promise<TrashEntry[]> {
  const days = trashDays(ctx.config);
  const rows = await ctx.db
    .selectFrom('assets')
    .select(['id', 'library_path', 'original_name', 'deleted_at', 'file_size', 'storage_mode'])
    .where('deleted_at', 'is not', null)
    .where('is_motion_part', '=', false)
    .orderBy('deleted_at')
    .orderBy('library_path')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    path: ctx.library.resolve(r.library_path),
    originalName: r.original_name,
    deletedAt: new Date(r.deleted_at!).toISOString(),
    purgeAt: new Date(new Date(r.deleted_at!).getTime() + days * DAY_MS).toISOString(),
    fileSize: Number(r.file_size),
    storageMode: r.storage_mode,
  }));
}

export interface PurgeSummary {
  purged: number;
  /** Originals deleted (copy/move libraries; in-place only with deleteFiles). */
  originalsDeleted: number;
  /** In-place originals left on disk (forgotten only). */
  originalsKept: number;
  filesDeleted: number;
  bytesFreed: number;
  failures: Array<{ path: string; reason: string }>;
}

function emptySummary(): PurgeSummary {
  return { purged: 0, originalsDeleted: 0, originalsKept: 0, filesDeleted: 0, bytesFreed: 0, failures: [] };
}

/**
 * Purge trashed assets: mark, delete files, delete rows (see the header). Assets not in the trash are
 * left alone. `deleteFiles`: in-place originals are deleted too instead of only forgotten.
 */
export async function purgeAssets(
  ctx: Context,
  ids: string[],
  opts: { deleteFiles?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<PurgeSummary> {
  const summary = emptySummary();
  let done = 0;
  for (const chunk of chunks(ids)) {
    await ctx.db
      .insertInto('asset_purge')
      .columns(['asset_id', 'delete_original'])
      .expression((eb) =>
        eb
          .selectFrom('assets')
          .select((s) => [
            'id',
            opts.deleteFiles ? s.lit(true).as('delete_original') : s('storage_mode', '<>', 'in-place').as('delete_original'),
          ])
          .where('id', 'in', chunk)
          .where('deleted_at', 'is not', null),
      )
      .onConflict((oc) => oc.column('asset_id').doNothing())
      .execute();
    await finishMarked(ctx, summary, chunk);
    opts.onProgress?.((done += chunk.length), ids.length);
  }
  return summary;
}

/** Finish the purge of marked assets (all of them, or those of `only`). */
async function finishMarked(ctx: Context, summary: PurgeSummary, only?: string[]): Promise<void> {
  // A file that cannot be deleted keeps its row and mark: retried by the next purge, not looped on now.
  const skip = new Set<string>();
  for (;;) {
    let q = ctx.db
      .selectFrom('asset_purge as p')
      .innerJoin('assets as a', 'a.id', 'p.asset_id')
      .leftJoin('exif as e', 'e.asset_id', 'a.id')
      .select(['a.id', 'a.library_path', 'a.storage_mode', 'a.file_size', 'p.delete_original', 'e.sidecar_path'])
      .orderBy('p.asset_id')
      .limit(CHUNK);
    if (only) q = q.where('p.asset_id', 'in', only);
    if (skip.size) q = q.where('p.asset_id', 'not in', [...skip]);
    const marked = await q.execute();
    if (!marked.length) return;
    const ids = marked.map((m) => m.id);
    const derived = await ctx.db.selectFrom('asset_files').select(['asset_id', 'path']).where('asset_id', 'in', ids).execute();
    const crops = await ctx.db.selectFrom('asset_faces').select(['asset_id', 'crop_path']).where('asset_id', 'in', ids).where('crop_path', 'is not', null).execute();
    const written = await ctx.db.selectFrom('asset_sidecars').select(['asset_id', 'path']).where('asset_id', 'in', ids).where('path', '<>', '').execute();
    // A sidecar another (unpurged) asset also reads stays.
    const sidecars = marked.map((m) => m.sidecar_path).filter((p): p is string => Boolean(p));
    const shared = new Set(
      sidecars.length
        ? (await ctx.db.selectFrom('exif').select('sidecar_path').where('sidecar_path', 'in', sidecars).where('asset_id', 'not in', ids).execute()).map((r) => r.sidecar_path)
        : [],
    );
    const failed = new Set<string>();
    const remove = async (assetId: string, p: string): Promise<boolean> => {
      const abs = ctx.library.resolve(p);
      try {
        // By its bytes: the text form of a name that is not UTF-8 must never reach another file.
        const st = await fsp.lstat(fsPath(abs));
        await fsp.unlink(fsPath(abs));
        summary.filesDeleted++;
        summary.bytesFreed += st.size;
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        failed.add(assetId);
        summary.failures.push({ path: abs, reason: errorMessage(err) });
        return false;
      }
    };
    // Library-relative paths are files we made (thumbnails, previews, encoded video, face crops,
    // sidecars under the library); absolute ones sit beside an in-place original and go with it only.
    const deletesOriginal = new Map(marked.map((m) => [m.id, m.delete_original]));
    const ours = (assetId: string, p: string) => (path.isAbsolute(p) ? deletesOriginal.get(assetId) === true : isInside(ctx.library.resolve(p), ctx.library.root));
    const extra = [...derived, ...crops.map((c) => ({ asset_id: c.asset_id, path: c.crop_path! })), ...written];
    await inParallel(extra.filter((f) => ours(f.asset_id, f.path)), (f) => remove(f.asset_id, f.path));
    await inParallel(marked, async (m) => {
      if (!m.delete_original) {
        summary.originalsKept++;
        return;
      }
      const inPlace = m.storage_mode === 'in-place';
      if (m.sidecar_path && !shared.has(m.sidecar_path) && ours(m.id, m.sidecar_path)) await remove(m.id, m.sidecar_path);
      // A library copy lives inside the library; anything else is not ours to delete.
      if (!inPlace && !isInside(ctx.library.resolve(m.library_path), ctx.library.root)) return;
      if (await remove(m.id, m.library_path)) summary.originalsDeleted++;
    });
    const gone = ids.filter((id) => !failed.has(id));
    if (gone.length) {
      await ctx.db.transaction().execute(async (trx) => {
        const stackIds = (await trx.selectFrom('stack_assets').select('stack_id').distinct().where('asset_id', 'in', gone).execute()).map((r) => r.stack_id);
        await promoteStackPrimaries(trx, gone, true);
        await trx.deleteFrom('assets').where('id', 'in', gone).execute();
        await dissolveSmallStacks(trx, stackIds);
        // Duplicate groups left with a single asset are no longer groups.
        const groups = trx.selectFrom('asset_duplicates').select('group_id').groupBy('group_id').having((eb) => eb.fn.countAll(), '>', 1);
        await trx.deleteFrom('duplicate_groups').where('id', 'not in', groups).execute();
      });
    }
    summary.purged += gone.length;
    for (const id of failed) skip.add(id);
  }
}

/** Unlinks wait on the file system, not the CPU: a few at once keep the disk busy. */
const UNLINKS_IN_FLIGHT = 16;

async function inParallel<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(UNLINKS_IN_FLIGHT, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** `trash empty`: purge trashed assets, all or those trashed longer than `olderThanMs` ago. */
export async function emptyTrash(
  ctx: Context,
  opts: { olderThanMs?: number; dryRun?: boolean; deleteFiles?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ candidates: TrashEntry[]; summary: PurgeSummary }> {
  const now = clockNow(ctx.config);
  let q = ctx.db.selectFrom('assets').select('id').where('deleted_at', 'is not', null);
  if (opts.olderThanMs !== undefined) q = q.where('deleted_at', '<=', new Date(now.getTime() - opts.olderThanMs));
  const ids = (await q.execute()).map((r) => r.id);
  const idSet = new Set(ids);
  const candidates = (await listTrash(ctx)).filter((e) => idSet.has(e.id));
  if (opts.dryRun) return { candidates, summary: emptySummary() };
  const summary = emptySummary();
  // Purges a killed run left unfinished first.
  await finishMarked(ctx, summary);
  const more = await purgeAssets(ctx, ids, { deleteFiles: opts.deleteFiles, onProgress: opts.onProgress });
  return { candidates, summary: mergeSummaries(summary, more) };
}

function mergeSummaries(a: PurgeSummary, b: PurgeSummary): PurgeSummary {
  return {
    purged: a.purged + b.purged,
    originalsDeleted: a.originalsDeleted + b.originalsDeleted,
    originalsKept: a.originalsKept + b.originalsKept,
    filesDeleted: a.filesDeleted + b.filesDeleted,
    bytesFreed: a.bytesFreed + b.bytesFreed,
    failures: [...a.failures, ...b.failures],
  };
}

/**
 * The trash's share of the maintenance that import, index and worker run: finish interrupted purges,
 * then purge what has been in the trash longer than IMMICH_TRASH_DAYS. In-place originals are only
 * forgotten. Failures are logged, never fatal to the command that runs it.
 */
export async function trashMaintenance(ctx: Context): Promise<PurgeSummary> {
  try {
    const days = trashDays(ctx.config);
    const cutoff = new Date(clockNow(ctx.config).getTime() - days * DAY_MS);
    const summary = emptySummary();
    await finishMarked(ctx, summary);
    const expired = (await ctx.db.selectFrom('assets').select('id').where('deleted_at', '<=', cutoff).execute()).map((r) => r.id);
    const result = expired.length ? mergeSummaries(summary, await purgeAssets(ctx, expired)) : summary;
    if (result.purged) ctx.logger.log(`trash: purged ${result.purged} asset(s) trashed more than ${days} day(s) ago`);
    for (const f of result.failures) ctx.logger.warn(`trash: cannot delete ${f.path}: ${f.reason}`);
    return result;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    ctx.logger.warn(`trash maintenance failed: ${errorMessage(err)}`);
    return emptySummary();
  }
}
