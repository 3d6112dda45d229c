// Shared by the export suites: the destination's files and its state must always agree.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { snapshotFiles, type ExportedFile } from '../../src/services/export/state.js';
import { listFiles } from './import-helpers.js';

export const sha1 = (f: string) => crypto.createHash('sha1').update(fs.readFileSync(f)).digest('hex');
export const STATE = '.immich-export.json';

export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || (/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k) && !k.startsWith('IMMICH_TEST_'))) continue;
    env[k] = v;
  }
  return { ...env, CI: 'true', ...extra };
}

/** Files under dest except the state, and the state's own list: they must always agree. */
export function checkState(dest: string): string[] {
  const files = listFiles(dest).filter((f) => f !== STATE);
  expect(files.filter((f) => path.basename(f).startsWith('.immich-tmp-')), 'temp files left').toEqual([]);
  expect(fs.existsSync(path.join(dest, '.immich-export.log')), 'state log folded').toBe(false);
  const state = { files: stateFiles(dest) };
  expect(state.files.map((f) => f.path).sort()).toEqual(files.map((f) => f.split(path.sep).join('/')).sort());
  for (const f of state.files) expect(sha1(path.join(dest, f.path)), f.path).toBe(f.sha1);
  return files;
}


/** The files the destination's state lists (any snapshot version). */
export function stateFiles(dest: string): ExportedFile[] {
  return snapshotFiles(JSON.parse(fs.readFileSync(path.join(dest, STATE), 'utf8')));
}
