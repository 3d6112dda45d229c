// Named regions meet detected faces (embedded database, real rows): a region overlapping a detected
// face (IoU >= 0.5) names that face; one overlapping none becomes a face of its own; a face a user
// already gave a named person keeps it; applying again changes nothing.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFaceRegions } from '../../src/services/face-regions.js';
import { tmpDir } from '../helpers/env.js';
import { addAsset, openMediaContext, type MediaTestContext } from '../helpers/media.js';
import { makeImage } from '../e2e/import-helpers.js';

describe('face regions', () => {
  let t: MediaTestContext;
  beforeAll(async () => {
    t = await openMediaContext();
  });
  afterAll(async () => {
    await t?.ctx.close();
  });

  it('IoU >= 0.5 names the detected face, else a face of its own; user names stay', async () => {
    const file = path.join(tmpDir(), 'group.jpg');
    await makeImage(file, { color: '#808080', width: 200, height: 100 });
    const assetId = await addAsset(t.ctx, file);
    const db = t.ctx.db;
    const face = (x1: number, y1: number, x2: number, y2: number, person_id: string | null = null) => ({
      asset_id: assetId, person_id, model: 'buffalo_s', image_width: 200, image_height: 100,
      box_x1: x1, box_y1: y1, box_x2: x2, box_y2: y2, score: 0.9, landmarks: Array(10).fill(0.5), crop_path: null,
    });
    const grace = await db.insertInto('people').values({ name: 'Grace' }).returning('id').executeTakeFirstOrThrow();
    const [detected, named] = await db.insertInto('asset_faces').values([face(0.1, 0.1, 0.3, 0.5), face(0.6, 0.1, 0.8, 0.5, grace.id)]).returning('id').execute();

    const regions = new Map([[assetId, [
      { name: 'Ada', x: 0.11, y: 0.12, w: 0.2, h: 0.38 }, // IoU with the detected face ≈ 0.9
      { name: 'Alan', x: 0.62, y: 0.1, w: 0.2, h: 0.4 }, // over the face the user named Grace
      { name: 'Edsger', x: 0.4, y: 0.6, w: 0.1, h: 0.2 }, // no face there
    ]]]);
    expect(await applyFaceRegions(t.ctx, regions)).toBe(2);
    const rows = await db.selectFrom('asset_faces').leftJoin('people', 'people.id', 'asset_faces.person_id')
      .select(['asset_faces.id', 'people.name', 'asset_faces.model', 'asset_faces.assigned_by']).orderBy('asset_faces.box_x1').execute();
    expect(rows.map((r) => [r.id === detected!.id ? 'detected' : r.id === named!.id ? 'named' : 'own', r.name, r.model, r.assigned_by])).toEqual([
      ['detected', 'Ada', 'buffalo_s', 'manual'],
      ['own', 'Edsger', 'metadata', 'manual'],
      ['named', 'Grace', 'buffalo_s', 'cluster'],
    ]);
    // Again: every region finds its named face; nothing is added or renamed.
    expect(await applyFaceRegions(t.ctx, regions)).toBe(0);
    expect(await db.selectFrom('asset_faces').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 3 });
    expect((await db.selectFrom('people').select('name').orderBy('name').execute()).map((p) => p.name)).toEqual(['Ada', 'Edsger', 'Grace']);
  }, 120_000);
});
