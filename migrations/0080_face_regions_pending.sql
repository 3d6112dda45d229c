-- Named face regions read from an XMP sidecar at import, kept with the asset row (written in the
-- same statement) until they are applied after the run's stages. A run killed in between leaves them
-- here, and the next import applies them: the re-run sees the file as a duplicate and reads no XMP.
create table asset_face_regions_pending (
  asset_id uuid primary key references assets(id) on delete cascade,
  regions jsonb not null
);
