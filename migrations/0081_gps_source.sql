-- Which source gave an asset's position when it was not the file's own metadata: 'takeout' (Google
-- Takeout JSON), 'icloud', 'edit' (immich edit --location). A re-read of the file's metadata
-- (index --force) keeps such a position while the file still has none of its own. Null: the file or
-- its XMP sidecar (as for assets.date_source, migration 0063).
alter table exif add column gps_source text;
