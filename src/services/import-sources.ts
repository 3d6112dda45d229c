// What other photo managers left beside the files of a folder being imported:
// - Picasa's `.picasa.ini`: the folder's album name and description, per file `star=yes` and face
//   rectangles (rect64) with the contact names of its [Contacts2] section;
// - an iCloud Photos export: `Photo Details*.csv` (original creation date, favorite, hidden,
//   deleted) beside the photos, and `Albums/<album>.csv` (one file name per line) beside that folder.
// Parsing is pure; loadFolderSidecars reads the files once per folder.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseRect64, type FaceRegion } from '../media/regions.js';
import type { ExternalFacts } from './takeout/facts.js';
import { readSourceFile } from '../storage/source-read.js';
import { fsPath, textFromBytes } from '../storage/raw-path.js';

export interface FolderFacts {
  facts?: ExternalFacts;
  albums?: Array<{ name: string; description?: string }>;
  faceRegions?: FaceRegion[];
}

export interface PicasaIni {
  album?: { name: string; description?: string };
  files: Map<string, { star: boolean; faces: FaceRegion[]; albums: string[] }>;
}

/** Parse a .picasa.ini (INI sections; names compared case-insensitively like Windows does). */
export function parsePicasaIni(text: string): PicasaIni {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      current = new Map();
      sections.set(sec[1]!, current);
    } else if (current && line.includes('=')) {
      const i = line.indexOf('=');
      current.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
  }
  const contacts = new Map<string, string>();
  for (const [name, kv] of sections) {
    if (name.toLowerCase() !== 'contacts2') continue;
    // id=Name;email;  (the key was lower-cased with the others: ids are hex)
    for (const [id, v] of kv) contacts.set(id, v.split(';')[0]!.trim());
  }
  // Album tokens: [.album:<token>] name=...
  const albumNames = new Map<string, string>();
  for (const [name, kv] of sections) {
    const m = /^\.album:(.+)$/i.exec(name);
    if (m && kv.get('name')) albumNames.set(m[1]!.toLowerCase(), kv.get('name')!);
  }
  const out: PicasaIni = { files: new Map() };
  for (const [name, kv] of sections) {
    if (name.toLowerCase() === 'picasa') {
      const n = kv.get('name');
      if (n) out.album = { name: n, ...(kv.get('description') ? { description: kv.get('description')! } : {}) };
      continue;
    }
    if (name.toLowerCase() === 'contacts2' || name.startsWith('.')) continue;
    const faces: FaceRegion[] = [];
    for (const f of (kv.get('faces') ?? '').split(';')) {
      const [rect, id] = f.split(',');
      const who = id ? contacts.get(id.trim().toLowerCase()) : undefined;
      const box = rect ? parseRect64(rect) : undefined;
      if (box && who) faces.push({ name: who, ...box });
    }
    const albums = (kv.get('albums') ?? '').split(',').map((t) => albumNames.get(t.trim().toLowerCase())).filter((a): a is string => Boolean(a));
    out.files.set(name.normalize('NFC'), { star: kv.get('star') === 'yes', faces, albums });
  }
  return out;
}

/** Split one CSV line (RFC 4180 quotes). */
function csvCells(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(cell); cell = ''; } else cell += c;
  }
  out.push(cell);
  return out;
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** iCloud's 'Saturday January 2,2021 3:04 PM GMT' (also ISO forms) as an instant. */
export function parseICloudDate(s: string): Date | undefined {
  const m = /^(?:\w+\s+)?(\w+)\s+(\d{1,2}),\s*(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?\s*(GMT|UTC)?([+-]\d{1,2}(?::?\d{2})?)?$/i.exec(s.trim());
  if (m) {
    const month = MONTHS.indexOf(m[1]!.toLowerCase());
    if (month < 0) return undefined;
    let hour = Number(m[4]);
    if (m[7]) hour = (hour % 12) + (m[7].toUpperCase() === 'PM' ? 12 : 0);
    let ms = Date.UTC(Number(m[3]), month, Number(m[2]), hour, Number(m[5]), Number(m[6] ?? 0));
    if (m[9]) {
      const o = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(m[9])!;
      ms -= (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3] ?? 0)) * 60_000;
    }
    return new Date(ms);
  }
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** `Photo Details.csv`: imgName → facts (date, favorite, hidden → archived, deleted → trashed). */
export function parsePhotoDetails(text: string): Map<string, ExternalFacts> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim());
  const out = new Map<string, ExternalFacts>();
  if (!lines.length) return out;
  const head = csvCells(lines[0]!).map((h) => h.trim().toLowerCase());
  const col = (name: string) => head.indexOf(name.toLowerCase());
  const [iName, iFav, iHidden, iDeleted, iDate] = [col('imgName'), col('favorite'), col('hidden'), col('deleted'), col('originalCreationDate')];
  if (iName < 0) return out;
  const yes = (v: string | undefined) => v?.trim().toLowerCase() === 'yes' || v?.trim().toLowerCase() === 'true';
  for (const line of lines.slice(1)) {
    const c = csvCells(line);
    const name = c[iName]?.trim();
    if (!name) continue;
    const facts: ExternalFacts = { source: 'icloud' };
    const taken = iDate >= 0 && c[iDate] ? parseICloudDate(c[iDate]!) : undefined;
    if (taken) facts.takenAt = taken;
    if (yes(c[iFav])) facts.favorite = true;
    if (yes(c[iHidden])) facts.archived = true;
    if (yes(c[iDeleted])) facts.trashed = true;
    out.set(name.normalize('NFC'), facts);
  }
  return out;
}

/** `Albums/<album>.csv`: the file names in the album (header 'Images', one name a line). */
export function parseAlbumCsv(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => csvCells(l)[0]!.trim()).filter(Boolean);
  return (lines[0]?.toLowerCase() === 'images' ? lines.slice(1) : lines).map((n) => n.normalize('NFC'));
}

/** Folder sidecars (.picasa.ini, CSVs) are read like XMP sidecars: no links, regular files, bounded. */
const readText = (file: string) => readSourceFile(file, 16 * 1024 * 1024).then((r) => r.data.toString('utf8'), () => undefined);

/**
 * The facts the folders' sidecar files give each file (path → facts). One read of each folder's
 * listing; files the folder does not mention get nothing.
 */
export async function loadFolderSidecars(files: string[]): Promise<Map<string, FolderFacts>> {
  const out = new Map<string, FolderFacts>();
  const byDir = new Map<string, string[]>();
  for (const f of files) (byDir.get(path.dirname(f)) ?? byDir.set(path.dirname(f), []).get(path.dirname(f))!).push(f);
  const albumCache = new Map<string, Map<string, string[]>>();
  for (const [dir, inDir] of byDir) {
    // (A folder whose name is not UTF-8 is read by its bytes, raw-path.ts.)
    const names = (await fsp.readdir(fsPath(dir), { encoding: 'buffer' }).catch(() => [] as Buffer[])).map((n) => textFromBytes(n));
    const ini = names.includes('.picasa.ini') ? await readText(path.join(dir, '.picasa.ini')) : names.includes('Picasa.ini') ? await readText(path.join(dir, 'Picasa.ini')) : undefined;
    const picasa = ini ? parsePicasaIni(ini) : undefined;
    const details = new Map<string, ExternalFacts>();
    for (const n of names.filter((n) => /^Photo Details.*\.csv$/i.test(n)).sort()) {
      const text = await readText(path.join(dir, n));
      if (text) for (const [k, v] of parsePhotoDetails(text)) details.set(k, v);
    }
    // iCloud: Albums/ beside the Photos folder, read when this folder has a Photo Details file.
    let albums: Map<string, string[]> | undefined;
    if (details.size) {
      const albumsDir = path.join(path.dirname(dir), 'Albums');
      albums = albumCache.get(albumsDir);
      if (!albums) {
        albums = new Map();
        for (const n of (await fsp.readdir(fsPath(albumsDir), { encoding: 'buffer' }).catch(() => [] as Buffer[])).map((b) => textFromBytes(b)).filter((n) => n.toLowerCase().endsWith('.csv')).sort()) {
          const text = await readText(path.join(albumsDir, n));
          if (text) for (const img of parseAlbumCsv(text)) (albums.get(img) ?? albums.set(img, []).get(img)!).push(n.slice(0, -4));
        }
        albumCache.set(albumsDir, albums);
      }
    }
    for (const f of inDir) {
      const name = path.basename(f).normalize('NFC');
      const ff: FolderFacts = {};
      const p = picasa?.files.get(name);
      const albumList: FolderFacts['albums'] = [];
      if (picasa?.album) albumList.push(picasa.album);
      for (const a of p?.albums ?? []) albumList.push({ name: a });
      if (p?.faces.length) ff.faceRegions = p.faces;
      const facts: ExternalFacts = { ...details.get(name) };
      if (p?.star) facts.favorite = true;
      if (Object.keys(facts).some((k) => k !== 'source')) ff.facts = facts;
      for (const a of albums?.get(name) ?? []) albumList.push({ name: a });
      if (albumList.length) ff.albums = albumList;
      if (Object.keys(ff).length) out.set(f, ff);
    }
  }
  return out;
}
