// Environment (.env and process.env) → typed Config. The only module that reads process.env.
// Variable names follow Immich's .env so an existing Immich deployment's file can be reused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { UsageError } from './errors.js';
export const LOG_LEVELS = ['verbose', 'debug', 'log', 'warn', 'error'];
const KNOWN = [
    'DB_URL', 'DB_HOSTNAME', 'DB_PORT', 'DB_USERNAME', 'DB_PASSWORD', 'DB_DATABASE_NAME',
    'REDIS_HOSTNAME', 'REDIS_PORT', 'REDIS_PASSWORD', 'REDIS_DBINDEX', 'UPLOAD_LOCATION',
    'IMMICH_MODELS_DIR', 'IMMICH_LOG_LEVEL', 'IMMICH_MODEL_CACHE',
];
function parsePort(name, value, fallback) {
    if (value === undefined || value === '')
        return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
        throw new UsageError(`${name}=${value} is not a valid port (1-65535)`);
    }
    return n;
}
export function loadConfig(opts = {}) {
    const env = opts.env ?? process.env;
    const cwd = opts.cwd ?? process.cwd();
    const envFile = opts.envFile ?? (env.IMMICH_ENV_FILE || undefined) ?? undefined;
    const filePath = envFile ? path.resolve(cwd, envFile) : path.join(cwd, '.env');
    let fileVars = {};
    let usedFile;
    if (fs.existsSync(filePath)) {
        fileVars = dotenv.parse(fs.readFileSync(filePath));
        usedFile = filePath;
    }
    else if (envFile) {
        throw new UsageError(`env file ${filePath} does not exist`);
    }
    const sources = {};
    const merged = { ...fileVars };
    for (const [k, v] of Object.entries(env))
        if (v !== undefined)
            merged[k] = v;
    const get = (name) => {
        if (env[name] !== undefined && env[name] !== '') {
            sources[name] = 'env';
            return env[name];
        }
        if (fileVars[name] !== undefined && fileVars[name] !== '') {
            sources[name] = '.env';
            return fileVars[name];
        }
        return undefined;
    };
    const uploadRaw = get('UPLOAD_LOCATION');
    const uploadLocation = path.resolve(cwd, uploadRaw ?? defaultLibrary(env));
    if (!uploadRaw)
        sources.UPLOAD_LOCATION = 'default';
    const dbUrl = get('DB_URL');
    const dbHost = get('DB_HOSTNAME');
    const database = {
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
    const redis = redisHost
        ? {
            host: redisHost,
            port: parsePort('REDIS_PORT', get('REDIS_PORT'), 6379),
            password: get('REDIS_PASSWORD'),
            dbIndex: Number(get('REDIS_DBINDEX') ?? 0),
        }
        : undefined;
    const level = (get('IMMICH_LOG_LEVEL') ?? 'log').toLowerCase();
    if (!LOG_LEVELS.includes(level)) {
        throw new UsageError(`IMMICH_LOG_LEVEL=${level} is not one of ${LOG_LEVELS.join(', ')}`);
    }
    const modelsDir = path.resolve(cwd, get('IMMICH_MODELS_DIR') ?? path.join(uploadLocation, 'models'));
    const modelCacheDir = path.resolve(cwd, get('IMMICH_MODEL_CACHE') ?? path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'immich', 'models'));
    for (const k of KNOWN)
        if (!sources[k])
            sources[k] = 'default';
    return {
        uploadLocation,
        database,
        redis,
        modelsDir,
        modelCacheDir,
        logLevel: level,
        sources,
        envFile: usedFile,
        raw: Object.freeze(merged),
    };
}
function defaultLibrary(env) {
    const home = env.HOME || os.homedir();
    return path.join(home, '.local', 'share', 'immich', 'library');
}
const SECRET = /PASSWORD|SECRET|KEY|TOKEN/i;
/** Mask a secret for display: never print it, only whether it is set. */
export function maskSecret(name, value) {
    if (value === undefined)
        return undefined;
    if (SECRET.test(name))
        return '********';
    if (name === 'DB_URL')
        return value.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:********@');
    return value;
}
/** The effective configuration as name → displayed value, secrets masked. */
export function describeConfig(config) {
    const rows = [
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
    return rows.map((r) => ({
        name: r.name,
        value: maskSecret(r.name, r.value) ?? null,
        source: config.sources[r.name] ?? 'default',
    }));
}
/** Postgres connection target for messages: host:port/db, never the password. */
export function describeDatabase(db) {
    if (db.kind === 'embedded')
        return `embedded database at ${db.embeddedPath}`;
    if (db.url) {
        try {
            const u = new URL(db.url);
            return `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
        }
        catch {
            return 'PostgreSQL at DB_URL';
        }
    }
    return `PostgreSQL at ${db.host}:${db.port}/${db.database}`;
}
//# sourceMappingURL=config.js.map