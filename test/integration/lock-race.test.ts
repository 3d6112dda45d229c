// The lock of the embedded database (and of backup repositories) is taken by one process at most:
// four processes race for it, with no lock, a lock left by a dead process, and a damaged one.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tmpDir } from '../helpers/env.js';

const RACER = `
const { acquireLock, LockHeldError } = await import(${JSON.stringify(path.join(ROOT, 'dist/storage/lock.js'))});
const [lock] = process.argv.slice(1);
process.stdout.write('ready ');
const at = await new Promise((r) => process.stdin.once('data', (d) => r(Number(String(d)))));
while (Date.now() < at) {}
try {
  const release = acquireLock(lock, 'race');
  process.stdout.write('got');
  await new Promise((r) => setTimeout(r, 200));
  release();
} catch (err) {
  if (!(err instanceof LockHeldError)) throw err;
  process.stdout.write('held');
}
`;

/** A racer process, started and waiting: `go(at)` makes it try at that instant. */
async function racer(lock: string): Promise<{ go: (at: number) => Promise<string> }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', RACER, lock]);
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<string>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.replace('ready ', '')) : reject(new Error(`racer exited ${code}: ${err}`))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.startsWith('ready ')) resolve();
    });
    done.catch(reject);
  });
  return {
    go: (at) => {
      child.stdin.end(String(at));
      return done;
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
      winners.push(`${name}: ${outs.filter((o) => o === 'got').length}`);
    }
    expect(winners).toEqual(rounds.map(([name]) => `${name}: 1`));
    // Nothing is left behind: no lock, no temp or break files.
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
