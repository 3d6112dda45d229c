// /api/server/*: what a client asks before anything else (Immich's server-info routes).
import type { FastifyInstance } from 'fastify';
import { supportedExtensions } from '../media/formats.js';
import type { Services } from './server.js';

/** The Immich server version whose API this one follows (what @immich/cli 3.x expects). */
export const IMMICH_API_VERSION = { major: 2, minor: 0, patch: 0 };

export async function routes(app: FastifyInstance, _s: Services): Promise<void> {
  app.get('/api/server/ping', { config: { permission: null } }, async () => ({ res: 'pong' }));
  app.get('/api/server/version', { config: { permission: null } }, async () => IMMICH_API_VERSION);
  // The CLI's `login`/`upload` look for the API here first.
  app.get('/.well-known/immich', { config: { permission: null } }, async () => ({ api: { endpoint: '/api' } }));
  app.get('/api/server/media-types', { config: { permission: 'server.about' } }, async () => ({
    image: supportedExtensions('image').map((e) => `.${e}`),
    video: supportedExtensions('video').map((e) => `.${e}`),
    sidecar: ['.xmp'],
  }));
}
