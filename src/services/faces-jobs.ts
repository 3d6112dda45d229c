// Job handlers for stages: face-detection (detect + embed, like Immich) and face-recognition
// (incremental clustering of that asset's faces).
import type { HandlerTable } from './handlers.js';
import { detectAssetFaces } from './faces.js';
import { recognizeAssetFaces } from './people.js';

export const facesHandlers: HandlerTable = {
  'face-detection': (ctx, job) => detectAssetFaces(ctx, job.assetId!),
  'face-recognition': (ctx, job) => recognizeAssetFaces(ctx, job.assetId!),
};
