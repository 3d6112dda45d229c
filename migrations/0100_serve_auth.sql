-- `immich serve`: API keys, the owner's web password, and web sessions (when Redis is not configured).

-- Secrets are 32 random bytes: their SHA-256 is stored (a slow KDF adds nothing to that entropy,
-- and every API request checks one). The secret itself is shown once, at creation.
create table api_keys (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  key_hash text not null unique,
  -- Immich permission names ('all', 'asset.upload', ...).
  permissions text[] not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);

-- The library has one user, its owner: what /api/users/me answers, and the web login.
-- password_hash is 'scrypt$N$r$p$salt$hash' (base64), null until `immich user set-password`.
create table owner (
  singleton boolean primary key default true check (singleton),
  id uuid not null default gen_random_uuid(),
  name text not null default 'Owner',
  email text not null default 'owner@localhost',
  password_hash text,
  updated_at timestamptz not null default now()
);

-- Web sessions (SHA-256 of the cookie's token); in Redis instead when REDIS_HOSTNAME is set.
create table sessions (
  token_hash text primary key,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index sessions_expires_idx on sessions (expires_at);

-- The web timeline reads one month at a time in this order (capture time, else the file's time).
create index assets_timeline_idx on assets ((coalesce(taken_at, file_mtime)));
