// Loading the embedded engine (PGlite: PostgreSQL compiled to WebAssembly) for every command.
import v8 from 'node:v8';

let tuned = false;

/**
 * V8 compiles PGlite's ~9 MB of WebAssembly with its baseline compiler and, by default, re-compiles
 * every function that runs a little (1.8 MB of executed bytes) with the optimizing one in the
 * background: PostgreSQL's start-up alone crosses that for hundreds of functions, so opening the
 * database cost ~1.0 s of CPU, half of it optimizing code a short command never runs again. A
 * budget 50x higher keeps that optimization for the loops a long import or `serve` actually spends
 * its time in (measured: 0.45-0.55 s less CPU per open, heavy queries within noise). Set before
 * the module is compiled; V8 reads it per module.
 */
export function tuneWasmTiering(): void {
  if (tuned) return;
  tuned = true;
  // A budget given on node's command line (to compare, or to tune) is kept.
  if (process.execArgv.some((a) => a.startsWith('--wasm-tiering-budget') || a.startsWith('--liftoff'))) return;
  v8.setFlagsFromString('--wasm-tiering-budget=100000000');
}

export async function loadPGlite() {
  tuneWasmTiering();
  const [{ PGlite }, { vector }, { pg_trgm }, { unaccent }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-pgvector'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('@electric-sql/pglite/contrib/unaccent'),
  ]);
  return { PGlite, extensions: { vector, pg_trgm, unaccent } };
}
