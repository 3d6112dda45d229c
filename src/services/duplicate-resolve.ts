// `immich duplicates resolve`: in each near-duplicate group keep one copy (duplicate-policy.ts decides
// which, and what it takes over from the others), merge that metadata into it, and trash the other
// copies (or stack them under the kept one). Edits reach the kept copy's XMP sidecar.
import type { Context } from '../context.js';
import { sql } from '../db/kysely.js';
import { resolveGroup, type DupAsset, type GroupResolution, type KeepPolicy, type MergeField } from './duplicate-policy.js';
import { findDuplicates, type DuplicateMethod } from './duplicates.js';

export interface ResolveOptions {
  keep: KeepPolicy;
  merge: ReadonlySet<MergeField>;
  stackInstead?: boolean;
  dryRun?: boolean;
  method?: DuplicateMethod | 'auto';
  threshold?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ResolvedGroupView extends GroupResolution {
  keepPath: string;
  otherPaths: string[];
}

export interface ResolveResult {
  dryRun: boolean;
  method: DuplicateMethod;
  threshold: number;
  keep: KeepPolicy;
  merge: MergeField[];
  action: 'trash' | 'stack';
  groups: ResolvedGroupView[];
  trashed: number;
  stacked: number;
  sidecarFailures: Array<{ file: string; error: string }>;
}

/** Everything the policy looks at, for the assets of the groups (a chunk at a time). */
async function loadDupAssets(ctx: Context, all: string[]): Promise<Map<string, DupAsset & { path: string }>> {
  const out = new Map<string, DupAsset & { path: string }>();
  for (let k = 0; k < all.length; k += 2000) await loadDupChunk(ctx, all.slice(k, k + 2000), out);
  return out;
}

async function loadDupChunk(ctx: Context, ids: string[], out: Map<string, DupAsset & { path: string }>): Promise<void> {
  const rows = await ctx.db
    .selectFrom('assets as a')
    .leftJoin('exif as e', 'e.asset_id', 'a.id')
    .select([
      'a.id', 'a.original_name', 'a.library_path', 'a.width', 'a.height', 'a.file_size', 'a.taken_at', 'a.time_zone', 'a.created_at', 'a.is_favorite',
      'e.latitude', 'e.longitude', 'e.make', 'e.model',
      sql<number | null>`coalesce(a.rating, e.rating)`.as('rating'),
      sql<string | null>`coalesce(a.description, e.description)`.as('description'),
    ])
    .where('a.id', 'in', ids)
    .execute();
  const albums = await ctx.db.selectFrom('album_assets').select(['asset_id', 'album_id']).where('asset_id', 'in', ids).execute();
  const tags = await ctx.db.selectFrom('asset_user_tags').select(['asset_id', 'tag_id']).where('asset_id', 'in', ids).execute();
  const faces = await ctx.db
    .selectFrom('asset_faces')
    .select(['id', 'asset_id', 'person_id', 'image_width', 'image_height', 'box_x1', 'box_y1', 'box_x2', 'box_y2'])
    .where('asset_id', 'in', ids)
    .execute();
  for (const r of rows) {
    out.set(r.id, {
      id: r.id,
      path: ctx.library.resolve(r.library_path),
      originalName: r.original_name,
      width: r.width,
      height: r.height,
      fileSize: Number(r.file_size),
      takenAt: r.taken_at ? new Date(r.taken_at).getTime() : null,
      hasZone: Boolean(r.time_zone),
      latitude: r.latitude ?? null,
      longitude: r.longitude ?? null,
      make: r.make,
      model: r.model,
      importedAt: new Date(r.created_at).getTime(),
      isFavorite: r.is_favorite,
      rating: r.rating === null ? null : Number(r.rating),
      description: r.description,
      albums: albums.filter((x) => x.asset_id === r.id).map((x) => x.album_id),
      tags: tags.filter((x) => x.asset_id === r.id).map((x) => x.tag_id),
      faces: faces
        .filter((f) => f.asset_id === r.id)
        .map((f) => ({
          id: f.id,
          personId: f.person_id,
          box: [f.box_x1 / f.image_width, f.box_y1 / f.image_height, f.box_x2 / f.image_width, f.box_y2 / f.image_height] as [number, number, number, number],
        })),
    });
  }
}

export async function resolveDuplicates(ctx: Context, opts: ResolveOptions): Promise<ResolveResult> {
  const found = await findDuplicates(ctx, { method: opts.method, threshold: opts.threshold, onProgress: opts.onProgress });
  const assets = await loadDupAssets(ctx, found.groups.flat());
  // Groups already stacked together (an earlier --stack-instead) are resolved.
  const stackOf = new Map<string, string | null>();
  for (let k = 0; k < found.groups.flat().length; k += 1000) {
    const rows = await ctx.db.selectFrom('stack_assets').select(['asset_id', 'stack_id']).where('asset_id', 'in', found.groups.flat().slice(k, k + 1000)).execute();
    for (const r of rows) stackOf.set(r.asset_id, r.stack_id);
  }
  const result: ResolveResult = {
    dryRun: Boolean(opts.dryRun),
    method: found.method,
    threshold: found.threshold,
    keep: opts.keep,
    merge: [...opts.merge],
    action: opts.stackInstead ? 'stack' : 'trash',
    groups: [],
    trashed: 0,
    stacked: 0,
    sidecarFailures: [],
  };
  for (const g of found.groups) {
    const members = g.map((id) => assets.get(id)).filter((a): a is DupAsset & { path: string } => Boolean(a));
    if (members.length < 2) continue;
    const stacks = new Set(members.map((a) => stackOf.get(a.id) ?? null));
    if (stacks.size === 1 && !stacks.has(null)) continue;
    const r = resolveGroup(members, opts.keep, opts.merge);
    result.groups.push({ ...r, keepPath: assets.get(r.keep)!.path, otherPaths: r.others.map((id) => assets.get(id)!.path) });
  }
  if (opts.dryRun || !result.groups.length) return result;

  const { markPending, writeSidecars } = await import('./sidecars.js');
  const { moveToTrash } = await import('./trash.js');
  const { createStack } = await import('./stacks.js');
  const now = new Date();
  const edited: string[] = [];
  for (const g of result.groups) {
    const m = g.merge;
    const touchesSidecar = m.rating !== undefined || m.description !== undefined || m.tags.length > 0 || m.location !== undefined;
    await ctx.db.transaction().execute(async (trx) => {
      if (m.albums.length) {
        await trx.insertInto('album_assets').values(m.albums.map((album_id) => ({ album_id, asset_id: g.keep }))).onConflict((oc) => oc.doNothing()).execute();
      }
      const set: { is_favorite?: boolean; rating?: number; description?: string; edited_at: Date; updated_at: Date } = { edited_at: now, updated_at: now };
      if (m.favorite) set.is_favorite = true;
      if (m.rating !== undefined) set.rating = m.rating;
      if (m.description !== undefined) set.description = m.description;
      await trx.updateTable('assets').set(set).where('id', '=', g.keep).execute();
      if (m.tags.length) {
        await trx.insertInto('asset_user_tags').values(m.tags.map((tag_id) => ({ asset_id: g.keep, tag_id, source: 'user' as const }))).onConflict((oc) => oc.doNothing()).execute();
      }
      if (m.location) {
        await trx
          .insertInto('exif')
          .values({ asset_id: g.keep, latitude: m.location.latitude, longitude: m.location.longitude } as never)
          .onConflict((oc) => oc.column('asset_id').doUpdateSet({ latitude: m.location!.latitude, longitude: m.location!.longitude, updated_at: now }))
          .execute();
      }
      for (const f of m.faces) await trx.updateTable('asset_faces').set({ person_id: f.personId, assigned_by: 'manual' }).where('id', '=', f.faceId).execute();
      if (touchesSidecar) await markPending(trx as unknown as Context['db'], [g.keep]);
    });
    if (touchesSidecar) edited.push(g.keep);
    if (opts.stackInstead) {
      await createStack(ctx, [g.keep, ...g.others], g.keep);
      result.stacked += g.others.length;
    } else {
      const t = await moveToTrash(ctx, g.others);
      result.trashed += t.trashed.length;
    }
  }
  if (edited.length) {
    const w = await writeSidecars(ctx, edited);
    result.sidecarFailures = w.failed.map((f) => ({ file: f.file, error: f.error }));
  }
  return result;
}
