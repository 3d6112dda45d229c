-- When `immich export` last hashed a library file in full and found its checksum (issue 17). Export
-- copies an original without reading it back when nothing has changed the file since its checksum was
-- last computed: its size is the asset's and its ctime (which no program can set back) is older than
-- the import (assets.created_at) or than the check recorded here. A file whose ctime is newer (moved,
-- hard-linked, touched or rewritten since) is hashed in full during the copy, and when it still matches
-- the check is recorded here so that the next export trusts it again: by its stamp (device, inode,
-- size and ctime in nanoseconds, equal only while nothing has touched the file; no clock involved) or
-- by a ctime older than checked_at. No foreign key (a bulk delete of assets pays nothing for this
-- table): a row counts only while library_path and checksum are the asset's own, and rows of deleted
-- assets are dropped by the next export that records a check.
create table if not exists export_source_checks (
  asset_id uuid primary key,
  library_path text not null,
  checksum text not null,
  checked_at timestamptz not null,
  stamp text not null
);
