-- In-place (external) assets whose file was missing at the last `immich index`. Like Immich, the asset
-- is kept (with its faces, tags, albums of the future) and marked offline; the mark goes when the file
-- is back. `immich index --prune-offline` deletes them instead.
create table asset_offline (
  asset_id uuid primary key references assets(id) on delete cascade,
  original_path text not null,
  detected_at timestamptz not null default now()
);
