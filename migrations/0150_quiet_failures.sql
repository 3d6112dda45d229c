-- Quiet re-runs (issue 14). A stage that was skipped or failed is not queued again while the
-- environment it ran in is unchanged: stage_environment holds a fingerprint of what stages depend on
-- (installed models, ffmpeg, pgvector, settings, version) and since when it holds; statuses written
-- after `since` are settled. Import failures remember the file's size and mtime, so an unchanged file
-- that failed for its content is not retried (and reported) on every run.
create table stage_environment (
  id smallint primary key default 1 check (id = 1),
  fingerprint text not null,
  since timestamptz not null default now()
);
alter table import_failures add column file_size bigint;
alter table import_failures add column file_mtime timestamptz;

-- Folders given to `import --in-place`, with the import's --ignore globs: `immich index` looks for new
-- files below each of them (the same globs left out), also in folders created directly under it after
-- the import (not only where in-place assets already are).
create table in_place_roots (
  path text primary key,
  ignore text[] not null default '{}',
  added_at timestamptz not null default now()
);
