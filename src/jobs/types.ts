// Job vocabulary shared by the in-process runner and the BullMQ queues.

/** Per-asset pipeline stages, one queue each in Redis mode. */
export const ASSET_STAGES = [
  'metadata',
  'thumbnails',
  'video',
  'smart-search',
  'face-detection',
  'face-recognition',
  'objects',
  'ocr',
  'duplicates',
] as const;
export type AssetStage = (typeof ASSET_STAGES)[number];

/** Queues that are not per asset. */
export const OTHER_QUEUES = ['backup'] as const;
export type Stage = AssetStage | (typeof OTHER_QUEUES)[number];
export const ALL_QUEUES: readonly Stage[] = [...ASSET_STAGES, ...OTHER_QUEUES];

export function isStage(s: string): s is Stage {
  return (ALL_QUEUES as readonly string[]).includes(s);
}

export interface JobSpec {
  stage: Stage;
  /** The asset the job is about (absent for non-asset queues). */
  assetId?: string;
  /** Redo the work even when it is recorded as done. */
  force?: boolean;
  data?: Record<string, unknown>;
  /**
   * The asset row, for a job queued in this process by whoever just inserted the asset (import): its
   * stages cannot have run yet, so the processor skips its lookup. Never sent to Redis.
   */
  fresh?: StageAsset;
}

/** The asset row a stage works on, read once by the processor and handed to the stage. */
export interface StageAsset {
  id: string;
  type: 'image' | 'video';
  library_path: string;
  original_name: string;
}

export type JobStatus = 'success' | 'skipped' | 'failed';

export interface JobOutcome {
  status: JobStatus;
  /** Why it was skipped or failed, one line. */
  message?: string;
  /**
   * The rows that record the stage's result, written by the processor in one statement with the
   * stage's status (in-process, batched with other jobs' statuses): the result and its 'done' land
   * together or not at all. Follow-up stages run only once they are written.
   */
  rows?: StageRows;
}

/** Result rows a stage hands to the processor (see JobOutcome.rows). */
export interface StageRows {
  files?: Array<{ asset_id: string; kind: 'thumbnail' | 'preview' | 'encoded_video'; path: string; width: number | null; height: number | null; file_size: number | null; created_at: Date }>;
  /** New values of the asset's thumbhash and full oriented size. */
  asset?: { id: string; thumbhash: string | null; width: number | null; height: number | null; updated_at: Date };
}

/** Idempotency key: re-queueing the same (stage, asset) never duplicates work. */
export function jobKey(job: JobSpec): string {
  return job.assetId ? `${job.stage}:${job.assetId}` : `${job.stage}:${JSON.stringify(job.data ?? {})}`;
}

/** Runs one job: records status, calls the stage's handler, enqueues follow-ups. Provided by services. */
export type JobProcessor = ((job: JobSpec, attempt: number) => Promise<JobOutcome>) & {
  /** The stages this processor runs and queues (import --skip-ml); Redis mode carries it to other workers. */
  onlyStages?: ReadonlySet<string>;
  /** Write bookkeeping the processor deferred (the in-process runner calls it when a drain ends). */
  flush?: () => Promise<void>;
};

export interface QueueProgress {
  stage: Stage;
  done: number;
  failed: number;
  skipped: number;
  /** Jobs known so far for this stage in this run (grows as follow-ups are queued). */
  total: number;
}

export interface DrainResult {
  completed: number;
  failed: number;
  skipped: number;
  failures: Array<{ job: JobSpec; message: string }>;
}

export interface JobQueue {
  readonly kind: 'inline' | 'redis';
  /** Add jobs; duplicates of jobs already waiting are ignored. */
  enqueue(jobs: JobSpec[]): Promise<void>;
  /** Process (or wait for) queued jobs until none of this run's are left. */
  drain(onProgress?: (p: QueueProgress) => void): Promise<DrainResult>;
  close(): Promise<void>;
}
