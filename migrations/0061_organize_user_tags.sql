-- User tags: hierarchical ('Trips/2024/Lisbon') and case-preserving, apart from the lower-case
-- object/scene vocabulary in `tags` (a user's 'Dog' and the detector's 'dog' must not share a row).
-- A tag's parents exist as tags too; an asset carries the tags it was given (usually leaves), and
-- a selection by 'Trips' matches everything under it.
create table user_tags (
  id uuid primary key default gen_random_uuid(),
  parent_id uuid references user_tags(id) on delete cascade,
  -- the full path as first written; unique and matched case-insensitively
  value text not null check (value <> '' and value !~ '(^/|/$|//)'),
  created_at timestamptz not null default now()
);
create unique index user_tags_value_idx on user_tags (lower(value));
create index user_tags_parent_idx on user_tags (parent_id);

create table asset_user_tags (
  asset_id uuid not null references assets(id) on delete cascade,
  tag_id uuid not null references user_tags(id) on delete cascade,
  -- who gave it: the user (edit), an XMP sidecar (import/index), a Google Takeout import
  source text not null default 'user' check (source in ('user', 'xmp', 'takeout')),
  added_at timestamptz not null default now(),
  primary key (asset_id, tag_id)
);
create index asset_user_tags_tag_idx on asset_user_tags (tag_id);
