-- Searches by place or free text first reverse-geocode the assets whose GPS arrived since (metadata
-- after the ML stages, a restore, an edit). Finding them was an anti-join of exif against
-- asset_geocode on every search (35-60 ms at 100k assets on PostgreSQL); a flag kept by a trigger
-- and a partial index make it a lookup in an index that is empty almost always. A changed GPS
-- position now gets geocoded again too.
alter table exif add column if not exists geocode_pending boolean not null default false;
update exif e set geocode_pending = true
 where latitude is not null and longitude is not null
   and not exists (select 1 from asset_geocode g where g.asset_id = e.asset_id);
create index if not exists exif_geocode_pending_idx on exif (asset_id) where geocode_pending;

create or replace function immich_exif_geocode_pending() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    new.geocode_pending := new.latitude is not null and new.longitude is not null;
  elsif new.latitude is distinct from old.latitude or new.longitude is distinct from old.longitude then
    new.geocode_pending := new.latitude is not null and new.longitude is not null;
  end if;
  return new;
end $$;
drop trigger if exists exif_geocode_pending on exif;
create trigger exif_geocode_pending before insert or update of latitude, longitude on exif
  for each row execute function immich_exif_geocode_pending();
