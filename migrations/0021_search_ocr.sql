-- OCR: recognised text per asset (one row per line with its box), and the whole text folded for
-- trigram search (substring and fuzzy, accents and case folded).
create table asset_ocr (
  asset_id uuid primary key references assets(id) on delete cascade,
  -- 'paddle' (PP-OCR) or 'tesseract'
  engine text not null,
  text text not null,
  confidence real,
  updated_at timestamptz not null default now()
);
create index asset_ocr_text_trgm_idx on asset_ocr using gin (immich_fold(text) gin_trgm_ops);

create table asset_ocr_lines (
  asset_id uuid not null references asset_ocr(asset_id) on delete cascade,
  line integer not null,
  text text not null,
  confidence real,
  -- normalised to the preview: x, y, w, h in 0..1
  x real not null,
  y real not null,
  w real not null,
  h real not null,
  primary key (asset_id, line)
);
