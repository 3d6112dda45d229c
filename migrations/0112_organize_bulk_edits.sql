-- Bulk edits at 100k assets (issue 15): `immich edit --tag X` spent about two thirds of each insert in
-- foreign-key triggers (one trigger call, one SPI lookup and one row lock in assets per inserted row,
-- for each key of asset_user_tags, asset_edits and asset_sidecars). The cascades stay, as one
-- set-based delete per DELETE statement; inserts are checked by their writers instead: each inserts
-- rows only for assets its own statement reads and locks (FOR KEY SHARE), so a concurrent delete
-- waits for it and then removes the new rows too.
alter table asset_user_tags drop constraint if exists asset_user_tags_asset_id_fkey;
alter table asset_user_tags drop constraint if exists asset_user_tags_tag_id_fkey;
alter table asset_edits drop constraint if exists asset_edits_asset_id_fkey;
alter table asset_sidecars drop constraint if exists asset_sidecars_asset_id_fkey;

create or replace function immich_assets_deleted() returns trigger language plpgsql as $$
begin
  delete from asset_user_tags t using immich_old_assets o where t.asset_id = o.id;
  delete from asset_edits t using immich_old_assets o where t.asset_id = o.id;
  delete from asset_sidecars t using immich_old_assets o where t.asset_id = o.id;
  return null;
end $$;
drop trigger if exists assets_deleted_cascade on assets;
create trigger assets_deleted_cascade after delete on assets
  referencing old table as immich_old_assets for each statement execute function immich_assets_deleted();

create or replace function immich_user_tags_deleted() returns trigger language plpgsql as $$
begin
  delete from asset_user_tags t using immich_old_user_tags o where t.tag_id = o.id;
  return null;
end $$;
drop trigger if exists user_tags_deleted_cascade on user_tags;
create trigger user_tags_deleted_cascade after delete on user_tags
  referencing old table as immich_old_user_tags for each statement execute function immich_user_tags_deleted();

-- Rows a failed or interrupted run could have left for assets deleted meanwhile (none expected).
delete from asset_user_tags t where not exists (select 1 from assets a where a.id = t.asset_id)
  or not exists (select 1 from user_tags u where u.id = t.tag_id);
delete from asset_edits t where not exists (select 1 from assets a where a.id = t.asset_id);
delete from asset_sidecars t where not exists (select 1 from assets a where a.id = t.asset_id);

-- A sidecar is behind the database when the asset's last edit of an XMP field (rating, description,
-- date, location, tags) is later than the sidecar's last write or read: one upsert per edited asset
-- in asset_edits instead of a second one into asset_sidecars. asset_sidecars.state = 'pending'
-- still marks failed writes (with the error) and the single-asset writers.
alter table asset_edits add column if not exists xmp_edited_at timestamptz;
