// Row types for the queue area's migrations. Add table interfaces here and list them in QueueTables.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface QueueTables {}
