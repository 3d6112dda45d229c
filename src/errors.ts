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
