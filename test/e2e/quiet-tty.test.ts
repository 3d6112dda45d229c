// Issue 14, on a real terminal: bin/immich runs under a pty (util-linux `script`), not a pipe.
// Progress shows on a terminal and never in a pipe; NO_COLOR removes every ANSI colour code (ora's
// spinner coloured itself whatever NO_COLOR said); `-q` prints nothing on a clean re-run; the import
// bar shows 100% only in frames where the ML stages are done too.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, tmpDir } from '../helpers/env.js';
import { makeImage } from './import-helpers.js';

const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0;
const COLOUR = /\x1b\[[0-9;]*m/;
const ML_STAGES = ['smart-search', 'face-detection', 'objects', 'ocr'];

let base: string;
let photos: string;

/** The environment of a user at a terminal: no CI, no inherited library settings. */
function userEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_|CI$|NO_COLOR$|FORCE_COLOR$)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, TERM: 'xterm-256color', UPLOAD_LOCATION: path.join(base, 'library'), IMMICH_MODELS_DIR: path.join(base, 'models'), HOME: base, ...extra };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run bin/immich on a pty of 120 columns; everything it wrote to the terminal comes back. */
function onTerminal(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const cmd = `stty cols 120 rows 40; exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    // -e: the command's exit status; -f: flush as written; output to /dev/null (we read script's stdout).
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: userEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** The same command with stdout and stderr piped (as cron or a script runs it). */
function inPipe(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: userEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The spinner's frames: each redraw starts at column 1 (ESC[1G). */
const frames = (out: string) => out.split('\x1b[1G').map((f) => f.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, ''));

beforeAll(async () => {
  base = tmpDir('immich-quiet-tty-');
  photos = path.join(base, 'photos');
  for (let i = 0; i < 3; i++) await makeImage(path.join(photos, `p${i}.jpg`), { color: ['#c03030', '#30a040', '#3050d0'][i]!, seed: i + 1 });
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe.skipIf(!HAVE_SCRIPT)('on a terminal', () => {
  it('NO_COLOR: progress on the terminal without one colour code; the bar is 100% only with the ML stages done', { timeout: 400_000 }, async () => {
    const r = await onTerminal(['import', photos], { NO_COLOR: '1' });
    expect(r.code, r.out).toBe(0);
    const shown = frames(r.out).filter((f) => f.includes('importing ['));
    expect(shown.length).toBeGreaterThan(0);
    expect(r.out).toMatch(/3 imported/);
    expect(r.out.match(COLOUR)).toBeNull();
    // Frames that say 100%: every ML stage is named and done (x/x), not only the files.
    const full = shown.filter((f) => / 100%/.test(f));
    for (const f of full) {
      for (const stage of ML_STAGES) expect(f, f).toMatch(new RegExp(`${stage} (\\d+)/\\1(\\s|$)`));
    }
    // No frame before the last file's ML stages ends claims 100% (a frame below 100% may follow none).
    const last100 = shown.findIndex((f) => / 100%/.test(f));
    if (last100 >= 0) expect(shown.slice(last100).every((f) => / 100%/.test(f))).toBe(true);
  });

  it('colours without NO_COLOR; in a pipe no progress; -q prints nothing on a clean re-run', { timeout: 400_000 }, async () => {
    // The same terminal without NO_COLOR does colour (so the check above can fail).
    const coloured = await onTerminal(['stats']);
    expect(coloured.code, coloured.out).toBe(0);
    expect(coloured.out).toMatch(COLOUR);
    const nc = await onTerminal(['stats'], { NO_COLOR: '1' });
    expect(nc.out.match(COLOUR)).toBeNull();

    const piped = await inPipe(['import', photos]);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).not.toMatch(/importing|\x1b/);

    const quiet = await onTerminal(['-q', 'import', photos]);
    expect(quiet.code).toBe(0);
    expect(quiet.out).toBe('');
  });
});
