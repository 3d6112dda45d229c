// Backup from the machine's PostgreSQL (pg_dump on an exported snapshot) and restore into another
// fresh PostgreSQL database: the same files, row counts, people and tags, and pgvector embeddings
// (CLIP and face vectors) that still answer a nearest-neighbour query the same way.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { createPgDatabase, PG_HOST, PG_NOVECTOR_ROLE, PG_PORT, PG_USER, pgEnv, pgHasVector, runCli, tmpDir } from '../helpers/env.js';
import { buildLibrary, expectCode, expectSameLibrary, json, libraryState, trashAndStack } from './backup-helpers.js';
import { withLibraryDb } from './import-helpers.js';

/** A deterministic unit vector of `dim` numbers for seed `i`, as pgvector text. */
function vectorText(i: number, dim: number): string {
  const v = Array.from({ length: dim }, (_, k) => Math.sin((i + 1) * (k + 1) * 0.37));
  const norm = Math.hypot(...v);
  return `[${v.map((x) => (x / norm).toFixed(6)).join(',')}]`;
}

/** Embeddings as text and the asset order of a kNN query, by checksum: what a restore must keep. */
async function vectorState(lib: string, env: Record<string, string>) {
  return withLibraryDb(lib, async (db) => {
    const clip = await sql<{ checksum: string; e: string }>`
      select a.checksum, s.embedding::text as e from smart_search s join assets a on a.id = s.asset_id order by a.checksum`.execute(db);
    const faces = await sql<{ checksum: string; e: string }>`
      select a.checksum, fs.embedding::text as e from face_search fs join asset_faces f on f.id = fs.face_id
      join assets a on a.id = f.asset_id order by a.checksum`.execute(db);
    const knn = await sql<{ checksum: string }>`
      select a.checksum from smart_search s join assets a on a.id = s.asset_id
      order by s.embedding <=> ${vectorText(0, 512)}::vector limit 3`.execute(db);
    return { clip: clip.rows, faces: faces.rows, knn: knn.rows.map((r) => r.checksum) };
  }, env);
}

describe('immich backup / restore with PostgreSQL', () => {
  const dbs: Array<{ name: string; drop: () => Promise<void> }> = [];
  let base: string;
  beforeAll(async () => {
    base = tmpDir('immich-backup-pg-');
    dbs.push(await createPgDatabase('immich_bk_src'), await createPgDatabase('immich_bk_dst'));
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop().catch(() => {});
  });

  it('round trip into a fresh database; a database with rows is refused without --force', async () => {
    const lib = path.join(base, 'library');
    const src = pgEnv(dbs[0]!.name);
    const dst = pgEnv(dbs[1]!.name);
    await buildLibrary(lib, path.join(base, 'src'), src, 3);
    await trashAndStack(lib, path.join(base, 'src'), src);
    await withLibraryDb(lib, async (db) => {
      const assets = await db.selectFrom('assets').select('id').orderBy('library_path').execute();
      for (const [i, a] of assets.entries()) {
        await sql`insert into smart_search (asset_id, model, embedding) values (${a.id}, 'ViT-B-32__openai', ${vectorText(i, 512)}::vector)`.execute(db);
        const face = await db.insertInto('asset_faces').values({
          asset_id: a.id, model: 'test', image_width: 64, image_height: 48, box_x1: 1, box_y1: 1, box_x2: 20, box_y2: 20, score: 0.9, landmarks: [],
        }).returning('id').executeTakeFirstOrThrow();
        await sql`insert into face_search (face_id, embedding) values (${face.id}, ${vectorText(i + 10, 512)}::vector)`.execute(db);
      }
    }, src);
    const vectorsBefore = await vectorState(lib, src);
    expect(vectorsBefore.clip).toHaveLength(3);
    expect(vectorsBefore.faces).toHaveLength(3);
    const repo = path.join(base, 'repo');
    const b = await runCli(['--json', 'backup', repo, '--include-derived'], { UPLOAD_LOCATION: lib, ...src });
    expectCode(b, 0);
    expect(json(b).database.kind).toBe('postgres');
    expect(json(b).database.rows).toBeGreaterThan(10);
    expect(b.stderr).not.toMatch(/password/i);

    const restored = path.join(base, 'restored');
    const r = await runCli(['--json', 'restore', repo, '--to', restored], { UPLOAD_LOCATION: restored, ...dst });
    expectCode(r, 0);
    expect(json(r).database.kind).toBe('postgres');
    const state = await libraryState(restored, dst);
    expectSameLibrary(await libraryState(lib, src), state);
    expect(state.trash).toHaveLength(2);
    expect(state.stacks).toHaveLength(1);
    expect(await vectorState(restored, dst)).toEqual(vectorsBefore);

    const v = await runCli(['--json', 'verify', '--no-models'], { UPLOAD_LOCATION: restored, ...dst });
    expectCode(v, 0);
    const checks = json(v).checks as Array<{ name: string; status: string }>;
    expect(checks.filter((c) => c.status === 'error' || c.status === 'unavailable')).toEqual([]);

    // The destination now has rows: refused without --force, even into an empty folder.
    const again = await runCli(['restore', repo, '--to', path.join(base, 'other')], dst);
    expectCode(again, 2);
    expect(again.stderr).toMatch(/rows in the PostgreSQL database/);
    expect(fs.existsSync(path.join(base, 'other'))).toBe(false);
  });

  it('restore as the library\'s own non-superuser role keeps the extensions; IMMICH_RESTORE_ADMIN_URL prepares a new database', { timeout: 1_200_000 }, async (t) => {
    if (!(await pgHasVector())) return t.skip();
    const lib = path.join(base, 'nosu-library');
    const srcDb = await createPgDatabase('immich_bk_nosu_src');
    const owned = await createPgDatabase('immich_bk_nosu', { vector: false });
    dbs.push(srcDb, owned);
    const admin = async (database: string, q: string) => {
      const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database });
      await c.connect();
      try {
        return await c.query(q);
      } finally {
        await c.end();
      }
    };
    // An administrator made the extensions once; the library's role cannot create vector itself.
    await admin(owned.name, 'create extension if not exists vector; create extension if not exists pg_trgm; create extension if not exists unaccent');
    await buildLibrary(lib, path.join(base, 'nosu-src'), srcDb.env, 2);
    const repo = path.join(base, 'nosu-repo');
    expectCode(await runCli(['backup', repo, '--include-derived'], { UPLOAD_LOCATION: lib, ...srcDb.env }), 0);

    const restored = path.join(base, 'nosu-restored');
    const r = await runCli(['--json', 'restore', repo, '--to', restored], { UPLOAD_LOCATION: restored, ...owned.env });
    expectCode(r, 0);
    expectSameLibrary(await libraryState(lib, srcDb.env), await libraryState(restored, owned.env));
    const again = await runCli(['--json', 'restore', repo, '--to', restored, '--force'], { UPLOAD_LOCATION: restored, ...owned.env });
    expectCode(again, 0);

    // A database that does not exist yet: created (owned by the role) with its extensions by the admin URL.
    const fresh = `immich_bk_nosu_new_${process.pid}`;
    dbs.push({ name: fresh, drop: async () => void (await admin('postgres', `drop database if exists ${fresh} with (force)`)) });
    const adminUrl = `postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/postgres`;
    const freshLib = path.join(base, 'nosu-fresh');
    const f = await runCli(['--json', 'restore', repo, '--to', freshLib], { UPLOAD_LOCATION: freshLib, ...pgEnv(fresh, PG_NOVECTOR_ROLE), IMMICH_RESTORE_ADMIN_URL: adminUrl });
    expectCode(f, 0);
    const owner = await admin('postgres', `select pg_get_userbyid(datdba) as owner from pg_database where datname = '${fresh}'`);
    expect(owner.rows[0].owner).toBe(PG_NOVECTOR_ROLE);
    expectSameLibrary(await libraryState(lib, srcDb.env), await libraryState(freshLib, pgEnv(fresh, PG_NOVECTOR_ROLE)));
  });
});
