// `immich edit` on many assets, as the terminal runs it: only the first changes are read into Node
// (changeLimit) while the counts stay exact and every changed asset's sidecar is written; a re-run
// (the tag rows exist: ON CONFLICT) changes nothing; the batch writer merges into a sidecar that
// exists (fields we do not write survive) and reports a failure per file. Synthetic asset rows on
// one embedded library (no media needed); on PostgreSQL, a tag row another session adds while the
// edit runs (its plain insert then meets a unique violation and the edit retries with ON CONFLICT).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exiftoolPath } from 'exiftool-vendored';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { sql } from '../../src/db/kysely.js';
import { Logger } from '../../src/logger.js';
import { writeXmpSidecars } from '../../src/media/xmp.js';
import { editAssets, parseEditFlags } from '../../src/services/edit.js';
import { getExifTool } from '../../src/services/media.js';
import { parseSelection, selectionIdsQuery } from '../../src/services/selection.js';
import pg from 'pg';
import { createPgDatabase, PG_HOST, PG_PORT, tmpDir } from '../helpers/env.js';

const N = 7;

describe('bulk edit (embedded)', () => {
  let lib: string;
  let ctx: Context;
  let exiftool: string;
  const readXmp = (file: string): Record<string, unknown> => JSON.parse(execFileSync(exiftool, ['-j', '-n', '-G1', '-a', file], { encoding: 'utf8' }))[0];

  beforeAll(async () => {
    exiftool = await exiftoolPath();
    lib = tmpDir('immich-edit-bulk-');
    ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: lib }, cwd: lib }), new Logger('error', []), { command: 'test', concurrency: 2 });
    await sql`insert into assets (checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime, taken_at, local_taken_at, time_zone)
      select md5(i::text), '/src/' || i || '.jpg', i || '.jpg', 'uploads/bulk/' || (i % 2) || '/' || i || '.jpg', 'copy', 'image', 'image/jpeg', 1000, now(),
             timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute', timestamp '2020-01-01 01:00:00' + i * interval '1 minute', '+01:00'
      from generate_series(1, ${N}) i`.execute(ctx.db);
  });
  afterAll(async () => {
    await ctx?.close();
    fs.rmSync(lib, { recursive: true, force: true });
  });

  const editAll = async (flags: Parameters<typeof parseEditFlags>[0], changeLimit?: number) =>
    editAssets(ctx, await selectionIdsQuery(ctx, await parseSelection({ all: true }), { strict: true }), parseEditFlags(flags), { changeLimit });

  it('lists the first changes only, counts all of them, writes every sidecar', async () => {
    const r = await editAll({ tag: ['Bulk/One'], rating: '3' }, 2);
    expect(r).toMatchObject({ selected: N, changed: N, changeCount: 2 * N, sidecarsWritten: N, sidecarFailures: [] });
    expect(r.changes).toHaveLength(2);
    for (const c of r.changes) expect(c.file).toMatch(/uploads\/bulk\/\d\/\d\.jpg$/);
    for (let i = 1; i <= N; i++) {
      const x = readXmp(path.join(lib, `uploads/bulk/${i % 2}/${i}.jpg.xmp`));
      expect(x['XMP-digiKam:TagsList']).toBe('Bulk/One');
      expect(x['XMP-xmp:Rating']).toBe(3);
      expect(x['XMP-exif:DateTimeOriginal']).toBe(`2020:01:01 01:0${i}:00+01:00`);
    }
    expect(fs.readdirSync(path.join(lib, 'uploads/bulk/1')).filter((f) => f.includes('.immich-tmp-'))).toEqual([]);
    const synced = await sql<{ n: number }>`select count(*)::int as n from asset_sidecars where state = 'synced' and size > 0`.execute(ctx.db);
    expect(synced.rows[0]!.n).toBe(N);
  });

  it('a re-run changes nothing; a second tag goes to assets that have edit rows (ON CONFLICT) and keeps the first', async () => {
    expect(await editAll({ tag: ['Bulk/One'] }, 2)).toMatchObject({ changed: 0, changeCount: 0, changes: [], sidecarsWritten: 0 });
    const r = await editAll({ tag: ['Bulk/Two'] });
    expect(r).toMatchObject({ changed: N, changeCount: N, sidecarsWritten: N });
    expect(r.changes).toHaveLength(N);
    const x = readXmp(path.join(lib, 'uploads/bulk/1/1.jpg.xmp'));
    expect(x['XMP-digiKam:TagsList']).toEqual(['Bulk/One', 'Bulk/Two']);
    const rows = await sql<{ n: number }>`select count(*)::int as n from asset_user_tags`.execute(ctx.db);
    expect(rows.rows[0]!.n).toBe(2 * N);
  });

  it.each([
    ['through the warm exiftool processes', undefined],
    ['through argfiles (a batch of 16+ per process)', 1],
  ])('the batch writer %s keeps fields it does not write and reports a failure per file', async (_label, procs) => {
    const et = await getExifTool(ctx);
    const target = path.join(lib, 'uploads/bulk/1/1.jpg.xmp');
    execFileSync(exiftool, ['-overwrite_original', '-XMP-dc:Creator=Someone Else', '-XMP-exif:DateTimeOriginal=2001:01:01 00:00:00', target]);
    fs.mkdirSync(path.join(lib, 'ro'), { recursive: true });
    fs.writeFileSync(path.join(lib, 'ro/blocker'), '');
    const fields = { description: 'merged "quoted" & <b>\nsecond line', rating: 5, localTakenAt: null, offset: null, latitude: null, longitude: null, tags: ['Bulk/One', 'Trips/Lisbon'] };
    const fresh = Array.from({ length: 18 }, (_, k) => ({ target: path.join(lib, `new-${procs ?? 0}`, String(k % 3), `${k}.jpg.xmp`), fields: { ...fields, localTakenAt: '2024-05-01T10:00:00', offset: '+01:00', latitude: 38.7, longitude: -9.1 } }));
    const results = await writeXmpSidecars(et, [
      { target, fields },
      // a folder that cannot be made: a file stands where it would be
      { target: path.join(lib, 'ro/blocker/x.jpg.xmp'), fields },
      ...fresh,
    ], { concurrency: 4, procs });
    expect(results[0]).toMatchObject({ size: fs.statSync(target).size });
    expect((results[1] as { error: Error }).error.message).toMatch(/ENOTDIR|EEXIST/);
    expect(results.slice(2).filter((r) => 'error' in r)).toEqual([]);
    const x = readXmp(target);
    expect(x).toMatchObject({
      'XMP-dc:Creator': 'Someone Else', 'XMP-dc:Description': 'merged "quoted" & <b>\nsecond line', 'XMP-xmp:Rating': 5,
      'XMP-digiKam:TagsList': ['Bulk/One', 'Trips/Lisbon'], 'XMP-lr:HierarchicalSubject': ['Bulk|One', 'Trips|Lisbon'], 'XMP-dc:Subject': ['One', 'Lisbon'],
    });
    // a field we write as null is removed from the existing sidecar
    expect(x['XMP-exif:DateTimeOriginal']).toBeUndefined();
    const y = readXmp(fresh[17]!.target);
    expect(y).toMatchObject({ 'XMP-exif:DateTimeOriginal': '2024:05:01 10:00:00+01:00', 'XMP-photoshop:DateCreated': '2024:05:01 10:00:00+01:00', 'XMP-exif:GPSLatitude': 38.7, 'XMP-exif:GPSLongitude': -9.1, 'XMP-dc:Description': 'merged "quoted" & <b>\nsecond line' });
    expect(fs.readdirSync(path.dirname(fresh[0]!.target)).filter((f) => f.includes('.immich-tmp-'))).toEqual([]);
  });
});

describe('bulk edit (postgres): a tag row added by another session meanwhile', () => {
  let lib: string;
  let ctx: Context;
  let db: Awaited<ReturnType<typeof createPgDatabase>>;

  beforeAll(async () => {
    db = await createPgDatabase('immich_test_organize_bulk');
    lib = tmpDir('immich-edit-bulk-pg-');
    ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: lib, ...db.env }, cwd: lib }), new Logger('error', []), { command: 'test', concurrency: 2 });
    await sql`insert into assets (checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime)
      select md5(i::text), '/src/' || i || '.jpg', i || '.jpg', 'uploads/race/' || i || '.jpg', 'copy', 'image', 'image/jpeg', 1000, now()
      from generate_series(1, ${N}) i`.execute(ctx.db);
  });
  afterAll(async () => {
    await ctx?.close();
    await db?.drop();
    fs.rmSync(lib, { recursive: true, force: true });
  });

  it('the edit waits for it, then tags the other assets (ON CONFLICT) and counts only those', async () => {
    const tag = (await sql<{ id: string }>`insert into user_tags (value) values ('Race') returning id`.execute(ctx.db)).rows[0]!.id;
    const first = (await sql<{ id: string }>`select id from assets order by id limit 1`.execute(ctx.db)).rows[0]!.id;
    const other = new pg.Client({ host: PG_HOST, port: PG_PORT, user: db.user, database: db.name });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`insert into asset_user_tags (asset_id, tag_id, source) values ($1, $2, 'xmp')`, [first, tag]);
      // the edit's snapshot does not see that row: plain insert, which waits on the uncommitted key
      const edit = editAssets(ctx, await selectionIdsQuery(ctx, await parseSelection({ all: true }), { strict: true }), parseEditFlags({ tag: ['Race'] }), {
        skipSidecars: true,
        changeLimit: 3,
      });
      await new Promise((r) => setTimeout(r, 500));
      await other.query('commit');
      expect(await edit).toMatchObject({ selected: N, changed: N - 1, changeCount: N - 1 });
    } finally {
      await other.end();
    }
    const rows = await sql<{ source: string; n: number }>`select source, count(*)::int as n from asset_user_tags group by source order by source`.execute(ctx.db);
    expect(rows.rows).toEqual([{ source: 'user', n: N - 1 }, { source: 'xmp', n: 1 }]);
    const marks = await sql<{ n: number }>`select count(*)::int as n from asset_edits where xmp_edited_at is not null`.execute(ctx.db);
    expect(marks.rows[0]!.n).toBe(N - 1);
  });
});
