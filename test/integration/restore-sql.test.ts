// The restore checks (src/services/restore-sql.ts) against what backup really writes: every
// migration's schema as pg_dump prints it, on the embedded database and on PostgreSQL, must pass, so a
// new migration that writes a statement kind the checks do not know fails here, not in a user's
// restore. And the splitter cuts statements where PostgreSQL does, whatever the chunk boundaries.
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { EMBEDDED_DUMP_ARGS, pgClientEnv } from '../../src/services/backup.js';
import { dumpRules, readDump, StatementSplitter } from '../../src/services/restore-sql.js';
import { createPgDatabase, pgEnv, tmpDir } from '../helpers/env.js';

async function check(sql: Buffer): Promise<number> {
  const gz = zlib.gzipSync(sql);
  let n = 0;
  for await (const _ of readDump(Readable.from([gz]), { packedBytes: gz.length, sqlBytes: sql.length }, dumpRules())) n++;
  return n;
}

describe('restore checks accept every dump backup writes', () => {
  it('embedded: all migrations, dumped as backup dumps them', async () => {
    const config = loadConfig({ env: { UPLOAD_LOCATION: tmpDir('immich-restore-sql-') }, cwd: tmpDir() });
    const database = await openDatabase(config.database);
    try {
      const { pgDump } = await import('@electric-sql/pglite-tools/pg_dump');
      const file = await pgDump({ pg: database.pglite!, args: EMBEDDED_DUMP_ARGS });
      expect(await check(Buffer.from(await file.arrayBuffer()))).toBeGreaterThan(50);
    } finally {
      await database.close();
    }
  });

  it('PostgreSQL: all migrations that this server can run, dumped with pg_dump --inserts', async () => {
    const pg = await createPgDatabase('trust_security_sql');
    try {
      const config = loadConfig({ env: { ...pgEnv(pg.name), UPLOAD_LOCATION: tmpDir() }, cwd: tmpDir() });
      const database = await openDatabase(config.database);
      await database.close();
      const r = spawnSync('pg_dump', ['--no-owner', '--no-privileges', '--format=plain', '--inserts', '--rows-per-insert=500'], { env: pgClientEnv(config.database), maxBuffer: 1 << 28 });
      expect(r.status, r.stderr?.toString()).toBe(0);
      expect(await check(r.stdout)).toBeGreaterThan(50);
    } finally {
      await pg.drop();
    }
  });
});

describe('statement splitter', () => {
  const tricky =
    "SET a = 'x;y''z';\n" +
    "INSERT INTO public.t VALUES (E'a\\';b', 'c\\', 'd');\n" +
    'CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $_$ select 1; $$ ; $_$;\n' +
    '/* outer /* inner ; */ still comment ; */ SELECT 1;\n' +
    '-- a comment; with a semicolon\n' +
    'CREATE TABLE public.a$b (x int, "we;ird" int, type$$ text);\n' +
    "\\! touch /tmp/x\nSELECT 'not \\! a meta-command';\n";
  const expected = [
    { kind: 'sql', text: "SET a = 'x;y''z';" },
    { kind: 'sql', text: "INSERT INTO public.t VALUES (E'a\\';b', 'c\\', 'd');" },
    { kind: 'sql', text: 'CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $_$ select 1; $$ ; $_$;' },
    { kind: 'sql', text: 'SELECT 1;' },
    { kind: 'sql', text: 'CREATE TABLE public.a$b (x int, "we;ird" int, type$$ text);' },
    { kind: 'meta', text: '\\! touch /tmp/x' },
    { kind: 'sql', text: "SELECT 'not \\! a meta-command';" },
  ];

  it('cuts where PostgreSQL does, whole or one character at a time', () => {
    for (const size of [tricky.length, 1, 2, 3, 7]) {
      const s = new StatementSplitter();
      const out = [];
      for (let i = 0; i < tricky.length; i += size) out.push(...s.push(tricky.slice(i, i + size)));
      out.push(...s.end());
      expect(out, `chunks of ${size}`).toEqual(expected);
    }
  });
});
