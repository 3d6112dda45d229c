-- Faces and people. Embeddings live in face_search (0011, needs pgvector) so that a server without
-- pgvector still gets these tables and the rest of the library works.
create table people (
  id uuid primary key default gen_random_uuid(),
  -- '' = unnamed; a named person is never merged, renamed or emptied by clustering
  name text not null default '',
  is_hidden boolean not null default false,
  -- the face shown for the person (set on creation, may be changed)
  cover_face_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index people_name_idx on people (lower(name));

create table asset_faces (
  id uuid primary key default gen_random_uuid(),
  asset_id uuid not null references assets(id) on delete cascade,
  person_id uuid references people(id) on delete set null,
  -- facial-recognition model (<name>) whose detector and embedder produced this face
  model text not null,
  -- size of the image the face was detected on (the preview, display orientation)
  image_width integer not null,
  image_height integer not null,
  -- box normalised to 0..1 of the displayed image, so it applies to the original and every thumbnail
  box_x1 real not null,
  box_y1 real not null,
  box_x2 real not null,
  box_y2 real not null,
  score real not null,
  -- 5 landmarks (eyes, nose, mouth corners) as [x1,y1,...,x5,y5], normalised like the box
  landmarks real[] not null,
  -- face crop thumbnail, relative to UPLOAD_LOCATION
  crop_path text,
  -- 'cluster' (set by clustering) or 'manual' (by a user: clustering never changes it, even when person_id is null)
  assigned_by text not null default 'cluster' check (assigned_by in ('cluster', 'manual')),
  -- fewer than minFaces neighbours when clustered: retried later, never starts a person on its own
  deferred boolean not null default false,
  created_at timestamptz not null default now()
);
create index asset_faces_asset_idx on asset_faces (asset_id);
create index asset_faces_person_idx on asset_faces (person_id);
create index asset_faces_deferred_idx on asset_faces (deferred) where deferred;

alter table people add constraint people_cover_face_fk foreign key (cover_face_id) references asset_faces(id) on delete set null;
