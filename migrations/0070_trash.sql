-- Purge journal of the trash. A purge first marks its assets here (one transaction), then deletes
-- their files, then their rows (the mark goes with the row). A purge killed between the steps is
-- finished by the next one: a marked asset is already gone for every reader, and its remaining
-- files are deleted before its row, so no row outlives its file and no file outlives its row.
-- delete_original: the original goes too (copy/move libraries, or in-place with --delete-files).
create table asset_purge (
  asset_id uuid primary key references assets(id) on delete cascade,
  delete_original boolean not null,
  marked_at timestamptz not null default now()
);
