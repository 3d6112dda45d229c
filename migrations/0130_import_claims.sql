-- Claims of concurrent `immich import` runs on one PostgreSQL database: before a file is placed, its
-- content (kind 'checksum', key = SHA-1) and its library path (kind 'path') are claimed here, so two
-- processes never place the same content twice or write to the same name, and a process never adopts
-- or removes a file that another one is placing. Claims go when the asset row is in; those of a dead
-- process (same host, pid gone) are taken over.
create table import_claims (
  kind text not null,
  key text not null,
  owner_host text not null,
  owner_pid integer not null,
  created_at timestamptz not null default now(),
  primary key (kind, key)
);
