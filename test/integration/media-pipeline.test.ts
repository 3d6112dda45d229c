// The media stages on fixtures made here (sharp, exiftool, ffmpeg lavfi), through a real Context on
// an embedded library and the real job processor: rows, files, sizes, orientation, playable video.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { ExifTool } from 'exiftool-vendored';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { ItemError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { renderImage } from '../../src/media/image.js';
import { findFfmpeg, probeVideo } from '../../src/media/video.js';
import { createProcessor } from '../../src/services/pipeline.js';
import { extractMetadata, probeFile, runMetadata } from '../../src/services/media.js';
import { tmpDir } from '../helpers/env.js';
import { addAsset, assetFiles, openMediaContext, runStage } from '../helpers/media.js';

const ff = findFfmpeg();
const dir = tmpDir('immich-media-fixtures-');
const F = {
  photo: path.join(dir, 'photo.jpg'),
  small: path.join(dir, 'small.jpg'),
  sidecarPhoto: path.join(dir, 'sidecar', 'photo.jpg'),
  mp4: path.join(dir, 'clip.mp4'),
  mkv: path.join(dir, 'old.mkv'),
  tinyMkv: path.join(dir, 'tiny.mkv'),
  truncated: path.join(dir, 'truncated.jpg'),
  empty: path.join(dir, 'empty.jpg'),
  text: path.join(dir, 'notes.jpg'),
  bomb: path.join(dir, 'bomb.png'),
  noMoov: path.join(dir, 'nomoov.mp4'),
};

function ffmpeg(args: string[]): void {
  execFileSync(ff.ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** A PNG whose header declares w x h with one tiny IDAT: a decompression bomb by its header. */
function bombPng(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

beforeAll(async () => {
  // 2000x1600 blue with a red top-left corner, stored with Orientation 6 (display: rotate 90° CW).
  await sharp({ create: { width: 2000, height: 1600, channels: 3, background: { r: 0, g: 0, b: 255 } } })
    .composite([{ input: { create: { width: 500, height: 400, channels: 3, background: { r: 255, g: 0, b: 0 } } }, left: 0, top: 0 }])
    .jpeg({ quality: 90 })
    .toFile(F.photo);
  await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 0, g: 128, b: 0 } } }).jpeg().toFile(F.small);
  const et = new ExifTool({ maxProcs: 1 });
  try {
    await et.write(F.photo, {
      'Orientation#': 6, Make: 'TestCam', Model: 'T-1000', DateTimeOriginal: '2021:06:15 10:20:30', OffsetTimeOriginal: '+02:00',
      GPSLatitude: 48.8584, GPSLatitudeRef: 'N', GPSLongitude: 2.2945, GPSLongitudeRef: 'E', Rating: 4, LensModel: 'Test 35mm',
      ISO: 200, FNumber: 2.8, ExposureTime: '1/125', FocalLength: '35',
    } as never, { writeArgs: ['-overwrite_original'] });
    await et.write(F.small, { DateTimeOriginal: '2020:01:02 03:04:05' } as never, { writeArgs: ['-overwrite_original'] });
  } finally {
    await et.end();
  }
  // Sidecars: photo.jpg.xmp wins over photo.xmp, and its date replaces the file's.
  fs.mkdirSync(path.dirname(F.sidecarPhoto));
  fs.copyFileSync(F.small, F.sidecarPhoto);
  const xmp = (rating: number, date: string) =>
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
    `<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" ` +
    `xmp:Rating="${rating}" exif:DateTimeOriginal="${date}"/></rdf:RDF></x:xmpmeta>`;
  fs.writeFileSync(`${F.sidecarPhoto}.xmp`, xmp(5, '2019-01-02T03:04:05+05:00'));
  fs.writeFileSync(path.join(path.dirname(F.sidecarPhoto), 'photo.xmp'), xmp(2, '2018-01-01T00:00:00+01:00'));

  // Web-playable H.264/AAC MP4, and an MPEG-4 Part 2 MKV at 1280x960 that needs a 720p H.264 copy.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=2', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', F.mp4]);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=1280x960:rate=25:duration=1', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1',
    '-c:v', 'mpeg4', '-q:v', '5', '-c:a', 'aac', '-shortest', F.mkv]);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=0.5', '-c:v', 'mpeg4', F.tinyMkv]);

  const jpeg = fs.readFileSync(F.photo);
  fs.writeFileSync(F.truncated, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  fs.writeFileSync(F.empty, '');
  fs.writeFileSync(F.text, 'this is not a photo\n');
  fs.writeFileSync(F.bomb, bombPng(30000, 30000));
  const mp4 = fs.readFileSync(F.mp4);
  const at = mp4.indexOf('moov');
  mp4.write('xxxx', at, 'latin1');
  fs.writeFileSync(F.noMoov, mp4);
});

describe('probeFile (header-only validation before import)', () => {
  it('identifies images and videos by content with their stored size', async () => {
    expect(await probeFile(F.photo)).toMatchObject({ type: 'image', mime: 'image/jpeg', width: 2000, height: 1600 });
    expect(await probeFile(F.mp4, { ffmpeg: ff })).toMatchObject({ type: 'video', mime: 'video/mp4', width: 320, height: 240 });
    expect(await probeFile(F.mkv, { ffmpeg: ff })).toMatchObject({ type: 'video', mime: 'video/x-matroska' });
  });

  it.each([
    ['empty', /empty file/],
    ['text', /not an image or video \(text\)/],
    ['bomb', /30000x30000 .*over the 100 Mpx limit/],
    ['noMoov', /unreadable video: moov atom not found/],
  ] as const)('refuses %s with a one-line ItemError naming the file', async (key, cause) => {
    const started = performance.now();
    const err = await probeFile(F[key], { ffmpeg: ff }).catch((e) => e);
    expect(err).toBeInstanceOf(ItemError);
    expect(err.message.startsWith(`${F[key]}: `)).toBe(true);
    expect(err.message).toMatch(cause);
    expect(err.message).not.toContain('\n');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('the pixel limit is configurable', async () => {
    await expect(probeFile(F.small, { maxPixels: 100_000 })).rejects.toThrow(/400x300 .*over the 0\.1 Mpx limit/);
  });
});

describe('renderImage under load', () => {
  it('a truncated JPEG renders with its warning while other pipelines run (libvips error text is process-wide)', async () => {
    // Other pipelines finishing clear libvips's one error buffer; without a re-run the truncated
    // JPEG's failure arrived as "Unknown error" and the photo failed (2 of 3 renders here).
    const jpeg = await sharp({ create: { width: 2000, height: 1600, channels: 3, background: '#884422' } }).jpeg().toBuffer();
    const tiny = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#224488' } }).jpeg().toBuffer();
    const truncated = jpeg.subarray(0, jpeg.length >> 1);
    let stop = false;
    const churn = async () => {
      while (!stop) await sharp(tiny).resize(10).toBuffer();
    };
    const churners = Array.from({ length: 8 }, churn);
    const results = [];
    try {
      for (let round = 0; round < 8; round++) {
        results.push(...(await Promise.allSettled([0, 1, 2].map(() => renderImage({ input: truncated, autoOrient: true }, { maxPixels: 1e8, opaque: true })))));
      }
    } finally {
      stop = true;
      await Promise.all(churners);
    }
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason?.message));
    expect(failed).toEqual([]);
    for (const r of results) expect((r as PromiseFulfilledResult<{ warning?: string }>).value.warning).toMatch(/^damaged image data/);
  });
});

describe('media stages through a real Context', () => {
  let ctx: Context;
  let library: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    library = tmpDir('immich-media-lib-');
    ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: library }, cwd: library }), silentLogger(), {
      command: 'test',
      concurrency: 2,
      processor: (c) => createProcessor(c, { onlyStages: new Set(['metadata', 'thumbnails', 'video']) }),
    });
    for (const k of ['photo', 'small', 'sidecarPhoto', 'mp4', 'mkv', 'truncated'] as const) ids[k] = await addAsset(ctx, F[k]);
    await ctx.queue.enqueue(Object.values(ids).map((assetId) => ({ stage: 'metadata' as const, assetId })));
    const result = await ctx.queue.drain();
    expect(result.failures).toEqual([]);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('records every stage as done in asset_job_status', async () => {
    const rows = await ctx.db.selectFrom('asset_job_status').select(['asset_id', 'stage', 'status', 'error']).execute();
    const status = (id: string, stage: string) => rows.find((r) => r.asset_id === id && r.stage === stage)?.status;
    for (const id of Object.values(ids)) {
      expect(status(id, 'metadata')).toBe('done');
      expect(status(id, 'thumbnails')).toBe('done');
    }
    expect(status(ids.mkv!, 'video')).toBe('done');
    expect(status(ids.mp4!, 'video')).toBe('skipped'); // already web-playable
  });

  it('saves EXIF: date with offset, GPS, camera, exposure; oriented size on the asset', async () => {
    const exif = await ctx.db.selectFrom('exif').selectAll().where('asset_id', '=', ids.photo!).executeTakeFirstOrThrow();
    expect(exif).toMatchObject({ make: 'TestCam', model: 'T-1000', lens_model: 'Test 35mm', orientation: 6, offset_time: '+02:00', rating: 4, iso: 200, exposure_time: '1/125' });
    expect(exif.date_time_original!.toISOString()).toBe('2021-06-15T08:20:30.000Z');
    expect(exif.latitude).toBeCloseTo(48.8584, 4);
    expect(exif.longitude).toBeCloseTo(2.2945, 4);
    expect(exif.f_number).toBeCloseTo(2.8, 2);
    expect(exif.focal_length).toBeCloseTo(35, 2);
    expect([exif.exif_image_width, exif.exif_image_height]).toEqual([2000, 1600]);
    const asset = await ctx.db.selectFrom('assets').selectAll().where('id', '=', ids.photo!).executeTakeFirstOrThrow();
    expect(asset.taken_at!.toISOString()).toBe('2021-06-15T08:20:30.000Z');
    expect(asset.time_zone).toBe('+02:00');
    expect([asset.width, asset.height]).toEqual([1600, 2000]);
    // No GPS tags and no offset: no position, the wall clock kept as is.
    const small = await ctx.db.selectFrom('exif').selectAll().where('asset_id', '=', ids.small!).executeTakeFirstOrThrow();
    expect([small.latitude, small.longitude]).toEqual([null, null]);
    expect(small.offset_time).toBeNull();
  });

  it('XMP sidecar photo.jpg.xmp takes precedence over photo.xmp and the file', async () => {
    const exif = await ctx.db.selectFrom('exif').selectAll().where('asset_id', '=', ids.sidecarPhoto!).executeTakeFirstOrThrow();
    expect(exif.rating).toBe(5);
    expect(exif.sidecar_path).toBe(`${F.sidecarPhoto}.xmp`);
    expect(exif.offset_time).toBe('+05:00');
    expect(exif.date_time_original!.toISOString()).toBe('2019-01-01T22:04:05.000Z');
  });

  it('the metadata stage on a library file stores its sidecar library-relative, as the import does', async () => {
    const rel = path.join('uploads', '2019', '2019-01-01', 'photo.jpg');
    fs.mkdirSync(path.dirname(ctx.library.resolve(rel)), { recursive: true });
    fs.copyFileSync(F.sidecarPhoto, ctx.library.resolve(rel));
    fs.copyFileSync(`${F.sidecarPhoto}.xmp`, ctx.library.resolve(`${rel}.xmp`));
    const id = await addAsset(ctx, ctx.library.resolve(rel));
    await ctx.db.updateTable('assets').set({ library_path: rel, storage_mode: 'copy' }).where('id', '=', id).execute();
    await expect(runMetadata(ctx, id)).resolves.toEqual({ status: 'success' });
    const exif = await ctx.db.selectFrom('exif').select(['sidecar_path', 'rating']).where('asset_id', '=', id).executeTakeFirstOrThrow();
    expect(exif).toEqual({ sidecar_path: `${rel}.xmp`, rating: 5 });
  });

  it('writes a 1440 px JPEG preview and 250 px WebP thumbnail, oriented, plus a thumbhash', async () => {
    const files = await assetFiles(ctx, ids.photo!);
    const preview = ctx.library.resolve(files.preview!.path);
    const thumb = ctx.library.resolve(files.thumbnail!.path);
    expect(files.preview!.path).toBe(ctx.library.derivedPath('thumbs', ids.photo!, '-preview.jpeg'));
    expect(path.isAbsolute(files.preview!.path)).toBe(false);
    const pm = await sharp(preview).metadata();
    const tm = await sharp(thumb).metadata();
    expect([pm.format, pm.width, pm.height]).toEqual(['jpeg', 1440, 1800]);
    expect(tm.format).toBe('webp');
    expect(tm.width).toBe(250);
    expect(Math.abs(tm.height! - 312.5)).toBeLessThanOrEqual(1);
    expect(files.preview!.file_size).toBe(fs.statSync(preview).size);
    expect([files.thumbnail!.width, files.thumbnail!.height]).toEqual([tm.width, tm.height]);
    // Orientation 6 applied: the red top-left corner of the stored pixels is now top-right.
    const { data, info } = await sharp(preview).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    expect(px(info.width - 20, 20)[0]).toBeGreaterThan(200);
    expect(px(20, 20)[2]).toBeGreaterThan(200);
    const asset = await ctx.db.selectFrom('assets').select(['thumbhash']).where('id', '=', ids.photo!).executeTakeFirstOrThrow();
    expect(Buffer.from(asset.thumbhash!, 'base64').length).toBeGreaterThan(5);
    // Small images are never enlarged.
    const small = await assetFiles(ctx, ids.small!);
    expect([small.preview!.width, small.preview!.height]).toEqual([400, 300]);
    expect([small.thumbnail!.width, small.thumbnail!.height]).toEqual([333, 250]);
    // Nothing half-written left behind.
    const leftovers = execFileSync('find', [library, '-name', '*.immich-tmp-*']).toString().trim();
    expect(leftovers).toBe('');
  });

  it('flattens a transparent PNG onto white for the JPEG preview (not black)', async () => {
    const png = path.join(dir, 'transparent.png');
    await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .composite([{ input: await sharp({ create: { width: 40, height: 40, channels: 4, background: '#000000ff' } }).png().toBuffer(), left: 10, top: 10 }])
      .png()
      .toFile(png);
    const id = await addAsset(ctx, png);
    expect((await runStage(ctx, 'thumbnails', id)).status).toBe('success');
    const files = await assetFiles(ctx, id);
    const stats = await sharp(ctx.library.resolve(files.preview!.path)).stats();
    // Mostly white background, with the opaque black square still there.
    expect(stats.channels[0]!.mean).toBeGreaterThan(200);
    expect(stats.channels[0]!.min).toBeLessThan(30);
  });

  it('renders a truncated JPEG with a warning naming the file', async () => {
    const row = await ctx.db.selectFrom('asset_job_status').select(['status', 'error']).where('asset_id', '=', ids.truncated!).where('stage', '=', 'thumbnails').executeTakeFirstOrThrow();
    expect(row.status).toBe('done');
    expect(row.error).toContain(F.truncated);
    expect(row.error).toMatch(/premature end/);
  });

  it('videos: ffprobe metadata, poster frame previews, and an H.264/AAC MP4 only when needed', async () => {
    const exif = await ctx.db.selectFrom('exif').selectAll().where('asset_id', '=', ids.mp4!).executeTakeFirstOrThrow();
    expect(exif).toMatchObject({ video_codec: 'h264', audio_codec: 'aac' });
    expect(exif.duration).toBeCloseTo(2, 1);
    expect(exif.fps).toBeCloseTo(25, 1);
    const mp4Files = await assetFiles(ctx, ids.mp4!);
    expect(mp4Files.encoded_video).toBeUndefined();
    expect([mp4Files.preview!.width, mp4Files.preview!.height]).toEqual([320, 240]);
    expect([mp4Files.thumbnail!.width, mp4Files.thumbnail!.height]).toEqual([320, 240]);

    const mkv = await assetFiles(ctx, ids.mkv!);
    expect(mkv.encoded_video!.path).toBe(ctx.library.derivedPath('encoded', ids.mkv!, '.mp4'));
    const encoded = ctx.library.resolve(mkv.encoded_video!.path);
    const probe = await probeVideo(ff, encoded);
    expect(probe.formatName).toContain('mp4');
    expect(probe.videoStreams[0]).toMatchObject({ codec: 'h264', width: 960, height: 720 });
    expect(probe.audioStreams[0]?.codec).toBe('aac');
    expect(probe.durationSec).toBeCloseTo(1, 0);
    expect(mkv.encoded_video!.file_size).toBe(fs.statSync(encoded).size);
    // It plays: every frame decodes without an error.
    execFileSync(ff.ffmpeg, ['-v', 'error', '-xerror', '-i', encoded, '-f', 'null', '-']);
    expect([mkv.preview!.width, mkv.preview!.height]).toEqual([1280, 960]);
  });

  it('a failing hardware encoder is retried once in software, with a warning naming the file', async () => {
    const t = await openMediaContext({ IMMICH_FFMPEG_ACCEL: 'nvenc' });
    try {
      const id = await addAsset(t.ctx, F.tinyMkv);
      const out = await runStage(t.ctx, 'video', id);
      expect(out.status).toBe('success');
      const files = await assetFiles(t.ctx, id);
      const probe = await probeVideo(ff, t.ctx.library.resolve(files.encoded_video!.path));
      expect(probe.videoStreams[0]?.codec).toBe('h264');
      const warned = t.logs.filter((l) => l.level === 'warn' && /retrying with software/i.test(l.msg));
      // Without an NVIDIA GPU (this machine) NVENC fails and software takes over.
      if (!fs.existsSync('/dev/nvidia0')) expect(warned.length).toBe(1);
      for (const w of warned) expect(w.msg.startsWith(`${F.tinyMkv}: `)).toBe(true);
    } finally {
      await t.ctx.close();
    }
  });

  it('a missing original fails cleanly, one line naming the file', async () => {
    const gone = path.join(dir, 'gone.jpg');
    fs.copyFileSync(F.small, gone);
    const id = await addAsset(ctx, gone);
    fs.rmSync(gone);
    for (const stage of ['metadata', 'thumbnails'] as const) {
      const out = await runStage(ctx, stage, id);
      expect(out.status).toBe('failed');
      expect(out.message).toBe(`${gone}: file is missing`);
    }
  });

  it('in-process, thumbnails rows land with the stage status in batches; an asset deleted meanwhile costs only its own', async () => {
    const copies = ['b1', 'b2', 'b3'].map((n) => {
      const f = path.join(dir, `${n}.jpg`);
      fs.writeFileSync(f, Buffer.concat([fs.readFileSync(F.small), Buffer.from(n)]));
      return f;
    });
    const ids = await Promise.all(copies.map((f) => addAsset(ctx, f)));
    const processor = createProcessor(ctx, { followUps: false });
    for (const id of ids) expect((await processor({ stage: 'thumbnails', assetId: id }, 1)).status).toBe('success');
    // Batched: nothing of the stage is in the database yet (the files are on disk).
    expect(await ctx.db.selectFrom('asset_files').select('asset_id').where('asset_id', 'in', ids).execute()).toEqual([]);
    await ctx.db.deleteFrom('assets').where('id', '=', ids[1]!).execute();
    await processor.flush!();
    for (const id of [ids[0]!, ids[2]!]) {
      const files = await assetFiles(ctx, id);
      expect(Object.keys(files).sort()).toEqual(['preview', 'thumbnail']);
      const a = await ctx.db.selectFrom('assets').select(['thumbhash', 'width']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(a.thumbhash).toMatch(/^[A-Za-z0-9+/=]{20,}$/);
      const st = await ctx.db.selectFrom('asset_job_status').select('status').where('asset_id', '=', id).where('stage', '=', 'thumbnails').executeTakeFirstOrThrow();
      expect(st.status).toBe('done');
    }
    expect(await ctx.db.selectFrom('asset_files').select('asset_id').where('asset_id', '=', ids[1]!).execute()).toEqual([]);
  });

  it('refuses a decompression bomb in the thumbnails stage from its header', async () => {
    const id = await addAsset(ctx, F.bomb);
    const started = performance.now();
    const out = await runStage(ctx, 'thumbnails', id);
    expect(out.status).toBe('failed');
    expect(out.message).toMatch(new RegExp(`^${F.bomb}: image declares 30000x30000 .*limit`));
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('extractMetadata reuses probeFile\'s ffprobe result for videos', async () => {
    const probed = await probeFile(F.mp4, { ffmpeg: ff });
    const m = await extractMetadata(ctx, F.mp4, { probe: probed });
    expect(m).toMatchObject({ type: 'video', videoCodec: 'h264', audioCodec: 'aac', width: 320, height: 240 });
  });

  it('extractMetadata falls back to the file time when no date tag is usable', async () => {
    const plain = path.join(dir, 'plain.png');
    await sharp({ create: { width: 10, height: 10, channels: 3, background: '#fff' } }).png().toFile(plain);
    const when = new Date('2015-05-05T05:05:05Z');
    fs.utimesSync(plain, when, when);
    const m = await extractMetadata(ctx, plain);
    expect(m.dateSource).toBe('file mtime');
    expect(m.takenAt.toISOString()).toBe(when.toISOString());
  });
});
