// The export's plain copies, spread over worker threads (see copy-worker.ts). Each task goes to
// the worker with the fewest in flight. Without the compiled worker (tests running from the
// TypeScript sources) the same copy runs on the main thread.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CopyResult, CopyTask } from './copy-worker.js';
import { fsPath } from '../../storage/raw-path.js';

export interface Copied {
  sha1: string;
  size: number;
}

class WorkerPool {
  private readonly workers: Array<{ w: Worker; busy: number }> = [];
  private readonly pending = new Map<number, { resolve: (r: Copied) => void; reject: (e: Error) => void; slot: { busy: number } }>();
  private seq = 0;

  constructor(file: string, size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(file);
      w.unref();
      const slot = { w, busy: 0 };
      w.on('message', (r: CopyResult) => {
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        p.slot.busy--;
        if (r.error !== undefined) p.reject(Object.assign(new Error(r.error), { code: r.code }));
        else p.resolve({ sha1: r.sha1!, size: r.size! });
      });
      w.on('error', (err) => {
        for (const [id, p] of this.pending) if (p.slot === slot) { this.pending.delete(id); p.reject(err); }
      });
      this.workers.push(slot);
    }
  }

  run(src: string, tmp: string): Promise<Copied> {
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    const id = this.seq++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      slot.w.postMessage({ id, src, tmp } satisfies CopyTask);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((s) => s.w.terminate()));
  }
}

export interface CopyPool {
  /** Copy src to tmp (which must not exist) and return the SHA-1 and size of the copy. */
  run(src: string, tmp: string): Promise<Copied>;
  close(): Promise<void>;
}

/** Main-thread fallback: the same kernel copy, then the copy's hash. */
const inline: CopyPool = {
  async run(src, tmp) {
    await fsp.copyFile(fsPath(src), tmp, fs.constants.COPYFILE_EXCL);
    const hash = crypto.createHash('sha1');
    let size = 0;
    for await (const chunk of fs.createReadStream(tmp, { highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { sha1: hash.digest('hex'), size };
  },
  async close() {},
};

/** One worker per core (at least 2), no more than the files in flight. */
export function createCopyPool(inFlight: number): CopyPool {
  const file = fileURLToPath(new URL('./copy-worker.js', import.meta.url));
  if (!fs.existsSync(file) || inFlight < 2) return inline;
  return new WorkerPool(file, Math.min(inFlight, Math.max(2, os.availableParallelism())));
}
