#!/usr/bin/env node
// Make dist/embedded-template/: an empty embedded database with every migration applied, which a new
// library copies instead of running PGlite's initdb (src/db/embedded-template.ts says why). Run by
// `npm run build` after tsc; a new library works without it, only slower to create.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../dist/db/connect.js';
import { BARE_TEMPLATE_DIR, TEMPLATE_DIR, TEMPLATE_MANIFEST } from '../dist/db/embedded-template.js';
import { loadPGlite } from '../dist/db/pglite-engine.js';
import { installedVersion } from '../dist/vendor.js';

process.env.IMMICH_DB_TEMPLATE = '0'; // built by initdb, never from an older template
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-db-template-'));
const dir = path.join(work, 'database');
try {
  const database = await openDatabase(
    { kind: 'embedded', port: 5432, username: 'postgres', database: 'immich', embeddedPath: dir },
    { command: 'build-db-template' },
  );
  const migrations = database.migrations?.applied ?? [];
  if (database.migrations?.pending.length) throw new Error(`migrations left pending: ${database.migrations.pending.join(', ')}`);
  await database.close();
  fs.rmSync(TEMPLATE_MANIFEST, { force: true });
  fs.rmSync(TEMPLATE_DIR, { recursive: true, force: true });
  fs.cpSync(dir, TEMPLATE_DIR, { recursive: true });
  // initdb's output alone, for restores (they load a dump into an empty database).
  const bare = path.join(work, 'bare');
  const { PGlite, extensions } = await loadPGlite();
  await (await PGlite.create(bare, { extensions })).close();
  fs.rmSync(BARE_TEMPLATE_DIR, { recursive: true, force: true });
  fs.cpSync(bare, BARE_TEMPLATE_DIR, { recursive: true });
  // The manifest last: a template without it is never used.
  fs.writeFileSync(TEMPLATE_MANIFEST, JSON.stringify({ pglite: installedVersion('@electric-sql/pglite'), migrations }, null, 1) + '\n');
  process.stdout.write(`embedded database template: ${migrations.length} migrations -> ${path.relative(process.cwd(), TEMPLATE_DIR)}\n`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
