// Job handlers for stages: metadata, thumbnails, video. Each is one service function; they return
// success/skipped/failed for file problems and throw only for retryable ones (database, disk).
import type { HandlerTable } from './handlers.js';
import { encodeVideo, generateThumbnails, runMetadata } from './media.js';

export const mediaHandlers: HandlerTable = {
  metadata: async (ctx, job, asset) => (job.assetId ? runMetadata(ctx, job.assetId, asset) : { status: 'skipped', message: 'no asset' }),
  thumbnails: async (ctx, job, asset) => (job.assetId ? generateThumbnails(ctx, job.assetId, asset) : { status: 'skipped', message: 'no asset' }),
  video: async (ctx, job, asset) => (job.assetId ? encodeVideo(ctx, job.assetId, asset) : { status: 'skipped', message: 'no asset' }),
};
