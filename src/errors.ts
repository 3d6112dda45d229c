// Error classes carry the process exit code the CLI maps them to (see ARCHITECTURE.md, Conventions).

export const EXIT = { OK: 0, ITEMS_FAILED: 1, USAGE: 2, ENVIRONMENT: 3 } as const;

export class ImmichError extends Error {
  constructor(message: string, readonly exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flags, arguments or configuration values: exit 2. */
export class UsageError extends ImmichError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.USAGE, options);
  }
}

/** Database, Redis, storage or model unavailable: exit 3. The message names the service and the cause. */
export class EnvironmentError extends ImmichError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.ENVIRONMENT, options);
  }
}

/** No library where the configuration points (folder, embedded or server database): exit 3, nothing created. */
export class NoLibraryError extends EnvironmentError {}

/** A feature needs pgvector and the server does not have it. */
export class VectorUnavailableError extends EnvironmentError {
  constructor(feature: string) {
    super(
      `${feature} needs the pgvector extension, which this PostgreSQL server does not have. ` +
        'Use the pgvector image from docker-compose.yml (pgvector/pgvector:pg16) or install the extension ' +
        '(e.g. apt-get install postgresql-16-pgvector) and run the command again; or unset DB_HOSTNAME to use the embedded database.',
    );
  }
}

/** One item (file, asset) failed; the batch goes on. */
export class ItemError extends ImmichError {
  constructor(readonly item: string, message: string, options?: { cause?: unknown }) {
    super(message, EXIT.ITEMS_FAILED, options);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}

/** Error codes that say the environment failed (disk, network, server), not the item at hand. */
const ENV_CODES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENOMEM: 'out of memory',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  // PostgreSQL SQLSTATEs of a server that cannot go on (disk full, shutting down, connection lost).
  '53100': 'the database server is out of disk space',
  '53200': 'the database server is out of memory',
  '53300': 'the database server has too many connections',
  '57P01': 'the database server shut down',
  '57P02': 'the database server crashed',
  '57P03': 'the database server is not accepting connections',
  '08000': 'database connection lost',
  '08003': 'database connection lost',
  '08006': 'database connection lost',
  '08001': 'cannot connect to the database server',
  '08004': 'the database server refused the connection',
};
/** Emscripten (the embedded database) throws ErrnoError objects with WASI errno numbers. */
const WASI_ERRNO: Record<number, string> = { 51: 'ENOSPC', 19: 'EDQUOT', 69: 'EROFS', 29: 'EIO', 2: 'EACCES', 63: 'EPERM', 48: 'ENOMEM' };
const LOST_CONNECTION = /Connection terminated|Connection is closed|terminating connection|server closed the connection/i;

/** The code of an error (errno name, SQLSTATE, or the embedded engine's errno), if any. */
export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errno?: unknown; name?: unknown } | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'string') return e.code;
  if (e.name === 'ErrnoError' && typeof e.errno === 'number') return WASI_ERRNO[e.errno] ?? `errno ${e.errno}`;
  return undefined;
}

/**
 * When `err` (or an error it wraps) is the environment failing, a few words saying how ("no space
 * left on device (ENOSPC)"); else undefined.
 */
export function environmentCause(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = errorCode(e);
    if (code && ENV_CODES[code]) return `${ENV_CODES[code]} (${code})`;
    if (e instanceof Error && LOST_CONNECTION.test(e.message)) return 'database connection lost';
  }
  return undefined;
}

/** One line for any thrown value (an embedded-engine ErrnoError has no message). */
export function describeError(err: unknown): string {
  const cause = environmentCause(err);
  const message = err instanceof Error ? errorMessage(err) : undefined;
  if (message && cause) {
    // "connect ECONNREFUSED 127.0.0.1:5432" names the code but not what it means: say it first.
    const human = cause.replace(/ \([A-Z0-9_]+\)$/, '').toLowerCase();
    return message.toLowerCase().includes(human) ? message : `${cause}: ${message}`;
  }
  if (message) return message;
  if (cause) return cause;
  const code = errorCode(err);
  return code ? `error ${code}` : String(err);
}
