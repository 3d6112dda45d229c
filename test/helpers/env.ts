// Test helpers: temporary libraries, throwaway PostgreSQL databases, the shared corpus, and running
// the real bin/immich as a user would.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/immich');

/** ../shared/corpus (override with IMMICH_TEST_CORPUS); undefined when absent. */
export const CORPUS = (() => {
  const p = process.env.IMMICH_TEST_CORPUS ?? path.resolve(ROOT, '../shared/corpus');
  return fs.existsSync(path.join(p, 'labels.json')) ? p : undefined;
})();
/** ../shared/models (override with IMMICH_TEST_MODELS); undefined when absent. */
export const SHARED_MODELS = (() => {
  const p = process.env.IMMICH_TEST_MODELS ?? path.resolve(ROOT, '../shared/models');
  return fs.existsSync(p) ? p : undefined;
})();

export function corpusLabels(): any {
  if (!CORPUS) throw new Error('corpus not available');
  return JSON.parse(fs.readFileSync(path.join(CORPUS, 'labels.json'), 'utf8'));
}

/** One line on stderr when a suite cannot run for lack of shared data. */
export function noteSkip(suite: string, what: string): void {
  process.stderr.write(`[skip] ${suite}: ${what} not found (set IMMICH_TEST_CORPUS / IMMICH_TEST_MODELS)\n`);
}

export function tmpDir(prefix = 'immich-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const PG_HOST = process.env.IMMICH_TEST_PG_HOST ?? '127.0.0.1';
export const PG_PORT = Number(process.env.IMMICH_TEST_PG_PORT ?? 5432);
export const PG_USER = process.env.IMMICH_TEST_PG_USER ?? 'postgres';
export const REDIS_HOST = process.env.IMMICH_TEST_REDIS_HOST ?? '127.0.0.1';
export const REDIS_PORT = Number(process.env.IMMICH_TEST_REDIS_PORT ?? 6379);

/**
 * The role that owns a database made with `{ vector: false }`: not a superuser, so it cannot create
 * pgvector (an untrusted extension) even where the server has it — the state of a managed server
 * without the extension, which stays supported. pg_trgm and unaccent are trusted: the owner may.
 */
export const PG_NOVECTOR_ROLE = 'immich_test_novector';

/**
 * A fresh database on the test PostgreSQL server; returns its name, the user to connect as, and a
 * dropper. With `{ vector: false }` the database belongs to a role that cannot create pgvector.
 */
export async function createPgDatabase(
  prefix = 'immich_test',
  opts: { vector?: boolean } = {},
): Promise<{ name: string; user: string; env: Record<string, string>; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const user = opts.vector === false ? PG_NOVECTOR_ROLE : PG_USER;
  const admin = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
  await admin.connect();
  if (opts.vector === false) {
    // Several suites at once may create the role: 42710 (duplicate) and 23505 (catalog race) mean it is there.
    await admin.query(`create role ${user} login nosuperuser`).catch((err: { code?: string }) => {
      if (err.code !== '42710' && err.code !== '23505') throw err;
    });
  }
  await admin.query(`create database ${name} owner ${user}`);
  await admin.end();
  return {
    name,
    user,
    env: pgEnv(name, user),
    drop: async () => {
      const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Whether the test server has pgvector installed (scripts/install-pgvector.sh; .ci/run runs it). */
export async function pgHasVector(): Promise<boolean> {
  const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
  await c.connect();
  try {
    const r = await c.query(`select 1 from pg_available_extensions where name = 'vector'`);
    return r.rowCount! > 0;
  } finally {
    await c.end();
  }
}

export function pgEnv(database: string, user = PG_USER): Record<string, string> {
  return { DB_HOSTNAME: PG_HOST, DB_PORT: String(PG_PORT), DB_USERNAME: user, DB_DATABASE_NAME: database };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run bin/immich with a clean environment (no inherited DB/REDIS settings) plus `env`. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, opts: { cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k) && !k.startsWith('IMMICH_TEST_')) continue;
    base[k] = v;
  }
  // No automatic model downloads from the network in tests (models-download.test turns it on locally).
  const fullEnv: Record<string, string> = { ...base, CI: 'true', IMMICH_MODELS_AUTO_DOWNLOAD: '0' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) fullEnv[k] = v;
  return new Promise((resolve, reject) => {
    // IMMICH_TEST_CLI_LOG=<file>: one JSON line per run with its wall and CPU seconds (what makes a suite slow).
    const log = process.env.IMMICH_TEST_CLI_LOG;
    const timeFile = log ? path.join(os.tmpdir(), `immich-cli-time-${process.pid}-${Math.random().toString(36).slice(2)}`) : undefined;
    const child = timeFile
      ? spawn('/usr/bin/time', ['-f', '%e %U %S', '-o', timeFile, process.execPath, BIN, ...args], { env: fullEnv, cwd: opts.cwd ?? os.tmpdir() })
      : spawn(process.execPath, [BIN, ...args], { env: fullEnv, cwd: opts.cwd ?? os.tmpdir() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timeFile) {
        try {
          const [wall, user, sys] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
          fs.rmSync(timeFile, { force: true });
          const test = (globalThis as { __vitest_worker__?: { filepath?: string } }).__vitest_worker__?.filepath ?? '';
          fs.appendFileSync(log!, JSON.stringify({ test: path.basename(test), args: args.slice(0, 4), wall, cpu: user! + sys! }) + '\n');
        } catch {
          // no timing for a run killed before time wrote it
        }
      }
      resolve({ code: code ?? (signal ? 137 : -1), stdout, stderr });
    });
  });
}
