-- `immich stats` reported finished jobs per stage and status by grouping job_runs, which is never
-- pruned (one row per job ever run): 6M rows in a processed 1M library took 2.2 s to list the stages
-- and 3.1 s to total them. The totals are kept by statement triggers instead (one insert per
-- statement, not per row: the pipeline writes a batch of history rows at once), sharded by backend
-- pid as 0200's counts are, so concurrent workers do not queue on one row until commit.
create table job_run_totals (
  stage text not null,
  status text not null,
  shard smallint not null,
  n bigint not null,
  ms bigint not null,
  primary key (stage, status, shard)
);

create function job_run_totals_add() returns trigger
language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    insert into job_run_totals (stage, status, shard, n, ms)
      select stage, status, pg_backend_pid() % 16, -count(*), -coalesce(sum(duration_ms), 0) from old_rows group by stage, status
    on conflict (stage, status, shard) do update set n = job_run_totals.n + excluded.n, ms = job_run_totals.ms + excluded.ms;
  end if;
  if tg_op in ('UPDATE', 'INSERT') then
    insert into job_run_totals (stage, status, shard, n, ms)
      select stage, status, pg_backend_pid() % 16, count(*), coalesce(sum(duration_ms), 0) from new_rows group by stage, status
    on conflict (stage, status, shard) do update set n = job_run_totals.n + excluded.n, ms = job_run_totals.ms + excluded.ms;
  end if;
  return null;
end $$;

create trigger job_runs_totals_insert after insert on job_runs
  referencing new table as new_rows for each statement execute function job_run_totals_add();
create trigger job_runs_totals_update after update on job_runs
  referencing old table as old_rows new table as new_rows for each statement execute function job_run_totals_add();
create trigger job_runs_totals_delete after delete on job_runs
  referencing old table as old_rows for each statement execute function job_run_totals_add();

insert into job_run_totals (stage, status, shard, n, ms)
  select stage, status, 0, count(*), coalesce(sum(duration_ms), 0) from job_runs group by stage, status;
