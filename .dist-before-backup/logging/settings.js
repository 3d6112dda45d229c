// Log settings from the command line and the environment (.env): where lines go and in which format.
import { UsageError } from '../errors.js';
export const LOG_ENV = ['IMMICH_LOG_FORMAT', 'IMMICH_LOG_FILE', 'IMMICH_LOG_MAX_SIZE', 'IMMICH_LOG_KEEP'];
/** '10M' → 10485760; accepts B, k/K, M, G suffixes (binary). */
export function parseSize(name, value) {
    const m = /^(\d+)\s*([bkmg]?)i?b?$/i.exec(value.trim());
    if (!m)
        throw new UsageError(`${name}=${value} must be a size such as 10M, 500k or 0`);
    const mult = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
    return Number(m[1]) * mult;
}
export function loadLogSettings(raw, flags = {}) {
    const get = (k) => (raw[k] === undefined || raw[k].trim() === '' ? undefined : raw[k].trim());
    const formatRaw = flags.logFormat ?? get('IMMICH_LOG_FORMAT') ?? 'text';
    const source = flags.logFormat !== undefined ? '--log-format' : 'IMMICH_LOG_FORMAT';
    if (formatRaw !== 'text' && formatRaw !== 'json')
        throw new UsageError(`${source} must be text or json (got ${formatRaw})`);
    const file = flags.logFile ?? get('IMMICH_LOG_FILE');
    if (flags.logFile !== undefined && flags.logFile.trim() === '')
        throw new UsageError('--log-file needs a path');
    const maxBytes = get('IMMICH_LOG_MAX_SIZE') !== undefined ? parseSize('IMMICH_LOG_MAX_SIZE', get('IMMICH_LOG_MAX_SIZE')) : 10 * 1024 ** 2;
    let keep = 5;
    const keepRaw = get('IMMICH_LOG_KEEP');
    if (keepRaw !== undefined) {
        keep = Number(keepRaw);
        if (!Number.isInteger(keep) || keep < 0 || keep > 1000)
            throw new UsageError(`IMMICH_LOG_KEEP=${keepRaw} must be an integer from 0 to 1000`);
    }
    return { format: formatRaw, file, maxBytes, keep };
}
//# sourceMappingURL=settings.js.map