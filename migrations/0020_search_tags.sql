-- Search: a text-folding function for accent- and case-insensitive matching, tags from the object
-- detector and CLIP zero-shot scene classification.
create extension if not exists pg_trgm;
create extension if not exists unaccent;

-- unaccent() is only STABLE (it reads a dictionary), so it cannot back an index; this wrapper names
-- the dictionary explicitly and is declared IMMUTABLE, the usual way to index folded text.
create or replace function immich_fold(text) returns text
  language sql immutable parallel safe strict
  as $$ select lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

create table tags (
  id serial primary key,
  -- lower case, e.g. 'dog', 'beach'
  name text not null unique
);
create index tags_name_trgm_idx on tags using gin (immich_fold(name) gin_trgm_ops);

create table asset_tags (
  asset_id uuid not null references assets(id) on delete cascade,
  tag_id integer not null references tags(id) on delete cascade,
  -- 'objects' (YOLOX), 'clip' (zero-shot scene), 'user'
  source text not null check (source in ('objects', 'clip', 'user')),
  -- detector confidence or zero-shot probability, 0..1
  score real,
  -- objects: how many instances were found
  count integer,
  -- best box, normalised to the preview: [x, y, w, h]
  box real[],
  primary key (asset_id, tag_id, source)
);
create index asset_tags_tag_idx on asset_tags (tag_id, score);
