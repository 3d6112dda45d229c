-- `immich stats` sums the size of in-place originals (the ones outside the library folder): an
-- index-only scan of those assets instead of reading every asset row (1M assets: ~1 s).
create index assets_in_place_size_idx on assets (file_size) where storage_mode = 'in-place';
