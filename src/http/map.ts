// /api/map/markers: Immich's map markers (id, lat, lon, place) for the gallery's map view and Immich's clients.
import type { FastifyInstance } from 'fastify';
import { mapMarkers } from '../services/map.js';
import { httpError, type Services } from './server.js';

interface Query {
  isArchived?: boolean;
  isFavorite?: boolean;
  fileCreatedAfter?: string;
  fileCreatedBefore?: string;
  withPartners?: boolean;
  withSharedAlbums?: boolean;
}

const date = { type: 'string', maxLength: 40 } as const;

export async function routes(app: FastifyInstance, { ctx }: Services): Promise<void> {
  app.get<{ Querystring: Query }>(
    '/api/map/markers',
    {
      config: { permission: 'map.read' },
      schema: {
        querystring: {
          type: 'object',
          properties: {
            isArchived: { type: 'boolean' }, isFavorite: { type: 'boolean' }, fileCreatedAfter: date, fileCreatedBefore: date,
            // One owner: no partners or shared albums to add.
            withPartners: { type: 'boolean' }, withSharedAlbums: { type: 'boolean' },
          },
        },
      },
    },
    async (req, reply) => {
      const after = req.query.fileCreatedAfter ? new Date(req.query.fileCreatedAfter) : undefined;
      const before = req.query.fileCreatedBefore ? new Date(req.query.fileCreatedBefore) : undefined;
      if ((after && Number.isNaN(after.getTime())) || (before && Number.isNaN(before.getTime()))) {
        return httpError(reply, 400, 'fileCreatedAfter and fileCreatedBefore must be ISO dates');
      }
      return mapMarkers(ctx, { isArchived: req.query.isArchived, isFavorite: req.query.isFavorite, fileCreatedAfter: after, fileCreatedBefore: before });
    },
  );
}
