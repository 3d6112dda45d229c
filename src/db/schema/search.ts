// Row types for the search area's migrations (0020-0029): tags, OCR, places, duplicates, CLIP.
import type { ColumnType, Generated } from 'kysely';

type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type TagSource = 'objects' | 'clip' | 'user' | 'xmp' | 'takeout';

export interface TagsTable {
  id: Generated<number>;
  name: string;
}

export interface AssetTagsTable {
  asset_id: string;
  tag_id: number;
  source: TagSource;
  score: number | null;
  count: number | null;
  box: number[] | null;
}

export interface AssetOcrTable {
  asset_id: string;
  engine: string;
  text: string;
  confidence: number | null;
  updated_at: GeneratedTimestamp;
}

export interface AssetOcrLinesTable {
  asset_id: string;
  line: number;
  text: string;
  confidence: number | null;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PlacesTable {
  id: number;
  name: string;
  admin1: string | null;
  admin2: string | null;
  country_code: string;
  country: string | null;
  latitude: number;
  longitude: number;
}

export interface AssetGeocodeTable {
  asset_id: string;
  place_id: number | null;
  distance_km: number | null;
  updated_at: GeneratedTimestamp;
}

export interface AssetPhashTable {
  asset_id: string;
  hash: string;
  updated_at: GeneratedTimestamp;
}

export interface DuplicateGroupsTable {
  id: Generated<string>;
  method: 'clip' | 'phash';
  created_at: GeneratedTimestamp;
}

export interface AssetDuplicatesTable {
  asset_id: string;
  group_id: string;
}

/** Only present when pgvector is installed (migration 0024 is held back otherwise). */
export interface SmartSearchTable {
  asset_id: string;
  model: string;
  /** pgvector text form '[0.1,0.2,...]' */
  embedding: string;
  updated_at: GeneratedTimestamp;
}

export interface SearchTables {
  tags: TagsTable;
  asset_tags: AssetTagsTable;
  asset_ocr: AssetOcrTable;
  asset_ocr_lines: AssetOcrLinesTable;
  places: PlacesTable;
  asset_geocode: AssetGeocodeTable;
  asset_phash: AssetPhashTable;
  duplicate_groups: DuplicateGroupsTable;
  asset_duplicates: AssetDuplicatesTable;
  smart_search: SmartSearchTable;
}
