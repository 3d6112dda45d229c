-- Free text at 1M assets: the user's own descriptions (`immich edit --description`) and embedded
-- keywords were found by reading every asset (0.33 s) and every exif row (0.14 s) on each search. A
-- trigram index for the descriptions, as file names and embedded descriptions have (0026), and a partial
-- index of the rows that have keywords (array_to_string is not immutable: no trigram index over them).
create index assets_description_trgm_idx on assets using gin (immich_fold(description) gin_trgm_ops);
create index exif_keywords_idx on exif (asset_id) where keywords is not null;
