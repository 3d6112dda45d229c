// Stacks: several files of one shot (RAW+JPEG, a burst, an edit and its original) shown as one, the
// primary. The rules that find them are pure (stack-rules.ts); this module reads and writes them.
import crypto from 'node:crypto';
import type { Context } from '../context.js';
import { sql } from '../db/kysely.js';
import { UsageError } from '../errors.js';
import { proposeStacks, type ProposedStack, type StackCandidate, type StackRule } from './stack-rules.js';

const CHUNK = 1000;
/** Rows per bulk statement of autoStack (two array parameters each). */
const BULK = 50_000;

export interface StackMember {
  id: string;
  path: string;
  originalName: string;
  takenAt: string | null;
  primary: boolean;
  trashed: boolean;
}

export interface StackView {
  id: string;
  primaryAssetId: string;
  count: number;
  members: StackMember[];
}

/** Put assets into one stack (stacks they were in are merged into it, like Immich); `primary` defaults to the first. */
export async function createStack(ctx: Context, ids: string[], primary?: string): Promise<StackView> {
  const unique = [...new Set(ids)];
  if (unique.length < 2) throw new UsageError('a stack needs at least two assets (the selection matched fewer)');
  const lead = primary ?? unique[0]!;
  if (!unique.includes(lead)) throw new UsageError(`--primary ${lead}: not one of the selected assets`);
  const id = crypto.randomUUID();
  await ctx.db.transaction().execute(async (trx) => {
    const old = (await trx.selectFrom('assets').select('stack_id').distinct().where('id', 'in', unique).where('stack_id', 'is not', null).execute()).map((r) => r.stack_id!);
    await trx.insertInto('stacks').values({ id, primary_asset_id: lead }).execute();
    if (old.length) await trx.updateTable('assets').set({ stack_id: id }).where('stack_id', 'in', old).execute();
    await trx.updateTable('assets').set({ stack_id: id }).where('id', 'in', unique).execute();
    if (old.length) await trx.deleteFrom('stacks').where('id', 'in', old).execute();
  });
  return (await showStacks(ctx, [id]))[0]!;
}

/** Stacks with their members (primary first), for these stack ids. */
export async function showStacks(ctx: Context, stackIds: string[]): Promise<StackView[]> {
  if (!stackIds.length) return [];
  const stacks = await ctx.db.selectFrom('stacks').select(['id', 'primary_asset_id']).where('id', 'in', stackIds).execute();
  const members = await ctx.db
    .selectFrom('assets')
    .select(['id', 'stack_id', 'library_path', 'original_name', 'taken_at', 'deleted_at'])
    .where('stack_id', 'in', stackIds)
    .orderBy('taken_at')
    .orderBy('original_name')
    .execute();
  return stacks
    .map((s) => {
      const ms = members
        .filter((m) => m.stack_id === s.id)
        .map((m) => ({
          id: m.id,
          path: ctx.library.resolve(m.library_path),
          originalName: m.original_name,
          takenAt: m.taken_at ? new Date(m.taken_at).toISOString() : null,
          primary: m.id === s.primary_asset_id,
          trashed: Boolean(m.deleted_at),
        }))
        .sort((a, b) => Number(b.primary) - Number(a.primary));
      return { id: s.id, primaryAssetId: s.primary_asset_id, count: ms.length, members: ms };
    })
    .sort((a, b) => (a.members[0]?.path ?? '').localeCompare(b.members[0]?.path ?? ''));
}

/** The stacks of these assets (or every stack). */
export async function stacksOf(ctx: Context, assetIds?: string[]): Promise<string[]> {
  if (!assetIds) return (await ctx.db.selectFrom('stacks').select('id').execute()).map((r) => r.id);
  const out = new Set<string>();
  for (let k = 0; k < assetIds.length; k += CHUNK) {
    const rows = await ctx.db.selectFrom('assets').select('stack_id').where('id', 'in', assetIds.slice(k, k + CHUNK)).where('stack_id', 'is not', null).execute();
    for (const r of rows) out.add(r.stack_id!);
  }
  return [...out];
}

/** Make an asset the primary of its stack. */
export async function setPrimary(ctx: Context, assetId: string): Promise<StackView> {
  const row = await ctx.db.selectFrom('assets').select('stack_id').where('id', '=', assetId).executeTakeFirst();
  if (!row?.stack_id) throw new UsageError(`asset ${assetId} is in no stack`);
  await ctx.db.transaction().execute(async (trx) => {
    await trx.updateTable('stacks').set({ primary_asset_id: assetId }).where('id', '=', row.stack_id!).execute();
    // The user's choice stands: a trashed former primary restored later does not take the role back.
    await trx.deleteFrom('stack_former_primaries').where('stack_id', '=', row.stack_id!).execute();
  });
  return (await showStacks(ctx, [row.stack_id]))[0]!;
}

/** Dissolve stacks: members become separate assets again (nothing is deleted). */
export async function removeStacks(ctx: Context, stackIds: string[]): Promise<number> {
  let removed = 0;
  for (let k = 0; k < stackIds.length; k += CHUNK) {
    const chunk = stackIds.slice(k, k + CHUNK);
    await ctx.db.transaction().execute(async (trx) => {
      await trx.updateTable('assets').set({ stack_id: null }).where('stack_id', 'in', chunk).execute();
      removed += Number((await trx.deleteFrom('stacks').where('id', 'in', chunk).executeTakeFirst()).numDeletedRows ?? 0);
    });
  }
  return removed;
}

export interface AutoStackResult {
  dryRun: boolean;
  rules: StackRule[];
  candidates: number;
  /** Stacks made (or joined), with their members, primary first. */
  stacks: ProposedStack[];
  created: number;
  joined: number;
  assetsStacked: number;
}

/**
 * The assets the rules look at: every asset not trashed, no Live Photo video halves (new files of an
 * import stack with what the library has already).
 */
async function loadCandidates(ctx: Context): Promise<StackCandidate[]> {
  const q = ctx.db
    .selectFrom('assets as a')
    .leftJoin('exif as e', 'e.asset_id', 'a.id')
    .select(['a.id', 'a.original_path', 'a.type', 'a.taken_at', 'a.stack_id', 'e.make', 'e.model', 'e.burst_id'])
    .where('a.deleted_at', 'is', null)
    .where('a.is_motion_part', '=', false);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    originalPath: r.original_path,
    type: r.type,
    takenAt: r.taken_at ? new Date(r.taken_at).getTime() : null,
    make: r.make,
    model: r.model,
    burstId: r.burst_id ?? null,
    stackId: r.stack_id,
  }));
}

/**
 * Apply the stack rules to the library (or, with `only`, to stacks that contain one of those
 * assets: `import --stack auto`).
 */
export async function autoStack(ctx: Context, opts: { rules: ReadonlySet<StackRule>; dryRun?: boolean; only?: string[] }): Promise<AutoStackResult> {
  const cands = await loadCandidates(ctx);
  let stacks = proposeStacks(cands, opts.rules);
  if (opts.only) {
    const only = new Set(opts.only);
    stacks = stacks.filter((s) => s.ids.some((id) => only.has(id)));
  }
  const result: AutoStackResult = {
    dryRun: Boolean(opts.dryRun),
    rules: [...opts.rules],
    candidates: cands.length,
    stacks,
    created: stacks.filter((s) => !s.joins).length,
    joined: stacks.filter((s) => s.joins).length,
    assetsStacked: stacks.reduce((n, s) => n + s.ids.length, 0),
  };
  if (opts.dryRun || !stacks.length) return result;
  // Bulk writes: array parameters, so a few statements carry 100k members (a statement per 1000
  // rows cost twice the bare UPDATE's time on PostgreSQL).
  const fresh = stacks.filter((s) => !s.joins).map((s) => ({ ...s, stackId: crypto.randomUUID() }));
  const assign: Array<{ id: string; stackId: string }> = [];
  for (const s of fresh) for (const id of s.ids) assign.push({ id, stackId: s.stackId });
  for (const s of stacks) if (s.joins) for (const id of s.ids) assign.push({ id, stackId: s.joins });
  await ctx.db.transaction().execute(async (trx) => {
    for (let k = 0; k < fresh.length; k += BULK) {
      const part = fresh.slice(k, k + BULK);
      await trx
        .insertInto('stacks')
        .columns(['id', 'primary_asset_id'])
        .expression(sql`select unnest(${sql.val(part.map((p) => p.stackId))}::uuid[]), unnest(${sql.val(part.map((p) => p.primary))}::uuid[])`)
        .execute();
    }
    for (let k = 0; k < assign.length; k += BULK) {
      const part = assign.slice(k, k + BULK);
      // Two array parameters instead of two per row (PostgreSQL allows 65535 per statement).
      await sql`update assets set stack_id = v.stack_id
        from (select unnest(${sql.val(part.map((p) => p.id))}::uuid[]) as id, unnest(${sql.val(part.map((p) => p.stackId))}::uuid[]) as stack_id) v
        where assets.id = v.id`.execute(trx);
    }
  });
  return result;
}
