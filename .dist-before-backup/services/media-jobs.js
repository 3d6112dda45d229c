import { encodeVideo, generateThumbnails, runMetadata } from './media.js';
export const mediaHandlers = {
    metadata: async (ctx, job) => (job.assetId ? runMetadata(ctx, job.assetId) : { status: 'skipped', message: 'no asset' }),
    thumbnails: async (ctx, job) => (job.assetId ? generateThumbnails(ctx, job.assetId) : { status: 'skipped', message: 'no asset' }),
    video: async (ctx, job) => (job.assetId ? encodeVideo(ctx, job.assetId) : { status: 'skipped', message: 'no asset' }),
};
//# sourceMappingURL=media-jobs.js.map