// Issue 14, "quiet and truthful in cron and scripts": nothing is created by a typo, commands queue
// behind a held embedded database with --wait, and usage mistakes (no command, a missing --env-file,
// bad dates, numbers and IMMICH_* settings) are our own one-line errors with exit 2.
// Re-runs and missing models: quiet-rerun.test.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { Logger } from '../../src/logger.js';
import { BIN, createPgDatabase, PG_HOST, ROOT, PG_PORT, PG_USER, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { json } from './backup-helpers.js';

/** bin/immich run as a user runs it (its shebang), not through `node bin/immich`. */
function runDirect(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { PATH: process.env.PATH!, HOME: env.HOME ?? process.env.HOME!, CI: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function databaseExists(name: string): Promise<boolean> {
  const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
  await c.connect();
  try {
    return (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  } finally {
    await c.end();
  }
}

let base: string;
beforeAll(() => {
  base = tmpDir('immich-quiet-');
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('nothing created by a typo', () => {
  it('stats, search, verify, index, backup on a mistyped library exit 3 naming it, and create nothing', { timeout: 300_000 }, async () => {
    const typo = path.join(base, 'libary');
    const env = { UPLOAD_LOCATION: typo, HOME: base };
    for (const args of [['stats'], ['search', 'dog'], ['verify', '--no-models'], ['index'], ['backup', path.join(base, 'repo')]]) {
      const r = await runCli(args, env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toBe(`immich: no library at ${typo}: check -L / UPLOAD_LOCATION (\`immich import\` creates a library; \`immich restore\` restores one)\n`);
      expect(fs.existsSync(typo), args.join(' ')).toBe(false);
    }
    // An existing folder that holds no library (a mistyped -L pointing at ~/Pictures) is not one either.
    const pictures = path.join(base, 'Pictures');
    fs.mkdirSync(pictures);
    const r = await runCli(['-L', pictures, 'stats'], { HOME: base });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('(the folder has no immich database)');
    expect(fs.readdirSync(pictures)).toEqual([]);
  });

  it('PostgreSQL: a mistyped DB_DATABASE_NAME is not created; verify on a fresh database lists pending migrations', async () => {
    const lib = path.join(base, 'pg-lib');
    fs.mkdirSync(lib);
    const name = `quiet_typo_${process.pid}`;
    const typo = await runCli(['stats'], { UPLOAD_LOCATION: lib, ...pgEnv(name) });
    expect(typo.code).toBe(3);
    expect(typo.stderr).toContain(`no library at postgresql://${PG_HOST}:${PG_PORT}/${name} (no such database): check DB_DATABASE_NAME`);
    expect(await databaseExists(name)).toBe(false);

    const db = await createPgDatabase('quiet_fresh');
    try {
      const v = await runCli(['--json', 'verify', '--no-models'], { UPLOAD_LOCATION: lib, ...pgEnv(db.name) });
      expect(v.code, v.stderr).toBe(1);
      const migrations = json(v).checks.find((c: { name: string }) => c.name === 'migrations');
      expect(migrations.status).toBe('error');
      expect(migrations.items).toContain('0001_core');
      expect(v.stderr).not.toContain('does not exist');
    } finally {
      await db.drop();
    }
  });
});

describe('--wait and IMMICH_LOCK_WAIT queue behind a process holding the embedded database', () => {
  it('waits until it is free (exit 0), or gives up after the time given (exit 3); without it, exit 3 at once', { timeout: 300_000 }, async () => {
    const lib = path.join(base, 'held');
    const holder = await createContext(loadConfig({ env: { UPLOAD_LOCATION: lib, HOME: base }, cwd: base }), new Logger('error'), { command: 'immich import' });
    let released = false;
    try {
      const now = await runCli(['stats', '--no-storage'], { UPLOAD_LOCATION: lib, HOME: base });
      expect(now.code).toBe(3);
      expect(now.stderr).toContain('--wait[=<time>] or IMMICH_LOCK_WAIT');
      const short = await runCli(['--wait=1s', 'stats', '--no-storage'], { UPLOAD_LOCATION: lib, HOME: base });
      expect(short.code).toBe(3);
      expect(short.stderr).toMatch(/waiting for the embedded database, in use by pid \d+, immich import\.\.\.\n.*gave up waiting/);
      const waiting = runCli(['--wait', '--json', 'stats', '--no-storage'], { UPLOAD_LOCATION: lib, HOME: base });
      const viaEnv = runCli(['-q', 'jobs'], { UPLOAD_LOCATION: lib, HOME: base, IMMICH_LOCK_WAIT: '10m' });
      await new Promise((r) => setTimeout(r, 3000));
      await holder.close();
      released = true;
      const r = await waiting;
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).counts.photos).toBe(0);
      expect(await viaEnv).toMatchObject({ code: 0, stdout: '', stderr: '' });
    } finally {
      if (!released) await holder.close();
    }
  });
});

describe('help and man pages', () => {
  it('no help text names a developer folder; man pages install with the package; immich(1) lists every setting', async () => {
    const { loadProgram } = await import(path.join(ROOT, 'dist/cli/main.js'));
    const program = await loadProgram();
    const texts: string[] = [];
    const visit = (c: { helpInformation(): string; commands: readonly unknown[] }) => {
      texts.push(c.helpInformation());
      for (const sub of c.commands) visit(sub as typeof c);
    };
    visit(program);
    for (const t of texts) expect(t).not.toMatch(/\.\.\/shared|\/shared\/|\/work\//);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const pages = fs.readdirSync(path.join(ROOT, 'man')).filter((f) => f.endsWith('.1')).map((f) => `./man/${f}`);
    expect([...pkg.man].sort()).toEqual(pages.sort());
    const { SETTINGS } = await import(path.join(ROOT, 'dist/settings.js'));
    const page = fs.readFileSync(path.join(ROOT, 'man/immich.1'), 'utf8');
    for (const s of SETTINGS as Array<{ name: string }>) expect(page, s.name).toContain(`.TP\n\\fB${s.name.replace(/-/g, '\\-')}\\fR`);
  });
});

describe('usage mistakes are ours, exit 2', () => {
  it('dates, thresholds, limits and IMMICH_* settings are validated with the expected form', { timeout: 300_000 }, async () => {
    const env = { UPLOAD_LOCATION: path.join(base, 'none'), HOME: base };
    for (const d of ['2020-13-45', '2020-02-30', '2020-00-00', '99999', '2021-02-29T10:00', 'yesterday']) {
      const r = await runCli(['search', '--after', d], env);
      expect(r, d).toMatchObject({ code: 2, stderr: `immich: --after must be a date like 2020, 2020-06, 2020-06-15 or an ISO timestamp like 2020-06-15T10:30:00Z (got ${d})\n` });
    }
    expect((await runCli(['duplicates', '--method', 'phash', '--threshold', '99'], env)).stderr).toContain('--threshold must be an integer from 0 to 64');
    expect((await runCli(['duplicates', '--threshold', '99'], env)).code).toBe(2);
    expect((await runCli(['search', '--limit', '-1', 'x'], env)).code).toBe(2);
    expect((await runCli(['verify', '--sample', '0%'], env)).code).toBe(2);
    for (const [name, value] of [['IMMICH_FACE_MIN_SCORE', 'abc'], ['IMMICH_ML_THREADS', '0'], ['IMMICH_FACE_INPUT_SIZE', '100'], ['REDIS_DBINDEX', 'x']]) {
      const r = await runCli(['stats'], { ...env, [name!]: value! });
      expect(r.code, name).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^immich: ${name}=${value} is not valid: expected .+\n$`));
    }
    // immich config lists what the code reads, secrets masked but shown as set.
    const cfg = JSON.parse((await runCli(['--json', 'config'], { ...env, IMMICH_BACKUP_PASSPHRASE: 'hunter2', IMMICH_FACE_MIN_SCORE: '0.8' })).stdout).settings;
    expect(cfg.IMMICH_BACKUP_PASSPHRASE).toEqual({ value: '********', source: 'env' });
    expect(cfg.IMMICH_FACE_MIN_SCORE).toEqual({ value: '0.8', source: 'env' });
    expect(cfg.IMMICH_ML_THREADS).toEqual({ value: null, source: 'default' });
  });

  it('paths in an env file are relative to the file; ~ is the home folder', async () => {
    const dir = path.join(base, 'conf');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'immich.env'), 'UPLOAD_LOCATION=./photos\nIMMICH_MODELS_DIR=~/models\n');
    const r = await runCli(['--json', '--env-file', path.join(dir, 'immich.env'), 'config'], { HOME: base }, { cwd: '/' });
    const s = JSON.parse(r.stdout).settings;
    expect(s.UPLOAD_LOCATION.value).toBe(path.join(dir, 'photos'));
    expect(s.IMMICH_MODELS_DIR.value).toBe(path.join(base, 'models'));
  });

  it('`immich` alone prints help on stderr; a missing --env-file is one line (not Node exit 9)', async () => {
    const bare = await runCli([], {});
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('Usage: immich [options] [command]');
    expect((await runCli(['-q', '-L', base], {})).code).toBe(2); // global options only: still no command

    const missing = path.join(base, 'nope.env');
    const r = await runDirect(['--env-file', missing, 'config'], {});
    expect(r).toMatchObject({ code: 2, stderr: `immich: env file ${missing} does not exist\n` });
    // An existing one is read by us, named as the source.
    const envFile = path.join(base, 'settings.env');
    fs.writeFileSync(envFile, `UPLOAD_LOCATION=${path.join(base, 'from-file')}\n`);
    const ok = await runDirect(['--json', '--env-file', envFile, 'config'], {});
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).settings.UPLOAD_LOCATION).toEqual({ value: path.join(base, 'from-file'), source: '.env' });
  });
});
