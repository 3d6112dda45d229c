// The same migrations and behaviour on the embedded database and on the machine's PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import fs from 'node:fs';
import path from 'node:path';
import { listMigrations } from '../../src/db/migrate.js';
import { BARE_TEMPLATE_DIR, TEMPLATE_DIR, TEMPLATE_MANIFEST } from '../../src/db/embedded-template.js';
import { EnvironmentError } from '../../src/errors.js';
import { jobStatusTotals } from '../../src/services/queues.js';
import { jobRunTotals } from '../../src/db/job-status-counts.js';
import { everyStageDone } from '../../src/services/index.js';
import { stagesFor } from '../../src/services/import-plan.js';
import { createPgDatabase, pgEnv, tmpDir } from '../helpers/env.js';

async function roundTrip(env: Record<string, string>) {
  const config = loadConfig({ env, cwd: tmpDir() });
  const database = await openDatabase(config.database);
  try {
    const { db } = database;
    const applied = await db.selectFrom('schema_migrations').select('name').execute();
    const expected = listMigrations().filter((m) => database.hasVector || !m.requiresVector).map((m) => m.name);
    expect(applied.map((r) => r.name).sort()).toEqual(expected.sort());
    const row = await db
      .insertInto('assets')
      .values({
        checksum: 'a'.repeat(40), original_path: '/x/a.jpg', original_name: 'a.jpg', library_path: 'uploads/a.jpg',
        storage_mode: 'copy', type: 'image', mime_type: 'image/jpeg', file_size: 5_000_000_000, file_mtime: new Date(),
        taken_at: null, local_taken_at: null, time_zone: null, width: 10, height: 20, thumbhash: null, live_photo_video_id: null,
      })
      .returning(['id', 'file_size'])
      .executeTakeFirstOrThrow();
    // bigint comes back as a number on both backends
    expect(row.file_size).toBe(5_000_000_000);
    await expect(
      db.insertInto('assets').values({
        checksum: 'a'.repeat(40), original_path: '/x/b.jpg', original_name: 'b.jpg', library_path: 'uploads/b.jpg',
        storage_mode: 'copy', type: 'image', mime_type: 'image/jpeg', file_size: 1, file_mtime: new Date(),
        taken_at: null, local_taken_at: null, time_zone: null, width: null, height: null, thumbhash: null, live_photo_video_id: null,
      }).execute(),
    ).rejects.toThrow(/unique|duplicate/i);
    const trgm = await sql<{ s: number }>`select similarity('hello', 'helo') as s`.execute(db);
    expect(trgm.rows[0]!.s).toBeGreaterThan(0.3);
    // 0200: the counts `stats` and `jobs` read follow inserts, status changes (not other updates)
    // and deletes (here through the asset's cascade) of asset_job_status.
    const grouped = async () =>
      (await db.selectFrom('asset_job_status').select(['stage', 'status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy(['stage', 'status']).execute())
        .map((r) => ({ stage: r.stage, status: r.status, n: Number(r.n) }))
        .sort((a, b) => a.stage.localeCompare(b.stage));
    const totals = async () => (await jobStatusTotals(db)).sort((a, b) => a.stage.localeCompare(b.stage));
    await db.insertInto('asset_job_status').values([
      { asset_id: row.id, stage: 'metadata', status: 'done' },
      { asset_id: row.id, stage: 'thumbnails', status: 'queued' },
    ]).execute();
    await db.updateTable('asset_job_status').set({ status: 'failed' }).where('stage', '=', 'thumbnails').execute();
    await db.updateTable('asset_job_status').set({ attempts: 2 }).where('stage', '=', 'metadata').execute();
    expect(await totals()).toEqual([{ stage: 'metadata', status: 'done', n: 1 }, { stage: 'thumbnails', status: 'failed', n: 1 }]);
    expect(await totals()).toEqual(await grouped());
    // index --missing's shortcut: every stage of every asset done, read from those counts
    expect(await everyStageDone(db)).toBe(false);
    await db.insertInto('asset_job_status').values(stagesFor('image').map((stage) => ({ asset_id: row.id, stage, status: 'done' as const })))
      .onConflict((oc) => oc.columns(['asset_id', 'stage']).doUpdateSet({ status: 'done' })).execute();
    expect(await everyStageDone(db)).toBe(true);
    await db.updateTable('asset_job_status').set({ status: 'skipped' }).where('stage', '=', 'ocr').execute();
    expect(await everyStageDone(db)).toBe(false);
    expect(await everyStageDone(db, ['metadata', 'thumbnails'])).toBe(true);
    // 0252: timeline months follow multi-row inserts, updates (flags, dates, motion parts, other
    // columns) and deletes, per statement (0101's row trigger was quadratic inside a statement).
    const months = async () =>
      (await sql<{ month: string; is_archived: boolean; is_favorite: boolean; is_trashed: boolean; count: number }>`
        select month::text, is_archived, is_favorite, is_trashed, count::int from timeline_months where count <> 0 order by 1, 2, 3, 4`.execute(db)).rows;
    const grouped0101 = async () =>
      (await sql<{ month: string; is_archived: boolean; is_favorite: boolean; is_trashed: boolean; count: number }>`
        select (date_trunc('month', coalesce(taken_at, file_mtime) at time zone 'UTC'))::date::text as month, is_archived, is_favorite,
          deleted_at is not null as is_trashed, count(*)::int as count from assets where not is_motion_part group by 1, 2, 3, 4 order by 1, 2, 3, 4`.execute(db)).rows;
    await sql`insert into assets (checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime, taken_at)
      select md5(i::text), '/t/' || i, i || '.jpg', 'uploads/t/' || i, 'copy', 'image', 'image/jpeg', 1, now(), timestamptz '2020-01-15' + i * interval '10 days'
      from generate_series(1, 12) i`.execute(db);
    expect(await months()).toEqual(await grouped0101());
    await sql`update assets set is_favorite = true where original_path like '/t/%' and original_name < '5'`.execute(db);
    await sql`update assets set is_archived = true, width = 7 where original_path = '/t/2'`.execute(db);
    await sql`update assets set taken_at = taken_at + interval '200 days' where original_path in ('/t/3', '/t/4')`.execute(db);
    await sql`update assets set is_motion_part = true where original_path = '/t/5'`.execute(db);
    await sql`update assets set deleted_at = now() where original_path = '/t/6'`.execute(db);
    await sql`update assets set width = 9 where original_path like '/t/%'`.execute(db);
    expect(await months()).toEqual(await grouped0101());
    await sql`delete from assets where original_path in ('/t/1', '/t/7', '/t/8')`.execute(db);
    expect(await months()).toEqual(await grouped0101());
    await sql`delete from assets where original_path like '/t/%'`.execute(db);
    // 0250: job_runs totals (what `stats` reports over the whole history) follow multi-row inserts,
    // updates and deletes, per statement.
    const runsGrouped = async () =>
      (await db.selectFrom('job_runs').select(['stage', 'status', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('duration_ms').as('ms')])
        .groupBy(['stage', 'status']).orderBy('stage').orderBy('status').execute())
        .map((r) => ({ stage: r.stage, status: r.status, count: Number(r.n), ms: Number(r.ms) }));
    await db.insertInto('job_runs').values([
      { stage: 'metadata', asset_id: row.id, status: 'done', duration_ms: 10 },
      { stage: 'metadata', asset_id: row.id, status: 'done', duration_ms: 15 },
      { stage: 'ocr', asset_id: row.id, status: 'failed', duration_ms: 7 },
    ]).execute();
    await db.insertInto('job_runs').values({ stage: 'ocr', asset_id: row.id, status: 'done', duration_ms: 3 }).execute();
    await db.updateTable('job_runs').set({ status: 'skipped', duration_ms: 1 }).where('stage', '=', 'ocr').where('status', '=', 'failed').execute();
    await db.deleteFrom('job_runs').where('duration_ms', '=', 15).execute();
    expect(await jobRunTotals(db)).toEqual([
      { stage: 'metadata', status: 'done', count: 1, ms: 10 },
      { stage: 'ocr', status: 'done', count: 1, ms: 3 },
      { stage: 'ocr', status: 'skipped', count: 1, ms: 1 },
    ]);
    expect(await jobRunTotals(db)).toEqual(await runsGrouped());
    await db.deleteFrom('job_runs').execute();
    expect(await jobRunTotals(db)).toEqual([]);
    await db.deleteFrom('assets').where('id', '=', row.id).execute();
    expect(await totals()).toEqual([]);
    return database;
  } finally {
    await database.close();
  }
}

describe('database backends', () => {
  it('embedded PGlite: migrations, constraints, extensions, and a lock against a second process', async () => {
    const lib = tmpDir();
    const database = await roundTrip({ UPLOAD_LOCATION: lib });
    expect(database.kind).toBe('embedded');
    expect(database.hasVector).toBe(true);
    // Reopen: migrations are not re-run.
    const cfg = loadConfig({ env: { UPLOAD_LOCATION: lib } }).database;
    const again = await openDatabase(cfg);
    expect(again.hasVector).toBe(true);
    expect(again.migrations!.pending).toEqual([]);
    // A library from before a migration (an upgrade) gets it on the next open.
    await sql`delete from schema_migrations where name = '0026_search_lookups'`.execute(again.db);
    await sql`drop index exif_state_fold_idx`.execute(again.db);
    await again.close();
    const upgraded = await openDatabase(cfg);
    try {
      expect(upgraded.migrations!.applied).toContain('0026_search_lookups');
      expect(upgraded.migrations!.pending).toEqual([]);
      const idx = await sql<{ n: number }>`select count(*)::int as n from pg_indexes where indexname = 'exif_state_fold_idx'`.execute(upgraded.db);
      expect(idx.rows[0]!.n).toBe(1);
    } finally {
      await upgraded.close();
    }
  });

  it('a new embedded library is a copy of the built template; a killed copy or a foreign folder is never used', async () => {
    // `npm run build` (and the suites' global setup) makes it: a new library must not pay for initdb.
    expect(fs.existsSync(path.join(TEMPLATE_DIR, 'PG_VERSION'))).toBe(true);
    expect(fs.existsSync(path.join(BARE_TEMPLATE_DIR, 'PG_VERSION'))).toBe(true); // restores start from it
    const manifest = JSON.parse(fs.readFileSync(TEMPLATE_MANIFEST, 'utf8')) as { migrations: string[] };
    expect(manifest.migrations).toEqual(listMigrations().map((m) => m.name));
    const lib = tmpDir();
    const dir = path.join(lib, 'database');
    // What a process killed in the middle of the copy leaves: a half-copied folder beside the database.
    fs.mkdirSync(`${dir}.creating/base`, { recursive: true });
    fs.writeFileSync(`${dir}.creating/PG_VERSION`, '15\n');
    const cfg = loadConfig({ env: { UPLOAD_LOCATION: lib } }).database;
    const a = await openDatabase(cfg);
    try {
      expect(a.migrations!.pending).toEqual([]);
      expect(fs.existsSync(`${dir}.creating`)).toBe(false);
      expect((fs.statSync(dir).mode & 0o777).toString(8)).toBe('700');
      await a.db.insertInto('albums').values({ name: 'kept' } as never).execute();
    } finally {
      await a.close();
    }
    // The copy is a database of its own: its rows stay, the template gets none.
    const b = await openDatabase(cfg);
    try {
      expect((await b.db.selectFrom('albums').select('name').execute()).map((r) => r.name)).toEqual(['kept']);
    } finally {
      await b.close();
    }
    const fresh = await openDatabase(loadConfig({ env: { UPLOAD_LOCATION: tmpDir() } }).database);
    try {
      expect(await fresh.db.selectFrom('albums').select('name').execute()).toEqual([]);
    } finally {
      await fresh.close();
    }
    // A folder that holds something else is not replaced by the template.
    const other = tmpDir();
    fs.mkdirSync(path.join(other, 'database'));
    fs.writeFileSync(path.join(other, 'database', 'notes.txt'), 'mine');
    await openDatabase(loadConfig({ env: { UPLOAD_LOCATION: other } }).database).then((d) => d.close(), () => undefined);
    expect(fs.readFileSync(path.join(other, 'database', 'notes.txt'), 'utf8')).toBe('mine');
  });

  describe('PostgreSQL at 127.0.0.1', () => {
    let drop: () => Promise<void>;
    let name: string;
    beforeAll(async () => ({ name, drop } = await createPgDatabase()));
    afterAll(async () => drop?.());
    it('runs the same migrations and behaves the same', async () => {
      const database = await roundTrip(pgEnv(name));
      expect(database.kind).toBe('postgres');
    });
  });

  it('unreachable PostgreSQL is an environment error naming host and port', async () => {
    const config = loadConfig({ env: { DB_HOSTNAME: '127.0.0.1', DB_PORT: '1' } });
    const err = await openDatabase(config.database).catch((e) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err.message).toMatch(/127\.0\.0\.1:1/);
    expect(err.exitCode).toBe(3);
  });
});
