// /api/search: the web's search box, on `immich search`'s engine and filters.
import type { FastifyInstance } from 'fastify';
import { UsageError } from '../errors.js';
import { parseDateBound, search } from '../services/search.js';
import type { Services } from './server.js';

interface SearchQuery {
  q?: string;
  person?: string[];
  tag?: string[];
  text?: string;
  type?: 'image' | 'video';
  after?: string;
  before?: string;
  place?: string;
  camera?: string;
  limit?: number;
}

export async function routes(app: FastifyInstance, { ctx }: Services): Promise<void> {
  const str = { type: 'string', maxLength: 500 } as const;
  app.get<{ Querystring: SearchQuery }>(
    '/api/search',
    {
      config: { permission: 'asset.read' },
      schema: {
        querystring: {
          type: 'object',
          properties: {
            q: str, text: str, place: str, camera: str, after: str, before: str,
            person: { type: 'array', maxItems: 20, items: str }, tag: { type: 'array', maxItems: 20, items: str },
            type: { type: 'string', enum: ['image', 'video'] }, limit: { type: 'integer', minimum: 1, maximum: 1000 },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      if (!q.q && !q.text && !q.person?.length && !q.tag?.length && !q.place && !q.camera && !q.type && !q.after && !q.before) {
        throw new UsageError('say what to search for (q, person, tag, text, place, camera, type, after, before)');
      }
      const result = await search(ctx, {
        query: q.q, persons: q.person, tags: q.tag, text: q.text, type: q.type, place: q.place, camera: q.camera,
        after: q.after ? parseDateBound('after', q.after) : undefined, before: q.before ? parseDateBound('before', q.before) : undefined,
        limit: q.limit ?? 200,
      });
      return {
        mode: result.mode,
        notes: result.notes,
        // Library paths stay on the server: the web asks for files by asset id.
        assets: result.hits.map((h) => ({
          id: h.id, type: h.type, originalName: h.originalName, takenAt: h.takenAt, city: h.city, country: h.country, score: h.score, matched: h.matched,
        })),
      };
    },
  );
}
