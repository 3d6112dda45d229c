-- Folded camera make/model: the indexes give the planner statistics for `--make`/`--model`/`--camera`
-- filters, so it can weigh them against the HNSW index scan instead of guessing them selective.
create index if not exists exif_make_fold_idx on exif (immich_fold(make));
create index if not exists exif_model_fold_idx on exif (immich_fold(model));
