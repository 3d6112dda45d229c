// XMP sidecar write-back with exiftool: the fields Immich writes, merged into an existing sidecar
// (fields we do not know are kept), written atomically. Originals are never touched.
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ExifTool, WriteTags } from 'exiftool-vendored';
import { TMP_MARK } from '../storage/atomic.js';
import { fsPath } from '../storage/raw-path.js';

export interface XmpFields {
  description: string | null;
  rating: number | null;
  /** Wall clock 'YYYY-MM-DDTHH:MM:SS' and its offset '+01:00' (null: unknown zone). */
  localTakenAt: string | null;
  offset: string | null;
  latitude: number | null;
  longitude: number | null;
  /** Hierarchical user tags, 'Trips/2024/Lisbon'. */
  tags: string[];
}

/** The exiftool assignments for the fields; null deletes a field (a removed description or location). */
export function xmpTags(f: XmpFields): Record<string, unknown> {
  const date = f.localTakenAt ? `${f.localTakenAt.replace('T', ' ').replace(/-/g, ':').slice(0, 19)}${f.offset ?? ''}` : null;
  const leaves = [...new Set(f.tags.map((t) => t.split('/').pop()!))];
  return {
    'XMP-dc:Description': f.description ?? null,
    'XMP-xmp:Rating': f.rating ?? null,
    'XMP-exif:DateTimeOriginal': date,
    'XMP-photoshop:DateCreated': date,
    'XMP-exif:GPSLatitude': f.latitude ?? null,
    'XMP-exif:GPSLongitude': f.longitude ?? null,
    'XMP-digiKam:TagsList': f.tags.length ? f.tags : null,
    'XMP-lr:HierarchicalSubject': f.tags.length ? f.tags.map((t) => t.replace(/\//g, '|')) : null,
    'XMP-dc:Subject': leaves.length ? leaves : null,
  };
}

/**
 * Write `fields` into the sidecar at `target`: copy the existing one to a temp file beside it (its
 * name ends in .xmp so exiftool knows the format, and starts with TMP_MARK so cleaners know it),
 * let exiftool update it (or create it), fsync, rename over the target. Returns the new file's stat.
 */
export async function writeXmpSidecar(et: ExifTool, target: string, fields: XmpFields): Promise<{ mtime: Date; size: number }> {
  // (The sidecar of an in-place original whose name is not UTF-8 is written by its bytes, raw-path.ts;
  // exiftool works on the UTF-8 temp name.)
  const dir = path.dirname(target);
  await fsp.mkdir(fsPath(dir), { recursive: true });
  const tmp = path.join(dir, `${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}.xmp`);
  try {
    const existing = await fsp.readFile(fsPath(target)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (existing) await fsp.writeFile(tmp, existing, { flag: 'wx' });
    const tags = xmpTags(fields);
    if (!existing) {
      // exiftool creates a sidecar only for fields with a value
      for (const k of Object.keys(tags)) if (tags[k] === null) delete tags[k];
    }
    await et.write(tmp, tags as WriteTags, { writeArgs: ['-overwrite_original'], useMWG: false });
    const fh = await fsp.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, fsPath(target));
    const dfh = await fsp.open(fsPath(dir), 'r').catch(() => undefined);
    if (dfh) await dfh.sync().catch(() => undefined).finally(() => dfh.close());
    const st = await fsp.stat(fsPath(target));
    return { mtime: st.mtime, size: st.size };
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** '2024:05:01 10:00:00+01:00' (exiftool's form, or ExifDateTime's rawValue) → wall clock and offset (null: none given). */
export function xmpDate(v: unknown): { local: string; offset: string | null } | undefined {
  const raw = v && typeof v === 'object' && 'rawValue' in v ? (v as { rawValue?: unknown }).rawValue : v;
  if (typeof raw !== 'string') return undefined;
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(raw.trim());
  if (!m) return undefined;
  const local = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}`;
  if (Number.isNaN(Date.parse(`${local}Z`))) return undefined;
  let offset: string | null = null;
  if (m[7]) offset = m[7].toUpperCase() === 'Z' ? '+00:00' : `${m[7].slice(0, 3)}:${m[7].slice(-2)}`;
  return { local, offset };
}

/** Read our fields back from a sidecar (metadata sync --from-files). */
export async function readXmpSidecar(et: ExifTool, file: string): Promise<Partial<XmpFields> & { hasDate: boolean; hasGps: boolean }> {
  const t = (await et.read(file, { readArgs: ['-n'] } as never)) as Record<string, unknown>;
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined || v === null || v === '' ? [] : [String(v)]);
  const tagsList = list(t.TagsList);
  const hier = list(t.HierarchicalSubject).map((s) => s.replace(/\|/g, '/'));
  const subject = list(t.Subject);
  const tags = tagsList.length ? tagsList : hier.length ? hier : subject;
  const lat = typeof t.GPSLatitude === 'number' ? t.GPSLatitude : undefined;
  const lon = typeof t.GPSLongitude === 'number' ? t.GPSLongitude : undefined;
  const rating = typeof t.Rating === 'number' ? t.Rating : undefined;
  // By group, without MWG's composite DateTimeOriginal (it takes photoshop:DateCreated's value): another
  // program may have changed only one of the two (exif's wins; we write both).
  const raw = (await et.readRaw(file, { readArgs: ['-G1', '-XMP-exif:DateTimeOriginal', '-XMP-photoshop:DateCreated'], useMWG: false })) as Record<string, unknown>;
  const date = xmpDate(raw['XMP-exif:DateTimeOriginal']) ?? xmpDate(raw['XMP-photoshop:DateCreated']);
  return {
    ...(date ? { localTakenAt: date.local, offset: date.offset } : {}),
    description: typeof t.Description === 'string' ? t.Description : t.Description !== undefined ? String(t.Description) : null,
    rating: rating ?? null,
    latitude: lat ?? null,
    longitude: lon ?? null,
    tags,
    hasDate: t.DateTimeOriginal !== undefined || t.DateCreated !== undefined,
    hasGps: lat !== undefined && lon !== undefined,
  };
}
