-- Partial indexes for questions that every run of a command asks about a few rows of a large table
-- (1M assets on the shared machine, bench/scale):
-- `immich index` looks for XMP sidecars edited outside immich: the assets with a sidecar path, not
-- every exif row (3.5 s at 1M for a library without any).
create index exif_sidecar_idx on exif (asset_id) where sidecar_path is not null;
-- `immich verify` lists the failed stages: the failed rows, not all six status rows per asset.
create index asset_job_status_failed_idx on asset_job_status (asset_id) where status = 'failed';
