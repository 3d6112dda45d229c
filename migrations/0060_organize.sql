-- Organize (albums, favorites, archive, ratings, descriptions, hierarchical user tags), trash and stacks.
-- Shared foundation for the organize, delete-safely, export, import-sources and serve areas.

-- Flags on the asset. deleted_at set = in the trash (hidden from the timeline; purged after
-- IMMICH_TRASH_DAYS). rating/description here are the user's values; null = take exif's.
alter table assets add column is_favorite boolean not null default false;
alter table assets add column is_archived boolean not null default false;
alter table assets add column deleted_at timestamptz;
alter table assets add column rating smallint check (rating between 0 and 5);
alter table assets add column description text;
-- Bumped by every user edit: export --update and metadata sync compare it.
alter table assets add column edited_at timestamptz;
create index assets_deleted_at_idx on assets (deleted_at) where deleted_at is not null;
create index assets_favorite_idx on assets (is_favorite) where is_favorite;
create index assets_archived_idx on assets (is_archived) where is_archived;

-- Albums nest by path: 'Trips/2024/Lisbon' is Lisbon under 2024 under Trips.
create table albums (
  id uuid primary key default gen_random_uuid(),
  parent_id uuid references albums(id) on delete cascade,
  name text not null check (name <> '' and position('/' in name) = 0),
  description text,
  cover_asset_id uuid references assets(id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- One name per parent (roots share the all-zero parent key).
create unique index albums_parent_name_idx
  on albums (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), name);

create table album_assets (
  album_id uuid not null references albums(id) on delete cascade,
  asset_id uuid not null references assets(id) on delete cascade,
  added_at timestamptz not null default now(),
  primary key (album_id, asset_id)
);
create index album_assets_asset_idx on album_assets (asset_id);

-- Stacks: RAW+JPEG, bursts, edits. Every member points at the stack; the primary is shown.
create table stacks (
  id uuid primary key default gen_random_uuid(),
  primary_asset_id uuid not null references assets(id) on delete cascade,
  created_at timestamptz not null default now()
);
alter table assets add column stack_id uuid references stacks(id) on delete set null;
create index assets_stack_idx on assets (stack_id) where stack_id is not null;

-- User tags are hierarchical ('Trips/2024') and keep their case; object/scene tags stay lower case.
-- Tag sources: objects (YOLOX), clip (zero-shot scene), user (edit), xmp (sidecar keywords),
-- takeout (Google Takeout people etc.).
alter table asset_tags drop constraint if exists asset_tags_source_check;
alter table asset_tags add constraint asset_tags_source_check
  check (source in ('objects', 'clip', 'user', 'xmp', 'takeout'));
