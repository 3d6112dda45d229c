-- Near-duplicates: a 64-bit perceptual hash of each preview (works without pgvector), and the
-- groups found by CLIP distance or by hash distance.
create table asset_phash (
  asset_id uuid primary key references assets(id) on delete cascade,
  -- dHash of the preview as 16 hex digits
  hash text not null,
  updated_at timestamptz not null default now()
);

create table duplicate_groups (
  id uuid primary key default gen_random_uuid(),
  -- 'clip' or 'phash'
  method text not null,
  created_at timestamptz not null default now()
);

create table asset_duplicates (
  asset_id uuid primary key references assets(id) on delete cascade,
  group_id uuid not null references duplicate_groups(id) on delete cascade
);
create index asset_duplicates_group_idx on asset_duplicates (group_id);
