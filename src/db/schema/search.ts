// Row types for the search area's migrations. Add table interfaces here and list them in SearchTables.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface SearchTables {}
