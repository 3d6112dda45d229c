// Row types for the export migrations (0190–0199).
import type { ColumnType } from 'kysely';

/** Migration 0190: when export last hashed a library file in full and found its checksum. */
export interface ExportSourceChecksTable {
  asset_id: string;
  library_path: string;
  checksum: string;
  checked_at: ColumnType<Date, Date | string, Date | string>;
  /** `dev:ino:size:ctimeNs` of the file when it was hashed. */
  stamp: string;
}

export interface ExportTables {
  export_source_checks: ExportSourceChecksTable;
}
