// Row types for the backup area's migrations. Add table interfaces here and list them in BackupTables.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface BackupTables {}
