// `immich serve`: one Fastify app, route groups in this folder (one file each). Every route reads
// the same way: path → permission (in its config) → input validated by its JSON schema → one
// service call → the response shape. Authentication is one hook here, before any handler runs.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import multipart from '@fastify/multipart';
import type { Context } from '../context.js';
import { ImmichError, EXIT, errorMessage } from '../errors.js';
import { allows, callerForKey, openSessionStore, type Caller, type Permission, type SessionStore } from '../services/auth.js';
import { UploadService } from '../services/upload.js';
import { AuthCache } from './auth-cache.js';
import { LoginLimiter } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** null: no authentication (ping, version, login, the web app's files). */
    permission?: Permission | null;
  }
  interface FastifyRequest {
    caller?: Caller;
  }
}

export interface ServeOptions {
  host: string;
  port: number;
  /** Largest accepted upload, bytes. */
  uploadLimit: number;
  /** Folder with the built web gallery (index.html, app.js, app.css). */
  webRoot?: string;
  /** Failed logins allowed per client address in a window (default 5 per 15 minutes). */
  loginAttempts?: number;
  loginWindowMs?: number;
  /** Proxy addresses whose X-Forwarded-* headers are believed (Fastify's trustProxy list). */
  trustProxy: string;
}

/** What the route files get. */
export interface Services {
  ctx: Context;
  uploads: UploadService;
  sessions: SessionStore;
  limiter: LoginLimiter;
  options: ServeOptions;
  /** Set on the embedded database only (see auth-cache.ts). */
  authCache?: AuthCache;
}

export const SESSION_COOKIE = 'immich_session';

/** Immich's error body: { message, error, statusCode }. */
export function httpError(reply: FastifyReply, statusCode: number, message: string) {
  const error = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 429: 'Too Many Requests' }[statusCode] ?? 'Error';
  return reply.code(statusCode).send({ message, error, statusCode });
}

export interface Server {
  app: FastifyInstance;
  url: string;
  /** Stop accepting, finish requests in flight, close what the server opened (not the context). */
  close(): Promise<void>;
}

export async function startServer(ctx: Context, options: ServeOptions, hooks: { onQueued: () => void }): Promise<Server> {
  const app = Fastify({
    logger: false,
    // X-Forwarded-For/-Proto are believed only from these proxies (default: a proxy on this machine),
    // so a client cannot pick its own address (login rate limit) or scheme.
    trustProxy: options.trustProxy,
    bodyLimit: 8 << 20,
    // Upload bodies stream to disk; other bodies are small JSON.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  const sessions = await openSessionStore(ctx);
  const uploads = await UploadService.open(ctx, hooks.onQueued);
  const limiter = new LoginLimiter(options.loginAttempts ?? 5, options.loginWindowMs ?? 15 * 60_000);
  const authCache = ctx.config.database.kind === 'embedded' ? new AuthCache(10_000) : undefined;
  const services: Services = { ctx, uploads, sessions, limiter, options, authCache };

  await app.register(cookie);
  await app.register(multipart, { limits: { fileSize: options.uploadLimit, files: 2, fields: 20, fieldSize: 1 << 16 } });

  // Access log through our logger: method, path without its query (which may carry a key), status, time.
  app.addHook('onResponse', async (req, reply) => {
    const pathOnly = req.url.split('?')[0];
    ctx.logger.log(`${req.method} ${pathOnly} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)} ms`, {
      method: req.method, path: pathOnly, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, ip: req.ip,
    });
  });

  app.addHook('onRequest', async (req, reply) => {
    const permission = req.routeOptions.config?.permission;
    // The web app's catch-all is public, but what it answers under /api (unknown routes) is not.
    const webCatchAll = req.routeOptions.url === '/*' && /^\/api(\/|\?|$)/.test(req.url);
    if (permission === null && !webCatchAll) return;
    const caller = await authenticate(services, req);
    if (!caller) return httpError(reply, 401, 'Authentication required');
    req.caller = caller;
    if (permission && !allows(caller, permission)) return httpError(reply, 403, `Missing required permission: ${permission}`);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err.code === 'FST_REQ_FILE_TOO_LARGE' || err.code === 'FST_FILES_LIMIT' || err.statusCode === 413) {
      return httpError(reply, 413, `upload larger than the limit of ${options.uploadLimit} bytes`);
    }
    if (err.validation || (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)) {
      return httpError(reply, err.statusCode ?? 400, err.message);
    }
    if (err instanceof ImmichError) {
      return httpError(reply, err.exitCode === EXIT.ENVIRONMENT ? 503 : 400, err.message);
    }
    ctx.logger.error(`${req.method} ${req.url.split('?')[0]}: ${errorMessage(err)}`);
    return reply.code(500).send({ message: 'Internal server error', error: 'Internal Server Error', statusCode: 500 });
  });
  app.setNotFoundHandler((req, reply) => httpError(reply, 404, `Cannot ${req.method} ${req.url.split('?')[0]}`));

  for (const group of [
    await import('./server-info.js'),
    await import('./auth.js'),
    await import('./users.js'),
    await import('./assets.js'),
    await import('./albums.js'),
    await import('./timeline.js'),
    await import('./search.js'),
    await import('./people.js'),
    await import('./map.js'),
    await import('./web.js'),
  ]) {
    await group.routes(app, services);
  }

  await app.listen({ host: options.host, port: options.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    app,
    url: `http://${host}:${port}`,
    async close() {
      await app.close();
      await uploads.close();
      await sessions.close();
    },
  };
}

async function authenticate(s: Services, req: FastifyRequest): Promise<Caller | undefined> {
  const key = req.headers['x-api-key'];
  const token = req.cookies[SESSION_COOKIE];
  const secret = typeof key === 'string' && key ? AuthCache.key('key', key) : token ? AuthCache.key('session', token) : undefined;
  if (!secret) return undefined;
  const cached = s.authCache?.get(secret);
  if (cached) return cached;
  let caller: Caller | undefined;
  if (typeof key === 'string' && key) caller = await callerForKey(s.ctx, key);
  else if (token && (await s.sessions.valid(token))) caller = { kind: 'session', permissions: ['all'] };
  if (caller) s.authCache?.set(secret, caller);
  return caller;
}
