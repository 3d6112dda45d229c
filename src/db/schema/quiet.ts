// Row types for the quiet-re-runs migrations (0150–0159).
import type { ColumnType } from 'kysely';

export interface StageEnvironmentTable {
  id: ColumnType<number, number | undefined, number>;
  fingerprint: string;
  since: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface InPlaceRootsTable {
  path: string;
  ignore: ColumnType<string[], string[] | undefined, string[]>;
  added_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface QuietTables {
  stage_environment: StageEnvironmentTable;
  in_place_roots: InPlaceRootsTable;
}
