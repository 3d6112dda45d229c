-- Operations: one row per finished job (asset, stage), so `immich stats` can report per-stage
-- p50/p95 durations and throughput over the last runs. No foreign key on purpose: the history
-- outlives deleted assets.
create table job_runs (
  id bigserial primary key,
  stage text not null,
  asset_id uuid,
  status text not null check (status in ('done', 'failed', 'skipped')),
  duration_ms integer not null,
  attempt integer not null default 0,
  error text,
  finished_at timestamptz not null default now()
);
create index job_runs_stage_finished_idx on job_runs (stage, finished_at desc);
create index job_runs_finished_idx on job_runs (finished_at);
