// EXIF/XMP/QuickTime metadata with exiftool-vendored, mapped to what the library stores. The date and
// time zone rules follow Immich's metadata service (tag priority, sidecar dates win, GPS time zone
// when the file states no offset); the mapping itself is pure so it can be tested without files.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { ExifDateTime, ExifTool, Tags } from 'exiftool-vendored';

// exiftool-vendored (and its ~120 module files: batch-cluster, luxon, semver) loads on first use, not on
// every command: `search`, `info` and the rest never read a file's tags (~100 ms of every start).
let vendored: typeof import('exiftool-vendored') | undefined;
const ev = (): typeof import('exiftool-vendored') => (vendored ??= createRequire(import.meta.url)('exiftool-vendored') as typeof import('exiftool-vendored'));
import { readSourceFile, SourceFileError } from '../storage/source-read.js';
import type { VideoProbe } from './transcode.js';
import { faceRegions, type FaceRegion } from './regions.js';

/** Date tags in priority order (Immich's EXIF_DATE_TAGS). */
export const DATE_TAGS = [
  'SubSecDateTimeOriginal',
  'DateTimeOriginal',
  'SubSecCreateDate',
  'CreationDate',
  'CreateDate',
  'SubSecMediaCreateDate',
  'MediaCreateDate',
  'DateTimeCreated',
  'GPSDateTime',
] as const;

/** Tags that may carry an explicit offset for the same moment (IPTC/XMP copies of the date). */
const ZONE_HINT_TAGS = [...DATE_TAGS, 'DigitalCreationDateTime', 'DateCreated', 'OffsetTimeOriginal'] as const;

export interface MediaMetadata {
  type: 'image' | 'video';
  /** The moment it was taken (UTC instant). */
  takenAt: Date;
  /** Wall-clock time where it was taken, 'YYYY-MM-DDTHH:mm:ss.SSS' (no zone). */
  localTakenAt: string;
  /** IANA zone ('Europe/Rome'), 'UTC', or a fixed offset ('+03:00'); null when unknown. */
  timeZone: string | null;
  /** UTC offset at takenAt ('+03:00'), null when unknown. */
  offsetTime: string | null;
  /** Which tag the date came from ('DateTimeOriginal', ..., 'file mtime'). */
  dateSource: string;
  /** Displayed (oriented) dimensions. */
  width: number | null;
  height: number | null;
  make: string | null;
  model: string | null;
  lensModel: string | null;
  orientation: number | null;
  latitude: number | null;
  longitude: number | null;
  altitude: number | null;
  iso: number | null;
  fNumber: number | null;
  exposureTime: string | null;
  focalLength: number | null;
  description: string | null;
  rating: number | null;
  keywords: string[] | null;
  /** Hierarchical tags ('Trips/2024') from digiKam:TagsList or lr:HierarchicalSubject (organize's user tags, source xmp). */
  hierarchicalTags: string[];
  /** Named face regions another manager wrote (MWG-RS, MP); absent when none. */
  faceRegions?: FaceRegion[];
  /** Stored (unrotated) dimensions as the file declares them. */
  exifImageWidth: number | null;
  exifImageHeight: number | null;
  duration: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  fps: number | null;
  bitrate: number | null;
  container: string | null;
  /** Video display rotation in degrees (0, 90, 180, 270). */
  rotation: number | null;
  /** Apple ContentIdentifier / MediaGroupUUID shared by a Live Photo's still and video. */
  livePhotoCid: string | null;
  /** Apple BurstUUID: the shots of one iPhone burst share it (stack auto --bursts). */
  burstId: string | null;
  /** Google/Samsung motion photo: a still with an embedded video. */
  motionPhoto: boolean;
  sidecarPath: string | null;
  /** Why a sidecar beside the file was not used (a link, not XMP...): one warning line. */
  sidecarSkipped?: string;
  mimeType: string | null;
}

export interface ExifToolOptions {
  maxProcs: number;
  /** Per-file limit so a malformed file cannot hang the batch. */
  taskTimeoutMillis?: number;
}

/** util-linux's setpriv (Linux): runs a program with a parent-death signal. */
const SETPRIV = '/usr/bin/setpriv';

export function createExifTool(opts: ExifToolOptions): ExifTool {
  // exiftool -stay_open keeps polling its input after EOF, so a process of ours that is killed (OOM,
  // SIGKILL) would leave its exiftools running forever: where setpriv exists they die with us.
  const processFactory = fs.existsSync(SETPRIV)
    ? async () => spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', await ev().exiftoolPath(), ...ev().DefaultExiftoolArgs], {
        stdio: 'pipe',
        // As exiftool-vendored's own spawn: LANG=C; PATH for the script's `#!/usr/bin/env perl`.
        env: { LANG: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin', ...(process.env.EXIFTOOL_HOME ? { EXIFTOOL_HOME: process.env.EXIFTOOL_HOME } : {}) },
      })
    : undefined;
  return new (ev().ExifTool)({
    processFactory,
    maxProcs: Math.max(1, opts.maxProcs),
    taskTimeoutMillis: opts.taskTimeoutMillis ?? 20_000,
    // QuickTime dates are UTC by spec; GPS gives the zone when the file states none (like Immich).
    defaultVideosToUTC: true,
    backfillTimezones: true,
    inferTimezoneFromDatestamps: true,
    readArgs: ['-api', 'largefilesupport=1'],
  });
}

/** A sidecar larger than this is not an XMP packet someone wrote by hand or with an editor. */
export const MAX_SIDECAR_BYTES = 4 * 1024 * 1024;

/**
 * A sidecar's bytes, read without following a link (O_NOFOLLOW: `photo.jpg.xmp -> /etc/shadow` must
 * not bring a root-only file into the library and every backup): a regular file of bounded size that
 * holds an XMP packet. Throws with the reason otherwise.
 */
export async function readSidecarFile(file: string): Promise<{ data: Buffer; mode: number }> {
  const { data, mode } = await readSourceFile(file, MAX_SIDECAR_BYTES);
  if (!/<x:xmpmeta[\s>]|<rdf:RDF[\s>]/.test(data.toString('latin1'))) throw new SourceFileError('not an XMP file');
  return { data, mode };
}

/**
 * Sidecar candidates in precedence order: photo.jpg.xmp, then photo.xmp. One that is a link, not a
 * regular file, too large or not XMP is skipped (the reason is returned for a warning).
 */
export async function findSidecar(file: string): Promise<{ path: string | null; skipped?: string }> {
  const ext = path.extname(file);
  const candidates = [`${file}.xmp`, `${file}.XMP`, `${file.slice(0, file.length - ext.length)}.xmp`, `${file.slice(0, file.length - ext.length)}.XMP`];
  let skipped: string | undefined;
  for (const c of candidates) {
    if (c === file) continue;
    const st = await fsp.lstat(c).catch(() => undefined);
    if (!st) continue;
    try {
      await readSidecarFile(c);
      return { path: c, skipped };
    } catch (err) {
      skipped ??= `sidecar ${c} skipped: ${(err as Error).message}`;
    }
  }
  return { path: null, skipped };
}

const FILE_LEVEL = /^(SourceFile|File|Directory|MIMEType|ExifToolVersion|errors|warnings|Warning|Error|ImageWidth|ImageHeight|ImageSize)/;

/**
 * Read a file's tags and merge its XMP sidecar over them (the sidecar wins; its dates replace the file's).
 * `written`: the sidecar our edits were written to (it may live under the library, away from the
 * file: IMMICH_SIDECAR_LOCATION=library); it comes first when it is there.
 */
export async function readTags(et: ExifTool, file: string, written?: string): Promise<{ tags: Tags; sidecarPath: string | null; sidecarSkipped?: string }> {
  const ours = written ? await readSidecarFile(written).then(() => written, () => undefined) : undefined;
  const { path: sidecarPath, skipped: sidecarSkipped } = ours ? { path: ours, skipped: undefined } : await findSidecar(file);
  const [media, sidecar] = await Promise.all([et.read(file), sidecarPath ? et.read(sidecarPath) : undefined]);
  if (!sidecar) return { tags: media, sidecarPath: null, sidecarSkipped };
  const merged: Record<string, unknown> = { ...media };
  const side = sidecar as Record<string, unknown>;
  if (DATE_TAGS.some((t) => side[t] !== undefined)) {
    for (const t of DATE_TAGS) delete merged[t];
  }
  for (const [k, v] of Object.entries(side)) {
    if (v === undefined || v === null || v === '' || FILE_LEVEL.test(k)) continue;
    merged[k] = v;
  }
  return { tags: merged as Tags, sidecarPath, sidecarSkipped };
}

// ---------------------------------------------------------------------------------------------
// Pure mapping

function asDateTime(v: unknown): ExifDateTime | undefined {
  const { ExifDateTime } = ev();
  if (v instanceof ExifDateTime) return v;
  if (typeof v === 'string') return ExifDateTime.fromEXIF(v) ?? ExifDateTime.fromISO(v) ?? undefined;
  return undefined;
}

/** A plausible capture date: not before photography, not far in the future (corrupt or bogus tags). */
function plausible(dt: ExifDateTime, now: Date): boolean {
  if (!dt.isValid) return false;
  const y = dt.year;
  return Number.isInteger(y) && y >= 1826 && y <= now.getUTCFullYear() + 1;
}

function wallClockMs(dt: ExifDateTime): number {
  return Date.UTC(dt.year, dt.month - 1, dt.day, dt.hour, dt.minute, dt.second, dt.millisecond ?? 0);
}

export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(Math.round(minutes));
  return `${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

function isoLocal(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23);
}

/** UTC offset in minutes of an IANA zone at an instant. */
export function zoneOffsetAt(zone: string, instant: Date): number | undefined {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(instant);
    const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
    if (name === 'GMT') return 0;
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    if (!m) return undefined;
    return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  } catch {
    return undefined;
  }
}

export interface TakenAt {
  takenAt: Date;
  localTakenAt: string;
  timeZone: string | null;
  offsetTime: string | null;
  dateSource: string;
}

/**
 * The capture time: the first plausible tag in DATE_TAGS order; its offset when the file states one
 * (or another copy of the same moment does, e.g. IPTC TimeCreated), else the zone at the GPS position,
 * else none (the wall clock is stored as if UTC, like Immich). Falls back to the file's mtime.
 */
export function resolveTakenAt(tags: Tags, mtime: Date, now = new Date()): TakenAt {
  const t = tags as Record<string, unknown>;
  let chosen: { tag: string; dt: ExifDateTime } | undefined;
  for (const tag of DATE_TAGS) {
    const dt = asDateTime(t[tag]);
    if (dt && plausible(dt, now)) { chosen = { tag, dt }; break; }
  }
  if (!chosen) {
    const local = mtime.getTime() - mtime.getTimezoneOffset() * 60_000;
    return { takenAt: mtime, localTakenAt: isoLocal(local), timeZone: null, offsetTime: null, dateSource: 'file mtime' };
  }
  const { dt, tag } = chosen;
  const wall = wallClockMs(dt);
  const tzSource = String(t.tzSource ?? '');
  const gpsZone = typeof t.tz === 'string' && /GPS/i.test(tzSource) && t.tz.includes('/') ? t.tz : undefined;

  let offset: number | undefined;
  let zoneName: string | undefined;
  let explicit = false;
  if (dt.hasZone && dt.tzoffsetMinutes !== undefined) {
    offset = dt.tzoffsetMinutes;
    zoneName = dt.zone;
    explicit = !dt.inferredZone || /Offset|TimeZone/i.test(tzSource);
  }
  if (!explicit) {
    // Another tag with the same wall clock and a stated offset (IPTC DateCreated+TimeCreated...).
    for (const hint of ZONE_HINT_TAGS) {
      const h = asDateTime(t[hint]);
      if (!h || !h.hasZone || h.inferredZone || h.tzoffsetMinutes === undefined) continue;
      if (Math.floor(wallClockMs(h) / 1000) !== Math.floor(wall / 1000)) continue;
      offset = h.tzoffsetMinutes;
      zoneName = undefined;
      explicit = true;
      break;
    }
  }
  if (!explicit && offset === undefined && gpsZone) {
    const guess = zoneOffsetAt(gpsZone, new Date(wall));
    if (guess !== undefined) offset = zoneOffsetAt(gpsZone, new Date(wall - guess * 60_000)) ?? guess;
    zoneName = gpsZone;
  }
  if (offset === undefined) {
    return { takenAt: new Date(wall), localTakenAt: isoLocal(wall), timeZone: null, offsetTime: null, dateSource: tag };
  }
  let timeZone: string;
  if (zoneName && zoneName.includes('/')) timeZone = zoneName;
  else if (gpsZone && zoneOffsetAt(gpsZone, new Date(wall - offset * 60_000)) === offset) timeZone = gpsZone;
  else if (offset === 0 && (zoneName === 'UTC' || /UTC|Z$/i.test(dt.rawValue ?? ''))) timeZone = 'UTC';
  else timeZone = formatOffset(offset);
  return {
    takenAt: new Date(wall - offset * 60_000),
    localTakenAt: isoLocal(wall),
    timeZone,
    offsetTime: formatOffset(offset),
    dateSource: tag,
  };
}

function num(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number.parseFloat(v);
    return Number.isFinite(n) ? n : null;
  }
  if (Array.isArray(v)) return num(v[0]);
  return null;
}

function str(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object' && !(v instanceof ev().ExifDateTime) && !(v instanceof ev().ExifDate)) return null;
  const s = String(v).replace(/\0/g, '').trim();
  return s === '' ? null : s;
}

/** GPS position; empty or missing tags give null, never 0,0. */
export function resolveGps(tags: Tags): { latitude: number | null; longitude: number | null; altitude: number | null } {
  const t = tags as Record<string, unknown>;
  const lat = num(t.GPSLatitude);
  const lon = num(t.GPSLongitude);
  const valid = lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && !(lat === 0 && lon === 0);
  if (!valid) return { latitude: null, longitude: null, altitude: null };
  let alt = num(t.GPSAltitude);
  if (alt !== null && /below/i.test(String(t.GPSAltitudeRef ?? ''))) alt = -Math.abs(alt);
  return { latitude: lat, longitude: lon, altitude: alt };
}

function keywords(tags: Record<string, unknown>): string[] | null {
  const raw = tags.Keywords ?? tags.Subject;
  if (raw === undefined || raw === null || raw === '') return null;
  const list = (Array.isArray(raw) ? raw : [raw]).map((k) => String(k).trim()).filter(Boolean);
  return list.length ? [...new Set(list)] : null;
}

function optional<K extends string, T>(key: K, values: T[]): { [k in K]?: T[] } {
  return (values.length ? { [key]: values } : {}) as { [k in K]?: T[] };
}


function hierarchicalTags(tags: Record<string, unknown>): string[] {
  const list = (v: unknown) => (v === undefined || v === null || v === '' ? [] : (Array.isArray(v) ? v : [v]).map((k) => String(k)));
  const digikam = list(tags.TagsList);
  const raw = digikam.length ? digikam : list(tags.HierarchicalSubject).map((k) => k.replace(/\|/g, '/'));
  const out = raw.map((k) => k.split('/').map((p) => p.trim()).filter(Boolean).join('/')).filter(Boolean);
  return [...new Set(out)];
}

function exposure(v: unknown): string | null {
  if (typeof v === 'number') {
    if (v > 0 && v < 1) return `1/${Math.round(1 / v)}`;
    return String(v);
  }
  return str(v);
}

export interface MapOptions {
  type: 'image' | 'video';
  mtime: Date;
  sidecarPath?: string | null;
  /** ffprobe result for videos (duration, codecs, dimensions, rotation). */
  probe?: VideoProbe;
  now?: Date;
}

/** Map exiftool tags (and ffprobe for videos) to the stored metadata. */
export function toMediaMetadata(tags: Tags, opts: MapOptions): MediaMetadata {
  const t = tags as Record<string, unknown>;
  const taken = resolveTakenAt(tags, opts.mtime, opts.now);
  const gps = resolveGps(tags);
  const orientation = opts.type === 'image' ? num(t.Orientation) : null;
  const orient = orientation !== null && orientation >= 1 && orientation <= 8 ? orientation : null;
  let exifW = num(t.ImageWidth) ?? num(t.ExifImageWidth);
  let exifH = num(t.ImageHeight) ?? num(t.ExifImageHeight);
  let width = exifW;
  let height = exifH;
  let rotation: number | null = null;
  let duration: number | null = null;
  let videoCodec: string | null = null;
  let audioCodec: string | null = null;
  let fps: number | null = null;
  let bitrate: number | null = null;
  let container: string | null = null;
  if (opts.type === 'image') {
    if (orient !== null && orient >= 5 && width !== null && height !== null) [width, height] = [height, width];
  } else {
    const p = opts.probe;
    const v = p?.videoStreams[0];
    if (v) {
      exifW = v.width;
      exifH = v.height;
      rotation = (((v.rotation ?? num(t.Rotation) ?? 0) % 360) + 360) % 360;
      width = v.width;
      height = v.height;
      if (rotation === 90 || rotation === 270) [width, height] = [height, width];
      videoCodec = v.codec;
      fps = v.fps || null;
    } else {
      rotation = num(t.Rotation);
    }
    if (p) {
      duration = p.durationSec || null;
      audioCodec = p.audioStreams[0]?.codec ?? null;
      bitrate = p.bitrate ?? null;
      container = p.formatName || null;
    } else {
      duration = num(t.Duration);
    }
  }
  const rating = num(t.Rating);
  return {
    type: opts.type,
    ...taken,
    width: width !== null ? Math.round(width) : null,
    height: height !== null ? Math.round(height) : null,
    make: str(t.Make),
    model: str(t.Model),
    lensModel: str(t.LensModel) ?? str(t.Lens) ?? null,
    orientation: orient,
    ...gps,
    iso: num(t.ISO) !== null ? Math.round(num(t.ISO)!) : null,
    fNumber: num(t.FNumber),
    exposureTime: exposure(t.ExposureTime),
    focalLength: num(t.FocalLength),
    description: str(t.ImageDescription) ?? str(t.Description) ?? str(t['Caption-Abstract']),
    rating: rating !== null ? Math.max(-1, Math.min(5, Math.round(rating))) : null,
    keywords: keywords(t),
    hierarchicalTags: hierarchicalTags(t),
    ...optional('faceRegions', opts.type === 'image' ? faceRegions(t) : []),
    exifImageWidth: exifW !== null ? Math.round(exifW) : null,
    exifImageHeight: exifH !== null ? Math.round(exifH) : null,
    duration,
    videoCodec,
    audioCodec,
    fps,
    bitrate,
    container,
    rotation,
    livePhotoCid: str(t.ContentIdentifier) ?? str(t.MediaGroupUUID),
    burstId: str(t.BurstUUID),
    motionPhoto: num(t.MotionPhoto) === 1 || num(t.MicroVideo) === 1 || t.MotionPhotoVideo !== undefined || t.EmbeddedVideoFile !== undefined,
    sidecarPath: opts.sidecarPath ?? null,
    mimeType: str(t.MIMEType),
  };
}
