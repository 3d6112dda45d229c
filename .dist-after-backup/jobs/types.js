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
];
/** Queues that are not per asset. */
export const OTHER_QUEUES = ['backup'];
export const ALL_QUEUES = [...ASSET_STAGES, ...OTHER_QUEUES];
export function isStage(s) {
    return ALL_QUEUES.includes(s);
}
/** Idempotency key: re-queueing the same (stage, asset) never duplicates work. */
export function jobKey(job) {
    return job.assetId ? `${job.stage}:${job.assetId}` : `${job.stage}:${JSON.stringify(job.data ?? {})}`;
}
//# sourceMappingURL=types.js.map