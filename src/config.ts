// Environment (.env and process.env) → typed Config. The only module that reads process.env.
// Variable names follow Immich's .env so an existing Immich deployment's file can be reused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { UsageError } from './errors.js';
import { SETTINGS } from './settings.js';

export type LogLevel = 'verbose' | 'debug' | 'log' | 'warn' | 'error';
export const LOG_LEVELS: LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error'];

export interface DatabaseConfig {
  /** 'embedded' = PGlite in the library folder; 'postgres' = a server reached with pg. */
  kind: 'embedded' | 'postgres';
  url?: string;
  host?: string;
  port: number;
  username: string;
  password?: string;
  database: string;
  /** Embedded database folder (inside UPLOAD_LOCATION). */
  embeddedPath: string;
}

export interface RedisConfig {
  host: string;
  port: number;
  password?: string;
  dbIndex: number;
}

export interface Config {
  uploadLocation: string;
  database: DatabaseConfig;
  /** Absent → jobs run in-process. */
  redis?: RedisConfig;
  modelsDir: string;
  /** Extra model search folders after modelsDir (user cache). */
  modelCacheDir: string;
  logLevel: LogLevel;
  /** Where the values came from, for `immich config`. */
  sources: Record<string, 'env' | '.env' | 'default'>;
  envFile?: string;
  /** Raw settings for feature areas (e.g. IMMICH_* transcoding, ML) that own their parsing. */
  raw: Readonly<Record<string, string>>;
  /** The variables the env file set (for `immich config`'s source column). */
  envFileVars?: Readonly<Record<string, string>>;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Explicit .env path (--env-file); otherwise ./.env when it exists. */
  envFile?: string;
}

const KNOWN = [
  'DB_URL', 'DB_HOSTNAME', 'DB_PORT', 'DB_USERNAME', 'DB_PASSWORD', 'DB_DATABASE_NAME',
  'REDIS_HOSTNAME', 'REDIS_PORT', 'REDIS_PASSWORD', 'REDIS_DBINDEX', 'UPLOAD_LOCATION',
  'IMMICH_MODELS_DIR', 'IMMICH_LOG_LEVEL', 'IMMICH_MODEL_CACHE',
] as const;

function parsePort(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UsageError(`${name}=${value} is not a valid port (1-65535)`);
  }
  return n;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const envFile = opts.envFile ?? (env.IMMICH_ENV_FILE || undefined) ?? undefined;
  const filePath = envFile ? path.resolve(cwd, envFile) : path.join(cwd, '.env');
  let fileVars: Record<string, string> = {};
  let usedFile: string | undefined;
  if (fs.existsSync(filePath)) {
    fileVars = dotenv.parse(fs.readFileSync(filePath));
    usedFile = filePath;
  } else if (envFile) {
    throw new UsageError(`env file ${filePath} does not exist`);
  }

  const sources: Config['sources'] = {};
  const merged: Record<string, string> = { ...fileVars };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  const get = (name: string): string | undefined => {
    if (env[name] !== undefined && env[name] !== '') { sources[name] = 'env'; return env[name]; }
    if (fileVars[name] !== undefined && fileVars[name] !== '') { sources[name] = '.env'; return fileVars[name]; }
    return undefined;
  };

  // A path from the env file is relative to that file's folder (so the file works from any cwd);
  // from the environment, to the working directory. A leading ~ is the home folder in both.
  const home = env.HOME || os.homedir();
  const pathOf = (name: string, value: string): string => {
    const expanded = value === '~' ? home : value.startsWith('~/') ? path.join(home, value.slice(2)) : value;
    return path.resolve(sources[name] === '.env' && usedFile ? path.dirname(usedFile) : cwd, expanded);
  };
  const uploadRaw = get('UPLOAD_LOCATION');
  const uploadLocation = uploadRaw ? pathOf('UPLOAD_LOCATION', uploadRaw) : path.resolve(cwd, defaultLibrary(env));
  if (!uploadRaw) sources.UPLOAD_LOCATION = 'default';

  const dbUrl = get('DB_URL');
  const dbHost = get('DB_HOSTNAME');
  const database: DatabaseConfig = {
    kind: dbUrl || dbHost ? 'postgres' : 'embedded',
    url: dbUrl,
    host: dbHost,
    port: parsePort('DB_PORT', get('DB_PORT'), 5432),
    username: get('DB_USERNAME') ?? 'postgres',
    password: get('DB_PASSWORD'),
    database: get('DB_DATABASE_NAME') ?? 'immich',
    embeddedPath: path.join(uploadLocation, 'database'),
  };
  if (dbUrl && !/^postgres(ql)?:\/\//.test(dbUrl)) {
    throw new UsageError(`DB_URL must start with postgres:// or postgresql:// (got a value of another scheme)`);
  }

  const redisHost = get('REDIS_HOSTNAME');
  const redis: RedisConfig | undefined = redisHost
    ? {
        host: redisHost,
        port: parsePort('REDIS_PORT', get('REDIS_PORT'), 6379),
        password: get('REDIS_PASSWORD'),
        dbIndex: Number(get('REDIS_DBINDEX') ?? 0),
      }
    : undefined;

  const level = (get('IMMICH_LOG_LEVEL') ?? 'log').toLowerCase();
  if (!LOG_LEVELS.includes(level as LogLevel)) {
    throw new UsageError(`IMMICH_LOG_LEVEL=${level} is not one of ${LOG_LEVELS.join(', ')}`);
  }

  const modelsRaw = get('IMMICH_MODELS_DIR');
  const modelsDir = modelsRaw ? pathOf('IMMICH_MODELS_DIR', modelsRaw) : path.join(uploadLocation, 'models');
  const cacheRaw = get('IMMICH_MODEL_CACHE');
  const modelCacheDir = cacheRaw
    ? pathOf('IMMICH_MODEL_CACHE', cacheRaw)
    : path.resolve(cwd, path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'immich', 'models'));
  for (const k of KNOWN) if (!sources[k]) sources[k] = 'default';

  return {
    uploadLocation,
    database,
    redis,
    modelsDir,
    modelCacheDir,
    logLevel: level as LogLevel,
    sources,
    envFile: usedFile,
    raw: Object.freeze(merged),
    envFileVars: Object.freeze({ ...fileVars }),
  };
}

function defaultLibrary(env: NodeJS.ProcessEnv): string {
  const home = env.HOME || os.homedir();
  return path.join(home, '.local', 'share', 'immich', 'library');
}

const SECRET = /PASSWORD|PASSPHRASE|SECRET|KEY|TOKEN/i;
/** `scheme://user:password@` up to the LAST @ of the word: a password may hold '/' or '@' itself. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)\S*@/gi;

/** Passwords in URLs (DB_URL, a URL given as REDIS_HOSTNAME) masked wherever a text shows them. */
export function maskUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1********@');
}

/** Remove a known secret (REDIS_PASSWORD, DB_PASSWORD) and URL passwords from a message. */
export function scrubSecret(text: string, secret: string | undefined): string {
  const masked = maskUrlCredentials(text);
  return secret ? masked.split(secret).join('********') : masked;
}

/** Mask a secret for display: never print it, only whether it is set. */
export function maskSecret(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (SECRET.test(name)) return '********';
  if (name === 'DB_URL' || name === 'REDIS_HOSTNAME') return maskUrlCredentials(value);
  return value;
}

/** The effective configuration as name → displayed value, secrets masked. */
export function describeConfig(config: Config): Array<{ name: string; value: string | null; source: string }> {
  const rows: Array<{ name: string; value: string | undefined }> = [
    { name: 'UPLOAD_LOCATION', value: config.uploadLocation },
    { name: 'DB_URL', value: config.database.url },
    { name: 'DB_HOSTNAME', value: config.database.host },
    { name: 'DB_PORT', value: String(config.database.port) },
    { name: 'DB_USERNAME', value: config.database.username },
    { name: 'DB_PASSWORD', value: config.database.password },
    { name: 'DB_DATABASE_NAME', value: config.database.database },
    { name: 'REDIS_HOSTNAME', value: config.redis?.host },
    { name: 'REDIS_PORT', value: config.redis ? String(config.redis.port) : undefined },
    { name: 'REDIS_PASSWORD', value: config.redis?.password },
    { name: 'IMMICH_MODELS_DIR', value: config.modelsDir },
    { name: 'IMMICH_LOG_LEVEL', value: config.logLevel },
  ];
  // Then every other setting the code reads (src/settings.ts), set or not.
  for (const spec of SETTINGS) rows.push({ name: spec.name, value: config.raw[spec.name] || undefined });
  return rows.map((r) => ({
    name: r.name,
    value: maskSecret(r.name, r.value) ?? null,
    source: config.sources[r.name] ?? (r.value === undefined ? 'default' : config.envFileVars?.[r.name] === r.value ? '.env' : 'env'),
  }));
}

/** Postgres connection target for messages: host:port/db, never the password. */
export function describeDatabase(db: DatabaseConfig): string {
  if (db.kind === 'embedded') return `embedded database at ${db.embeddedPath}`;
  if (db.url) {
    // Everything up to the last '@' is user and password (a password may hold '/' or '@').
    const rest = db.url.replace(/^[a-z][a-z0-9+.-]*:\/\/(?:[^\s]*@)?/i, '');
    const m = /^([^/?]*)(\/[^?]*)?/.exec(rest)!;
    return `PostgreSQL at ${m[1]?.includes(':') ? m[1] : `${m[1]}:5432`}${m[2] ?? ''}`;
  }
  return `PostgreSQL at ${db.host}:${db.port}/${db.database}`;
}
