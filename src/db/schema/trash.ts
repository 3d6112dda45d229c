// Row types for the trash area's migrations (0070–0079).
import type { ColumnType } from 'kysely';

export interface AssetPurgeTable {
  asset_id: string;
  delete_original: boolean;
  marked_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface TrashTables {
  asset_purge: AssetPurgeTable;
}
