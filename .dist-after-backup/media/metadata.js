// EXIF/XMP/QuickTime metadata with exiftool-vendored, mapped to what the library stores. The date and
// time zone rules follow Immich's metadata service (tag priority, sidecar dates win, GPS time zone
// when the file states no offset); the mapping itself is pure so it can be tested without files.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ExifDate, ExifDateTime, ExifTool } from 'exiftool-vendored';
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
];
/** Tags that may carry an explicit offset for the same moment (IPTC/XMP copies of the date). */
const ZONE_HINT_TAGS = [...DATE_TAGS, 'DigitalCreationDateTime', 'DateCreated', 'OffsetTimeOriginal'];
export function createExifTool(opts) {
    return new ExifTool({
        maxProcs: Math.max(1, opts.maxProcs),
        taskTimeoutMillis: opts.taskTimeoutMillis ?? 20_000,
        // QuickTime dates are UTC by spec; GPS gives the zone when the file states none (like Immich).
        defaultVideosToUTC: true,
        backfillTimezones: true,
        inferTimezoneFromDatestamps: true,
        readArgs: ['-api', 'largefilesupport=1'],
    });
}
/** Sidecar candidates in precedence order: photo.jpg.xmp, then photo.xmp. */
export async function findSidecar(file) {
    const ext = path.extname(file);
    const candidates = [`${file}.xmp`, `${file}.XMP`, `${file.slice(0, file.length - ext.length)}.xmp`, `${file.slice(0, file.length - ext.length)}.XMP`];
    for (const c of candidates) {
        if (c === file)
            continue;
        const st = await fsp.stat(c).catch(() => undefined);
        if (st?.isFile())
            return c;
    }
    return null;
}
const FILE_LEVEL = /^(SourceFile|File|Directory|MIMEType|ExifToolVersion|errors|warnings|Warning|Error|ImageWidth|ImageHeight|ImageSize)/;
/** Read a file's tags and merge its XMP sidecar over them (the sidecar wins; its dates replace the file's). */
export async function readTags(et, file) {
    const sidecarPath = await findSidecar(file);
    const [media, sidecar] = await Promise.all([et.read(file), sidecarPath ? et.read(sidecarPath) : undefined]);
    if (!sidecar)
        return { tags: media, sidecarPath: null };
    const merged = { ...media };
    const side = sidecar;
    if (DATE_TAGS.some((t) => side[t] !== undefined)) {
        for (const t of DATE_TAGS)
            delete merged[t];
    }
    for (const [k, v] of Object.entries(side)) {
        if (v === undefined || v === null || v === '' || FILE_LEVEL.test(k))
            continue;
        merged[k] = v;
    }
    return { tags: merged, sidecarPath };
}
// ---------------------------------------------------------------------------------------------
// Pure mapping
function asDateTime(v) {
    if (v instanceof ExifDateTime)
        return v;
    if (typeof v === 'string')
        return ExifDateTime.fromEXIF(v) ?? ExifDateTime.fromISO(v) ?? undefined;
    return undefined;
}
/** A plausible capture date: not before photography, not far in the future (corrupt or bogus tags). */
function plausible(dt, now) {
    if (!dt.isValid)
        return false;
    const y = dt.year;
    return Number.isInteger(y) && y >= 1826 && y <= now.getUTCFullYear() + 1;
}
function wallClockMs(dt) {
    return Date.UTC(dt.year, dt.month - 1, dt.day, dt.hour, dt.minute, dt.second, dt.millisecond ?? 0);
}
export function formatOffset(minutes) {
    const sign = minutes < 0 ? '-' : '+';
    const m = Math.abs(Math.round(minutes));
    return `${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
function isoLocal(ms) {
    return new Date(ms).toISOString().slice(0, 23);
}
/** UTC offset in minutes of an IANA zone at an instant. */
export function zoneOffsetAt(zone, instant) {
    try {
        const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(instant);
        const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
        if (name === 'GMT')
            return 0;
        const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
        if (!m)
            return undefined;
        return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    }
    catch {
        return undefined;
    }
}
/**
 * The capture time: the first plausible tag in DATE_TAGS order; its offset when the file states one
 * (or another copy of the same moment does, e.g. IPTC TimeCreated), else the zone at the GPS position,
 * else none (the wall clock is stored as if UTC, like Immich). Falls back to the file's mtime.
 */
export function resolveTakenAt(tags, mtime, now = new Date()) {
    const t = tags;
    let chosen;
    for (const tag of DATE_TAGS) {
        const dt = asDateTime(t[tag]);
        if (dt && plausible(dt, now)) {
            chosen = { tag, dt };
            break;
        }
    }
    if (!chosen) {
        const local = mtime.getTime() - mtime.getTimezoneOffset() * 60_000;
        return { takenAt: mtime, localTakenAt: isoLocal(local), timeZone: null, offsetTime: null, dateSource: 'file mtime' };
    }
    const { dt, tag } = chosen;
    const wall = wallClockMs(dt);
    const tzSource = String(t.tzSource ?? '');
    const gpsZone = typeof t.tz === 'string' && /GPS/i.test(tzSource) && t.tz.includes('/') ? t.tz : undefined;
    let offset;
    let zoneName;
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
            if (!h || !h.hasZone || h.inferredZone || h.tzoffsetMinutes === undefined)
                continue;
            if (Math.floor(wallClockMs(h) / 1000) !== Math.floor(wall / 1000))
                continue;
            offset = h.tzoffsetMinutes;
            zoneName = undefined;
            explicit = true;
            break;
        }
    }
    if (!explicit && offset === undefined && gpsZone) {
        const guess = zoneOffsetAt(gpsZone, new Date(wall));
        if (guess !== undefined)
            offset = zoneOffsetAt(gpsZone, new Date(wall - guess * 60_000)) ?? guess;
        zoneName = gpsZone;
    }
    if (offset === undefined) {
        return { takenAt: new Date(wall), localTakenAt: isoLocal(wall), timeZone: null, offsetTime: null, dateSource: tag };
    }
    let timeZone;
    if (zoneName && zoneName.includes('/'))
        timeZone = zoneName;
    else if (gpsZone && zoneOffsetAt(gpsZone, new Date(wall - offset * 60_000)) === offset)
        timeZone = gpsZone;
    else if (offset === 0 && (zoneName === 'UTC' || /UTC|Z$/i.test(dt.rawValue ?? '')))
        timeZone = 'UTC';
    else
        timeZone = formatOffset(offset);
    return {
        takenAt: new Date(wall - offset * 60_000),
        localTakenAt: isoLocal(wall),
        timeZone,
        offsetTime: formatOffset(offset),
        dateSource: tag,
    };
}
function num(v) {
    if (typeof v === 'number')
        return Number.isFinite(v) ? v : null;
    if (typeof v === 'string' && v.trim() !== '') {
        const n = Number.parseFloat(v);
        return Number.isFinite(n) ? n : null;
    }
    if (Array.isArray(v))
        return num(v[0]);
    return null;
}
function str(v) {
    if (v === undefined || v === null)
        return null;
    if (typeof v === 'object' && !(v instanceof ExifDateTime) && !(v instanceof ExifDate))
        return null;
    const s = String(v).replace(/\0/g, '').trim();
    return s === '' ? null : s;
}
/** GPS position; empty or missing tags give null, never 0,0. */
export function resolveGps(tags) {
    const t = tags;
    const lat = num(t.GPSLatitude);
    const lon = num(t.GPSLongitude);
    const valid = lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && !(lat === 0 && lon === 0);
    if (!valid)
        return { latitude: null, longitude: null, altitude: null };
    let alt = num(t.GPSAltitude);
    if (alt !== null && /below/i.test(String(t.GPSAltitudeRef ?? '')))
        alt = -Math.abs(alt);
    return { latitude: lat, longitude: lon, altitude: alt };
}
function keywords(tags) {
    const raw = tags.Keywords ?? tags.Subject;
    if (raw === undefined || raw === null || raw === '')
        return null;
    const list = (Array.isArray(raw) ? raw : [raw]).map((k) => String(k).trim()).filter(Boolean);
    return list.length ? [...new Set(list)] : null;
}
function exposure(v) {
    if (typeof v === 'number') {
        if (v > 0 && v < 1)
            return `1/${Math.round(1 / v)}`;
        return String(v);
    }
    return str(v);
}
/** Map exiftool tags (and ffprobe for videos) to the stored metadata. */
export function toMediaMetadata(tags, opts) {
    const t = tags;
    const taken = resolveTakenAt(tags, opts.mtime, opts.now);
    const gps = resolveGps(tags);
    const orientation = opts.type === 'image' ? num(t.Orientation) : null;
    const orient = orientation !== null && orientation >= 1 && orientation <= 8 ? orientation : null;
    let exifW = num(t.ImageWidth) ?? num(t.ExifImageWidth);
    let exifH = num(t.ImageHeight) ?? num(t.ExifImageHeight);
    let width = exifW;
    let height = exifH;
    let rotation = null;
    let duration = null;
    let videoCodec = null;
    let audioCodec = null;
    let fps = null;
    let bitrate = null;
    let container = null;
    if (opts.type === 'image') {
        if (orient !== null && orient >= 5 && width !== null && height !== null)
            [width, height] = [height, width];
    }
    else {
        const p = opts.probe;
        const v = p?.videoStreams[0];
        if (v) {
            exifW = v.width;
            exifH = v.height;
            rotation = (((v.rotation ?? num(t.Rotation) ?? 0) % 360) + 360) % 360;
            width = v.width;
            height = v.height;
            if (rotation === 90 || rotation === 270)
                [width, height] = [height, width];
            videoCodec = v.codec;
            fps = v.fps || null;
        }
        else {
            rotation = num(t.Rotation);
        }
        if (p) {
            duration = p.durationSec || null;
            audioCodec = p.audioStreams[0]?.codec ?? null;
            bitrate = p.bitrate ?? null;
            container = p.formatName || null;
        }
        else {
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
        iso: num(t.ISO) !== null ? Math.round(num(t.ISO)) : null,
        fNumber: num(t.FNumber),
        exposureTime: exposure(t.ExposureTime),
        focalLength: num(t.FocalLength),
        description: str(t.ImageDescription) ?? str(t.Description) ?? str(t['Caption-Abstract']),
        rating: rating !== null ? Math.max(-1, Math.min(5, Math.round(rating))) : null,
        keywords: keywords(t),
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
        motionPhoto: num(t.MotionPhoto) === 1 || num(t.MicroVideo) === 1 || t.MotionPhotoVideo !== undefined || t.EmbeddedVideoFile !== undefined,
        sidecarPath: opts.sidecarPath ?? null,
        mimeType: str(t.MIMEType),
    };
}
//# sourceMappingURL=metadata.js.map