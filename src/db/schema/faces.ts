// Row types for migrations/0010_faces.sql and 0011_face_search.sql.
import type { ColumnType, Generated } from 'kysely';

type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface PeopleTable {
  id: Generated<string>;
  name: Generated<string>;
  is_hidden: Generated<boolean>;
  cover_face_id: string | null;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface AssetFacesTable {
  id: Generated<string>;
  asset_id: string;
  person_id: string | null;
  model: string;
  image_width: number;
  image_height: number;
  box_x1: number;
  box_y1: number;
  box_x2: number;
  box_y2: number;
  score: number;
  landmarks: number[];
  crop_path: string | null;
  assigned_by: Generated<'cluster' | 'manual'>;
  deferred: Generated<boolean>;
  created_at: GeneratedTimestamp;
}

export interface FaceSearchTable {
  face_id: string;
  /** pgvector text form '[0.1,0.2,...]' (write with toVector). */
  embedding: string;
}

export interface FacesTables {
  people: PeopleTable;
  asset_faces: AssetFacesTable;
  face_search: FaceSearchTable;
}
