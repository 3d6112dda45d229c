// Backup from the machine's PostgreSQL (pg_dump on an exported snapshot) and restore into another
// fresh PostgreSQL database: the same files, row counts, people and tags.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { buildLibrary, expectCode, expectSameLibrary, json, libraryState } from './backup-helpers.js';

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
    expectSameLibrary(await libraryState(lib, src), await libraryState(restored, dst));

    const v = await runCli(['--json', 'verify', '--no-models'], { UPLOAD_LOCATION: restored, ...dst });
    expectCode(v, 0); // pgvector is missing on this server: a warning, not a failure
    const checks = json(v).checks as Array<{ name: string; status: string }>;
    expect(checks.filter((c) => c.status === 'error' || c.status === 'unavailable')).toEqual([]);

    // The destination now has rows: refused without --force, even into an empty folder.
    const again = await runCli(['restore', repo, '--to', path.join(base, 'other')], dst);
    expectCode(again, 2);
    expect(again.stderr).toMatch(/rows in the PostgreSQL database/);
    expect(fs.existsSync(path.join(base, 'other'))).toBe(false);
  });
});
