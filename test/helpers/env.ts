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

/** A fresh database on the test PostgreSQL server; returns its name and a dropper. */
export async function createPgDatabase(prefix = 'immich_test'): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  return {
    name,
    drop: async () => {
      const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: 'postgres' });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export function pgEnv(database: string): Record<string, string> {
  return { DB_HOSTNAME: PG_HOST, DB_PORT: String(PG_PORT), DB_USERNAME: PG_USER, DB_DATABASE_NAME: database };
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
  const fullEnv: Record<string, string> = { ...base, CI: 'true' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) fullEnv[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: fullEnv, cwd: opts.cwd ?? os.tmpdir() });
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
      resolve({ code: code ?? (signal ? 137 : -1), stdout, stderr });
    });
  });
}
