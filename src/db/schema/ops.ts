// Row types for the ops area's migrations. Add table interfaces here and list them in OpsTables.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface OpsTables {}
