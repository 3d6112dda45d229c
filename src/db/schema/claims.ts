// Row types for the import claims of concurrent imports (migration 0130).
import type { ColumnType } from 'kysely';

export interface ImportClaimsTable {
  kind: 'checksum' | 'path';
  key: string;
  owner_host: string;
  owner_pid: number;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ClaimsTables {
  import_claims: ImportClaimsTable;
}
