// Who may use `immich serve`: API keys (Immich's `x-api-key`), the owner's password for the web,
// and web sessions (in Redis when REDIS_HOSTNAME is set, like Immich's session cache, else in the
// database). Secrets are never stored or logged: keys and session tokens as SHA-256 (they are 32
// random bytes), the password with scrypt (memory-hard, from node:crypto).
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { queueSettings } from '../jobs/redis-settings.js';

const scrypt = promisify(crypto.scrypt) as (pw: string, salt: Buffer, len: number, opts: crypto.ScryptOptions) => Promise<Buffer>;

/** Immich's permission names that our routes check ('all' grants every one). */
export const PERMISSIONS = [
  'all',
  'apiKey.read',
  'asset.read',
  'asset.view',
  'asset.download',
  'asset.upload',
  'asset.update',
  'asset.delete',
  'asset.statistics',
  'album.read',
  'album.create',
  'album.update',
  'albumAsset.create',
  'albumAsset.delete',
  'map.read',
  'person.read',
  'person.update',
  'person.merge',
  'server.about',
  'user.read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Who made a request: a key (with its permissions) or the owner's web session (everything). */
export interface Caller {
  kind: 'key' | 'session';
  keyId?: string;
  keyName?: string;
  keyCreatedAt?: string;
  permissions: readonly string[];
}

export function allows(caller: Caller, permission: Permission): boolean {
  return caller.permissions.includes('all') || caller.permissions.includes(permission);
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
// Never a leading '-': a secret is passed on command lines (`immich login <url> <key>`), where it would read as an option.
const newSecret = (): string => {
  for (;;) {
    const s = crypto.randomBytes(32).toString('base64url');
    if (!s.startsWith('-')) return s;
  }
};

// ---- API keys ----------------------------------------------------------------------------------

export interface ApiKeyInfo {
  id: string;
  name: string;
  permissions: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

function keyInfo(r: { id: string; name: string; permissions: string[]; created_at: Date; last_used_at: Date | null }): ApiKeyInfo {
  return { id: r.id, name: r.name, permissions: r.permissions, createdAt: r.created_at.toISOString(), lastUsedAt: r.last_used_at?.toISOString() ?? null };
}

export function parsePermissions(values: string[]): string[] {
  const list = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (!list.length) return ['all'];
  for (const p of list) {
    if (!(PERMISSIONS as readonly string[]).includes(p)) throw new UsageError(`unknown permission "${p}" (one of: ${PERMISSIONS.join(', ')})`);
  }
  return [...new Set(list)];
}

/** A new key; the secret is returned once and only its hash is kept. */
export async function createApiKey(ctx: Context, name: string, permissions: string[]): Promise<ApiKeyInfo & { secret: string }> {
  if (!name.trim()) throw new UsageError('--name must not be empty');
  const secret = newSecret();
  const row = await ctx.db
    .insertInto('api_keys')
    .values({ name: name.trim(), key_hash: sha256(secret), permissions })
    .returning(['id', 'name', 'permissions', 'created_at', 'last_used_at'])
    .executeTakeFirstOrThrow();
  return { ...keyInfo(row), secret };
}

export async function listApiKeys(ctx: Context): Promise<ApiKeyInfo[]> {
  const rows = await ctx.db.selectFrom('api_keys').select(['id', 'name', 'permissions', 'created_at', 'last_used_at']).orderBy('created_at').execute();
  return rows.map(keyInfo);
}

/** Revoke by id, id prefix or exact name; returns what was revoked (nothing when no key matches). */
export async function revokeApiKey(ctx: Context, ref: string): Promise<ApiKeyInfo[]> {
  const keys = await listApiKeys(ctx);
  const byId = keys.filter((k) => k.id === ref || (ref.length >= 4 && k.id.startsWith(ref)));
  const matches = byId.length ? byId : keys.filter((k) => k.name === ref);
  if (matches.length > 1) throw new UsageError(`"${ref}" matches ${matches.length} keys: give the id`);
  if (matches.length) await ctx.db.deleteFrom('api_keys').where('id', '=', matches[0]!.id).execute();
  return matches;
}

export async function callerForKey(ctx: Context, secret: string): Promise<Caller | undefined> {
  const row = await ctx.db.selectFrom('api_keys').select(['id', 'name', 'permissions', 'created_at', 'last_used_at']).where('key_hash', '=', sha256(secret)).executeTakeFirst();
  if (!row) return undefined;
  // last_used_at at most once a minute: no write per request.
  const now = Date.now();
  if (!row.last_used_at || now - row.last_used_at.getTime() > 60_000) {
    await ctx.db.updateTable('api_keys').set({ last_used_at: new Date(now) }).where('id', '=', row.id).execute();
  }
  return { kind: 'key', keyId: row.id, keyName: row.name, keyCreatedAt: row.created_at.toISOString(), permissions: row.permissions };
}

// ---- the owner ---------------------------------------------------------------------------------

export interface OwnerInfo {
  id: string;
  name: string;
  email: string;
  hasPassword: boolean;
  updatedAt: string;
}

export async function getOwner(ctx: Context): Promise<OwnerInfo> {
  await ctx.db.insertInto('owner').values({ password_hash: null }).onConflict((oc) => oc.column('singleton').doNothing()).execute();
  const r = await ctx.db.selectFrom('owner').selectAll().executeTakeFirstOrThrow();
  return { id: r.id, name: r.name, email: r.email, hasPassword: r.password_hash !== null, updatedAt: r.updated_at.toISOString() };
}

// N=2^15, r=8: 32 MiB and ~60 ms per check on this class of machine (OWASP's minimum is 2^17 with r=8
// at 128 MiB; 32 MiB keeps several concurrent logins within a small server's memory).
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLen: 32 };
const MIN_PASSWORD = 8;

async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, SCRYPT.keyLen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 256 << 20 });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), want.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 << 20 });
  return crypto.timingSafeEqual(got, want);
}

export async function setOwnerPassword(ctx: Context, password: string, opts: { email?: string; name?: string } = {}): Promise<OwnerInfo> {
  if (password.length < MIN_PASSWORD) throw new UsageError(`the password must have at least ${MIN_PASSWORD} characters`);
  await getOwner(ctx);
  await ctx.db
    .updateTable('owner')
    .set({ password_hash: await hashPassword(password), updated_at: new Date(), ...(opts.email ? { email: opts.email } : {}), ...(opts.name ? { name: opts.name } : {}) })
    .execute();
  // A new password ends every web session.
  const store = await openSessionStore(ctx);
  try {
    await store.clear();
  } finally {
    await store.close();
  }
  return getOwner(ctx);
}

/** True when the password is the owner's. */
export async function verifyOwnerPassword(ctx: Context, password: string): Promise<boolean> {
  const row = await ctx.db.selectFrom('owner').select('password_hash').executeTakeFirst();
  if (!row?.password_hash) return false;
  return checkPassword(password, row.password_hash);
}

// ---- sessions ----------------------------------------------------------------------------------

export const SESSION_TTL_S = 30 * 24 * 3600;

export interface SessionStore {
  create(): Promise<string>;
  valid(token: string): Promise<boolean>;
  remove(token: string): Promise<void>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

class DbSessions implements SessionStore {
  constructor(private readonly ctx: Context) {}
  async create(): Promise<string> {
    const token = newSecret();
    await this.ctx.db.deleteFrom('sessions').where('expires_at', '<', new Date()).execute();
    await this.ctx.db.insertInto('sessions').values({ token_hash: sha256(token), expires_at: new Date(Date.now() + SESSION_TTL_S * 1000) }).execute();
    return token;
  }
  async valid(token: string): Promise<boolean> {
    const r = await this.ctx.db.selectFrom('sessions').select('expires_at').where('token_hash', '=', sha256(token)).executeTakeFirst();
    return Boolean(r && r.expires_at.getTime() > Date.now());
  }
  async remove(token: string): Promise<void> {
    await this.ctx.db.deleteFrom('sessions').where('token_hash', '=', sha256(token)).execute();
  }
  async clear(): Promise<void> {
    await this.ctx.db.deleteFrom('sessions').execute();
  }
  async close(): Promise<void> {}
}

type RedisClient = import('ioredis').Redis;

class RedisSessions implements SessionStore {
  constructor(private readonly redis: RedisClient, private readonly prefix: string) {}
  private key(token: string) {
    return `${this.prefix}:session:${sha256(token)}`;
  }
  async create(): Promise<string> {
    const token = newSecret();
    await this.redis.set(this.key(token), '1', 'EX', SESSION_TTL_S);
    return token;
  }
  async valid(token: string): Promise<boolean> {
    return (await this.redis.exists(this.key(token))) === 1;
  }
  async remove(token: string): Promise<void> {
    await this.redis.del(this.key(token));
  }
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:session:*`, 'COUNT', 1000);
      if (keys.length) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** Sessions in Redis when the library uses Redis (shared by every `serve` process), else in the database. */
export async function openSessionStore(ctx: Context): Promise<SessionStore> {
  const cfg = ctx.config.redis;
  if (!cfg) return new DbSessions(ctx);
  const { Redis } = await import('ioredis');
  const redis = new Redis({ host: cfg.host, port: cfg.port, password: cfg.password, db: cfg.dbIndex, maxRetriesPerRequest: 2 });
  redis.on('error', (err) => ctx.logger.warn(`session store (Redis): ${err.message}`));
  return new RedisSessions(redis, queueSettings(ctx.config).prefix);
}
