// Row types for the import-sources area's migrations (0080–0089).
import type { ColumnType } from 'kysely';

/** XMP face regions of an imported asset not applied yet (migration 0080). */
export interface AssetFaceRegionsPendingTable {
  asset_id: string;
  /** FaceRegion[] (src/media/regions.ts). */
  regions: ColumnType<unknown, string, string>;
}

export interface SourcesTables {
  asset_face_regions_pending: AssetFaceRegionsPendingTable;
}
