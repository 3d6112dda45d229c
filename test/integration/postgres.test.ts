// The PostgreSQL backend without pgvector (a role that cannot create it, as on a managed server): the same
// `immich import` + `immich index` as on the embedded database gives the same library, vector
// migrations are held back, and the ML stages report the missing extension once, not per asset.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import type { DB } from '../../src/db/schema.js';
import { createPgDatabase, runCli, tmpDir } from '../helpers/env.js';

async function fixtures(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 4; i++) {
    await sharp({ create: { width: 120, height: 80, channels: 3, background: { r: 40 * i, g: 120, b: 200 - 30 * i } } })
      .withExif({ IFD0: { Make: 'TestCam', Model: `X${i}`, DateTime: `2021:0${i + 1}:0${i + 2} 10:11:12` } })
      .jpeg()
      .toFile(path.join(dir, `photo-${i}.jpg`));
  }
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=1', '-pix_fmt', 'yuv420p', '-y', path.join(dir, 'clip.mp4')]);
  fs.writeFileSync(path.join(dir, 'broken.jpg'), 'not a jpeg at all');
}

/** What a user would compare: assets by checksum with their metadata, derived files and stage status. */
async function snapshot(db: Kysely<DB>) {
  const assets = await db
    .selectFrom('assets')
    .leftJoin('exif', 'exif.asset_id', 'assets.id')
    .select(['assets.id', 'checksum', 'original_name', 'type', 'width', 'height', 'file_size', 'exif.make', 'exif.model', 'exif.duration'])
    .orderBy('checksum')
    .execute();
  const files = await db.selectFrom('asset_files').select(['asset_id', 'kind', 'width', 'height']).execute();
  const status = await db.selectFrom('asset_job_status').select(['asset_id', 'stage', 'status']).execute();
  return assets.map(({ id, ...a }) => ({
    ...a,
    duration: a.duration === null ? null : Math.round(a.duration * 10) / 10,
    files: files.filter((f) => f.asset_id === id).map((f) => `${f.kind} ${f.width}x${f.height}`).sort(),
    stages: status.filter((s) => s.asset_id === id && ['metadata', 'thumbnails', 'video'].includes(s.stage)).map((s) => `${s.stage}:${s.status}`).sort(),
  }));
}

describe('PostgreSQL 15 at 127.0.0.1 without pgvector behaves like the embedded database', () => {
  // Two libraries, two imports and two index runs (one of them on PGlite): slow when the machine is loaded.
  const src = tmpDir('immich-pg-src-');
  let dbEnv: Record<string, string>;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    await fixtures(src);
    ({ env: dbEnv, drop } = await createPgDatabase('immich_pgcmp', { vector: false }));
  });
  afterAll(async () => drop?.());

  it('import + index give the same assets, metadata, files and stage status; vector migrations held back', { timeout: 300_000 }, async () => {
    const models = tmpDir('immich-no-models-');
    const embeddedEnv = { UPLOAD_LOCATION: tmpDir('immich-emb-lib-'), IMMICH_MODELS_DIR: models };
    const pgLibEnv = { ...dbEnv, UPLOAD_LOCATION: tmpDir('immich-pg-lib-'), IMMICH_MODELS_DIR: models };

    const results = [];
    for (const env of [embeddedEnv, pgLibEnv]) {
      const imp = await runCli(['import', src, '--json'], env);
      // the broken file fails (exit 1) on both, the rest is imported
      expect(imp.code, imp.stderr).toBe(1);
      const summary = JSON.parse(imp.stdout);
      expect(summary.counts).toMatchObject({ found: 6, imported: 5, failed: 1 });
      // one line per problem: the missing extension is reported once, not per asset
      const vectorLines = imp.stderr.split('\n').filter((l) => /pgvector/.test(l));
      expect(new Set(vectorLines).size).toBe(vectorLines.length);
      const idx = await runCli(['index', '--jobs', 'metadata,thumbnails,video', '--json'], env);
      expect(idx.code, idx.stderr).toBe(0);
      // metadata and thumbnails are done after the import; a 'skipped' stage (the clip needs no
      // transcode) counts as missing and is queued again, and skips again
      const queued = JSON.parse(idx.stdout).queued;
      expect(queued.metadata ?? 0).toBe(0);
      expect(queued.thumbnails ?? 0).toBe(0);
      const config = loadConfig({ env, cwd: tmpDir() });
      const database = await openDatabase(config.database);
      try {
        results.push({ kind: database.kind, hasVector: database.hasVector, migrations: database.migrations!, snap: await snapshot(database.db) });
      } finally {
        await database.close();
      }
    }
    const [emb, pgr] = results as [typeof results[0], typeof results[0]];
    expect(emb.kind).toBe('embedded');
    expect(pgr.kind).toBe('postgres');
    expect(emb.snap).toHaveLength(5);
    expect(pgr.snap).toEqual(emb.snap);
    expect(emb.snap.filter((a) => a.make === 'TestCam')).toHaveLength(4);
    expect(emb.snap.every((a) => a.stages.includes('thumbnails:done'))).toBe(true);
    expect(emb.snap.find((a) => a.type === 'video')!.stages.some((s) => /^video:(done|skipped)$/.test(s))).toBe(true);
    if (!pgr.hasVector) {
      // this machine's PostgreSQL 15: the vector migrations wait for pgvector, the others are the same
      expect(pgr.migrations.blocked.length).toBeGreaterThan(0);
      expect([...pgr.migrations.applied, ...pgr.migrations.blocked].sort()).toEqual([...emb.migrations.applied].sort());
    } else {
      expect(pgr.migrations.applied).toEqual(emb.migrations.applied);
    }
  });
});
