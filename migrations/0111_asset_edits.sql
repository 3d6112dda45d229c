-- When the user last edited an asset, in a narrow table of its own (issue 15/20). Bumping
-- assets.edited_at on 100k assets rewrote every wide assets row and, with bulk-loaded pages full
-- (no HOT update), inserted into all 14 of its indexes: 5 s of a 100k `immich edit` on PostgreSQL.
-- An upsert here touches one small row and one index per asset. assets.edited_at stays (older rows,
-- and the single-asset writers still set it); readers take the later of the two.
create table asset_edits (
  asset_id uuid primary key references assets(id) on delete cascade,
  edited_at timestamptz not null
);
