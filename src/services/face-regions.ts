// Named face regions from other managers (XMP MWG-RS / MP, Picasa) become named faces, like Immich's
// "import faces from metadata": a region goes to the detected face it overlaps (IoU >= 0.5), which
// then belongs to the named person; a region with no such face (no face model, or the detector
// missed it) becomes a face of its own. Either way the face is a manual assignment, so clustering
// never moves it and a later detection keeps it (src/services/faces.ts keeps manual faces and drops
// detections that overlap them). A face a user already gave a named person is left alone.
import type { Context } from '../context.js';
import { iou, type FaceRegion } from '../media/regions.js';

/** The model name of faces that come from metadata rather than a detector. */
export const METADATA_FACE_MODEL = 'metadata';

type Box = { x: number; y: number; w: number; h: number };

/** A rectangle normalised to the stored image, in the displayed image (EXIF orientation 1-8). */
export function orientBox(b: Box, orientation: number | null | undefined): Box {
  const map = (x: number, y: number): [number, number] => {
    switch (orientation) {
      case 2: return [1 - x, y];
      case 3: return [1 - x, 1 - y];
      case 4: return [x, 1 - y];
      case 5: return [y, x];
      case 6: return [1 - y, x];
      case 7: return [1 - y, 1 - x];
      case 8: return [y, 1 - x];
      default: return [x, y];
    }
  };
  const [ax, ay] = map(b.x, b.y);
  const [bx, by] = map(b.x + b.w, b.y + b.h);
  return { x: Math.min(ax, bx), y: Math.min(ay, by), w: Math.abs(bx - ax), h: Math.abs(by - ay) };
}

async function personNamed(ctx: Context, name: string, coverFace: string | null): Promise<string> {
  const found = await ctx.db.selectFrom('people').select('id').where('name', '=', name).orderBy('created_at').executeTakeFirst();
  if (found) return found.id;
  return (await ctx.db.insertInto('people').values({ name, cover_face_id: coverFace }).returning('id').executeTakeFirstOrThrow()).id;
}

/** Apply the regions of each asset; returns how many faces were named or made. */
export async function applyFaceRegions(ctx: Context, byAsset: Map<string, FaceRegion[]>): Promise<number> {
  let named = 0;
  for (const [assetId, regions] of byAsset) {
    const asset = await ctx.db
      .selectFrom('assets')
      .leftJoin('exif', 'exif.asset_id', 'assets.id')
      .select(['assets.width', 'assets.height', 'exif.orientation'])
      .where('assets.id', '=', assetId)
      .executeTakeFirst();
    if (!asset) continue;
    const faces = await ctx.db
      .selectFrom('asset_faces')
      .leftJoin('people', 'people.id', 'asset_faces.person_id')
      .select(['asset_faces.id', 'asset_faces.model', 'asset_faces.box_x1', 'asset_faces.box_y1', 'asset_faces.box_x2', 'asset_faces.box_y2', 'people.name as person_name'])
      .where('asset_faces.asset_id', '=', assetId)
      .execute();
    const taken = new Set<string>();
    for (const region of regions) {
      const box = orientBox(region, asset.orientation);
      let best: { id: string; person_name: string | null; score: number; model: string } | undefined;
      for (const f of faces) {
        if (taken.has(f.id)) continue;
        const score = iou(box, { x: f.box_x1, y: f.box_y1, w: f.box_x2 - f.box_x1, h: f.box_y2 - f.box_y1 });
        if (score >= 0.5 && (!best || score > best.score)) best = { id: f.id, person_name: f.person_name, score, model: f.model };
      }
      if (best) {
        taken.add(best.id);
        // Named already (a user's name, or this region on an earlier run): leave it.
        if (best.person_name) continue;
        const person = await personNamed(ctx, region.name, best.id);
        await ctx.db.updateTable('asset_faces').set({ person_id: person, assigned_by: 'manual' }).where('id', '=', best.id).execute();
        named++;
        continue;
      }
      const id = crypto.randomUUID();
      const person = await personNamed(ctx, region.name, null);
      await ctx.db
        .insertInto('asset_faces')
        .values({
          id,
          asset_id: assetId,
          person_id: person,
          model: METADATA_FACE_MODEL,
          image_width: asset.width ?? 0,
          image_height: asset.height ?? 0,
          box_x1: box.x,
          box_y1: box.y,
          box_x2: box.x + box.w,
          box_y2: box.y + box.h,
          score: 1,
          landmarks: [],
          crop_path: null,
          assigned_by: 'manual',
        })
        .execute();
      await ctx.db.updateTable('people').set({ cover_face_id: id }).where('id', '=', person).where('cover_face_id', 'is', null).execute();
      named++;
    }
  }
  return named;
}
