// Job handlers for stages: metadata, thumbnails, video. Each is one service function; they return
// success/skipped/failed for file problems and throw only for retryable ones (database, disk).
import type { HandlerTable } from './handlers.js';
import { encodeVideo, generateThumbnails, runMetadata } from './media.js';

export const mediaHandlers: HandlerTable = {
  metadata: async (ctx, job) => (job.assetId ? runMetadata(ctx, job.assetId) : { status: 'skipped', message: 'no asset' }),
  thumbnails: async (ctx, job) => (job.assetId ? generateThumbnails(ctx, job.assetId) : { status: 'skipped', message: 'no asset' }),
  video: async (ctx, job) => (job.assetId ? encodeVideo(ctx, job.assetId) : { status: 'skipped', message: 'no asset' }),
};
