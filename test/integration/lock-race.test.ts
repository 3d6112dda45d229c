// The lock of the embedded database (and of backup repositories) is taken by one process at most:
// four processes race for it, with no lock, a lock left by a dead process, and a damaged one.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tmpDir } from '../helpers/env.js';

// Each racer tries once at the agreed instant, says whether it got the lock, and a winner holds it
// until every racer has answered: two "got" answers mean two holders at once, however slow the
// machine (a late racer cannot take a lock already released).
const RACER = `
const { acquireLock, LockHeldError } = await import(${JSON.stringify(path.join(ROOT, 'dist/storage/lock.js'))});
const [lock] = process.argv.slice(1);
const lines = [];
let wake;
process.stdin.on('data', (d) => { lines.push(...String(d).split('\\n').filter(Boolean)); wake?.(); });
const next = async () => { while (!lines.length) await new Promise((r) => (wake = r)); return lines.shift(); };
process.stdout.write('ready ');
const at = Number(await next());
while (Date.now() < at) {}
try {
  const release = acquireLock(lock, 'race');
  process.stdout.write('got');
  await next();
  release();
} catch (err) {
  if (!(err instanceof LockHeldError)) throw err;
  process.stdout.write('held');
}
process.exit(0);
`;

interface Racer {
  /** Try at that instant; resolves with 'got' or 'held'. */
  go: (at: number) => Promise<string>;
  /** Let a winner release the lock; resolves when the process has exited. */
  finish: () => Promise<void>;
}

async function racer(lock: string): Promise<Racer> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RACER, lock]);
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdin.on('error', () => {}); // a racer that did not get the lock has exited already
  const closed = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`racer exited ${code}: ${err}`))));
  });
  let notify = () => {};
  child.stdout.on('data', (d) => {
    out += d;
    notify();
  });
  const waitFor = (test: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      notify = () => test() && resolve();
      notify();
      closed.then(() => (test() ? resolve() : reject(new Error(`racer ended early: ${out} ${err}`))), reject);
    });
  await waitFor(() => out.startsWith('ready '));
  const answer = () => out.slice('ready '.length);
  return {
    go: async (at) => {
      child.stdin.write(`${at}\n`);
      await waitFor(() => answer() === 'got' || answer() === 'held');
      return answer();
    },
    finish: async () => {
      child.stdin.end('release\n');
      await closed;
    },
  };
}

function deadPid(): number {
  return Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
}

describe('lock acquisition', () => {
  it('of 4 processes racing for one lock, exactly one gets it (none, stale and damaged locks)', async () => {
    const dir = tmpDir('immich-lock-');
    const lock = path.join(dir, '.database.lock');
    const dead = deadPid();
    const starts: Array<[string, () => void]> = [
      ['no lock', () => fs.rmSync(lock, { force: true })],
      ['stale lock', () => fs.writeFileSync(lock, JSON.stringify({ pid: dead, host: os.hostname(), started: '2020-01-01T00:00:00.000Z' }))],
      ['empty lock', () => fs.writeFileSync(lock, '')],
    ];
    // Taking over a dead holder's lock is where two winners happened: most rounds start with one.
    const rounds = [0, 1, 2, 0, 1, 1, 1, 2, 1, 1, 1, 0, 1, 1, 2, 1].map((k) => starts[k]!);
    const winners: string[] = [];
    for (const [name, prepare] of rounds) {
      prepare();
      const racers = await Promise.all([0, 1, 2, 3].map(() => racer(lock)));
      // All four started and waiting: they try at the same instant.
      const at = Date.now() + 20;
      const outs = await Promise.all(racers.map((r) => r.go(at)));
      await Promise.all(racers.map((r) => r.finish()));
      winners.push(`${name}: ${outs.filter((o) => o === 'got').length}`);
    }
    expect(winners).toEqual(rounds.map(([name]) => `${name}: 1`));
    // Nothing is left behind: no lock, no temp or break files.
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
