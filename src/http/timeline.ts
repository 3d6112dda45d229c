// /api/timeline/*: the web timeline, one month at a time (like Immich's time buckets).
import type { FastifyInstance } from 'fastify';
import { timelineBucket, timelineBuckets, type TimelineFilter } from '../services/gallery.js';
import type { Services } from './server.js';

const filter = { type: 'string', enum: ['timeline', 'archive', 'favorites', 'trash'] } as const;

export async function routes(app: FastifyInstance, { ctx }: Services): Promise<void> {
  app.get<{ Querystring: { filter?: TimelineFilter } }>(
    '/api/timeline/buckets',
    { config: { permission: 'asset.read' }, schema: { querystring: { type: 'object', properties: { filter } } } },
    async (req) => timelineBuckets(ctx, req.query.filter),
  );
  app.get<{ Querystring: { timeBucket: string; filter?: TimelineFilter } }>(
    '/api/timeline/bucket',
    {
      config: { permission: 'asset.read' },
      schema: { querystring: { type: 'object', required: ['timeBucket'], properties: { timeBucket: { type: 'string', pattern: '^\\d{4}-\\d{2}-01$' }, filter } } },
    },
    async (req) => timelineBucket(ctx, req.query.timeBucket, req.query.filter),
  );
}
