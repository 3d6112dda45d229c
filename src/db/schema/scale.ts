// Row types for the scale migrations (0200–0209).

/** Trigger-kept asset_job_status counts per stage and status, one row per writer shard (0200). */
export interface JobStatusCountsTable {
  stage: string;
  status: string;
  shard: number;
  n: string | number;
}

export interface ScaleTables {
  job_status_counts: JobStatusCountsTable;
}
