// The media pipeline on the shared corpus, checked against labels.json: dates with offsets, GPS,
// make/model, orientation, video facts; previews/thumbnails for every format folder; broken files.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemError } from '../../src/errors.js';
import { decodeSource, renderImage } from '../../src/media/image.js';
import { extractMetadata, getExifTool, probeFile, type MediaMetadata } from '../../src/services/media.js';
import { CORPUS, corpusLabels, noteSkip } from '../helpers/env.js';
import { addAsset, assetFiles, mapLimit, openMediaContext, runStage, type MediaTestContext } from '../helpers/media.js';

if (!CORPUS) noteSkip('media-corpus', 'corpus');

/** "2022:08:14 14:12:31+03:00" → wall clock 'YYYY-MM-DDTHH:mm:ss' and offset minutes (undefined if none). */
function parseLabelDate(s: string): { wall: string; offset?: number } {
  const m = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(s);
  if (!m) throw new Error(`unparsed label date ${s}`);
  const wall = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
  if (!m[7]) return { wall };
  if (m[7] === 'Z') return { wall, offset: 0 };
  const sign = m[7][0] === '-' ? -1 : 1;
  return { wall, offset: sign * (Number(m[7].slice(1, 3)) * 60 + Number(m[7].slice(4, 6))) };
}

function offsetMinutes(o: string | null): number | undefined {
  if (!o) return undefined;
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(o);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : undefined;
}

describe.skipIf(!CORPUS)('media pipeline on the corpus', () => {
  let t: MediaTestContext;
  const labels = CORPUS ? corpusLabels() : {};
  const abs = (rel: string) => path.join(CORPUS!, rel);

  beforeAll(async () => {
    t = await openMediaContext();
  });
  afterAll(async () => {
    await t?.ctx.close();
  });

  it('extracts dates with offsets, GPS, make/model, orientation and durations as labelled', async () => {
    const entries = Object.entries(labels.exif as Record<string, any>).filter(
      ([rel, l]) => !String(l.mime).startsWith('application/') && fs.existsSync(abs(rel)),
    );
    expect(entries.length).toBeGreaterThan(60);
    const metas = await mapLimit(entries, 4, async ([rel]) => extractMetadata(t.ctx, abs(rel)));
    const problems: string[] = [];
    const check = (rel: string, what: string, ok: boolean, got: unknown, want: unknown) => {
      if (!ok) problems.push(`${rel}: ${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    };
    entries.forEach(([rel, l], i) => {
      const m: MediaMetadata = metas[i]!;
      // Labels take make/model from IFD0 only; XMP-tiff copies (objects/chelsea_cat.png) are read too.
      if (l.make) check(rel, 'make', m.make === l.make, m.make, l.make);
      if (l.model) check(rel, 'model', m.model === l.model, m.model, l.model);
      if (l.gps) {
        check(rel, 'gps', m.latitude !== null && Math.abs(m.latitude - l.gps[0]) < 1e-4 && Math.abs(m.longitude! - l.gps[1]) < 1e-4, [m.latitude, m.longitude], l.gps);
      } else {
        check(rel, 'gps (none)', m.latitude === null && m.longitude === null, [m.latitude, m.longitude], null);
      }
      if (m.type === 'image') check(rel, 'orientation', m.orientation === (l.orientation ?? null) || (m.orientation === 1 && l.orientation === undefined), m.orientation, l.orientation);
      if (l.duration_s !== undefined) check(rel, 'duration', m.duration !== null && Math.abs(m.duration - l.duration_s) <= 0.1, m.duration, l.duration_s);
      if (l.rating !== undefined && l.rating > 0) check(rel, 'rating', m.rating === l.rating, m.rating, l.rating);
      if (l.keywords) {
        const want = Array.isArray(l.keywords) ? l.keywords : [l.keywords];
        check(rel, 'keywords', want.every((k: string) => m.keywords?.includes(k)), m.keywords, want);
      }
      const cid = l.content_identifier ?? l.apple_media_group_uuid;
      if (cid) check(rel, 'live photo id', m.livePhotoCid === cid, m.livePhotoCid, cid);
      if (l.motion_photo) check(rel, 'motion photo', m.motionPhoto, m.motionPhoto, true);
      if (!l.datetime) return;
      if (rel.includes('far-future')) {
        check(rel, 'implausible date rejected', m.dateSource === 'file mtime', m.dateSource, 'file mtime');
        return;
      }
      const d = parseLabelDate(l.datetime);
      const utcByTag = /QuickTime:CreateDate/.test(l.datetime_tag);
      const offset = d.offset ?? (utcByTag ? 0 : l.offset && /^[+-]\d{2}:\d{2}$/.test(l.offset) ? parseLabelDate(`2000:01:01 00:00:00${l.offset}`).offset : undefined);
      if (offset !== undefined) {
        const want = Date.parse(`${d.wall}Z`) - offset * 60_000;
        check(rel, 'taken at (instant)', Math.abs(m.takenAt.getTime() - want) < 1000, m.takenAt.toISOString(), new Date(want).toISOString());
        if (!utcByTag) check(rel, 'offset', offsetMinutes(m.offsetTime) === offset, m.offsetTime, offset);
      } else {
        check(rel, 'local taken at', m.localTakenAt.slice(0, 19) === d.wall, m.localTakenAt, d.wall);
      }
    });
    expect(problems).toEqual([]);
  });

  it('GPS-only time zone: DateTimeOriginal without offset takes the zone at the GPS position', async () => {
    const m = await extractMetadata(t.ctx, abs('exif/dates/datetimeoriginal-gps.jpg'));
    expect(m.timeZone).toBe('America/Denver');
    expect(m.offsetTime).toBe('-07:00');
    expect(m.localTakenAt.slice(0, 19)).toBe('2025-12-01T11:30:00');
    expect(m.takenAt.toISOString()).toBe('2025-12-01T18:30:00.000Z');
  });

  it('reads video facts with ffprobe as labelled (duration, codecs, size, container)', async () => {
    const entries = Object.entries(labels.video as Record<string, any>).filter(([rel]) => fs.existsSync(abs(rel)));
    const metas = await mapLimit(entries, 4, async ([rel]) => extractMetadata(t.ctx, abs(rel)));
    entries.forEach(([rel, l], i) => {
      const m = metas[i]!;
      expect(m.type, rel).toBe('video');
      expect(Math.abs((m.duration ?? -1) - l.duration_s), rel).toBeLessThanOrEqual(0.1);
      expect(m.container, rel).toBe(l.container);
      if (l.video_codec) expect(m.videoCodec, rel).toBe(l.video_codec);
      if (l.audio_codec) expect(m.audioCodec, rel).toBe(l.audio_codec);
      if (l.width) expect([m.exifImageWidth, m.exifImageHeight], rel).toEqual([l.width, l.height]);
      if (l.display_matrix_rotation) expect([m.width, m.height], rel).toEqual([l.height, l.width]);
    });
  });

  it('reads the XMP sidecar next to a photo (rating, keywords)', async () => {
    for (const [rel, sidecars] of Object.entries(labels.sidecars as Record<string, string[]>)) {
      const m = await extractMetadata(t.ctx, abs(rel));
      const xmp = sidecars.find((s) => s.endsWith('.xmp'))!;
      expect(m.sidecarPath).toBe(abs(xmp));
      const l = labels.exif[xmp];
      if (l?.rating) expect(m.rating).toBe(l.rating);
      if (l?.keywords) expect(m.keywords).toEqual(expect.arrayContaining(l.keywords));
    }
  });

  it('pairs Live Photo stills and videos by content identifier, whichever is processed first', async () => {
    for (const pair of labels.live_photos as Array<{ still: string; video: string; content_identifier: string }>) {
      for (const order of [['video', 'still'], ['still', 'video']] as const) {
        const { ctx } = t;
        await ctx.db.deleteFrom('assets').execute();
        {
          const ids: Record<string, string> = {};
          ids.still = await addAsset(ctx, abs(pair.still));
          ids.video = await addAsset(ctx, abs(pair.video));
          for (const which of order) expect((await runStage(ctx, 'metadata', ids[which]!)).status).toBe('success');
          const rows = await ctx.db.selectFrom('assets').select(['id', 'live_photo_video_id', 'is_motion_part']).execute();
          const still = rows.find((r) => r.id === ids.still)!;
          const video = rows.find((r) => r.id === ids.video)!;
          expect(still.live_photo_video_id).toBe(ids.video);
          expect(video.is_motion_part).toBe(true);
          expect(still.is_motion_part).toBe(false);
          const exif = await ctx.db.selectFrom('exif').select(['live_photo_cid']).where('asset_id', '=', ids.still!).executeTakeFirstOrThrow();
          expect(exif.live_photo_cid).toBe(pair.content_identifier);
          await ctx.db.deleteFrom('assets').execute();
        }
      }
    }
  });

  // Every format folder: previews and thumbnails with the right sizes and orientation.
  // RAW files in the corpus are metadata-only stubs without an embedded JPEG: they must fail cleanly.
  const EXPECTED_TO_FAIL = /^formats\/raw\//;

  it('renders previews and thumbnails for every format folder (RAW stubs fail cleanly)', async () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(path.relative(CORPUS!, p));
      }
    };
    walk(abs('formats'));
    for (const o of ['landscape', 'portrait']) for (const n of [1, 3, 6, 8]) files.push(`exif/orientation/${o}_${n}.jpg`);
    files.push('exif/blackberry-z10_orientation6.jpg', 'faces/curie/portrait-orientation-6.jpg', 'video/iphone6_with-gps.mov', 'video/gps_creation-time_remux.mkv', 'video/with-gps.mp4');
    const problems: string[] = [];
    await mapLimit(files, 2, async (rel) => {
      // probeFile: real type and header size (pixel count as labelled; RAW sizes are not read cheaply).
      const probed = await probeFile(abs(rel));
      const size = labels.exif[rel]?.image_size ?? (labels.video[rel] ? `${labels.video[rel].width} ${labels.video[rel].height}` : undefined);
      if (probed.type !== (/^video\/|\.mov$|\.MOV$/.test(rel) ? 'video' : 'image')) problems.push(`${rel}: probed as ${probed.type}`);
      if (size && probed.width !== null) {
        const [w, h] = size.split(' ').map(Number);
        if (probed.width * probed.height! !== w * h) problems.push(`${rel}: probed ${probed.width}x${probed.height}, labelled ${size}`);
      }
      if (/\.jxl$/.test(rel) && !probed.width) problems.push(`${rel}: JPEG XL header size not read`);
      const id = await addAsset(t.ctx, abs(rel));
      const meta = await runStage(t.ctx, 'metadata', id);
      if (meta.status !== 'success') problems.push(`${rel}: metadata ${meta.status}: ${meta.message}`);
      const out = await runStage(t.ctx, 'thumbnails', id);
      if (EXPECTED_TO_FAIL.test(rel)) {
        if (out.status !== 'failed') problems.push(`${rel}: expected a clean failure, got ${out.status}`);
        else {
          expect(out.message).toContain(rel.split('/').pop());
          expect(out.message).not.toContain('\n');
        }
        return;
      }
      if (out.status !== 'success') { problems.push(`${rel}: thumbnails ${out.status}: ${out.message}`); return; }
      const a = await t.ctx.db.selectFrom('assets').select(['width', 'height', 'thumbhash']).where('id', '=', id).executeTakeFirstOrThrow();
      const f = await assetFiles(t.ctx, id);
      for (const [kind, size] of [['preview', 1440], ['thumbnail', 250]] as const) {
        const row = f[kind];
        if (!row) { problems.push(`${rel}: no ${kind} row`); continue; }
        const file = t.ctx.library.resolve(row.path);
        const m = await sharp(file).metadata();
        const short = Math.min(a.width!, a.height!);
        const wantShort = Math.min(size, short);
        if (Math.min(m.width!, m.height!) !== wantShort) problems.push(`${rel}: ${kind} ${m.width}x${m.height}, want shorter side ${wantShort}`);
        // Same orientation as the displayed image (portrait stays portrait).
        if (a.width !== a.height && (m.width! > m.height!) !== (a.width! > a.height!)) problems.push(`${rel}: ${kind} ${m.width}x${m.height} vs asset ${a.width}x${a.height}`);
        if (m.format !== (kind === 'preview' ? 'jpeg' : 'webp')) problems.push(`${rel}: ${kind} is ${m.format}`);
        if (row.file_size !== fs.statSync(file).size) problems.push(`${rel}: ${kind} size mismatch`);
      }
      if (!a.thumbhash) problems.push(`${rel}: no thumbhash`);
      if (probed.width && probed.width * probed.height! !== a.width! * a.height! && probed.type === 'image') {
        problems.push(`${rel}: header says ${probed.width}x${probed.height}, decoded ${a.width}x${a.height}`);
      }
      // Orientation: expected displayed shape from the labels (stored size, swapped for 5-8 / 90°).
      const l = labels.exif[rel];
      if (l?.image_size && !rel.startsWith('video/')) {
        let [w, h] = l.image_size.split(' ').map(Number);
        if ((l.orientation ?? 1) >= 5) [w, h] = [h, w];
        if (a.width !== w || a.height !== h) problems.push(`${rel}: displayed ${a.width}x${a.height}, want ${w}x${h}`);
      }
      if (rel === 'video/iphone6_with-gps.mov' && !(a.height! > a.width!)) problems.push(`${rel}: poster not rotated (${a.width}x${a.height})`);
    });
    expect(problems).toEqual([]);
  });

  it('each decoder works: npm heic-decode for HEIC, @jsquash/jxl (WebAssembly) and Debian djxl for JPEG XL', async () => {
    for (const [rel, format, tools] of [
      ['formats/heic/samplefilehub.heif', 'heic', { heifConvert: null }],
      ['formats/jxl/8bit-sRGB.jxl', 'jxl', { djxl: null }],
      ['formats/jxl/8bit-sRGB.jxl', 'jxl', { djxl: '/usr/bin/djxl' }],
    ] as const) {
      if (format === 'jxl' && !fs.existsSync('/usr/bin/djxl')) continue;
      const src = await decodeSource(abs(rel), format, { tmpDir: t.ctx.library.folder('tmp'), exiftool: () => getExifTool(t.ctx), ...tools });
      try {
        const r = await renderImage(src, { maxPixels: 1e8 });
        const [w, h] = (labels.exif[rel]?.image_size ?? `${r.width} ${r.height}`).split(' ').map(Number);
        expect([r.width, r.height], rel).toEqual([w, h]);
        expect(Math.min(r.thumbnail.width, r.thumbnail.height)).toBe(250);
      } finally {
        await src.cleanup();
      }
    }
  });

  it('refuses every broken file with a one-line error naming it; bombs are refused quickly', async () => {
    const labelsBroken = labels.broken as Record<string, string>;
    const outcomes: Record<string, string> = {};
    for (const rel of Object.keys(labelsBroken)) {
      const file = abs(rel);
      const started = performance.now();
      let message: string | undefined;
      try {
        const p = await probeFile(file);
        // Passed the header check: the stages decide (render damaged data, or fail one line).
        if (rel.endsWith('jpeg-named-as.nef')) expect(p.mime).toBe('image/jpeg');
        const id = await addAsset(t.ctx, file);
        const meta = await runStage(t.ctx, 'metadata', id);
        const thumbs = await runStage(t.ctx, 'thumbnails', id);
        message = [meta, thumbs].filter((o) => o.status !== 'success' || o.message).map((o) => o.message).join(' | ') || 'ok';
        if (thumbs.status === 'failed' || meta.status === 'failed') expect(message).toContain(path.basename(rel));
      } catch (err) {
        expect(err).toBeInstanceOf(ItemError);
        message = (err as Error).message;
        expect(message).toContain(file);
        expect(message.split('\n')).toHaveLength(1);
      }
      outcomes[rel] = message;
      if (rel.includes('bomb')) {
        expect(message, rel).toMatch(/limit|bomb/i);
        expect(performance.now() - started, rel).toBeLessThan(3000);
      }
    }
    // Files that must be refused outright.
    for (const rel of ['broken/zero_bytes.jpg', 'broken/text_pretending.jpg', 'broken/sharp_corrupt-header.jpg', 'broken/bomb_header_65500x65500.jpg', 'broken/bomb_65536x65536.png', 'broken/corrupted_no_moov.mp4', 'broken/exiftool-stub.mkv']) {
      expect(outcomes[rel], rel).toContain(abs(rel));
    }
    expect(outcomes['broken/jpeg-named-as.nef']).toBe('ok');
    expect(outcomes['broken/zero_bytes.jpg']).toMatch(/empty/);
    expect(outcomes['broken/text_pretending.jpg']).toMatch(/not an image or video/);
    expect(outcomes['broken/corrupted_no_moov.mp4']).toMatch(/moov/);
  });
});
