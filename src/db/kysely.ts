// kysely's runtime values for the whole program: import them from here, not from 'kysely' (types
// may come from either), so that one copy loads, from its bundle when there is one (src/vendor.ts).
import type * as K from 'kysely';
import { loadBundled } from '../vendor.js';

const k: typeof K = loadBundled<typeof K>('kysely') ?? (await import('kysely'));

export const { sql, Kysely, PostgresDialect, CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } = k;
export type Kysely<DB> = K.Kysely<DB>;
export type CompiledQuery<O = unknown> = K.CompiledQuery<O>;
