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

/** Hierarchical, case-preserving user tags (migration 0061). */
export interface UserTagsTable {
  id: Generated<string>;
  parent_id: string | null;
  /** Full path as first written, e.g. 'Trips/2024'. */
  value: string;
  created_at: GeneratedTimestamp;
}

export type UserTagSource = 'user' | 'xmp' | 'takeout';

export interface AssetUserTagsTable {
  asset_id: string;
  tag_id: string;
  source: ColumnType<UserTagSource, UserTagSource | undefined, UserTagSource>;
  added_at: GeneratedTimestamp;
}

/** XMP sidecar write-back state (migration 0062). */
export interface AssetSidecarsTable {
  asset_id: string;
  path: string;
  mtime: Date | null;
  size: ColumnType<number | null, number | null | undefined, number | null>;
  state: ColumnType<'synced' | 'pending', 'synced' | 'pending' | undefined, 'synced' | 'pending'>;
  error: string | null;
  synced_at: Date | null;
}

/** When the user last edited an asset (migration 0111); see lastEdited in src/db/asset-edits.ts. */
export interface AssetEditsTable {
  asset_id: string;
  edited_at: Date;
  /** The last edit of an XMP field (migration 0112): the sidecar is behind when this is after its synced_at. */
  xmp_edited_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface OrganizeTables {
  albums: AlbumsTable;
  album_assets: AlbumAssetsTable;
  stacks: StacksTable;
  user_tags: UserTagsTable;
  asset_user_tags: AssetUserTagsTable;
  asset_sidecars: AssetSidecarsTable;
  asset_edits: AssetEditsTable;
}
