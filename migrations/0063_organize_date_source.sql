-- Which source gave an asset's capture date when it was not its own metadata: 'edit' (immich edit),
-- 'takeout' (Google Takeout JSON). Null: the file's metadata or sidecar (exif.date_time_original), else its mtime.
alter table assets add column date_source text;
