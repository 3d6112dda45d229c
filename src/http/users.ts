// /api/users/me and /api/api-keys/me: the library's one user, and the key a client is using.
import type { FastifyInstance } from 'fastify';
import { getOwner } from '../services/auth.js';
import { httpError, type Services } from './server.js';

export async function routes(app: FastifyInstance, { ctx }: Services): Promise<void> {
  app.get('/api/users/me', { config: { permission: 'user.read' } }, async () => {
    const o = await getOwner(ctx);
    // UserAdminResponseDto: the owner is the admin of a one-user server.
    return {
      id: o.id, email: o.email, name: o.name, isAdmin: true, avatarColor: 'primary', profileImagePath: '', profileChangedAt: o.updatedAt,
      shouldChangePassword: false, status: 'active', storageLabel: 'admin', oauthId: '', quotaSizeInBytes: null, quotaUsageInBytes: null,
      createdAt: o.updatedAt, updatedAt: o.updatedAt, deletedAt: null, license: null,
    };
  });

  // Any valid key may read itself (the CLI checks its own permissions with it): no permission asked.
  app.get('/api/api-keys/me', async (req, reply) => {
    const c = req.caller!;
    if (c.kind !== 'key') return httpError(reply, 400, 'not signed in with an API key');
    return { id: c.keyId, name: c.keyName, permissions: c.permissions, createdAt: c.keyCreatedAt, updatedAt: c.keyCreatedAt };
  });
}
