// What the path templates (storage template, export) know about assets, read in bulk: one query per
// table per chunk of ids, so exporting or migrating 100k assets costs a few hundred statements.
import type { Context } from '../context.js';
import { albumPathIndex } from '../db/albums.js';
import { lastEdited } from '../db/asset-edits.js';
import { userTagsOfAssets } from '../db/user-tags.js';
import type { TemplateValues } from '../storage/template.js';
import { wallClockOf } from '../storage/wall-clock.js';

const CHUNK = 1000;

export interface AssetForTemplate {
  id: string;
  checksum: string;
  libraryPath: string;
  storageMode: string;
  type: 'image' | 'video';
  originalName: string;
  fileSize: number;
  editedAt: Date | null;
  livePhotoVideoId: string | null;
  isMotionPart: boolean;
  sidecarPath: string | null;
  values: TemplateValues;
}

type Needs = { people?: boolean; tags?: boolean; albums?: boolean };

/** Template values of these assets (in the order given; unknown ids are left out). */
export async function loadTemplateValues(ctx: Context, ids: readonly string[], needs: Needs = { people: true, tags: true, albums: true }): Promise<AssetForTemplate[]> {
  const out = new Map<string, AssetForTemplate>();
  // Albums nest: {{album}} is the album's path ('Trips/2024/Lisbon'). Albums are few: one query.
  const albumPaths = needs.albums && ids.length ? await albumPathIndex(ctx.db) : undefined;
  for (let k = 0; k < ids.length; k += CHUNK) {
    const chunk = ids.slice(k, k + CHUNK);
    const rows = await ctx.db
      .selectFrom('assets')
      .leftJoin('exif', 'exif.asset_id', 'assets.id')
      .select((eb) => [
        'assets.id', 'assets.checksum', 'assets.library_path', 'assets.storage_mode', 'assets.type', 'assets.original_name',
        'assets.file_size', lastEdited('assets').as('edited_at'), 'assets.live_photo_video_id', 'assets.is_motion_part', 'assets.taken_at', 'assets.file_mtime',
        // As text: a `timestamp` read into a Date would be shifted by this process's time zone.
        eb.cast<string | null>('assets.local_taken_at', 'text').as('local_taken_at'),
        'assets.rating', 'assets.description',
        'exif.make', 'exif.model', 'exif.lens_model', 'exif.city', 'exif.country',
        eb.ref('exif.rating').as('exif_rating'), eb.ref('exif.description').as('exif_description'), 'exif.sidecar_path',
      ])
      .where('assets.id', 'in', chunk)
      .execute();
    for (const r of rows) {
      const date = wallClockOf(r.local_taken_at) ?? wallClockOf(r.taken_at) ?? wallClockOf(r.file_mtime) ?? new Date(0);
      out.set(r.id, {
        id: r.id,
        checksum: r.checksum,
        libraryPath: r.library_path,
        storageMode: r.storage_mode,
        type: r.type,
        originalName: r.original_name,
        fileSize: Number(r.file_size),
        editedAt: r.edited_at ? new Date(r.edited_at) : null,
        livePhotoVideoId: r.live_photo_video_id,
        isMotionPart: r.is_motion_part,
        sidecarPath: r.sidecar_path,
        values: {
          date,
          originalName: r.original_name,
          type: r.type,
          assetId: r.id,
          make: r.make,
          model: r.model,
          lens: r.lens_model,
          city: r.city ?? null,
          country: r.country ?? null,
          // The user's rating and description win over the file's (migration 0060).
          rating: r.rating ?? r.exif_rating,
          description: r.description ?? r.exif_description,
          albums: [],
          people: [],
          tags: [],
        },
      });
    }
    const push = (id: string, key: 'albums' | 'people' | 'tags', value: string) => {
      const a = out.get(id);
      if (a) (a.values[key] as string[]).push(value);
    };
    if (albumPaths) {
      const albums = await ctx.db.selectFrom('album_assets').select(['asset_id', 'album_id']).where('asset_id', 'in', chunk).execute();
      for (const r of albums) {
        const p = albumPaths.get(r.album_id)?.path;
        if (p) push(r.asset_id, 'albums', p);
      }
    }
    if (needs.people) {
      const people = await ctx.db
        .selectFrom('asset_faces')
        .innerJoin('people', 'people.id', 'asset_faces.person_id')
        .select(['asset_faces.asset_id', 'people.name'])
        .distinct()
        .where('asset_faces.asset_id', 'in', chunk)
        .where('people.is_hidden', '=', false)
        .where('people.name', '<>', '')
        .execute();
      for (const r of people) push(r.asset_id, 'people', r.name);
    }
    if (needs.tags) {
      // User tags (organize's repository); detector labels are guesses, not folder names.
      const tags = await userTagsOfAssets(ctx.db, chunk);
      for (const [id, list] of tags) for (const t of list) push(id, 'tags', t.value);
    }
  }
  return ids.flatMap((id) => out.get(id) ?? []);
}
