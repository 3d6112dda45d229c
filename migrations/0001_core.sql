-- Core library: assets, their metadata, derived files, per-stage job status and import failures.
create extension if not exists pg_trgm;
create extension if not exists unaccent;

create table schema_info (key text primary key, value text not null);

create table assets (
  id uuid primary key default gen_random_uuid(),
  -- SHA-1 of the original, lowercase hex; the dedupe key.
  checksum text not null unique,
  original_path text not null,
  original_name text not null,
  -- Path of the file the library serves: relative to UPLOAD_LOCATION for copied/moved files,
  -- absolute for in-place (external) files.
  library_path text not null unique,
  storage_mode text not null check (storage_mode in ('copy', 'move', 'in-place')),
  type text not null check (type in ('image', 'video')),
  mime_type text not null,
  file_size bigint not null,
  file_mtime timestamptz not null,
  taken_at timestamptz,
  -- Local wall-clock time where it was taken, and its zone ('+03:00', 'Europe/Rome') when known.
  local_taken_at timestamp,
  time_zone text,
  width integer,
  height integer,
  thumbhash text,
  -- Live Photo / motion photo: the still points at its video part.
  live_photo_video_id uuid references assets(id) on delete set null,
  is_motion_part boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index assets_taken_at_idx on assets (taken_at);
create index assets_type_idx on assets (type);
create index assets_original_path_idx on assets (original_path);

create table exif (
  asset_id uuid primary key references assets(id) on delete cascade,
  make text,
  model text,
  lens_model text,
  orientation integer,
  date_time_original timestamptz,
  offset_time text,
  time_zone text,
  latitude double precision,
  longitude double precision,
  altitude double precision,
  iso integer,
  f_number real,
  exposure_time text,
  focal_length real,
  description text,
  rating integer,
  keywords text[],
  exif_image_width integer,
  exif_image_height integer,
  -- video
  duration double precision,
  video_codec text,
  audio_codec text,
  fps real,
  bitrate bigint,
  container text,
  -- pairing ids (Apple ContentIdentifier / MediaGroupUUID) and Google motion photos
  live_photo_cid text,
  motion_photo boolean not null default false,
  sidecar_path text,
  updated_at timestamptz not null default now()
);
create index exif_live_photo_cid_idx on exif (live_photo_cid);

create table asset_files (
  asset_id uuid not null references assets(id) on delete cascade,
  kind text not null check (kind in ('thumbnail', 'preview', 'encoded_video')),
  -- relative to UPLOAD_LOCATION
  path text not null,
  width integer,
  height integer,
  file_size bigint,
  created_at timestamptz not null default now(),
  primary key (asset_id, kind)
);

-- One row per (asset, stage): the stage's completion is recorded here so `index --missing` knows what is left.
create table asset_job_status (
  asset_id uuid not null references assets(id) on delete cascade,
  stage text not null,
  status text not null check (status in ('queued', 'running', 'done', 'failed', 'skipped')),
  attempts integer not null default 0,
  error text,
  duration_ms integer,
  updated_at timestamptz not null default now(),
  primary key (asset_id, stage)
);
create index asset_job_status_stage_idx on asset_job_status (stage, status);

create table import_failures (
  id bigserial primary key,
  path text not null,
  stage text not null,
  reason text not null,
  created_at timestamptz not null default now(),
  unique (path, stage)
);
