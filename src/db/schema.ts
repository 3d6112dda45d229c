// The database type for kysely: one interface per feature area, each in src/db/schema/.
import type { CoreTables } from './schema/core.js';
import type { FacesTables } from './schema/faces.js';
import type { SearchTables } from './schema/search.js';
import type { BackupTables } from './schema/backup.js';
import type { OpsTables } from './schema/ops.js';
import type { QueueTables } from './schema/queue.js';
import type { OrganizeTables } from './schema/organize.js';
import type { ClaimsTables } from './schema/claims.js';
import type { ServeTables } from './schema/serve.js';
import type { QuietTables } from './schema/quiet.js';
import type { TrashTables } from './schema/trash.js';
import type { SourcesTables } from './schema/sources.js';
import type { ExportTables } from './schema/export.js';
import type { ScaleTables } from './schema/scale.js';

export type * from './schema/core.js';
export type * from './schema/organize.js';
export interface DB extends CoreTables, FacesTables, SearchTables, BackupTables, OpsTables, QueueTables, OrganizeTables, ClaimsTables, ServeTables, QuietTables, TrashTables, SourcesTables, ExportTables, ScaleTables {}
