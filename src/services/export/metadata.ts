// What `export --sidecar` and `--embed-metadata` write about an asset, and `--convert jpeg`.
// Metadata goes through exiftool into the exported COPY (or a new .xmp file), never the original.
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from '../../media/sharp.js';
import type { WriteTags } from 'exiftool-vendored';
import type { Context } from '../../context.js';
import { decodeSource } from '../../media/image.js';
import { formatOffset, zoneOffsetAt } from '../../media/metadata.js';
import { xmpTags, type XmpFields } from '../../media/xmp.js';
import { describeAssets } from '../asset-info.js';
import { sniff, SNIFF_BYTES } from '../../media/sniff.js';
import { tempPathFor } from '../../storage/atomic.js';
import { getExifTool, maxImagePixels } from '../media.js';

export interface FaceRegion {
  name: string;
  /** Normalized (0-1) centre and size, MWG style, on the displayed image. */
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ExportMetadata {
  /** The fields organize writes to library sidecars (dates with zone, GPS, description, rating, tags). */
  fields: XmpFields;
  people: string[];
  regions: FaceRegion[];
  width: number | null;
  height: number | null;
  /** The --sidecar json document: `immich info --json`'s record, less the library's internals. */
  json: Record<string, unknown>;
}

export async function loadExportMetadata(ctx: Context, assetId: string): Promise<ExportMetadata> {
  const [info] = await describeAssets(ctx, [assetId]);
  if (!info) throw new Error('the asset is no longer in the library');
  // Face boxes are stored normalised to the displayed image: MWG wants their centre and size.
  const faces = await ctx.db
    .selectFrom('asset_faces').innerJoin('people', 'people.id', 'asset_faces.person_id')
    .select(['people.name', 'asset_faces.box_x1', 'asset_faces.box_y1', 'asset_faces.box_x2', 'asset_faces.box_y2'])
    .where('asset_faces.asset_id', '=', assetId).where('people.is_hidden', '=', false).where('people.name', '<>', '')
    .orderBy('people.name').orderBy('asset_faces.box_x1')
    .execute();
  const regions = faces.map((f) => ({
    name: f.name,
    x: round((f.box_x1 + f.box_x2) / 2),
    y: round((f.box_y1 + f.box_y2) / 2),
    w: round(f.box_x2 - f.box_x1),
    h: round(f.box_y2 - f.box_y1),
  }));
  let offset = info.timeZone && /^[+-]\d{2}:\d{2}$/.test(info.timeZone) ? info.timeZone : null;
  if (!offset && info.timeZone && info.takenAt) {
    const m = zoneOffsetAt(info.timeZone, new Date(info.takenAt));
    if (m !== undefined) offset = formatOffset(m);
  }
  const userTags = info.tags.filter((t) => t.source === 'user' || t.source === 'xmp' || t.source === 'takeout').map((t) => t.name);
  const { files: _files, stages: _stages, sidecar: _sidecar, libraryPath: _lib, ...json } = info;
  return {
    fields: {
      description: info.description,
      rating: info.rating,
      localTakenAt: info.localTakenAt ?? info.takenAt,
      offset: info.localTakenAt ? offset : info.takenAt ? '+00:00' : null,
      latitude: info.latitude,
      longitude: info.longitude,
      tags: [...new Set(userTags)].sort(),
    },
    people: [...new Set(regions.map((r) => r.name))],
    regions,
    width: info.width,
    height: info.height,
    json,
  };
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** Assignments for people: names, and MWG face regions on the displayed image. */
function peopleTags(m: ExportMetadata): Record<string, unknown> {
  const t: Record<string, unknown> = {};
  if (m.people.length) t['XMP-iptcExt:PersonInImage'] = m.people;
  if (m.regions.length && m.width && m.height) {
    t['XMP-mwg-rs:RegionInfo'] = {
      AppliedToDimensions: { W: m.width, H: m.height, Unit: 'pixel' },
      RegionList: m.regions.map((r) => ({ Area: { X: r.x, Y: r.y, W: r.w, H: r.h, Unit: 'normalized' }, Name: r.name, Type: 'Face' })),
    };
  }
  return t;
}

/**
 * exiftool assignments for an exported file. The XMP fields are organize's (the same a library
 * sidecar gets) plus people; `embed` (stills only: videos carry XMP) adds the EXIF/IPTC copies that viewers read from a JPEG:
 * DateTimeOriginal with OffsetTimeOriginal, GPS with its N/S/E/W references, ImageDescription,
 * IPTC Keywords.
 */
export function exportTags(m: ExportMetadata, embed: boolean): WriteTags {
  const t: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(xmpTags(m.fields))) if (v !== null) t[k] = v;
  Object.assign(t, peopleTags(m));
  if (embed) {
    const f = m.fields;
    if (f.localTakenAt) {
      const wall = f.localTakenAt.replace('T', ' ').replace(/-/g, ':').slice(0, 19);
      t['EXIF:DateTimeOriginal'] = wall;
      t['EXIF:CreateDate'] = wall;
      if (f.offset) t['EXIF:OffsetTimeOriginal'] = f.offset;
    }
    if (f.latitude !== null && f.longitude !== null) {
      t['EXIF:GPSLatitude'] = Math.abs(f.latitude);
      t['EXIF:GPSLatitudeRef'] = f.latitude < 0 ? 'S' : 'N';
      t['EXIF:GPSLongitude'] = Math.abs(f.longitude);
      t['EXIF:GPSLongitudeRef'] = f.longitude < 0 ? 'W' : 'E';
    }
    if (f.description) t['EXIF:ImageDescription'] = f.description;
    if (f.tags.length) t['IPTC:Keywords'] = [...new Set(f.tags.map((k) => k.split('/').pop()!))];
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
  await et.write(file, tags, { writeArgs: ['-overwrite_original'], useMWG: false });
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
