// /api/people*: people found by face recognition; name and merge them (`immich faces`' services).
import type { FastifyInstance } from 'fastify';
import { listPeople, mergePeople, namePerson, personAssets } from '../services/people.js';
import { idList, idParams } from './assets.js';
import { httpError, type Services } from './server.js';

export async function routes(app: FastifyInstance, { ctx }: Services): Promise<void> {
  const exists = async (id: string) => Boolean(await ctx.db.selectFrom('people').select('id').where('id', '=', id).executeTakeFirst());

  app.get('/api/people', { config: { permission: 'person.read' } }, async () => ({
    people: (await listPeople(ctx)).map((p) => ({ id: p.id, name: p.name, faces: p.faces, assets: p.assets, thumbnailAssetId: p.sampleAssetId })),
  }));

  app.get<{ Params: { id: string } }>('/api/people/:id/assets', { config: { permission: 'person.read' }, schema: { params: idParams } }, async (req, reply) => {
    const id = req.params.id.toLowerCase();
    if (!(await exists(id))) return httpError(reply, 404, 'person not found');
    return [...new Set((await personAssets(ctx, id)).map((a) => a.assetId))];
  });

  app.put<{ Params: { id: string }; Body: { name: string } }>(
    '/api/people/:id',
    {
      config: { permission: 'person.update' },
      schema: { params: idParams, body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 200 } } } },
    },
    async (req, reply) => {
      const id = req.params.id.toLowerCase();
      if (!(await exists(id))) return httpError(reply, 404, 'person not found');
      await namePerson(ctx, id, req.body.name);
      return { id, name: req.body.name.trim() };
    },
  );

  app.post<{ Params: { id: string }; Body: { ids: string[] } }>(
    '/api/people/:id/merge',
    { config: { permission: 'person.merge' }, schema: { params: idParams, body: { type: 'object', required: ['ids'], properties: { ids: idList } } } },
    async (req, reply) => {
      const into = req.params.id.toLowerCase();
      if (!(await exists(into))) return httpError(reply, 404, 'person not found');
      const results = [];
      for (const from of req.body.ids.map((i) => i.toLowerCase())) {
        if (from === into || !(await exists(from))) results.push({ id: from, success: false, error: from === into ? 'duplicate' : 'not_found' });
        else {
          await mergePeople(ctx, into, from);
          results.push({ id: from, success: true });
        }
      }
      return results;
    },
  );
}
