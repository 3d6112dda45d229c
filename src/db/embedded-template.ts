// A new embedded library starts from a copy of an empty, migrated database that `npm run build` made
// (scripts/build-db-template.mjs) instead of running PGlite's initdb and every migration: initdb in
// WebAssembly costs ~2.5 s of CPU, the copy of the ~40 MB folder ~0.1 s. The template holds no
// library data (migrations insert no rows with generated ids), so every copy is an ordinary new
// database; migrations newer than the template run on open as usual.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { environmentCause } from '../errors.js';
import { installedVersion } from '../vendor.js';
import { migrationNames } from './migrate.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/**
 * dist/embedded-template/ (the data folder) and dist/embedded-template.json (what made it); found
 * from dist/db/ and from src/db/ alike (the suites run the sources in-process).
 */
export const TEMPLATE_DIR = path.resolve(HERE, '../../dist/embedded-template');
export const TEMPLATE_MANIFEST = `${TEMPLATE_DIR}.json`;
/** initdb's output alone (no schema): what a restore loads a dump into. */
export const BARE_TEMPLATE_DIR = `${TEMPLATE_DIR}-bare`;

export interface TemplateManifest {
  pglite: string;
  migrations: string[];
}

const creatingPath = (dir: string): string => `${dir}.creating`;

/** The template's manifest when it fits this installation (same PGlite, only known migrations). */
function usableTemplate(bare: boolean): TemplateManifest | undefined {
  if (process.env.IMMICH_DB_TEMPLATE === '0') return undefined;
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(TEMPLATE_MANIFEST, 'utf8')) as TemplateManifest;
  } catch {
    return undefined; // not built (a tsc-only build, sources run by vitest)
  }
  if (!fs.existsSync(path.join(bare ? BARE_TEMPLATE_DIR : TEMPLATE_DIR, 'PG_VERSION'))) return undefined;
  if (manifest.pglite !== installedVersion('@electric-sql/pglite')) return undefined;
  if (bare) return manifest;
  const known = new Set(migrationNames());
  // A template with a migration this checkout no longer has would claim a schema it does not have.
  if (!manifest.migrations.every((m) => known.has(m))) return undefined;
  return manifest;
}

/**
 * Put a copy of the template at `dir` when `dir` holds no database yet. Returns whether it did.
 * The copy is made beside it and renamed into place, so a process killed halfway leaves only
 * <dir>.creating (removed by the next call) and never a half-copied database. Call with the lock held.
 */
export function createFromTemplate(dir: string, opts: { bare?: boolean } = {}): boolean {
  const staging = creatingPath(dir);
  fs.rmSync(staging, { recursive: true, force: true });
  if (fs.existsSync(path.join(dir, 'PG_VERSION'))) return false;
  // Only an empty (or missing) folder is replaced: anything else is left to PGlite to judge.
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
  }
  if (entries.length) return false;
  if (!usableTemplate(opts.bare ?? false)) return false;
  try {
    fs.cpSync(opts.bare ? BARE_TEMPLATE_DIR : TEMPLATE_DIR, staging, { recursive: true });
    fs.chmodSync(staging, 0o700);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(staging, dir);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    // A full disk or a read-only folder: one line naming the folder and the cause, not the template's path.
    const e = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot create the database in ${dir}: ${environmentCause(err) ?? e.message}`), { code: e.code, cause: err });
  }
  return true;
}
