// After the files of a Takeout are imported (or found already in the library): every asset goes into
// the albums it was found in, gets its People/<name> tags, and a photo with one detected face and
// one name has that face named, and edited copies are stacked under their original. All of it is idempotent, so a re-run (after a kill -9 too) adds
// nothing and finishes what a killed run left.
import type { Context } from '../../context.js';
import type { FileOutcome } from '../import.js';
import { addToAlbum, describeAlbum, ensureAlbum } from '../../db/albums.js';
import { tagAssets } from '../../db/user-tags.js';
import { stackEditedCopies } from '../stacks.js';
import type { TakeoutReport, TakeoutScan } from './source.js';

export interface TakeoutSummary extends TakeoutReport {
  albums: Array<{ name: string; assets: number; added: number }>;
  /** People/<name> tags given (new asset-tag pairs). */
  peopleTagged: number;
  /** Faces named from the Takeout's people (one face, one name). */
  facesNamed: number;
  /** Edited copies stacked under their original (the original is the primary). */
  editsStacked: number;
}

/** An album name is one path segment: a '/' in a Google album title becomes '∕' (U+2215). */
const segment = (s: string) => s.replaceAll('/', '\u2215').trim() || 'Untitled';

export async function applyTakeout(ctx: Context | undefined, scan: TakeoutScan, outcomes: FileOutcome[]): Promise<TakeoutSummary> {
  const byPath = new Map(outcomes.map((o) => [o.path, o]));
  const summary: TakeoutSummary = { ...scan.report, albums: [], peopleTagged: 0, facesNamed: 0, editsStacked: 0 };
  for (const o of outcomes) if (o.dateConflict) summary.dateConflicts.push({ path: o.path, ...o.dateConflict });

  const albumAssets = new Map<string, Set<string>>();
  const people = new Map<string, Set<string>>();
  const namesOf = new Map<string, Set<string>>();
  const edits: Array<{ original: string; edited: string }> = [];
  const assetOf = (p: string) => {
    const o = byPath.get(p);
    return o?.action !== 'failed' ? o?.assetId : undefined;
  };
  for (const item of scan.items) {
    const assetId = assetOf(item.path);
    const original = item.editOf ? assetOf(item.editOf) : undefined;
    if (assetId && original && original !== assetId) edits.push({ original, edited: assetId });
    if (item.album) {
      const set = albumAssets.get(item.album) ?? albumAssets.set(item.album, new Set()).get(item.album)!;
      if (assetId) set.add(assetId);
    }
    if (!assetId) continue;
    for (const name of item.facts?.people ?? []) {
      (people.get(name) ?? people.set(name, new Set()).get(name)!).add(assetId);
      (namesOf.get(assetId) ?? namesOf.set(assetId, new Set()).get(assetId)!).add(name);
    }
  }

  for (const [key, album] of scan.albums) {
    const ids = [...(albumAssets.get(key) ?? [])];
    const name = segment(album.title);
    if (!ctx) {
      summary.albums.push({ name, assets: ids.length, added: 0 });
      continue;
    }
    if (!ids.length) continue;
    const { album: row, created } = await ensureAlbum(ctx.db, name);
    // The album's description is the Takeout's only when we made the album: a user's edit stays.
    if (created && album.description) await describeAlbum(ctx.db, row.id, album.description);
    summary.albums.push({ name, assets: ids.length, added: await addToAlbum(ctx.db, row.id, ids) });
  }
  if (!ctx) return summary;

  for (const [name, ids] of people) summary.peopleTagged += await tagAssets(ctx.db, [...ids], `People/${name.replaceAll('/', '\u2215')}`, 'takeout');
  summary.facesNamed = await nameSingleFaces(ctx, namesOf);
  // Edited copies with their original, as Immich and immich-go stack them (without --stack auto).
  summary.editsStacked = await stackEditedCopies(ctx, edits);
  return summary;
}

/**
 * Where a photo has exactly one detected face and its Takeout names exactly one person, the face
 * belongs to that person: given to the named person (made if missing), unless a user already put
 * it with a named person.
 */
async function nameSingleFaces(ctx: Context, namesOf: Map<string, Set<string>>): Promise<number> {
  const single = [...namesOf].filter(([, names]) => names.size === 1).map(([id]) => id);
  let named = 0;
  for (let k = 0; k < single.length; k += 500) {
    const chunk = single.slice(k, k + 500);
    const faces = await ctx.db
      .selectFrom('asset_faces')
      .leftJoin('people', 'people.id', 'asset_faces.person_id')
      .select(['asset_faces.id', 'asset_faces.asset_id', 'people.name as person_name'])
      .where('asset_faces.asset_id', 'in', chunk)
      .execute();
    const byAsset = new Map<string, typeof faces>();
    for (const f of faces) (byAsset.get(f.asset_id) ?? byAsset.set(f.asset_id, []).get(f.asset_id)!).push(f);
    for (const [assetId, list] of byAsset) {
      if (list.length !== 1 || list[0]!.person_name) continue;
      const name = [...namesOf.get(assetId)!][0]!;
      const person =
        (await ctx.db.selectFrom('people').select('id').where('name', '=', name).orderBy('created_at').executeTakeFirst()) ??
        (await ctx.db.insertInto('people').values({ name, cover_face_id: list[0]!.id }).returning('id').executeTakeFirstOrThrow());
      await ctx.db.updateTable('asset_faces').set({ person_id: person.id, assigned_by: 'manual' }).where('id', '=', list[0]!.id).execute();
      named++;
    }
  }
  return named;
}
