// A tampered repository must not run anything on restore: attack dumps (psql meta-command, COPY TO
// PROGRAM, a function call in the schema, a statement that aborts the load, a gzip bomb) are refused
// with one clear line and exit 3, and the target library keeps its database; a restore killed while
// building the database leaves nothing that the next run does not clean.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createPgDatabase, PG_HOST, PG_PORT, PG_USER, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { buildLibrary, expectCode, json, libraryState } from './backup-helpers.js';

/** Add a snapshot to a plain repository whose dump is `sql` (gzipped here unless already a gzip). */
function tamper(repo: string, sql: Buffer, opts: { gz?: boolean; sqlBytes?: number | null } = {}): string {
  const orig = firstSnapshot(repo);
  const gz = opts.gz ? sql : zlib.gzipSync(sql);
  const sha1 = crypto.createHash('sha1').update(gz).digest('hex');
  fs.mkdirSync(path.join(repo, 'data', sha1.slice(0, 2)), { recursive: true });
  fs.writeFileSync(path.join(repo, 'data', sha1.slice(0, 2), sha1), gz);
  const dump = { ...orig.database.dump, object: sha1, sha1, size: gz.length };
  if (opts.sqlBytes === null) delete dump.sql_bytes;
  else dump.sql_bytes = opts.sqlBytes ?? sql.length;
  const header = Buffer.from(JSON.stringify({ ...orig, tags: ['tampered', crypto.randomUUID()], time: new Date(Date.parse(orig.time) - 1000).toISOString(), database: { ...orig.database, dump } }));
  const id = crypto.createHash('sha256').update(header).digest('hex');
  fs.writeFileSync(path.join(repo, 'snapshots', id), header);
  return id;
}

/** The oldest snapshot header of a plain repository (the one the suite's backup made). */
function firstSnapshot(repo: string): any {
  const all = fs.readdirSync(path.join(repo, 'snapshots')).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => JSON.parse(fs.readFileSync(path.join(repo, 'snapshots', n), 'utf8')));
  return all.filter((h) => !h.tags.length).sort((a, b) => a.time.localeCompare(b.time))[0];
}

/** The dump of the repository's first snapshot, unpacked. */
function originalDump(repo: string): string {
  const h = firstSnapshot(repo);
  const o = h.database.dump.object as string;
  return zlib.gunzipSync(fs.readFileSync(path.join(repo, 'data', o.slice(0, 2), o))).toString('utf8');
}

/** The dump with `extra` placed before its first CREATE TABLE (or at the end). */
function withStatement(dump: string, extra: string, where: 'start' | 'end' = 'start'): Buffer {
  if (where === 'end') return Buffer.from(dump.replace(/(\\unrestrict [A-Za-z0-9]+\s*)?$/, `\n${extra}\n$1`));
  const at = dump.indexOf('CREATE TABLE');
  return Buffer.from(dump.slice(0, at) + extra + '\n' + dump.slice(at));
}

describe('restore refuses what backup never writes (embedded database)', () => {
  let base: string;
  let lib: string;
  let repo: string;
  let pwned: string;
  const env = () => ({ UPLOAD_LOCATION: lib });

  beforeAll(async () => {
    base = tmpDir('immich-restore-trust-');
    lib = path.join(base, 'library');
    repo = path.join(base, 'repo');
    pwned = path.join(base, 'pwned');
    await buildLibrary(lib, path.join(base, 'src'), {}, 2);
    expectCode(await runCli(['backup', repo, '-q'], env()), 0);
  });

  it('attack dumps: nothing runs, the library keeps its database, one line names the statement', { timeout: 300_000 }, async () => {
    const before = await libraryState(lib);
    const dump = originalDump(repo);
    const attacks: Array<[string, Buffer, RegExp]> = [
      ['meta-command', withStatement(dump, `\\! touch ${pwned}`), /psql meta-command.*\\! touch/],
      ['meta-command mid-statement', withStatement(dump, `SELECT 1 \\! touch ${pwned}\n;`), /psql meta-command/],
      ['COPY TO PROGRAM', withStatement(dump, `COPY (SELECT 1) TO PROGRAM 'touch ${pwned}';`), /does not write \(COPY\)/],
      ['function in a CHECK', withStatement(dump, `ALTER TABLE ONLY public.tags ADD CONSTRAINT evil CHECK (length(pg_read_file('/etc/passwd')) > 0);`, 'end'), /a call to pg_read_file\(\)/],
      ['foreign function body', withStatement(dump, `CREATE FUNCTION public.immich_fold(text) RETURNS text LANGUAGE sql AS $$ select pg_read_file('/etc/passwd') $$;`), /immich_fold is not one of ours/],
      ['expression in INSERT', withStatement(dump, `INSERT INTO public.tags VALUES (99, pg_read_file('/etc/passwd'));`, 'end'), /expression in INSERT values/],
    ];
    for (const [name, sql, message] of attacks) {
      const id = tamper(repo, sql);
      const r = await runCli(['restore', repo, '--snapshot', id.slice(0, 12), '--to', lib, '--force'], env());
      expect(r.code, `${name}: ${r.stderr}`).toBe(3);
      const lines = r.stderr.trim().split('\n');
      expect(lines, name).toHaveLength(1);
      expect(lines[0], name).toMatch(message);
      expect(fs.existsSync(pwned), name).toBe(false);
    }
    // Refused before the safety snapshot: the repository has no new snapshot of the library.
    expect(json(await runCli(['--json', 'backup', 'list', repo], env())).snapshots.filter((s: any) => s.tags?.includes('safety'))).toEqual([]);

    // A statement that passes the checks but aborts the load: the built database is dropped.
    const aborting = tamper(repo, withStatement(dump, "INSERT INTO public.people VALUES ('not-a-uuid');", 'end'));
    const r = await runCli(['restore', repo, '--snapshot', aborting.slice(0, 12), '--to', lib, '--force'], env());
    expectCode(r, 3);
    expect(r.stderr).toMatch(/restoring the embedded database failed near statement \d+ \("INSERT INTO public\.people.*invalid input syntax for type uuid.*nothing was changed/);
    expect(fs.readdirSync(lib).filter((n) => n.startsWith('database.'))).toEqual([]);
    expect(await libraryState(lib)).toEqual(before);
  });

  it('a gzip bomb stops at the size the snapshot recorded, in seconds', async () => {
    // 600 MB of comment lines from ~0.6 MB of gzip members (a gzip stream may hold many members).
    const member = zlib.gzipSync(Buffer.from(('-- ' + 'x'.repeat(1020) + '\n').repeat(1024)), { level: 9 });
    const bomb = Buffer.concat([zlib.gzipSync(Buffer.from(originalDump(repo))), ...Array.from({ length: 600 }, () => member)]);
    const dumpSize = Buffer.byteLength(originalDump(repo));
    const recorded = tamper(repo, bomb, { gz: true, sqlBytes: dumpSize });
    const legacy = tamper(repo, bomb, { gz: true, sqlBytes: null }); // an older snapshot: no recorded size
    for (const [id, message] of [[recorded, /unpacks to more than \d+ bytes \(the size the snapshot recorded\)/], [legacy, /unpacks to more than \d+ bytes \(100 times its packed size\)/]] as const) {
      const started = Date.now();
      const r = await runCli(['restore', repo, '--snapshot', id.slice(0, 12), '--to', path.join(base, 'bomb-target')]);
      expectCode(r, 3);
      expect(r.stderr).toMatch(message);
      expect(Date.now() - started).toBeLessThan(20_000);
    }
  });

  it('a restore killed while it builds the database leaves the library as it was; the next run cleans up', { timeout: 300_000 }, async () => {
    const before = await libraryState(lib);
    const child = spawn(BIN, ['restore', repo, '--to', lib, '--force', '-q'], { env: { ...process.env, UPLOAD_LOCATION: lib, CI: 'true' }, stdio: 'ignore' });
    const staging = path.join(lib, 'database.restoring');
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    let seen = false;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (fs.existsSync(staging)) {
        seen = true;
        child.kill('SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await exited;
    expect(seen).toBe(true);
    expect(fs.existsSync(staging)).toBe(true); // the half-built folder is there...
    expect(await libraryState(lib)).toEqual(before); // ...and opening the library removed it
    expect(fs.existsSync(staging)).toBe(false);

    // Killed between the two renames of the swap: the next command puts the old database back.
    fs.renameSync(path.join(lib, 'database'), path.join(lib, 'database.replaced'));
    expect(await libraryState(lib)).toEqual(before);
    expect(fs.readdirSync(lib).filter((n) => n.startsWith('database.'))).toEqual([]);

    // And a restore after all that works.
    const r = await runCli(['--json', 'restore', repo, '--to', path.join(base, 'fresh')]);
    expectCode(r, 0);
    expect(json(r).problems).toEqual([]);
  });
});

describe('restore refuses what backup never writes (PostgreSQL)', () => {
  let base: string;
  let lib: string;
  let repo: string;
  let database: { name: string; drop: () => Promise<void> };
  const env = () => ({ UPLOAD_LOCATION: lib, ...pgEnv(database.name) });
  const count = async (sql: string): Promise<number> => {
    const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: database.name });
    await c.connect();
    try {
      return Number((await c.query(sql)).rows[0].n);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    database = await createPgDatabase('trust_security_restore');
    base = tmpDir('immich-restore-trust-pg-');
    lib = path.join(base, 'library');
    repo = path.join(base, 'repo');
    await buildLibrary(lib, path.join(base, 'src'), pgEnv(database.name), 2);
    expectCode(await runCli(['backup', repo, '-q'], env()), 0);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('COPY TO PROGRAM and an aborting statement: nothing runs on the server, rows unchanged', async () => {
    const pwned = path.join('/tmp', `trust-security-pwned-${process.pid}`);
    const dump = originalDump(repo);
    const assets = await count('select count(*) as n from assets');
    expect(assets).toBe(2);
    for (const [sql, message] of [
      [withStatement(dump, `COPY (SELECT 1) TO PROGRAM 'touch ${pwned}';`), /does not write \(COPY\)/],
      [withStatement(dump, `\\! touch ${pwned}`), /psql meta-command/],
      [withStatement(dump, "INSERT INTO public.people VALUES ('not-a-uuid');", 'end'), /failed near statement \d+ .*invalid input syntax for type uuid.*nothing was changed/],
    ] as const) {
      const id = tamper(repo, sql);
      const r = await runCli(['restore', repo, '--snapshot', id.slice(0, 12), '--to', lib, '--force'], env());
      expectCode(r, 3);
      // one error line (a "taking a safety snapshot" note may come before it)
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('immich:'))).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(fs.existsSync(pwned)).toBe(false);
      expect(await count('select count(*) as n from assets')).toBe(assets);
      expect(await count('select count(*) as n from people')).toBe(3);
    }
  });
});
