// What a sidecar outside the file (a Takeout JSON, an iCloud CSV row) says about a media file, and
// how it is applied: pure decisions, tested without I/O.
import type { MediaMetadata } from '../../media/metadata.js';

export interface ExternalFacts {
  /** Where they come from when not a Google Takeout ('icloud'); recorded as the asset's date_source. */
  source?: string;
  /** Capture time (Takeout photoTakenTime, never creationTime: that is the upload time). */
  takenAt?: Date;
  latitude?: number;
  longitude?: number;
  altitude?: number;
  description?: string;
  favorite?: boolean;
  archived?: boolean;
  trashed?: boolean;
  /** People named on the photo (Takeout `people[].name`). */
  people?: string[];
}

/** Google's JSON sidecar, as much of it as we read. */
interface TakeoutJson {
  title?: unknown;
  description?: unknown;
  photoTakenTime?: { timestamp?: unknown };
  geoData?: GeoJson;
  geoDataExif?: GeoJson;
  people?: Array<{ name?: unknown }>;
  favorited?: unknown;
  archived?: unknown;
  trashed?: unknown;
}
interface GeoJson {
  latitude?: unknown;
  longitude?: unknown;
  altitude?: unknown;
}

export interface TakeoutSidecar {
  /** The original file name (the archive's name may be cut). */
  title?: string;
  facts: ExternalFacts;
}

export type TakeoutJsonKind = { kind: 'sidecar'; sidecar: TakeoutSidecar } | { kind: 'album'; title?: string; description?: string } | { kind: 'other' };

const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

/** A position from geoData: 0,0 (and missing values) mean none. */
function position(g: GeoJson | undefined): { latitude: number; longitude: number; altitude?: number } | undefined {
  const latitude = num(g?.latitude);
  const longitude = num(g?.longitude);
  if (latitude === undefined || longitude === undefined || (latitude === 0 && longitude === 0)) return undefined;
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  return { latitude, longitude, altitude: num(g?.altitude) };
}

/**
 * Classify a JSON found in a Takeout: a media sidecar (it has photoTakenTime), an album's metadata
 * file (`metadata.json`, `métadonnées.json`, `Metadaten.json`, `metadati.json`... : a title and no
 * photoTakenTime, so the localised name does not matter), or something else (print orders...).
 */
export function classifyTakeoutJson(value: unknown): TakeoutJsonKind {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { kind: 'other' };
  const j = value as TakeoutJson;
  if (j.photoTakenTime && typeof j.photoTakenTime === 'object') {
    const facts: ExternalFacts = {};
    const ts = num(j.photoTakenTime.timestamp);
    // 0 is what Google writes when it has no date.
    if (ts !== undefined && ts > 0) facts.takenAt = new Date(ts * 1000);
    const pos = position(j.geoDataExif) ?? position(j.geoData);
    if (pos) Object.assign(facts, pos.altitude === undefined ? { latitude: pos.latitude, longitude: pos.longitude } : pos);
    const description = str(j.description);
    if (description) facts.description = description;
    if (j.favorited === true) facts.favorite = true;
    if (j.archived === true) facts.archived = true;
    if (j.trashed === true) facts.trashed = true;
    const people = Array.isArray(j.people) ? [...new Set(j.people.map((p) => str(p?.name)?.trim()).filter((n): n is string => Boolean(n)))] : [];
    if (people.length) facts.people = people;
    return { kind: 'sidecar', sidecar: { title: str(j.title), facts } };
  }
  const title = str(j.title);
  if (title !== undefined) return { kind: 'album', title, description: str(j.description) };
  return { kind: 'other' };
}

export interface AppliedFacts {
  /** Set when the media's own capture date and the sidecar's differ by more than a day (the media's is kept). */
  dateConflict?: { media: string; sidecar: string };
  dateFromSidecar: boolean;
  gpsFromSidecar: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Fill what the media does not say from the sidecar: the capture time when the file has none of
 * its own (its date came from the file's mtime), the position when it has no GPS. What the file
 * says wins; a date that disagrees by more than a day is reported.
 */
export function applyFacts(meta: MediaMetadata, facts: ExternalFacts): AppliedFacts {
  const out: AppliedFacts = { dateFromSidecar: false, gpsFromSidecar: false };
  if (facts.takenAt) {
    if (meta.dateSource === 'file mtime') {
      meta.takenAt = facts.takenAt;
      // An instant without a zone: the wall clock is stored as UTC, like a file date without offset.
      meta.localTakenAt = facts.takenAt.toISOString().slice(0, 23);
      meta.timeZone = 'UTC';
      meta.offsetTime = '+00:00';
      meta.dateSource = 'sidecar';
      out.dateFromSidecar = true;
    } else if (Math.abs(meta.takenAt.getTime() - facts.takenAt.getTime()) > DAY_MS) {
      out.dateConflict = { media: meta.takenAt.toISOString(), sidecar: facts.takenAt.toISOString() };
    }
  }
  const hasGps = meta.latitude !== null && meta.longitude !== null && !(meta.latitude === 0 && meta.longitude === 0);
  if (!hasGps && facts.latitude !== undefined && facts.longitude !== undefined) {
    meta.latitude = facts.latitude;
    meta.longitude = facts.longitude;
    if (facts.altitude !== undefined && meta.altitude === null) meta.altitude = facts.altitude;
    out.gpsFromSidecar = true;
  }
  return out;
}
