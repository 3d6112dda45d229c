// In-process job runner: the default when REDIS_HOSTNAME is not set. Same processor as the BullMQ
// worker; jobs live in memory and are rebuilt from asset_job_status by `immich index --missing`.
import {
  jobKey,
  type DrainResult,
  type JobProcessor,
  type JobQueue,
  type JobSpec,
  type QueueProgress,
  type Stage,
} from './types.js';

export interface InlineOptions {
  concurrency: number;
  /** Attempts per job before it counts as failed (a thrown error is retried). */
  attempts?: number;
}

export class InlineQueue implements JobQueue {
  readonly kind = 'inline' as const;
  private pending: JobSpec[] = [];
  private keys = new Set<string>();
  private progress = new Map<Stage, QueueProgress>();
  private processor?: JobProcessor;

  constructor(private readonly opts: InlineOptions) {}

  setProcessor(p: JobProcessor): void {
    this.processor = p;
  }

  async enqueue(jobs: JobSpec[]): Promise<void> {
    for (const job of jobs) {
      const key = jobKey(job);
      if (this.keys.has(key)) continue;
      this.keys.add(key);
      this.pending.push(job);
      this.stat(job.stage).total++;
    }
  }

  private stat(stage: Stage): QueueProgress {
    let p = this.progress.get(stage);
    if (!p) {
      p = { stage, done: 0, failed: 0, skipped: 0, total: 0 };
      this.progress.set(stage, p);
    }
    return p;
  }

  async drain(onProgress?: (p: QueueProgress) => void): Promise<DrainResult> {
    if (!this.processor) throw new Error('InlineQueue: no processor set');
    const processor = this.processor;
    const attempts = Math.max(1, this.opts.attempts ?? 1);
    const result: DrainResult = { completed: 0, failed: 0, skipped: 0, failures: [] };
    let inFlight = 0;
    let wake: (() => void) | undefined;
    let waiting = new Promise<void>((r) => (wake = r));
    const notify = () => {
      const w = wake;
      waiting = new Promise<void>((r) => (wake = r));
      w?.();
    };
    const worker = async (): Promise<void> => {
      for (;;) {
        const job = this.pending.shift();
        if (!job) {
          // Others may still queue follow-ups: wait for them unless nothing is in flight.
          if (inFlight === 0) { notify(); return; }
          await waiting;
          continue;
        }
        inFlight++;
        const key = jobKey(job);
        let outcome;
        for (let attempt = 1; ; attempt++) {
          try {
            outcome = await processor(job, attempt);
            break;
          } catch (err) {
            if (attempt >= attempts) {
              outcome = { status: 'failed' as const, message: (err as Error).message?.split('\n')[0] ?? String(err) };
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
        } else if (outcome.status === 'skipped') {
          p.skipped++;
          result.skipped++;
        } else {
          p.done++;
          result.completed++;
        }
        inFlight--;
        onProgress?.({ ...p });
        notify();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency) }, () => worker()));
    // Statuses the processor batched are in the database before anyone reads them back.
    await processor.flush?.();
    return result;
  }

  async close(): Promise<void> {
    this.pending = [];
    this.keys.clear();
  }
}
