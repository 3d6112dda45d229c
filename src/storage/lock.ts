// Exclusive lock files holding the owner's pid. A lock left by a dead process (SIGKILL, crash) is
// stale and taken over, so an interrupted run can simply be started again.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command?: string;
}

export class LockHeldError extends Error {
  constructor(readonly lockPath: string, readonly holder: LockInfo) {
    super(`${lockPath} is locked by pid ${holder.pid} on ${holder.host} (since ${holder.started})`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLock(lockPath: string): LockInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

/**
 * Make `lockPath` hold `info`, atomically: the holder is written to a private file first and then
 * hard-linked into place, which fails with EEXIST when the lock exists. A reader never sees an empty
 * or half-written lock file.
 */
function publish(lockPath: string, info: LockInfo): boolean {
  const tmp = `${lockPath}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.new`;
  fs.writeFileSync(tmp, JSON.stringify(info), { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

const sameHolder = (a: LockInfo | undefined, b: LockInfo | undefined) =>
  Boolean(a && b && a.pid === b.pid && a.host === b.host && a.started === b.started);

function isStale(holder: LockInfo | undefined): boolean {
  // Written atomically, so an unreadable file is not "being written": it is damaged, hence stale.
  return !holder || (holder.host === os.hostname() && (!alive(holder.pid) || holder.pid === process.pid));
}

/**
 * Remove a stale lock, unless another process replaced it meanwhile. Removal goes through a second
 * lock (`<lock>.break`, held for microseconds): of several processes that all saw the same dead
 * holder, only one removes the file, and only after reading it again, so a lock just taken by a live
 * process is never removed. A break lock left by a process that died inside that window is itself
 * removed by rename (each remover gets its own copy and removes it only if it is the dead one).
 */
function breakStale(lockPath: string, seen: LockInfo | undefined): void {
  const breaker = `${lockPath}.break`;
  const me: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  if (!publish(breaker, me)) {
    const other = readLock(breaker);
    // Someone else is breaking it, or just finished (the file is gone: a break lock is never seen
    // empty, it is linked into place whole): look again. Only a break lock whose holder is known and
    // dead is taken over — treating "gone" as dead moved a live breaker aside and let a second one in,
    // and both then removed locks (two holders of an empty lock in the 4-process race test).
    if (!other || !isStale(other)) return;
    const grave = `${breaker}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.dead`;
    try {
      fs.renameSync(breaker, grave);
    } catch {
      return;
    }
    const moved = readLock(grave);
    if (!sameHolder(moved, other)) {
      // A live breaker got in between: give its file back (if nothing replaced it) and retry.
      try { fs.linkSync(grave, breaker); } catch { /* it will find its lock gone and retry */ }
    }
    fs.rmSync(grave, { force: true });
    return;
  }
  try {
    const now = readLock(lockPath);
    if (fs.existsSync(lockPath) && isStale(now) && (seen === undefined ? now === undefined : sameHolder(now, seen))) {
      fs.rmSync(lockPath, { force: true });
    }
  } finally {
    if (sameHolder(readLock(breaker), me)) fs.rmSync(breaker, { force: true });
  }
}

/** Take the lock or throw LockHeldError. Returns a release function. */
export function acquireLock(lockPath: string, command?: string): () => void {
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (publish(lockPath, info)) {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.removeListener('exit', release);
        if (sameHolder(readLock(lockPath), info)) fs.rmSync(lockPath, { force: true });
      };
      process.once('exit', release);
      return release;
    }
    const holder = readLock(lockPath);
    if (!isStale(holder)) throw new LockHeldError(lockPath, holder!);
    breakStale(lockPath, holder);
  }
  throw new Error(`could not take lock ${lockPath}`);
}
