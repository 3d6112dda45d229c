// Row types for the trash area's migrations (0070–0079).
import type { ColumnType } from 'kysely';

export interface AssetPurgeTable {
  asset_id: string;
  delete_original: boolean;
  marked_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** The primary a stack had before it was trashed (migration 0072): it gets the role back on restore. */
export interface StackFormerPrimariesTable {
  stack_id: string;
  asset_id: string;
}

/** Stack membership (migration 0073; was assets.stack_id): one row per member, the primary included. */
export interface StackAssetsTable {
  asset_id: string;
  stack_id: string;
}

export interface TrashTables {
  stack_assets: StackAssetsTable;
  asset_purge: AssetPurgeTable;
  stack_former_primaries: StackFormerPrimariesTable;
}
