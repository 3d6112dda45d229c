import { backupHandlers } from './backup-jobs.js';
import { facesHandlers } from './faces-jobs.js';
import { mediaHandlers } from './media-jobs.js';
import { searchHandlers } from './search-jobs.js';
export const HANDLERS = {
    ...mediaHandlers,
    ...facesHandlers,
    ...searchHandlers,
    ...backupHandlers,
};
//# sourceMappingURL=handlers.js.map