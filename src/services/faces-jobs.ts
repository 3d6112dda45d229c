// Job handlers for stages: face-detection,face-recognition.
import type { HandlerTable } from './handlers.js';

export const facesHandlers: HandlerTable = {};
