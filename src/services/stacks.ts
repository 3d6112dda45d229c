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
    const old = (await trx.selectFrom('stack_assets').select('stack_id').distinct().where('asset_id', 'in', unique).execute()).map((r) => r.stack_id);
    await trx.insertInto('stacks').values({ id, primary_asset_id: lead }).execute();
    if (old.length) await trx.updateTable('stack_assets').set({ stack_id: id }).where('stack_id', 'in', old).execute();
    await sql`insert into stack_assets (asset_id, stack_id) select unnest(${sql.val(unique)}::uuid[]), ${id}::uuid
      on conflict (asset_id) do update set stack_id = excluded.stack_id`.execute(trx);
    if (old.length) await trx.deleteFrom('stacks').where('id', 'in', old).execute();
  });
  return (await showStacks(ctx, [id]))[0]!;
}

/** Stacks with their members (primary first), for these stack ids. */
export async function showStacks(ctx: Context, stackIds: string[]): Promise<StackView[]> {
  if (!stackIds.length) return [];
  const stacks = await ctx.db.selectFrom('stacks').select(['id', 'primary_asset_id']).where('id', 'in', stackIds).execute();
  const members = await ctx.db
    .selectFrom('stack_assets as sa')
    .innerJoin('assets as a', 'a.id', 'sa.asset_id')
    .select(['a.id', 'sa.stack_id', 'a.library_path', 'a.original_name', 'a.taken_at', 'a.deleted_at'])
    .where('sa.stack_id', 'in', stackIds)
    .orderBy('a.taken_at')
    .orderBy('a.original_name')
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
    const rows = await ctx.db.selectFrom('stack_assets').select('stack_id').where('asset_id', 'in', assetIds.slice(k, k + CHUNK)).execute();
    for (const r of rows) out.add(r.stack_id);
  }
  return [...out];
}

/** Make an asset the primary of its stack. */
export async function setPrimary(ctx: Context, assetId: string): Promise<StackView> {
  const row = await ctx.db.selectFrom('stack_assets').select('stack_id').where('asset_id', '=', assetId).executeTakeFirst();
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
      // Their membership rows go with them (cascade).
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
 * import stack with what the library has already). One narrow row each: the capture time as epoch
 * milliseconds (no Date per row), the membership from stack_assets.
 */
async function loadCandidates(ctx: Context): Promise<StackCandidate[]> {
  const { rows } = await sql<{ id: string; original_path: string; type: 'image' | 'video'; taken_ms: string | number | null; stack_id: string | null; make: string | null; model: string | null; burst_id: string | null }>`
    select a.id, a.original_path, a.type, (extract(epoch from a.taken_at) * 1000)::float8 as taken_ms, sa.stack_id, e.make, e.model, e.burst_id
    from assets a
    left join exif e on e.asset_id = a.id
    left join stack_assets sa on sa.asset_id = a.id
    where a.deleted_at is null and not a.is_motion_part`.execute(ctx.db);
  return rows.map((r) => ({
    id: r.id,
    originalPath: r.original_path,
    type: r.type,
    takenAt: r.taken_ms === null ? null : Math.round(Number(r.taken_ms)),
    make: r.make,
    model: r.model,
    burstId: r.burst_id ?? null,
    stackId: r.stack_id,
  }));
}

/**
 * Apply the stack rules to the library (or, with `only`, to stacks that contain one of those
 * assets: `import --stack auto`). Writes only what changes: new stacks and the membership rows of
 * assets that were in no stack (narrow stack_assets rows; assets rows are not touched).
 */
export async function autoStack(ctx: Context, opts: { rules: ReadonlySet<StackRule>; dryRun?: boolean; only?: string[] }): Promise<AutoStackResult> {
  // Wall and CPU time per phase for the debug log (bench/trash reads it): on a loaded machine the
  // wall time says little, the CPU time says what the phase costs.
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  const c0 = cpu();
  const t0 = performance.now();
  const cands = await loadCandidates(ctx);
  const t1 = performance.now();
  const c1 = cpu();
  let stacks = proposeStacks(cands, opts.rules);
  if (opts.only) {
    const only = new Set(opts.only);
    stacks = stacks.filter((s) => s.ids.some((id) => only.has(id)));
  }
  const t2 = performance.now();
  const c2 = cpu();
  const result: AutoStackResult = {
    dryRun: Boolean(opts.dryRun),
    rules: [...opts.rules],
    candidates: cands.length,
    stacks,
    created: stacks.filter((s) => !s.joins).length,
    joined: stacks.filter((s) => s.joins).length,
    assetsStacked: stacks.reduce((n, s) => n + s.ids.length, 0),
  };
  if (!opts.dryRun && stacks.length) await writeStacks(ctx, stacks, new Map(cands.map((c) => [c.id, c.stackId ?? null])));
  const ms = (wall: number, c: number) => `${Math.round(wall)} ms (CPU ${Math.round(c)} ms)`;
  ctx.logger.debug(`stack auto: ${cands.length} candidates, ${stacks.length} stacks; load ${ms(t1 - t0, c1 - c0)}, rules ${ms(t2 - t1, c2 - c1)}, write ${ms(performance.now() - t2, cpu() - c2)}`);
  return result;
}

/** New stacks and new members of existing ones, a few statements with array parameters. */
async function writeStacks(ctx: Context, stacks: ProposedStack[], stackOf: Map<string, string | null>): Promise<void> {
  const fresh = stacks.filter((s) => !s.joins).map((s) => ({ ...s, stackId: crypto.randomUUID() }));
  const assign: Array<{ id: string; stackId: string }> = [];
  for (const s of fresh) for (const id of s.ids) assign.push({ id, stackId: s.stackId });
  // Joining an existing stack: only the members not in it yet get a row.
  for (const s of stacks) if (s.joins) for (const id of s.ids) if (stackOf.get(id) !== s.joins) assign.push({ id, stackId: s.joins });
  await ctx.db.transaction().execute(async (trx) => {
    for (let k = 0; k < fresh.length; k += BULK) {
      const part = fresh.slice(k, k + BULK);
      await sql`insert into stacks (id, primary_asset_id)
        select unnest(${sql.val(part.map((p) => p.stackId))}::uuid[]), unnest(${sql.val(part.map((p) => p.primary))}::uuid[])`.execute(trx);
    }
    for (let k = 0; k < assign.length; k += BULK) {
      const part = assign.slice(k, k + BULK);
      await sql`insert into stack_assets (asset_id, stack_id)
        select unnest(${sql.val(part.map((p) => p.id))}::uuid[]), unnest(${sql.val(part.map((p) => p.stackId))}::uuid[])
        on conflict (asset_id) do update set stack_id = excluded.stack_id`.execute(trx);
    }
  });
}

/**
 * Edited copies under their original (Takeout import): the original is the primary of a new stack,
 * or the copy joins the stack the original is in already. A copy in a stack already stays where it
 * is (stacks the user made are not merged), so a re-run changes nothing. Returns the copies stacked.
 */
export async function stackEditedCopies(ctx: Context, pairs: Array<{ original: string; edited: string }>): Promise<number> {
  if (!pairs.length) return 0;
  const ids = [...new Set(pairs.flatMap((p) => [p.original, p.edited]))];
  const stackOf = new Map<string, string>();
  for (let k = 0; k < ids.length; k += CHUNK) {
    for (const r of await ctx.db.selectFrom('stack_assets').select(['asset_id', 'stack_id']).where('asset_id', 'in', ids.slice(k, k + CHUNK)).execute()) stackOf.set(r.asset_id, r.stack_id);
  }
  const copies = new Map<string, string[]>();
  for (const p of pairs) if (!stackOf.has(p.edited)) (copies.get(p.original) ?? copies.set(p.original, []).get(p.original)!).push(p.edited);
  const fresh: Array<{ id: string; primary: string }> = [];
  const rows: Array<{ asset_id: string; stack_id: string }> = [];
  for (const [original, edited] of copies) {
    let stackId = stackOf.get(original);
    if (!stackId) {
      stackId = crypto.randomUUID();
      fresh.push({ id: stackId, primary: original });
      rows.push({ asset_id: original, stack_id: stackId });
    }
    for (const e of new Set(edited)) rows.push({ asset_id: e, stack_id: stackId });
  }
  if (!rows.length) return 0;
  await ctx.db.transaction().execute(async (trx) => {
    for (let k = 0; k < fresh.length; k += CHUNK) {
      await trx.insertInto('stacks').values(fresh.slice(k, k + CHUNK).map((f) => ({ id: f.id, primary_asset_id: f.primary }))).execute();
    }
    for (let k = 0; k < rows.length; k += CHUNK) {
      await trx.insertInto('stack_assets').values(rows.slice(k, k + CHUNK)).onConflict((oc) => oc.column('asset_id').doNothing()).execute();
    }
  });
  return rows.length - fresh.length;
}
