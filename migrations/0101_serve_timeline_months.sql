-- The web timeline's month list without reading every asset: counts per month (UTC, of the capture
-- time else the file's time) and per flag combination, kept by a trigger, so any process that
-- writes assets (import, worker, serve, edit) keeps them right. 100k assets: ~120 months x a few
-- flag combinations are summed instead of 100k rows grouped.
create table timeline_months (
  month date not null,
  is_archived boolean not null,
  is_favorite boolean not null,
  is_trashed boolean not null,
  count integer not null,
  primary key (month, is_archived, is_favorite, is_trashed)
);

create function timeline_months_add(m date, archived boolean, favorite boolean, trashed boolean, delta integer) returns void
language plpgsql as $$
begin
  insert into timeline_months (month, is_archived, is_favorite, is_trashed, count) values (m, archived, favorite, trashed, delta)
  on conflict (month, is_archived, is_favorite, is_trashed) do update set count = timeline_months.count + excluded.count;
end $$;

create function timeline_months_trigger() returns trigger
language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') and not old.is_motion_part then
    perform timeline_months_add((date_trunc('month', coalesce(old.taken_at, old.file_mtime) at time zone 'UTC'))::date,
      old.is_archived, old.is_favorite, old.deleted_at is not null, -1);
  end if;
  if tg_op in ('INSERT', 'UPDATE') and not new.is_motion_part then
    perform timeline_months_add((date_trunc('month', coalesce(new.taken_at, new.file_mtime) at time zone 'UTC'))::date,
      new.is_archived, new.is_favorite, new.deleted_at is not null, 1);
  end if;
  return null;
end $$;

create trigger assets_timeline_months
  after insert or delete or update of taken_at, file_mtime, is_archived, is_favorite, deleted_at, is_motion_part on assets
  for each row execute function timeline_months_trigger();

insert into timeline_months (month, is_archived, is_favorite, is_trashed, count)
  select (date_trunc('month', coalesce(taken_at, file_mtime) at time zone 'UTC'))::date, is_archived, is_favorite, deleted_at is not null, count(*)
  from assets where not is_motion_part group by 1, 2, 3, 4;
