// Job handlers for stages: backup.
import type { HandlerTable } from './handlers.js';

export const backupHandlers: HandlerTable = {};
