-- `immich stats` and `immich jobs` report asset_job_status per stage and status. Grouping the table
-- costs a full scan: 1M assets have 6M status rows (3-4 s). These counts are kept by triggers
-- instead, so every process that writes statuses (import, index, worker, serve) keeps them right,
-- and the commands sum a few dozen rows. Each connection adds to its own shard (its backend pid
-- mod 16), so concurrent workers finishing jobs do not queue on one counter row until commit.
create table job_status_counts (
  stage text not null,
  status text not null,
  shard smallint not null,
  n bigint not null,
  primary key (stage, status, shard)
);

create function job_status_counts_add(st text, stat text, delta integer) returns void
language plpgsql as $$
begin
  insert into job_status_counts (stage, status, shard, n) values (st, stat, pg_backend_pid() % 16, delta)
  on conflict (stage, status, shard) do update set n = job_status_counts.n + excluded.n;
end $$;

create function job_status_counts_trigger() returns trigger
language plpgsql as $$
begin
  -- most updates rewrite a status with itself (attempts, duration): only a change moves a count
  if tg_op = 'UPDATE' and old.stage = new.stage and old.status = new.status then
    return null;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    perform job_status_counts_add(old.stage, old.status, -1);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform job_status_counts_add(new.stage, new.status, 1);
  end if;
  return null;
end $$;

create trigger asset_job_status_counts after insert or delete or update of stage, status on asset_job_status
  for each row execute function job_status_counts_trigger();

insert into job_status_counts (stage, status, shard, n)
  select stage, status, 0, count(*) from asset_job_status group by stage, status;
