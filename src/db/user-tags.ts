// User tags repository: hierarchical ('Trips/2024/Lisbon'), case-preserving tags (migration 0061),
// given by the user (edit), read from XMP sidecars, or imported from Google Takeout. Object and
// scene tags from the detectors stay in `tags`/`asset_tags`. Every function takes a Kysely handle
// so callers can run several in one transaction.
import type { Kysely } from 'kysely';
import { sql } from './kysely.js';
import type { DB, UserTagSource } from './schema.js';
import { UsageError } from '../errors.js';

type Db = Kysely<DB>;

export interface AssetTag {
  /** Full path, e.g. 'Trips/2024'. */
  value: string;
  source: UserTagSource;
}

const CHUNK = 20000;

/** 'Trips / 2024/' → 'Trips/2024'; an empty name is a usage error. */
export function normaliseTag(value: string): string {
  const parts = value.split('/').map((s) => s.trim());
  if (!value.trim() || parts.some((p) => !p)) throw new UsageError(`${JSON.stringify(value)} is not a tag (names separated by "/", none empty)`);
  return parts.join('/');
}

/** A tag and its ancestors: 'a/b/c' → ['a', 'a/b', 'a/b/c']. */
export function tagLineage(value: string): string[] {
  const parts = value.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Create tags (and their parents) that do not exist yet; returns lower-cased path → id. Existing tags keep their case. */
export async function ensureTags(db: Db, values: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const wanted = [...new Set(values.map(normaliseTag).flatMap(tagLineage))].sort((a, b) => a.split('/').length - b.split('/').length);
  if (!wanted.length) return out;
  const existing = await db
    .selectFrom('user_tags')
    .select(['id', 'value'])
    .where(sql<string>`lower(value)`, 'in', wanted.map((w) => w.toLowerCase()))
    .execute();
  for (const r of existing) out.set(r.value.toLowerCase(), r.id);
  for (const v of wanted) {
    const key = v.toLowerCase();
    if (out.has(key)) continue;
    const parent = v.includes('/') ? out.get(key.slice(0, key.lastIndexOf('/'))) ?? null : null;
    // Another process may create it meanwhile: keep theirs.
    await db
      .insertInto('user_tags')
      .values({ value: v, parent_id: parent })
      .onConflict((oc) => oc.expression(sql`lower(value)`).doNothing())
      .execute();
    const row = await db.selectFrom('user_tags').select('id').where(sql<string>`lower(value)`, '=', key).executeTakeFirstOrThrow();
    out.set(key, row.id);
  }
  return out;
}

/** A tag by path (case-insensitive). */
export async function findUserTag(db: Db, value: string): Promise<{ id: string; value: string } | undefined> {
  return db.selectFrom('user_tags').select(['id', 'value']).where(sql<string>`lower(value)`, '=', normaliseTag(value).toLowerCase()).executeTakeFirst();
}

/** Give assets a tag; returns how many did not have it. An existing row keeps its source. */
export async function tagAssets(db: Db, assetIds: string[], value: string, source: UserTagSource = 'user'): Promise<number> {
  const ids = await ensureTags(db, [value]);
  const tagId = ids.get(normaliseTag(value).toLowerCase())!;
  let added = 0;
  for (let i = 0; i < assetIds.length; i += CHUNK) {
    // One array parameter per chunk: a row of parameters per asset would hit PostgreSQL's 65535 limit.
    const r = await db
      .insertInto('asset_user_tags')
      .columns(['asset_id', 'tag_id', 'source'])
      .expression(sql`select unnest(${sql.val(assetIds.slice(i, i + CHUNK))}::uuid[]), ${tagId}::uuid, ${source}::text`)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    added += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  return added;
}

/** Take a tag and every tag under it off assets; returns how many rows went. */
export async function untagAssets(db: Db, assetIds: string[], value: string): Promise<number> {
  const v = normaliseTag(value).toLowerCase();
  const tagIds = db
    .selectFrom('user_tags')
    .select('id')
    .where((eb) => eb.or([eb(sql`lower(value)`, '=', v), eb(sql`lower(value)`, 'like', v.replace(/[\\%_]/g, (m) => '\\' + m) + '/%')]));
  let removed = 0;
  for (let i = 0; i < assetIds.length; i += CHUNK) {
    const r = await db
      .deleteFrom('asset_user_tags')
      .where('tag_id', 'in', tagIds)
      .where(sql<boolean>`asset_id = any(${sql.val(assetIds.slice(i, i + CHUNK))}::uuid[])`)
      .executeTakeFirst();
    removed += Number(r.numDeletedRows ?? 0);
  }
  return removed;
}

/** Replace an asset's tags from one source (a re-read sidecar); tags from other sources stay. */
export async function setAssetTagsFromSource(db: Db, assetId: string, values: string[], source: UserTagSource): Promise<void> {
  await db.deleteFrom('asset_user_tags').where('asset_id', '=', assetId).where('source', '=', source).execute();
  if (!values.length) return;
  const ids = await ensureTags(db, values);
  const rows = [...new Set(values.map((v) => ids.get(normaliseTag(v).toLowerCase())!))].map((tag_id) => ({ asset_id: assetId, tag_id, source }));
  await db.insertInto('asset_user_tags').values(rows).onConflict((oc) => oc.doNothing()).execute();
}

/** User tags of each asset, sorted by path. */
export async function userTagsOfAssets(db: Db, assetIds: string[]): Promise<Map<string, AssetTag[]>> {
  const out = new Map<string, AssetTag[]>();
  for (let i = 0; i < assetIds.length; i += CHUNK) {
    const rows = await db
      .selectFrom('asset_user_tags as at')
      .innerJoin('user_tags as t', 't.id', 'at.tag_id')
      .select(['at.asset_id', 't.value', 'at.source'])
      .where(sql<boolean>`at.asset_id = any(${sql.val(assetIds.slice(i, i + CHUNK))}::uuid[])`)
      .orderBy('t.value')
      .execute();
    for (const r of rows) {
      const list = out.get(r.asset_id) ?? [];
      list.push({ value: r.value, source: r.source });
      out.set(r.asset_id, list);
    }
  }
  return out;
}

export interface UserTagCount {
  id: string;
  /** Full path, e.g. 'Trips/2024'. */
  value: string;
  parentId: string | null;
  /** Assets (not in the trash) carrying this very tag. */
  assetCount: number;
  /** Assets (not in the trash) carrying it or a tag below it, each once. */
  totalCount: number;
}

/** Every user tag, sorted by path, with how many assets carry it and it or a tag below it. */
export async function listUserTags(db: Db): Promise<UserTagCount[]> {
  // Each tag joined to itself and the tags below it, then to the (untrashed) assets carrying those.
  const rows = await sql<{ id: string; value: string; parent_id: string | null; n: number; total: number }>`
    select t.id, t.value, t.parent_id,
      count(distinct c.asset_id) filter (where c.tag_id = t.id)::int as n,
      count(distinct c.asset_id)::int as total
    from user_tags t
    join user_tags u on lower(u.value) = lower(t.value)
      or lower(u.value) like replace(replace(replace(lower(t.value), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '/%'
    left join (asset_user_tags c join assets a on a.id = c.asset_id and a.deleted_at is null) on c.tag_id = u.id
    group by t.id, t.value, t.parent_id
    order by t.value`.execute(db);
  return rows.rows.map((r) => ({ id: r.id, value: r.value, parentId: r.parent_id, assetCount: Number(r.n), totalCount: Number(r.total) }));
}
