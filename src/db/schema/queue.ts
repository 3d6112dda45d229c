// Row types for the queue area's migrations (0050-0059).
import type { ColumnType } from 'kysely';

export interface AssetOfflineTable {
  asset_id: string;
  original_path: string;
  detected_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface QueueTables {
  /** migrations/0050_queue_offline.sql: in-place assets whose file is gone. */
  asset_offline: AssetOfflineTable;
}
