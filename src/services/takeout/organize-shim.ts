// TEMPORARY, until the organize branch's repositories (src/db/albums.ts, src/db/user-tags.ts) are
// merged: the same signatures, so apply.ts switches by changing one import. Albums use the 0060
// tables; tags go to the search area's `tags`/`asset_tags` (source 'takeout', case kept).
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.js';

type Db = Kysely<DB>;

export async function ensureAlbum(db: Db, name: string): Promise<{ album: { id: string }; created: boolean }> {
  const found = await db.selectFrom('albums').select('id').where('name', '=', name).where('parent_id', 'is', null).executeTakeFirst();
  if (found) return { album: found, created: false };
  const row = await db.insertInto('albums').values({ parent_id: null, name }).returning('id').executeTakeFirstOrThrow();
  return { album: row, created: true };
}

export async function describeAlbum(db: Db, albumId: string, description: string | null): Promise<void> {
  await db.updateTable('albums').set({ description }).where('id', '=', albumId).execute();
}

export async function addToAlbum(db: Db, albumId: string, assetIds: string[]): Promise<number> {
  let added = 0;
  for (let i = 0; i < assetIds.length; i += 500) {
    const rows = assetIds.slice(i, i + 500).map((asset_id) => ({ album_id: albumId, asset_id }));
    const r = await db.insertInto('album_assets').values(rows).onConflict((oc) => oc.columns(['album_id', 'asset_id']).doNothing()).executeTakeFirst();
    added += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  return added;
}

export async function tagAssets(db: Db, assetIds: string[], value: string, source: 'takeout'): Promise<number> {
  await db.insertInto('tags').values({ name: value }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const tag = await db.selectFrom('tags').select('id').where('name', '=', value).executeTakeFirstOrThrow();
  let added = 0;
  for (let i = 0; i < assetIds.length; i += 500) {
    const rows = assetIds.slice(i, i + 500).map((asset_id) => ({ asset_id, tag_id: tag.id, source, score: null, count: null, box: null }));
    const r = await db.insertInto('asset_tags').values(rows).onConflict((oc) => oc.columns(['asset_id', 'tag_id', 'source']).doNothing()).executeTakeFirst();
    added += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  return added;
}
