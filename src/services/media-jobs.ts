// Job handlers for stages: metadata,thumbnails,video.
import type { HandlerTable } from './handlers.js';

export const mediaHandlers: HandlerTable = {};
