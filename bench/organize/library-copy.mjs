// `immich edit --all --tag Bench/Run` on a copy of an existing seeded PostgreSQL library (real names,
// paths and exif rows, unlike run.mjs's synthetic rows), then the same edit again (nothing to change).
// Prints the edit's database time; with VERBOSE=1 each statement's time. To compare two versions,
// build the other one in a folder inside this repository (so its imports find node_modules), e.g.
//   git archive <rev> | tar -x -C bench/out/base && ln -s "$PWD/node_modules" bench/out/base/ && (cd bench/out/base && npx tsc -p .)
// and run this once per tree, alternating:
//   node bench/organize/library-copy.mjs immich_scale_100000 [tree=.]
// The template database is only copied (CREATE DATABASE ... TEMPLATE: it must have no other sessions).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const TEMPLATE = process.argv[2] ?? 'immich_scale_100000';
const ROOT = path.resolve(process.argv[3] ?? '.');
const { loadConfig } = await import(path.join(ROOT, 'dist/config.js'));
const { createContext } = await import(path.join(ROOT, 'dist/context.js'));
const { Logger } = await import(path.join(ROOT, 'dist/logger.js'));
const { selectAssetIds, parseSelection } = await import(path.join(ROOT, 'dist/services/selection.js'));
const { editAssets, parseEditFlags } = await import(path.join(ROOT, 'dist/services/edit.js'));

const name = `organize_copy_${process.pid}`;
const admin = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
await admin.connect();
await admin.query(`create database ${name} template ${TEMPLATE}`);
const lib = fs.mkdtempSync(path.join(os.tmpdir(), 'organize-copy-'));
const env = { UPLOAD_LOCATION: lib, DB_HOSTNAME: '127.0.0.1', DB_USERNAME: 'postgres', DB_DATABASE_NAME: name };
const ctx = await createContext(loadConfig({ env, cwd: lib }), new Logger('error', []), { command: 'bench', concurrency: 2 });
try {
  const starts = new Map();
  const times = [];
  // Times each statement (transformQuery runs before it, transformResult after).
  ctx.db = ctx.db.withPlugin({
    transformQuery(a) { starts.set(a.queryId, performance.now()); return a.node; },
    async transformResult(a) { times.push([performance.now() - starts.get(a.queryId), a.result.rows?.length ?? 0]); return a.result; },
  });
  const spec = parseEditFlags({ tag: ['Bench/Run'] });
  const ids = await selectAssetIds(ctx, await parseSelection({ all: true }), { strict: true });
  times.length = 0;
  const r = await editAssets(ctx, ids, spec, { skipSidecars: true });
  const again = await editAssets(ctx, ids, spec, { skipSidecars: true });
  console.log(`${path.relative(process.cwd(), ROOT) || '.'}: ${ids.length} assets, edit ${(r.dbMs / 1000).toFixed(2)} s (${r.changed} changed), re-run ${(again.dbMs / 1000).toFixed(2)} s`);
  if (process.env.VERBOSE) for (const [ms, n] of times) console.log(`  ${ms.toFixed(0)} ms, ${n} rows`);
} finally {
  await ctx.close();
  await admin.query(`drop database ${name} with (force)`);
  await admin.end();
  fs.rmSync(lib, { recursive: true, force: true });
}
