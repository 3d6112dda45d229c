// Row types for the ops area's migrations (0040–0049).
import type { ColumnType, Generated } from 'kysely';

export interface JobRunsTable {
  id: Generated<number>;
  stage: string;
  asset_id: string | null;
  status: 'done' | 'failed' | 'skipped';
  duration_ms: number;
  attempt: Generated<number>;
  error: string | null;
  finished_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface OpsTables {
  job_runs: JobRunsTable;
}
