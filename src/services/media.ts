// Media use cases: validate a file before import, extract and save metadata (with Live Photo pairing),
// render previews/thumbnails, and make a web-playable copy of videos. The job handlers in
// media-jobs.ts and the import service call these.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from '../media/sharp.js';
import type { Kysely } from 'kysely';
import type { ExifTool } from 'exiftool-vendored';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import type { DB } from '../db/schema.js';
import { ItemError, errorMessage } from '../errors.js';
import type { JobOutcome, StageAsset, StageRows } from '../jobs/types.js';
import { createExifTool, readTags, toMediaMetadata, type MediaMetadata } from '../media/metadata.js';
import {
  DEFAULT_MAX_PIXELS, decodeSource, pixelLimitMessage, readImageHeader, renderImage, type DecodedSource,
} from '../media/image.js';
import { RAW_FORMATS, SNIFF_BYTES, jxlSize, looksLikeText, sniff, type MediaFormat, type Sniffed } from '../media/sniff.js';
import {
  buildTranscodeArgs, loadTranscodeSettings, passLogFiles, transcodeDecision, transcodeWithFallback, type TranscodeSettings, type VideoProbe,
} from '../media/transcode.js';
import { findFfmpeg, posterFrame, probeVideo, runFfmpegPasses, type FfmpegPaths } from '../media/video.js';
import { tempPathFor, writeFileAtomic } from '../storage/atomic.js';

export type { MediaMetadata } from '../media/metadata.js';

// ---------------------------------------------------------------------------------------------
// Shared resources (one per Context)

/** The Context's exiftool pool (one process per unit of concurrency), ended when the Context closes. */
export function getExifTool(ctx: Context): Promise<ExifTool> {
  return ctx.lazy('exiftool', () => createExifTool({ maxProcs: ctx.concurrency, taskTimeoutMillis: 20_000 }), (et) => et.end());
}

export function getFfmpeg(ctx: Context): Promise<FfmpegPaths> {
  return ctx.lazy('ffmpeg', () => findFfmpeg(ctx.config.raw));
}

/**
 * libvips threads per image: the import already runs `concurrency` files at once, so more threads per
 * image only add contention on a small machine. The op cache is useless for one-shot pipelines.
 */
function configureSharp(ctx: Context): Promise<void> {
  return ctx.lazy('sharp', () => {
    sharp.concurrency(Math.max(1, Math.floor(os.availableParallelism() / ctx.concurrency)));
    sharp.cache(false);
  });
}

/** Decompression-bomb limit in pixels: IMMICH_MAX_IMAGE_PIXELS, default 100 Mpx. */
export function maxImagePixels(config: Pick<Config, 'raw'>): number {
  const v = Number(config.raw.IMMICH_MAX_IMAGE_PIXELS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_MAX_PIXELS;
}

/** Transcoding settings from IMMICH_FFMPEG_* (read once per Context; invalid values are usage errors). */
export function transcodeSettings(ctx: Context): Promise<TranscodeSettings> {
  return ctx.lazy('transcode-settings', () => loadTranscodeSettings(ctx.config.raw));
}

// ---------------------------------------------------------------------------------------------
// probeFile: cheap validation before import

export interface ProbeResult {
  type: 'image' | 'video';
  mime: string;
  format: MediaFormat;
  /** Stored dimensions from the header; null where the header is not read cheaply (RAW). */
  width: number | null;
  height: number | null;
  /** Videos: the ffprobe result, which extractMetadata can reuse instead of probing again. */
  video?: VideoProbe;
}

export interface ProbeOptions {
  maxPixels?: number;
  /** ffmpeg to probe videos with; a function is only called for a video (photos need no ffmpeg). */
  ffmpeg?: FfmpegPaths | (() => Promise<FfmpegPaths>);
}

async function readHead(file: string, bytes = SNIFF_BYTES): Promise<{ head: Buffer; size: number }> {
  const fh = await fsp.open(file, 'r');
  try {
    const st = await fh.stat();
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(Math.min(bytes, Math.max(st.size, 1))), 0, Math.min(bytes, st.size), 0);
    return { head: buffer.subarray(0, bytesRead), size: st.size };
  } finally {
    await fh.close();
  }
}

function sniffedOrThrow(file: string, head: Buffer, size: number): Sniffed {
  if (size === 0) throw new ItemError(file, `${file}: empty file (0 bytes)`);
  const s = sniff(head, path.extname(file).slice(1).toLowerCase());
  if (!s) {
    const what = looksLikeText(head) ? 'text' : 'unrecognised content';
    throw new ItemError(file, `${file}: not an image or video (${what})`);
  }
  return s;
}

/**
 * Validate a file from its header only: content type by magic bytes, dimensions, the pixel limit
 * (decompression bombs are refused without decoding), and for videos that ffprobe finds a video
 * stream. Throws ItemError whose message is one line naming the file and the cause.
 */
export async function probeFile(absPath: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  let head: Buffer;
  let size: number;
  try {
    ({ head, size } = await readHead(absPath));
  } catch (err) {
    throw new ItemError(absPath, `${absPath}: cannot read: ${errorMessage(err)}`, { cause: err });
  }
  const s = sniffedOrThrow(absPath, head, size);
  if (s.type === 'video') {
    let probe: VideoProbe;
    try {
      // A missing ffmpeg fails this video only: the photos of the batch still import.
      const ff = typeof opts.ffmpeg === 'function' ? await opts.ffmpeg() : (opts.ffmpeg ?? findFfmpeg());
      probe = await probeVideo(ff, absPath);
    } catch (err) {
      throw new ItemError(absPath, `${absPath}: unreadable video: ${errorMessage(err)}`, { cause: err });
    }
    const v = probe.videoStreams[0];
    if (!v || !v.width || !v.height) throw new ItemError(absPath, `${absPath}: no video stream (${probe.formatName || 'unknown container'})`);
    return { type: 'video', mime: s.mime, format: s.format, width: v.width, height: v.height, video: probe };
  }
  if (RAW_FORMATS.has(s.format)) return { type: 'image', mime: s.mime, format: s.format, width: null, height: null };
  const dims = await checkedHeader(absPath, s, head, maxPixels);
  return { type: 'image', mime: s.mime, format: s.format, width: dims.width, height: dims.height };
}

/**
 * Stored image dimensions from the header alone, refusing images over the pixel limit (a decompression
 * bomb is refused before any decoder, including the HEIC/JXL fallbacks, allocates its pixels).
 */
async function checkedHeader(absPath: string, s: Sniffed, head: Buffer, maxPixels: number): Promise<{ width: number; height: number; orientation?: number }> {
  let dims: { width: number; height: number; orientation?: number } | undefined;
  if (s.format === 'jxl') {
    dims = jxlSize(head);
    if (!dims) throw new ItemError(absPath, `${absPath}: corrupt JPEG XL header`);
  } else {
    try {
      dims = await readImageHeader(absPath);
    } catch (err) {
      const cause = errorMessage(err).replace(/^Input file has corrupt header: /, '');
      throw new ItemError(absPath, `${absPath}: corrupt ${s.format.toUpperCase()} header: ${cause}`, { cause: err });
    }
  }
  if (dims.width * dims.height > maxPixels) throw new ItemError(absPath, `${absPath}: ${pixelLimitMessage(dims.width, dims.height, maxPixels)}`);
  return dims;
}

// ---------------------------------------------------------------------------------------------
// Metadata

/**
 * Read EXIF/XMP (+ sidecar) and, for videos, ffprobe (skipped when `opts.probe` from probeFile carries
 * it); map to MediaMetadata. Throws ItemError naming the file.
 */
export async function extractMetadata(
  ctx: Context,
  absPath: string,
  opts: {
    probe?: ProbeResult;
    /** The file's mtime when the caller has it (with `probe`: no need to open the file again). */
    mtime?: Date;
    /** The sidecar edits were written to (absolute), read before the ones beside the file. */
    sidecar?: string;
  } = {},
): Promise<MediaMetadata> {
  let s: Pick<Sniffed, 'type' | 'mime'>;
  let mtime: Date;
  if (opts.probe && opts.mtime) {
    s = opts.probe;
    mtime = opts.mtime;
  } else {
    let head: Buffer;
    let size: number;
    try {
      ({ head, size } = await readHead(absPath));
      mtime = (await fsp.stat(absPath)).mtime;
    } catch (err) {
      throw new ItemError(absPath, `${absPath}: cannot read: ${errorMessage(err)}`, { cause: err });
    }
    s = sniffedOrThrow(absPath, head, size);
  }
  const et = await getExifTool(ctx);
  let probe: VideoProbe | undefined = opts.probe?.video;
  const [tagsResult] = await Promise.all([
    readTags(et, absPath, opts.sidecar).catch((err) => {
      throw new ItemError(absPath, `${absPath}: cannot read metadata: ${errorMessage(err)}`, { cause: err });
    }),
    s.type === 'video' && !probe
      ? getFfmpeg(ctx).then((ff) => probeVideo(ff, absPath)).then((p) => { probe = p; }, (err) => {
        // Metadata still comes from exiftool; the video stage reports the unreadable stream.
        ctx.logger.debug(`ffprobe failed for ${absPath}: ${errorMessage(err)}`);
      })
      : undefined,
  ]);
  const meta = toMediaMetadata(tagsResult.tags, { type: s.type, mtime, sidecarPath: tagsResult.sidecarPath, probe });
  meta.mimeType = s.mime;
  if (tagsResult.sidecarSkipped) meta.sidecarSkipped = tagsResult.sidecarSkipped;
  return meta;
}

type Db = Kysely<DB>;

/** Pair a Live Photo's still and video by content identifier; returns whether a pair was recorded. */
export async function pairLivePhoto(db: Db, assetId: string, type: 'image' | 'video', cid: string): Promise<boolean> {
  const partner = await db
    .selectFrom('exif')
    .innerJoin('assets', 'assets.id', 'exif.asset_id')
    .select(['assets.id'])
    .where('exif.live_photo_cid', '=', cid)
    .where('assets.id', '!=', assetId)
    .where('assets.type', '=', type === 'image' ? 'video' : 'image')
    .orderBy('assets.created_at')
    .executeTakeFirst();
  if (!partner) return false;
  const [stillId, videoId] = type === 'image' ? [assetId, partner.id] : [partner.id, assetId];
  await db.updateTable('assets').set({ live_photo_video_id: videoId, updated_at: new Date() }).where('id', '=', stillId).execute();
  await db.updateTable('assets').set({ is_motion_part: true, updated_at: new Date() }).where('id', '=', videoId).execute();
  return true;
}

/** The exif row's columns for `meta` (also written by the import together with the asset row). */
export function exifRow(meta: MediaMetadata, now = new Date()) {
  return {
    make: meta.make,
    model: meta.model,
    lens_model: meta.lensModel,
    orientation: meta.orientation,
    date_time_original: meta.takenAt,
    offset_time: meta.offsetTime,
    time_zone: meta.timeZone,
    latitude: meta.latitude,
    longitude: meta.longitude,
    altitude: meta.altitude,
    iso: meta.iso,
    f_number: meta.fNumber,
    exposure_time: meta.exposureTime,
    focal_length: meta.focalLength,
    description: meta.description,
    rating: meta.rating,
    keywords: meta.keywords,
    exif_image_width: meta.exifImageWidth,
    exif_image_height: meta.exifImageHeight,
    duration: meta.duration,
    video_codec: meta.videoCodec,
    audio_codec: meta.audioCodec,
    fps: meta.fps,
    bitrate: meta.bitrate !== null ? Math.round(meta.bitrate) : null,
    container: meta.container,
    live_photo_cid: meta.livePhotoCid,
    burst_id: meta.burstId,
    motion_photo: meta.motionPhoto,
    sidecar_path: meta.sidecarPath,
    updated_at: now,
  };
}

/**
 * Write the exif row and the asset's date/zone/size in one transaction, and pair a Live Photo's still
 * and video (whichever arrives second completes the pair).
 */
export async function saveMetadata(ctx: Context, assetId: string, meta: MediaMetadata): Promise<void> {
  const now = new Date();
  const exif = exifRow(meta, now);
  let paired = false;
  let type: 'image' | 'video' = meta.type;
  await ctx.db.transaction().execute(async (trx) => {
    const asset = await trx.selectFrom('assets').select(['type', 'date_source']).where('id', '=', assetId).executeTakeFirst();
    if (!asset) throw new ItemError(assetId, `asset ${assetId} no longer exists`);
    type = asset.type;
    // A file without a date of its own keeps the one another source gave (a Takeout JSON, an edit):
    // a metadata re-run must not turn it into the file's mtime.
    const keepDate = meta.dateSource === 'file mtime' && asset.date_source !== null && asset.date_source !== undefined;
    // Likewise a position from another source (exif.gps_source) while the file has none of its own;
    // once the file has one, it is the file's again.
    const fileGps = meta.latitude !== null && meta.longitude !== null && !(meta.latitude === 0 && meta.longitude === 0);
    const row = fileGps ? { ...exif, gps_source: null } : exif;
    const { latitude: _lat, longitude: _lon, altitude: _alt, ...withoutGps } = row;
    const kept = fileGps ? undefined : await trx.selectFrom('exif').select('gps_source').where('asset_id', '=', assetId).where('gps_source', 'is not', null).executeTakeFirst();
    const set = kept ? withoutGps : row;
    await trx
      .insertInto('exif')
      .values({ asset_id: assetId, ...exif })
      .onConflict((oc) => oc.column('asset_id').doUpdateSet(set))
      .execute();
    const update: Record<string, unknown> = keepDate
      ? { updated_at: now }
      : { taken_at: meta.takenAt, local_taken_at: meta.localTakenAt, time_zone: meta.timeZone, updated_at: now };
    if (meta.width && meta.height) Object.assign(update, { width: meta.width, height: meta.height });
    await trx.updateTable('assets').set(update).where('id', '=', assetId).execute();
    if (meta.livePhotoCid) paired = await pairLivePhoto(trx, assetId, type, meta.livePhotoCid);
    // Hierarchical keywords of the file or its sidecar are user tags from the source 'xmp'.
    if (meta.hierarchicalTags?.length) {
      const { setAssetTagsFromSource } = await import('../db/user-tags.js');
      await setAssetTagsFromSource(trx, assetId, meta.hierarchicalTags, 'xmp');
    }
  });
  // Both halves saved concurrently may each miss the other inside their transactions; look again.
  if (meta.livePhotoCid && !paired) await pairLivePhoto(ctx.db, assetId, type, meta.livePhotoCid);
}

// ---------------------------------------------------------------------------------------------
// Asset-level stage functions

/** The asset's row: the one the job processor read, or read here when called directly. */
async function loadAsset(ctx: Context, assetId: string, given?: StageAsset): Promise<StageAsset | undefined> {
  if (given) return given;
  return ctx.db.selectFrom('assets').select(['id', 'type', 'library_path', 'original_name']).where('id', '=', assetId).executeTakeFirst();
}

/** A file problem (not retryable): missing file, undecodable data. */
class MediaFailure extends Error {}

async function requireFile(abs: string): Promise<void> {
  const st = await fsp.stat(abs).catch(() => undefined);
  if (!st) throw new MediaFailure('file is missing');
  if (st.size === 0) throw new MediaFailure('empty file (0 bytes)');
}

/** The metadata stage for an asset: extract + save. */
export async function runMetadata(ctx: Context, assetId: string, given?: StageAsset): Promise<JobOutcome> {
  const asset = await loadAsset(ctx, assetId, given);
  if (!asset) return { status: 'skipped', message: 'asset no longer exists' };
  const abs = ctx.library.resolve(asset.library_path);
  let meta: MediaMetadata;
  try {
    await requireFile(abs);
    // A re-read (index --force) must see the edits: the sidecar we wrote them to, wherever it lives.
    const written = await ctx.db.selectFrom('asset_sidecars').select('path').where('asset_id', '=', assetId).where('path', '<>', '').executeTakeFirst();
    meta = await extractMetadata(ctx, abs, written ? { sidecar: ctx.library.resolve(written.path) } : {});
  } catch (err) {
    if (err instanceof MediaFailure) return { status: 'failed', message: `${abs}: ${err.message}` };
    if (err instanceof ItemError) return { status: 'failed', message: err.message };
    throw err;
  }
  // Library-relative like the import stores it (the backup relies on it); in-place assets, whose
  // library_path is absolute too, keep the absolute sidecar path as the import does.
  if (meta.sidecarPath && path.isAbsolute(meta.sidecarPath) && !path.isAbsolute(asset.library_path)) {
    const rel = ctx.library.relative(meta.sidecarPath);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) meta.sidecarPath = rel;
  }
  await saveMetadata(ctx, assetId, meta);
  return { status: 'success' };
}

async function posterSource(ctx: Context, abs: string): Promise<DecodedSource> {
  const ff = await getFfmpeg(ctx);
  let probe: VideoProbe;
  try {
    probe = await probeVideo(ff, abs);
  } catch (err) {
    throw new MediaFailure(`unreadable video: ${errorMessage(err)}`);
  }
  if (!probe.videoStreams.length) throw new MediaFailure('no video stream');
  const frame = await posterFrame(ff, abs, probe.durationSec).catch((err) => {
    throw new MediaFailure(errorMessage(err));
  });
  return { input: frame, autoOrient: false, cleanup: async () => {} };
}

/** The thumbnails stage: preview (1440 px JPEG) + thumbnail (250 px WebP) + thumbhash from one decode. */
export async function generateThumbnails(ctx: Context, assetId: string, given?: StageAsset): Promise<JobOutcome> {
  await configureSharp(ctx);
  const asset = await loadAsset(ctx, assetId, given);
  if (!asset) return { status: 'skipped', message: 'asset no longer exists' };
  const abs = ctx.library.resolve(asset.library_path);
  const maxPixels = maxImagePixels(ctx.config);
  let rendered: Awaited<ReturnType<typeof renderImage>>;
  let header: { width: number; height: number; orientation?: number } | undefined;
  // JPEG and RAW (its embedded JPEG) have no alpha: renderImage can take its faster path.
  let opaque = false;
  try {
    await requireFile(abs);
    let src: DecodedSource;
    if (asset.type === 'video') {
      src = await posterSource(ctx, abs);
    } else {
      const { head, size } = await readHead(abs);
      const s = (() => {
        try { return sniffedOrThrow(abs, head, size); } catch (err) { throw new MediaFailure(errorMessage(err).replace(`${abs}: `, '')); }
      })();
      let orientation: number | null = null;
      opaque = s.format === 'jpeg' || RAW_FORMATS.has(s.format);
      if (!RAW_FORMATS.has(s.format)) {
        header = await checkedHeader(abs, s, head, maxPixels).catch((err) => {
          throw new MediaFailure(errorMessage(err).replace(`${abs}: `, ''));
        });
      } else {
        const row = await ctx.db.selectFrom('exif').select('orientation').where('asset_id', '=', assetId).executeTakeFirst();
        orientation = row?.orientation ?? null;
      }
      src = await decodeSource(abs, s.format, {
        tmpDir: ctx.library.folder('tmp'),
        tempFile: (ext) => `${tempPathFor(path.join(ctx.library.folder('tmp'), 'decode'))}${ext}`,
        exiftool: () => getExifTool(ctx),
        orientation,
      }).catch((err) => { throw new MediaFailure(errorMessage(err)); });
    }
    try {
      // The header read above describes what sharp decodes only when it decodes the file itself.
      rendered = await renderImage(src, { maxPixels, header: src.input === abs && src.autoOrient ? header : undefined, opaque });
    } catch (err) {
      const msg = errorMessage(err);
      if (/exceeds pixel limit/i.test(msg)) {
        const h = await readImageHeader(src.input).catch(() => undefined);
        throw new MediaFailure(h ? pixelLimitMessage(h.width, h.height, maxPixels) : `image over the ${maxPixels / 1e6} Mpx pixel limit; refused`);
      }
      throw new MediaFailure(msg.replace(/^Input file has corrupt header: /, 'corrupt header: '));
    } finally {
      await src.cleanup();
    }
  } catch (err) {
    if (err instanceof MediaFailure) return { status: 'failed', message: `${abs}: ${err.message}` };
    throw err;
  }

  const previewRel = ctx.library.derivedPath('thumbs', assetId, '-preview.jpeg');
  const thumbRel = ctx.library.derivedPath('thumbs', assetId, '-thumbnail.webp');
  await writeFileAtomic(ctx.library.resolve(previewRel), rendered.preview.data);
  await writeFileAtomic(ctx.library.resolve(thumbRel), rendered.thumbnail.data);
  const files = [
    { kind: 'preview' as const, path: previewRel, img: rendered.preview },
    { kind: 'thumbnail' as const, path: thumbRel, img: rendered.thumbnail },
  ];
  // The file rows and the asset's thumbhash/size are written by the processor with the stage's status,
  // in one statement (in-process, one per batch of jobs).
  const created = new Date();
  const rows: StageRows = {
    files: files.map((f) => ({ asset_id: assetId, kind: f.kind, path: f.path, width: f.img.width, height: f.img.height, file_size: f.img.data.length, created_at: created })),
    asset: { id: assetId, thumbhash: rendered.thumbhash, width: rendered.width, height: rendered.height, updated_at: created },
  };
  if (!rendered.warning) return { status: 'success', rows };
  const warning = `${abs}: ${rendered.warning}`;
  ctx.logger.warn(warning, { asset: assetId });
  return { status: 'success', message: warning, rows };
}

/** The video stage: a web-playable H.264/AAC MP4 in encoded/ when the source is not one already. */
export async function encodeVideo(ctx: Context, assetId: string, given?: StageAsset): Promise<JobOutcome> {
  const asset = await loadAsset(ctx, assetId, given);
  if (!asset) return { status: 'skipped', message: 'asset no longer exists' };
  if (asset.type !== 'video') return { status: 'skipped', message: 'not a video' };
  const abs = ctx.library.resolve(asset.library_path);
  const ff = await getFfmpeg(ctx);
  let probe: VideoProbe;
  try {
    await requireFile(abs);
    probe = await probeVideo(ff, abs);
  } catch (err) {
    if (err instanceof MediaFailure) return { status: 'failed', message: `${abs}: ${err.message}` };
    return { status: 'failed', message: `${abs}: unreadable video: ${errorMessage(err)}` };
  }
  const settings = await transcodeSettings(ctx);
  const decision = transcodeDecision(probe, settings);
  if (!decision.transcode) return { status: 'skipped', message: decision.reason };

  const rel = ctx.library.derivedPath('encoded', assetId, '.mp4');
  const target = ctx.library.resolve(rel);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const timeoutMs = Math.min(2 * 3600_000, Math.max(300_000, probe.durationSec * 30_000));
  try {
    // Hardware paths that fail are retried once in software, with a warning (like Immich).
    await transcodeWithFallback(
      settings,
      (s) => buildTranscodeArgs(abs, tmp, probe, s),
      (passes) => runFfmpegPasses(ff, passes, timeoutMs),
      (msg, fields) => ctx.logger.warn(`${abs}: ${msg}`, { asset: assetId, ...fields }),
    );
    const fh = await fsp.open(tmp, 'r+');
    try { await fh.sync(); } finally { await fh.close(); }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw err;
    return { status: 'failed', message: `${abs}: transcoding failed: ${errorMessage(err)}` };
  } finally {
    await Promise.all(passLogFiles(tmp).map((f) => fsp.rm(f, { force: true })));
  }
  const out = await probeVideo(ff, target).catch(() => undefined);
  const v = out?.videoStreams[0];
  const st = await fsp.stat(target);
  // The file row is written by the processor with the stage's status (JobOutcome.rows).
  const file = { asset_id: assetId, kind: 'encoded_video' as const, path: rel, width: v?.width ?? null, height: v?.height ?? null, file_size: st.size, created_at: new Date() };
  return { status: 'success', message: decision.reason, rows: { files: [file] } };
}
