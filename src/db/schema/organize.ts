// Row types for migrations/0060_organize.sql: albums (nested by parent), album membership, stacks.
import type { ColumnType, Generated } from 'kysely';

type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface AlbumsTable {
  id: Generated<string>;
  parent_id: string | null;
  name: string;
  description: string | null;
  cover_asset_id: string | null;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface AlbumAssetsTable {
  album_id: string;
  asset_id: string;
  added_at: GeneratedTimestamp;
}

export interface StacksTable {
  id: Generated<string>;
  primary_asset_id: string;
  created_at: GeneratedTimestamp;
}

export interface OrganizeTables {
  albums: AlbumsTable;
  album_assets: AlbumAssetsTable;
  stacks: StacksTable;
}
