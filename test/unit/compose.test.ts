// Docker cannot run here: check that docker-compose.yml, .env.example and the Dockerfile agree with
// the configuration code (every variable passed is one the CLI reads, host names are service names,
// the library is mounted where UPLOAD_LOCATION points, the database image has pgvector).
import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadConfig } from '../../src/config.js';
import { QUEUE_VARIABLES } from '../../src/jobs/redis-settings.js';
import { ROOT, tmpDir } from '../helpers/env.js';

const compose = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'));
const example = dotenv.parse(fs.readFileSync(path.join(ROOT, '.env.example')));
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

/** Compose interpolation of ${VAR} and ${VAR:-default} from .env.example. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, name: string, def?: string) => example[name] || def || '');
}

function referencedVariables(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!))];
}

/** Variables the CLI reads: the ones config.ts reports a source for, plus the Redis-mode settings. */
function readByCli(name: string, value: string): boolean {
  // Redis settings are only read when REDIS_HOSTNAME is set.
  const config = loadConfig({ env: { REDIS_HOSTNAME: 'redis', [name]: value }, cwd: tmpDir() });
  return config.sources[name] === 'env' || (QUEUE_VARIABLES as readonly string[]).includes(name);
}

const services = compose.services as Record<string, any>;
const worker = services['immich-worker'];
const env = Object.fromEntries(Object.entries(worker.environment as Record<string, string>).map(([k, v]) => [k, interpolate(String(v))]));

describe('docker-compose.yml', () => {
  it('has PostgreSQL with pgvector, Redis with persistence, and a worker built from the repo', () => {
    expect(Object.keys(services).sort()).toEqual(['database', 'immich-worker', 'redis']);
    expect(services.database.image).toMatch(/pgvector|immich-app\/postgres/);
    // shared buffers sized by .env (the default 128 MB made `duplicates` at 1M 3.6x slower)
    expect((services.database.command as string[]).join(' ')).toMatch(/shared_buffers=\$\{DB_SHARED_BUFFERS:-512MB\}/);
    const redisCmd = (services.redis.command as string[]).join(' ');
    expect(redisCmd).toMatch(/--appendonly yes/);
    expect((services.redis.volumes as string[]).some((v) => v.endsWith(':/data'))).toBe(true);
    expect(compose.volumes).toHaveProperty('redis-data');
    expect(worker.build.context).toBe('.');
    expect(fs.existsSync(path.join(ROOT, worker.build.dockerfile ?? 'Dockerfile'))).toBe(true);
    expect(worker.command).toEqual(['worker']);
    expect(Object.keys(worker.depends_on).sort()).toEqual(['database', 'redis']);
  });

  it('passes the worker only variables the CLI reads', () => {
    for (const [name, value] of Object.entries(env)) {
      expect(readByCli(name, value || 'x'), `${name} is not read by src/config.ts or the queue settings`).toBe(true);
    }
  });

  it('points DB_HOSTNAME and REDIS_HOSTNAME at the service names, with matching ports and credentials', () => {
    const config = loadConfig({ env, cwd: tmpDir() });
    expect(config.database.kind).toBe('postgres');
    expect(services[config.database.host!]?.image).toMatch(/pgvector/);
    expect(config.database.port).toBe(5432);
    expect(config.redis?.host).toBe('redis');
    expect(services[config.redis!.host]).toBeDefined();
    expect(config.redis?.port).toBe(6379);
    const db = services.database.environment as Record<string, string>;
    expect(db.POSTGRES_USER).toBe(worker.environment.DB_USERNAME);
    expect(db.POSTGRES_PASSWORD).toBe(worker.environment.DB_PASSWORD);
    expect(db.POSTGRES_DB).toBe(worker.environment.DB_DATABASE_NAME);
  });

  it('mounts the library at UPLOAD_LOCATION (and the models at IMMICH_MODELS_DIR) in the worker', () => {
    const targets = (worker.volumes as string[]).map((v) => interpolate(v).split(':')[1]);
    const config = loadConfig({ env, cwd: tmpDir() });
    expect(targets).toContain(config.uploadLocation);
    expect(targets).toContain(config.modelsDir);
    const source = (worker.volumes as string[]).find((v) => v.endsWith(':/data'))!;
    expect(source.split(':')[0]).toBe('${UPLOAD_LOCATION}');
  });

  it('.env.example defines every variable compose uses, and the CLI reads it without error', () => {
    const text = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
    for (const name of referencedVariables(text)) expect(example, `${name} missing from .env.example`).toHaveProperty(name);
    const composeOnly = new Set(['DB_DATA_LOCATION', 'DB_SHARED_BUFFERS', 'MODELS_LOCATION', 'EXTERNAL_PATH']);
    for (const [name, value] of Object.entries(example)) {
      if (composeOnly.has(name)) continue;
      expect(readByCli(name, value), `${name} in .env.example is not read by the CLI`).toBe(true);
    }
    const config = loadConfig({ env: {}, envFile: path.join(ROOT, '.env.example'), cwd: ROOT });
    expect(config.database.host).toBe('127.0.0.1');
    expect(config.redis?.host).toBe('127.0.0.1');
  });
});

describe('Dockerfile', () => {
  it('node 20 on Debian with ffmpeg, libjxl-tools, libheif-examples; npm ci without the CUDA download', () => {
    expect(dockerfile).toMatch(/^FROM node:20/m);
    for (const pkg of ['ffmpeg', 'libjxl-tools', 'libheif-examples']) expect(dockerfile).toContain(pkg);
    expect(dockerfile).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip/);
    expect(dockerfile).toMatch(/npm ci/);
    for (const dir of ['dist', 'bin', 'migrations']) expect(dockerfile).toMatch(new RegExp(`COPY .*${dir}`));
    const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).toContain('node_modules');
    expect(ignore).toContain('.env');
  });
});
