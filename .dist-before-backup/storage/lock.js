// Exclusive lock files holding the owner's pid. A lock left by a dead process (SIGKILL, crash) is
// stale and taken over, so an interrupted run can simply be started again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
export class LockHeldError extends Error {
    lockPath;
    holder;
    constructor(lockPath, holder) {
        super(`${lockPath} is locked by pid ${holder.pid} on ${holder.host} (since ${holder.started})`);
        this.lockPath = lockPath;
        this.holder = holder;
    }
}
function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch (err) {
        return err.code === 'EPERM';
    }
}
export function readLock(lockPath) {
    try {
        return JSON.parse(fs.readFileSync(lockPath, 'utf8'));
    }
    catch {
        return undefined;
    }
}
/** Take the lock or throw LockHeldError. Returns a release function. */
export function acquireLock(lockPath, command) {
    fs.mkdirSync(path.dirname(lockPath), { recursive: true });
    const info = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command };
    for (let attempt = 0; attempt < 3; attempt++) {
        try {
            const fd = fs.openSync(lockPath, 'wx', 0o600);
            fs.writeSync(fd, JSON.stringify(info));
            fs.closeSync(fd);
            let released = false;
            const release = () => {
                if (released)
                    return;
                released = true;
                process.removeListener('exit', release);
                const cur = readLock(lockPath);
                if (cur && cur.pid === process.pid)
                    fs.rmSync(lockPath, { force: true });
            };
            process.once('exit', release);
            return release;
        }
        catch (err) {
            if (err.code !== 'EEXIST')
                throw err;
            const holder = readLock(lockPath);
            // Same host and the process is gone (or the file is unreadable/half-written): stale.
            if (!holder || (holder.host === os.hostname() && (!alive(holder.pid) || holder.pid === process.pid))) {
                fs.rmSync(lockPath, { force: true });
                continue;
            }
            throw new LockHeldError(lockPath, holder);
        }
    }
    throw new Error(`could not take lock ${lockPath}`);
}
//# sourceMappingURL=lock.js.map