// Row types for migrations/0001_core.sql. Column names are snake_case as in SQL.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type AssetType = 'image' | 'video';
export type StorageMode = 'copy' | 'move' | 'in-place';
export type StageStatus = 'queued' | 'running' | 'done' | 'failed' | 'skipped';
export type AssetFileKind = 'thumbnail' | 'preview' | 'encoded_video';

export interface AssetsTable {
  id: Generated<string>;
  checksum: string;
  original_path: string;
  original_name: string;
  library_path: string;
  storage_mode: StorageMode;
  type: AssetType;
  mime_type: string;
  file_size: ColumnType<number, number, number>;
  file_mtime: Timestamp;
  taken_at: Timestamp | null;
  local_taken_at: Timestamp | null;
  time_zone: string | null;
  width: number | null;
  height: number | null;
  thumbhash: string | null;
  live_photo_video_id: string | null;
  is_motion_part: Generated<boolean>;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
  /** Organize, trash, stacks (migration 0060). */
  is_favorite: Generated<boolean>;
  is_archived: Generated<boolean>;
  deleted_at: Timestamp | null;
  rating: number | null;
  description: string | null;
  edited_at: Timestamp | null;
  /** 'edit', 'takeout' (migration 0063); null: the file's own metadata. */
  date_source?: string | null;
}

export interface ExifTable {
  asset_id: string;
  make: string | null;
  model: string | null;
  lens_model: string | null;
  orientation: number | null;
  date_time_original: Timestamp | null;
  offset_time: string | null;
  time_zone: string | null;
  latitude: number | null;
  longitude: number | null;
  altitude: number | null;
  iso: number | null;
  f_number: number | null;
  exposure_time: string | null;
  focal_length: number | null;
  description: string | null;
  rating: number | null;
  keywords: string[] | null;
  exif_image_width: number | null;
  exif_image_height: number | null;
  duration: number | null;
  video_codec: string | null;
  audio_codec: string | null;
  fps: number | null;
  bitrate: number | null;
  container: string | null;
  live_photo_cid: string | null;
  /** Apple BurstUUID of an iPhone burst shot (migration 0071, trash/stacks area). */
  burst_id?: string | null;
  /** Source of latitude/longitude when not the file's: 'takeout', 'icloud', 'edit' (migration 0081); null: the file. */
  gps_source?: string | null;
  motion_photo: Generated<boolean>;
  sidecar_path: string | null;
  updated_at: GeneratedTimestamp;
  /** Reverse geocoding (migration 0022, search area). */
  city?: string | null;
  state?: string | null;
  country?: string | null;
  /** Set by a trigger when the GPS position is new or changed, cleared by geocoding (migration 0027). */
  geocode_pending?: Generated<boolean>;
}

export interface AssetFilesTable {
  asset_id: string;
  kind: AssetFileKind;
  path: string;
  width: number | null;
  height: number | null;
  file_size: number | null;
  created_at: GeneratedTimestamp;
}

export interface AssetJobStatusTable {
  asset_id: string;
  stage: string;
  status: StageStatus;
  attempts: Generated<number>;
  error: string | null;
  duration_ms: number | null;
  updated_at: GeneratedTimestamp;
}

export interface ImportFailuresTable {
  id: Generated<number>;
  path: string;
  stage: string;
  reason: string;
  created_at: GeneratedTimestamp;
  /** The file's size and mtime when it failed (0150): an unchanged file is not retried. */
  file_size: ColumnType<number | null, number | null | undefined, number | null>;
  file_mtime: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface SchemaInfoTable {
  key: string;
  value: string;
}

export interface SchemaMigrationsTable {
  name: string;
  applied_at: GeneratedTimestamp;
}

export interface CoreTables {
  schema_info: SchemaInfoTable;
  schema_migrations: SchemaMigrationsTable;
  assets: AssetsTable;
  exif: ExifTable;
  asset_files: AssetFilesTable;
  asset_job_status: AssetJobStatusTable;
  import_failures: ImportFailuresTable;
}
