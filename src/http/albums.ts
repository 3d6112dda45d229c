// /api/albums*: Immich's album routes that @immich/cli (`upload --album`) and the web use.
import type { FastifyInstance } from 'fastify';
import { getOwner } from '../services/auth.js';
import { addToAlbum, albumAssets, createAlbum, getAlbum, listAlbums, removeFromAlbum, type AlbumSummary } from '../services/gallery.js';
import { idList, idParams } from './assets.js';
import { httpError, type Services } from './server.js';

export async function routes(app: FastifyInstance, { ctx }: Services): Promise<void> {
  /** AlbumResponseDto (a one-user server: owned, never shared). */
  const dto = async (a: AlbumSummary, assets: unknown[] = []) => {
    const o = await getOwner(ctx);
    return {
      id: a.id, albumName: a.name, description: a.description, assetCount: a.assetCount, albumThumbnailAssetId: a.coverAssetId,
      createdAt: a.createdAt, updatedAt: a.updatedAt, startDate: a.startDate ?? undefined, endDate: a.endDate ?? undefined,
      ownerId: o.id, owner: { id: o.id, email: o.email, name: o.name, profileImagePath: '', avatarColor: 'primary', profileChangedAt: o.updatedAt },
      albumUsers: [], shared: false, hasSharedLink: false, isActivityEnabled: false, order: 'desc', assets,
    };
  };

  app.get<{ Querystring: { assetId?: string; name?: string } }>(
    '/api/albums',
    {
      config: { permission: 'album.read' },
      schema: { querystring: { type: 'object', properties: { assetId: idParams.properties.id, name: { type: 'string', maxLength: 500 }, shared: { type: 'boolean' } } } },
    },
    async (req) => Promise.all((await listAlbums(ctx, req.query)).map((a) => dto(a))),
  );

  app.post<{ Body: { albumName: string; description?: string; assetIds?: string[] } }>(
    '/api/albums',
    {
      config: { permission: 'album.create' },
      schema: {
        body: {
          type: 'object', required: ['albumName'],
          properties: { albumName: { type: 'string', minLength: 1, maxLength: 500 }, description: { type: 'string', maxLength: 10_000 }, assetIds: idList },
        },
      },
    },
    async (req, reply) => {
      const album = await createAlbum(ctx, req.body.albumName, { description: req.body.description, assetIds: req.body.assetIds });
      return reply.code(201).send(await dto(album));
    },
  );

  app.get<{ Params: { id: string } }>('/api/albums/:id', { config: { permission: 'album.read' }, schema: { params: idParams } }, async (req, reply) => {
    const album = await getAlbum(ctx, req.params.id.toLowerCase());
    if (!album) return httpError(reply, 404, 'album not found');
    return dto(album, await albumAssets(ctx, album.id));
  });

  for (const [method, permission, fn] of [
    ['PUT', 'albumAsset.create', addToAlbum],
    ['DELETE', 'albumAsset.delete', removeFromAlbum],
  ] as const) {
    app.route<{ Params: { id: string }; Body: { ids: string[] } }>({
      method,
      url: '/api/albums/:id/assets',
      config: { permission },
      schema: { params: idParams, body: { type: 'object', required: ['ids'], properties: { ids: idList } } },
      handler: async (req, reply) => {
        const album = await getAlbum(ctx, req.params.id.toLowerCase());
        if (!album) return httpError(reply, 404, 'album not found');
        return fn(ctx, album.id, req.body.ids.map((i) => i.toLowerCase()));
      },
    });
  }
}
