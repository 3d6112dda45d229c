-- 0101's timeline months and 0200's job status counts were kept by row triggers, each row adding to one
-- counter row. Inside one statement the counter row gets a new version per row, and each next update
-- walks them: quadratic. On the embedded database `edit --favorite` of 20k assets took 24 s (2.9 s
-- without the trigger), 40k 86 s, and deleting 20k 90 s. Statement triggers with transition tables add
-- each statement's rows grouped: one upsert per counter row and statement, as 0250 does for job_runs.

drop trigger assets_timeline_months on assets;
drop function timeline_months_trigger();

create function timeline_months_rows() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into timeline_months (month, is_archived, is_favorite, is_trashed, count)
      select (date_trunc('month', coalesce(taken_at, file_mtime) at time zone 'UTC'))::date, is_archived, is_favorite, deleted_at is not null, count(*)
      from new_rows where not is_motion_part group by 1, 2, 3, 4
    on conflict (month, is_archived, is_favorite, is_trashed) do update set count = timeline_months.count + excluded.count;
  elsif tg_op = 'DELETE' then
    insert into timeline_months (month, is_archived, is_favorite, is_trashed, count)
      select (date_trunc('month', coalesce(taken_at, file_mtime) at time zone 'UTC'))::date, is_archived, is_favorite, deleted_at is not null, -count(*)
      from old_rows where not is_motion_part group by 1, 2, 3, 4
    on conflict (month, is_archived, is_favorite, is_trashed) do update set count = timeline_months.count + excluded.count;
  else
    -- only rows whose month or flags changed move a count (most updates touch other columns)
    insert into timeline_months (month, is_archived, is_favorite, is_trashed, count)
      select m, archived, favorite, trashed, sum(delta) from (
        select (date_trunc('month', coalesce(o.taken_at, o.file_mtime) at time zone 'UTC'))::date as m, o.is_archived as archived,
               o.is_favorite as favorite, o.deleted_at is not null as trashed, -1 as delta
        from old_rows o join new_rows n on n.id = o.id
        where not o.is_motion_part and (n.is_motion_part or n.taken_at is distinct from o.taken_at or n.file_mtime is distinct from o.file_mtime
          or n.is_archived <> o.is_archived or n.is_favorite <> o.is_favorite or (n.deleted_at is null) <> (o.deleted_at is null))
        union all
        select (date_trunc('month', coalesce(n.taken_at, n.file_mtime) at time zone 'UTC'))::date, n.is_archived, n.is_favorite, n.deleted_at is not null, 1
        from old_rows o join new_rows n on n.id = o.id
        where not n.is_motion_part and (o.is_motion_part or n.taken_at is distinct from o.taken_at or n.file_mtime is distinct from o.file_mtime
          or n.is_archived <> o.is_archived or n.is_favorite <> o.is_favorite or (n.deleted_at is null) <> (o.deleted_at is null))
      ) d group by 1, 2, 3, 4 having sum(delta) <> 0
    on conflict (month, is_archived, is_favorite, is_trashed) do update set count = timeline_months.count + excluded.count;
  end if;
  return null;
end $$;

create trigger assets_timeline_months_insert after insert on assets
  referencing new table as new_rows for each statement execute function timeline_months_rows();
create trigger assets_timeline_months_update after update on assets
  referencing old table as old_rows new table as new_rows for each statement execute function timeline_months_rows();
create trigger assets_timeline_months_delete after delete on assets
  referencing old table as old_rows for each statement execute function timeline_months_rows();

drop trigger asset_job_status_counts on asset_job_status;
drop function job_status_counts_trigger();

create function job_status_counts_rows() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into job_status_counts (stage, status, shard, n)
      select stage, status, pg_backend_pid() % 16, count(*) from new_rows group by stage, status
    on conflict (stage, status, shard) do update set n = job_status_counts.n + excluded.n;
  elsif tg_op = 'DELETE' then
    insert into job_status_counts (stage, status, shard, n)
      select stage, status, pg_backend_pid() % 16, -count(*) from old_rows group by stage, status
    on conflict (stage, status, shard) do update set n = job_status_counts.n + excluded.n;
  else
    -- most updates rewrite a status with itself (attempts, duration): only a change moves a count
    insert into job_status_counts (stage, status, shard, n)
      select stage, status, pg_backend_pid() % 16, sum(delta) from (
        select o.stage, o.status, -1 as delta from old_rows o join new_rows n on n.asset_id = o.asset_id and n.stage = o.stage where n.status <> o.status
        union all
        select n.stage, n.status, 1 from old_rows o join new_rows n on n.asset_id = o.asset_id and n.stage = o.stage where n.status <> o.status
      ) d group by stage, status having sum(delta) <> 0
    on conflict (stage, status, shard) do update set n = job_status_counts.n + excluded.n;
  end if;
  return null;
end $$;

create trigger asset_job_status_counts_insert after insert on asset_job_status
  referencing new table as new_rows for each statement execute function job_status_counts_rows();
create trigger asset_job_status_counts_update after update on asset_job_status
  referencing old table as old_rows new table as new_rows for each statement execute function job_status_counts_rows();
create trigger asset_job_status_counts_delete after delete on asset_job_status
  referencing old table as old_rows for each statement execute function job_status_counts_rows();
