// /api/auth/*: the owner's password login for the web (a session cookie) and logout.
import type { FastifyInstance } from 'fastify';
import { getOwner, SESSION_TTL_S, verifyOwnerPassword } from '../services/auth.js';
import { AuthCache } from './auth-cache.js';
import { httpError, SESSION_COOKIE, type Services } from './server.js';

export async function routes(app: FastifyInstance, { ctx, sessions, limiter, authCache }: Services): Promise<void> {
  app.post<{ Body: { email?: string; password: string } }>(
    '/api/auth/login',
    {
      config: { permission: null },
      schema: {
        body: {
          type: 'object',
          required: ['password'],
          properties: { email: { type: 'string', maxLength: 200 }, password: { type: 'string', maxLength: 1024 } },
        },
      },
    },
    async (req, reply) => {
      const wait = limiter.retryAfter(req.ip);
      if (wait) {
        reply.header('retry-after', String(wait));
        return httpError(reply, 429, `too many failed logins: try again in ${wait} s`);
      }
      if (!(await verifyOwnerPassword(ctx, req.body.password))) {
        limiter.fail(req.ip);
        ctx.logger.warn(`failed login from ${req.ip}`);
        return httpError(reply, 401, 'Incorrect password');
      }
      limiter.succeed(req.ip);
      const token = await sessions.create();
      // Secure whenever the client reached us over TLS (directly or through a proxy's X-Forwarded-Proto).
      reply.setCookie(SESSION_COOKIE, token, {
        httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https', path: '/', maxAge: SESSION_TTL_S,
      });
      const o = await getOwner(ctx);
      return { userId: o.id, userEmail: o.email, name: o.name, isAdmin: true, profileImagePath: '', shouldChangePassword: false, isOnboarded: true };
    },
  );

  app.post('/api/auth/logout', async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) {
      authCache?.delete(AuthCache.key('session', token));
      await sessions.remove(token);
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { successful: true, redirectUri: '/' };
  });
}
