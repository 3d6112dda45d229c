-- `--camera` matches "make model" folded. concat_ws is only STABLE, so the expression cannot be
-- indexed as written; this wrapper (IMMUTABLE for text, as immich_fold is) can. The index gives the
-- planner the expression's statistics: at 1M assets it guessed 98 of 122 537 matches and folded and
-- hash-joined every exif row (30 s under load) instead of walking assets_when_idx newest first.
-- Qualified like immich_fold's unaccent: a restore evaluates the index with an empty search_path.
create or replace function immich_camera(make text, model text) returns text
  language sql immutable parallel safe
  as $$ select public.immich_fold(concat_ws(' ', make, model)) $$;
create index if not exists exif_camera_fold_idx on exif (immich_camera(make, model));
