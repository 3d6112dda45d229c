// Stage name → one service function. The same table serves the in-process runner and the BullMQ
// worker. Each feature area owns its part of the table in its own *-jobs.ts file.
import type { Context } from '../context.js';
import type { JobOutcome, JobSpec, Stage, StageAsset } from '../jobs/types.js';
import { backupHandlers } from './backup-jobs.js';
import { facesHandlers } from './faces-jobs.js';
import { mediaHandlers } from './media-jobs.js';
import { searchHandlers } from './search-jobs.js';

/** `asset`: the job's asset row when the job has one (the processor already read it). */
export type StageHandler = (ctx: Context, job: JobSpec, asset?: StageAsset) => Promise<JobOutcome>;
export type HandlerTable = Partial<Record<Stage, StageHandler>>;

export const HANDLERS: HandlerTable = {
  ...mediaHandlers,
  ...facesHandlers,
  ...searchHandlers,
  ...backupHandlers,
};
