-- XMP sidecar write-back state, one row per asset whose metadata we wrote or read from a sidecar.
create table asset_sidecars (
  asset_id uuid primary key references assets(id) on delete cascade,
  -- where the sidecar lives: absolute (in-place files), or relative to UPLOAD_LOCATION
  path text not null,
  -- the file as we last wrote or read it: a different mtime or size means it was edited outside
  mtime timestamptz,
  size bigint,
  -- 'pending': the database has edits the file lacks (the write failed: read-only, disk full);
  -- `immich metadata sync --to-files` finishes them
  state text not null default 'pending' check (state in ('synced', 'pending')),
  error text,
  synced_at timestamptz
);
create index asset_sidecars_pending_idx on asset_sidecars (asset_id) where state = 'pending';
