// Row types for the scale migrations (0200–0209, 0250).

/** Trigger-kept asset_job_status counts per stage and status, one row per writer shard (0200). */
export interface JobStatusCountsTable {
  stage: string;
  status: string;
  shard: number;
  n: string | number;
}

/** Trigger-kept job_runs totals per stage and status (count, summed duration), one row per writer shard (0250). */
export interface JobRunTotalsTable {
  stage: string;
  status: string;
  shard: number;
  n: string | number;
  ms: string | number;
}

export interface ScaleTables {
  job_status_counts: JobStatusCountsTable;
  job_run_totals: JobRunTotalsTable;
}
