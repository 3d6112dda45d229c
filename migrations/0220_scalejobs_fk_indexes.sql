-- Deleting an asset sets the foreign keys that point at it to NULL: without an index on the referencing
-- column each deleted asset costs a scan of the referencing table. assets.live_photo_video_id is
-- self-referencing, so every asset deleted (trash empty, rm with no trash, the bench's clean-up of 1,000
-- imported photos) scanned all assets: 1,000 deletes at 1M ran for minutes. Partial: few rows have one.
create index if not exists assets_live_photo_video_idx on assets (live_photo_video_id) where live_photo_video_id is not null;
create index if not exists albums_cover_asset_idx on albums (cover_asset_id) where cover_asset_id is not null;
create index if not exists stacks_primary_asset_idx on stacks (primary_asset_id);
