// When the user last edited an asset (export --update re-exports it, info shows it). Bulk edits record
// it in the narrow asset_edits table (migration 0111): rewriting the wide, heavily indexed assets row
// of every selected asset was most of a 100k `immich edit`. assets.edited_at is still set by
// single-asset writers (and holds the edits made before 0111), so readers take the later of the two.
import type { Kysely, RawBuilder } from 'kysely';
import { sql } from './kysely.js';
import type { DB } from './schema.js';

const CHUNK = 20000;

/**
 * Record that these assets were edited at `at`: one upsert per 20k ids (one array parameter each).
 * With xmp, an XMP field changed too: their sidecars are behind until written (pendingSidecars).
 */
export async function markEdited(db: Kysely<DB>, ids: string[], at: Date, opts: { xmp?: boolean } = {}): Promise<void> {
  const xmpAt = opts.xmp ? at : null;
  for (let i = 0; i < ids.length; i += CHUNK) {
    await db
      .insertInto('asset_edits')
      .columns(['asset_id', 'edited_at', 'xmp_edited_at'])
      .expression(sql`select unnest(${sql.val(ids.slice(i, i + CHUNK))}::uuid[]), ${at}::timestamptz, ${xmpAt}::timestamptz`)
      .onConflict((oc) => oc.column('asset_id').doUpdateSet({ edited_at: at, xmp_edited_at: sql`coalesce(excluded.xmp_edited_at, asset_edits.xmp_edited_at)` }))
      .execute();
  }
}

/**
 * The last edit of the asset in `assets` (a table or alias with its row in the query): the later of
 * assets.edited_at and its asset_edits row, null when never edited. greatest() ignores nulls.
 */
export function lastEdited(assets: string): RawBuilder<Date | null> {
  return sql<Date | null>`greatest(${sql.ref(`${assets}.edited_at`)}, (select ae.edited_at from asset_edits ae where ae.asset_id = ${sql.ref(`${assets}.id`)}))`;
}
