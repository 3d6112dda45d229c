-- `immich search --text` also matches OCR text with its spaces removed ("NOPARKING" finds
-- "NO PARKING"): that branch of the condition had no index, so every OCR row was read (and the
-- pattern removed runs of the letter s instead of spaces: '\s' lost its backslash in the query).
create index asset_ocr_squeezed_trgm_idx on asset_ocr using gin ((regexp_replace(immich_fold(text), '\s+', '', 'g')) gin_trgm_ops);
