// Row types for migrations/0100_serve_auth.sql: API keys, the owner, web sessions.
import type { ColumnType, Generated } from 'kysely';

type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface ApiKeysTable {
  id: Generated<string>;
  name: string;
  key_hash: string;
  permissions: string[];
  created_at: GeneratedTimestamp;
  last_used_at: Timestamp | null;
}

export interface OwnerTable {
  singleton: Generated<boolean>;
  id: Generated<string>;
  name: Generated<string>;
  email: Generated<string>;
  password_hash: string | null;
  updated_at: GeneratedTimestamp;
}

export interface SessionsTable {
  token_hash: string;
  created_at: GeneratedTimestamp;
  expires_at: Timestamp;
}

/** Migration 0101: assets per month and flag combination, kept by a trigger on assets. */
export interface TimelineMonthsTable {
  month: ColumnType<Date | string, Date | string, Date | string>;
  is_archived: boolean;
  is_favorite: boolean;
  is_trashed: boolean;
  count: number;
}

export interface ServeTables {
  timeline_months: TimelineMonthsTable;
  api_keys: ApiKeysTable;
  owner: OwnerTable;
  sessions: SessionsTable;
}
