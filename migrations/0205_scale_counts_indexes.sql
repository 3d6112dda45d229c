-- Counting without reading rows (bench/scale, 1M assets on the shared machine):
-- `immich faces people` counts faces and distinct assets per person: in (person, asset) order from
-- this index, two streaming aggregates over an index-only scan (300k faces: 1.2 s -> 0.4 s under
-- load 13). It covers every lookup by person_id, so the single-column index goes.
create index asset_faces_person_asset_idx on asset_faces (person_id, asset_id);
drop index if exists asset_faces_person_idx;
-- `immich stats` counts the videos outside the trash: an index-only count instead of a heap fetch
-- per video (videos are spread over the whole table: 0.5 s at 1M).
create index assets_live_type_idx on assets (type) where not is_motion_part and deleted_at is null;
