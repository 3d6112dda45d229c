import { detectAssetFaces } from './faces.js';
import { recognizeAssetFaces } from './people.js';
export const facesHandlers = {
    'face-detection': (ctx, job) => detectAssetFaces(ctx, job.assetId),
    'face-recognition': (ctx, job) => recognizeAssetFaces(ctx, job.assetId),
};
//# sourceMappingURL=faces-jobs.js.map