// Job handlers for stages: smart-search,objects,ocr,duplicates.
import type { HandlerTable } from './handlers.js';

export const searchHandlers: HandlerTable = {};
