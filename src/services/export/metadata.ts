// What `export --sidecar` and `--embed-metadata` write about an asset, and `--convert jpeg`.
// Metadata goes through exiftool into the exported COPY (or a new .xmp file), never the original.
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { WriteTags } from 'exiftool-vendored';
import type { Context } from '../../context.js';
import { decodeSource } from '../../media/image.js';
import { formatOffset, zoneOffsetAt } from '../../media/metadata.js';
import { sniff, SNIFF_BYTES } from '../../media/sniff.js';
import { tempPathFor } from '../../storage/atomic.js';
import { getExifTool, maxImagePixels } from '../media.js';

const USER_TAG_SOURCES = ['user', 'xmp', 'takeout'] as const;

export interface FaceRegion {
  name: string;
  /** Normalized (0-1) centre and size, MWG style, on the displayed image. */
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ExportMetadata {
  /** Wall-clock capture time 'YYYY:MM:DD HH:mm:ss' and its offset ('+02:00') when known. */
  dateTime: string | null;
  offset: string | null;
  latitude: number | null;
  longitude: number | null;
  altitude: number | null;
  description: string | null;
  rating: number | null;
  tags: string[];
  people: string[];
  regions: FaceRegion[];
  width: number | null;
  height: number | null;
  /** The --sidecar json document. */
  json: Record<string, unknown>;
}

export async function loadExportMetadata(ctx: Context, assetId: string): Promise<ExportMetadata> {
  const a = await ctx.db
    .selectFrom('assets')
    .leftJoin('exif', 'exif.asset_id', 'assets.id')
    .select((eb) => [
      'assets.id', 'assets.original_name', 'assets.checksum', 'assets.type', 'assets.taken_at', 'assets.time_zone', 'assets.width', 'assets.height',
      'assets.is_favorite', 'assets.is_archived',
      eb.cast<string | null>('assets.local_taken_at', 'text').as('local_taken_at'),
      'assets.rating', 'assets.description', 'exif.offset_time', 'exif.latitude', 'exif.longitude', 'exif.altitude',
      'exif.make', 'exif.model', 'exif.lens_model', 'exif.city', 'exif.country', 'exif.keywords',
      eb.ref('exif.rating').as('exif_rating'), eb.ref('exif.description').as('exif_description'),
    ])
    .where('assets.id', '=', assetId)
    .executeTakeFirstOrThrow();
  const tagRows = await ctx.db
    .selectFrom('asset_tags').innerJoin('tags', 'tags.id', 'asset_tags.tag_id')
    .select('tags.name').distinct()
    .where('asset_tags.asset_id', '=', assetId).where('asset_tags.source', 'in', [...USER_TAG_SOURCES])
    .execute();
  const faces = await ctx.db
    .selectFrom('asset_faces').innerJoin('people', 'people.id', 'asset_faces.person_id')
    .select(['people.name', 'asset_faces.box_x1', 'asset_faces.box_y1', 'asset_faces.box_x2', 'asset_faces.box_y2', 'asset_faces.image_width', 'asset_faces.image_height'])
    .where('asset_faces.asset_id', '=', assetId).where('people.is_hidden', '=', false).where('people.name', '<>', '')
    .orderBy('people.name')
    .execute();
  const albums = await ctx.db
    .selectFrom('album_assets').innerJoin('albums', 'albums.id', 'album_assets.album_id')
    .select('albums.name').where('album_assets.asset_id', '=', assetId).orderBy('albums.name').execute();

  const local = a.local_taken_at ?? (a.taken_at ? new Date(a.taken_at).toISOString() : null);
  const dateTime = local ? local.replace('T', ' ').replace(/^(\d{4})-(\d{2})-(\d{2})/, '$1:$2:$3').slice(0, 19) : null;
  let offset = a.offset_time ?? (a.time_zone && /^[+-]\d{2}:\d{2}$/.test(a.time_zone) ? a.time_zone : null);
  if (!offset && a.time_zone && a.taken_at) {
    const m = zoneOffsetAt(a.time_zone, new Date(a.taken_at));
    if (m !== undefined) offset = formatOffset(m);
  }
  const tags = [...new Set([...(a.keywords ?? []), ...tagRows.map((t) => t.name)])].sort();
  const regions = faces.map((f) => ({
    name: f.name,
    x: round((f.box_x1 + f.box_x2) / 2 / f.image_width),
    y: round((f.box_y1 + f.box_y2) / 2 / f.image_height),
    w: round((f.box_x2 - f.box_x1) / f.image_width),
    h: round((f.box_y2 - f.box_y1) / f.image_height),
  }));
  const people = [...new Set(faces.map((f) => f.name))];
  const description = a.description ?? a.exif_description ?? null;
  const rating = a.rating ?? a.exif_rating ?? null;
  const meta: Omit<ExportMetadata, 'json'> = {
    dateTime, offset, latitude: a.latitude, longitude: a.longitude, altitude: a.altitude, description, rating, tags, people, regions,
    width: a.width, height: a.height,
  };
  const json = {
    assetId: a.id,
    originalName: a.original_name,
    checksum: a.checksum,
    type: a.type,
    takenAt: a.taken_at ? new Date(a.taken_at).toISOString() : null,
    localTakenAt: a.local_taken_at,
    timeZone: a.time_zone ?? offset,
    latitude: a.latitude, longitude: a.longitude, altitude: a.altitude,
    make: a.make, model: a.model, lens: a.lens_model, city: a.city ?? null, country: a.country ?? null,
    description, rating, favorite: a.is_favorite, archived: a.is_archived,
    albums: albums.map((r) => r.name), tags, people, faces: regions,
  };
  return { ...meta, json };
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** exiftool tags for the metadata (dates with zone, GPS, description, rating, keywords, people, face regions). */
export function exportTags(m: ExportMetadata): WriteTags {
  const t: Record<string, unknown> = {};
  if (m.dateTime) {
    t.DateTimeOriginal = m.offset ? `${m.dateTime}${m.offset}` : m.dateTime;
    t.CreateDate = t.DateTimeOriginal;
    if (m.offset) t.OffsetTimeOriginal = m.offset;
  }
  if (m.latitude !== null && m.longitude !== null) {
    t.GPSLatitude = Math.abs(m.latitude);
    t.GPSLatitudeRef = m.latitude < 0 ? 'S' : 'N';
    t.GPSLongitude = Math.abs(m.longitude);
    t.GPSLongitudeRef = m.longitude < 0 ? 'W' : 'E';
    if (m.altitude !== null) {
      t.GPSAltitude = Math.abs(m.altitude);
      t.GPSAltitudeRef = m.altitude < 0 ? '1' : '0';
    }
  }
  if (m.description) {
    t.ImageDescription = m.description;
    t.Description = m.description;
  }
  if (m.rating !== null) t.Rating = m.rating;
  if (m.tags.length) {
    t.Keywords = m.tags.map((k) => k.split('/').pop()!);
    t.Subject = t.Keywords;
    // Hierarchical user tags ('Trips/2024') the Lightroom way.
    t.HierarchicalSubject = m.tags.map((k) => k.split('/').join('|'));
  }
  if (m.people.length) t.PersonInImage = m.people;
  if (m.regions.length && m.width && m.height) {
    t.RegionInfo = {
      AppliedToDimensions: { W: m.width, H: m.height, Unit: 'pixel' },
      RegionList: m.regions.map((r) => ({ Area: { X: r.x, Y: r.y, W: r.w, H: r.h, Unit: 'normalized' }, Name: r.name, Type: 'Face' })),
    };
  }
  return t as WriteTags;
}

/** Write tags into `file` (a JPEG/HEIC/... copy), or create it as an XMP sidecar (`create`). */
export async function writeTags(ctx: Context, file: string, tags: WriteTags, opts: { create: boolean }): Promise<void> {
  const et = await getExifTool(ctx);
  if (!Object.keys(tags).length) {
    if (opts.create) await fsp.writeFile(file, EMPTY_XMP, { flag: 'wx' });
    return;
  }
  // -overwrite_original: exiftool keeps no "_original" backup beside our temp file.
  await et.write(file, tags, { writeArgs: ['-overwrite_original'] });
  if (opts.create) {
    const fh = await fsp.open(file, 'r+');
    try { await fh.sync(); } finally { await fh.close(); }
  }
}

const EMPTY_XMP = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n<?xpacket end="w"?>\n';

/** A full-size JPEG of an image (HEIC, JPEG XL, RAW's embedded preview, PNG, WebP...), orientation applied. */
export async function convertToJpeg(ctx: Context, abs: string, quality: number): Promise<Buffer> {
  const fh = await fsp.open(abs, 'r');
  let head: Buffer;
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const s = sniff(head, path.extname(abs).slice(1).toLowerCase());
  if (!s) throw new Error('not an image this tool can decode');
  const tmpDir = ctx.library.folder('tmp');
  const orientation = await ctx.db.selectFrom('exif').innerJoin('assets', 'assets.id', 'exif.asset_id')
    .select('exif.orientation').where('assets.library_path', '=', ctx.library.relative(abs)).executeTakeFirst();
  const src = await decodeSource(abs, s.format, {
    tmpDir,
    tempFile: (ext) => `${tempPathFor(path.join(tmpDir, 'decode'))}${ext}`,
    exiftool: () => getExifTool(ctx),
    orientation: orientation?.orientation ?? null,
  });
  try {
    let p = sharp(src.input, { limitInputPixels: maxImagePixels(ctx.config), ...(src.raw ? { raw: src.raw } : {}) });
    if (src.autoOrient) p = p.rotate();
    else if (src.rotate) p = p.rotate(src.rotate);
    if (src.flop) p = p.flop();
    return await p.flatten({ background: '#ffffff' }).toColourspace('srgb').jpeg({ quality, mozjpeg: false }).toBuffer();
  } finally {
    await src.cleanup();
  }
}
