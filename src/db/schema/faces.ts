// Row types for the faces area's migrations. Add table interfaces here and list them in FacesTables.
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface FacesTables {}
