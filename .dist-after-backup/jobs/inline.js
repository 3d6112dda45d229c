// In-process job runner: the default when REDIS_HOSTNAME is not set. Same processor as the BullMQ
// worker; jobs live in memory and are rebuilt from asset_job_status by `immich index --missing`.
import { jobKey, } from './types.js';
export class InlineQueue {
    opts;
    kind = 'inline';
    pending = [];
    keys = new Set();
    progress = new Map();
    processor;
    constructor(opts) {
        this.opts = opts;
    }
    setProcessor(p) {
        this.processor = p;
    }
    async enqueue(jobs) {
        for (const job of jobs) {
            const key = jobKey(job);
            if (this.keys.has(key))
                continue;
            this.keys.add(key);
            this.pending.push(job);
            this.stat(job.stage).total++;
        }
    }
    stat(stage) {
        let p = this.progress.get(stage);
        if (!p) {
            p = { stage, done: 0, failed: 0, skipped: 0, total: 0 };
            this.progress.set(stage, p);
        }
        return p;
    }
    async drain(onProgress) {
        if (!this.processor)
            throw new Error('InlineQueue: no processor set');
        const processor = this.processor;
        const attempts = Math.max(1, this.opts.attempts ?? 1);
        const result = { completed: 0, failed: 0, skipped: 0, failures: [] };
        let inFlight = 0;
        let wake;
        let waiting = new Promise((r) => (wake = r));
        const notify = () => {
            const w = wake;
            waiting = new Promise((r) => (wake = r));
            w?.();
        };
        const worker = async () => {
            for (;;) {
                const job = this.pending.shift();
                if (!job) {
                    // Others may still queue follow-ups: wait for them unless nothing is in flight.
                    if (inFlight === 0) {
                        notify();
                        return;
                    }
                    await waiting;
                    continue;
                }
                inFlight++;
                const key = jobKey(job);
                let outcome;
                for (let attempt = 1;; attempt++) {
                    try {
                        outcome = await processor(job, attempt);
                        break;
                    }
                    catch (err) {
                        if (attempt >= attempts) {
                            outcome = { status: 'failed', message: err.message?.split('\n')[0] ?? String(err) };
                            break;
                        }
                    }
                }
                this.keys.delete(key);
                const p = this.stat(job.stage);
                if (outcome.status === 'failed') {
                    p.failed++;
                    result.failed++;
                    result.failures.push({ job, message: outcome.message ?? 'failed' });
                }
                else if (outcome.status === 'skipped') {
                    p.skipped++;
                    result.skipped++;
                }
                else {
                    p.done++;
                    result.completed++;
                }
                inFlight--;
                onProgress?.({ ...p });
                notify();
            }
        };
        await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency) }, () => worker()));
        return result;
    }
    async close() {
        this.pending = [];
        this.keys.clear();
    }
}
//# sourceMappingURL=inline.js.map