// `immich export` on corpus media: HEIC → JPEG with metadata embedded in the copy and written to an
// XMP sidecar (read back with exiftool), and a Live Photo exported with --live.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { ExifTool } from 'exiftool-vendored';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, createPgDatabase, noteSkip, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { checkState, sha1 } from './export-helpers.js';
import { withLibraryDb } from './import-helpers.js';

describe('immich export (corpus)', () => {
  let lib: string;
  let env: Record<string, string>;
  let drop: (() => Promise<void>) | undefined;
  const byName = async (name: string) => withLibraryDb(lib, (db) => db.selectFrom('assets').select(['id', 'library_path', 'checksum']).where('original_name', '=', name).execute(), env);
  beforeAll(async () => {
    if (!CORPUS) return;
    lib = tmpDir('export-corpus-lib-');
    const db = await createPgDatabase('export_corpus');
    drop = db.drop;
    env = { UPLOAD_LOCATION: lib, ...pgEnv(db.name) };
  });
  afterAll(async () => {
    await drop?.();
  });

  describe.skipIf(!CORPUS)('corpus media', () => {
    it('HEIC → JPEG, metadata embedded in the copy and in sidecars (read back with exiftool), --live', async () => {
      const csrc = tmpDir('export-corpus-');
      fs.copyFileSync(path.join(CORPUS!, 'formats/heic/iphone7_gps_offset+0200.heic'), path.join(csrc, 'iphone7.heic'));
      fs.copyFileSync(path.join(CORPUS!, 'formats/livephoto/IMG_5195.HEIC'), path.join(csrc, 'IMG_5195.HEIC'));
      fs.copyFileSync(path.join(CORPUS!, 'formats/livephoto/IMG_5195.MOV'), path.join(csrc, 'IMG_5195.MOV'));
      const r = await runCli(['import', '--skip-ml', csrc], env);
      expect(r.code, r.stderr).toBe(0);
      const [heic] = await byName('iphone7.heic');
      await withLibraryDb(lib, async (db) => {
        await db.updateTable('assets').set({ rating: 5, description: 'Segesta', edited_at: new Date() }).where('id', '=', heic!.id).execute();
        const tag = await db.insertInto('user_tags').values({ value: 'Sicily', parent_id: null }).returning('id').executeTakeFirstOrThrow();
        await db.insertInto('asset_user_tags').values({ asset_id: heic!.id, tag_id: tag.id, source: 'user' }).execute();
        const bob = await db.insertInto('people').values({ name: 'Bob' }).returning('id').executeTakeFirstOrThrow();
        await db.insertInto('asset_faces').values({
          asset_id: heic!.id, person_id: bob.id, model: 'test', image_width: 1440, image_height: 1080,
          box_x1: 0.1, box_y1: 0.2, box_x2: 0.3, box_y2: 0.5, score: 0.9, landmarks: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        }).execute();
      }, env);
      const dest = path.join(tmpDir('export-heic-'), 'out');
      const e = await runCli(['export', dest, '--path', 'iphone7.heic', '--convert', 'jpeg', '--quality', '80', '--embed-metadata', '--sidecar', 'xmp', '--original-names'], env);
      expect(e.code, e.stderr).toBe(0);
      expect(checkState(dest).sort()).toEqual(['iphone7.jpg', 'iphone7.jpg.xmp']);
      // A Live Photo: the still and, with --live, its video beside it under the still's name.
      const live = path.join(tmpDir('export-live-'), 'out');
      const l = await runCli(['export', live, '--path', 'IMG_5195*', '--live', '--original-names'], env);
      expect(l.code, l.stderr).toBe(0);
      expect(checkState(live).sort()).toEqual(['IMG_5195.HEIC', 'IMG_5195.MOV']);
      expect(sha1(path.join(live, 'IMG_5195.MOV'))).toBe(sha1(path.join(csrc, 'IMG_5195.MOV')));
      const meta = await sharp(path.join(dest, 'iphone7.jpg')).metadata();
      expect(meta.format).toBe('jpeg');
      expect([meta.width, meta.height]).toEqual([4032, 3024]);
      const et = new ExifTool({ taskTimeoutMillis: 20_000 });
      try {
        for (const f of ['iphone7.jpg', 'iphone7.jpg.xmp']) {
          const tags = (await et.read(path.join(dest, f))) as Record<string, any>;
          expect(tags.Description ?? tags.ImageDescription, f).toBe('Segesta');
          expect(tags.Rating, f).toBe(5);
          expect(String(tags.DateTimeOriginal?.toString?.() ?? tags.DateTimeOriginal), f).toMatch(/2019-10-20T18:34:30(\.000)?\+02:00/);
          expect(tags.GPSLatitude, f).toBeCloseTo(38.0466, 3);
          expect(tags.GPSLongitude, f).toBeCloseTo(12.9944, 3);
          expect([tags.Subject].flat(), f).toContain('Sicily');
          expect([tags.PersonInImage].flat(), f).toEqual(['Bob']);
          expect(tags.RegionInfo?.RegionList?.[0], f).toMatchObject({ Name: 'Bob', Type: 'Face', Area: { X: 0.2, Y: 0.35, W: 0.2, H: 0.3 } });
        }
        const jpegTags = (await et.read(path.join(dest, 'iphone7.jpg'))) as Record<string, any>;
        expect([jpegTags.Keywords].flat()).toContain('Sicily');
        expect(jpegTags.OffsetTimeOriginal).toBe('+02:00');
      } finally {
        await et.end();
      }
    });
  });
  if (!CORPUS) noteSkip('export corpus media', 'corpus');
});
