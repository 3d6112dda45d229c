// `immich serve` as a child process for the e2e suites, and the real @immich/cli against it.
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { BIN, ROOT, type CliResult } from './env.js';

export interface Served {
  url: string;
  proc: ChildProcess;
  /** Everything the server wrote on stderr so far (its log). */
  log(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
}

/** Start `immich serve --port 0 ...args` on the library of `env` and wait for its URL. */
export function startServe(env: Record<string, string>, args: string[] = []): Promise<Served> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)) base[k] = v;
  }
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { env: { ...base, CI: 'true', ...env }, cwd: os.tmpdir() });
  let stdout = '';
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((r) => proc.on('close', (code, signal) => r(code ?? (signal ? 137 : -1))));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`immich serve did not start: ${stderr}`)), 60_000);
    proc.stdout!.on('data', (d) => {
      stdout += d;
      const m = /immich serve: (http:\/\/\S+)/.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1]!,
        proc,
        log: () => stderr,
        stop: async () => {
          proc.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`immich serve exited with ${code}: ${stderr}`)));
  });
}

const IMMICH_CLI = path.join(ROOT, 'node_modules/@immich/cli/dist/index.js');
const NODE20_SHIM = path.join(ROOT, 'test/helpers/node20-iterator-helpers.mjs');

/** Run the real @immich/cli (3.x) with our Node (plus the one ES2025 method it needs on Node 20). */
export function immichCli(args: string[], configDir: string, opts: { cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', NODE20_SHIM, IMMICH_CLI, '-d', configDir, ...args], {
      cwd: opts.cwd ?? os.tmpdir(),
      env: { PATH: process.env.PATH ?? '', HOME: configDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
