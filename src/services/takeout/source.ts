// A Google Takeout given to `immich import`: its zip parts (read in place) and unpacked folders
// merged into one tree, media matched with their JSON sidecars, albums read from their metadata
// files. What comes out are import files (src/services/import.ts imports them like any other) plus
// what the Takeout says about each, and a report of what did not fit.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { UsageError, errorMessage } from '../../errors.js';
import { isSupported } from '../../media/formats.js';
import { ignoreMatcher } from '../../storage/walk.js';
import { ZipArchive, type ZipEntry } from '../../storage/zip.js';
import { classifyTakeoutJson, type ExternalFacts } from './facts.js';
import { matchFolder } from './sidecars.js';
import { fsPath, textFromBytes } from '../../storage/raw-path.js';

/** JSON files larger than this are not Takeout sidecars (they are a few KB). */
const MAX_JSON_BYTES = 4 << 20;
/** How many JSON files the layout probe of an unpacked folder reads before it gives up. */
const PROBE_JSON_LIMIT = 200;

export interface TakeoutItem {
  /** Where it is: `<zip>/<entry>` for a zip entry, the file's path for an unpacked one. */
  path: string;
  /** The original file name (the sidecar's title when the archive's name is only a cut of it). */
  name: string;
  size: number;
  mtime: Date;
  /** Copy the file out of its zip into `dir` (unpacked files are read where they are). */
  extract?: (target: string) => Promise<string>;
  facts?: ExternalFacts;
  /** The album folder it was found in (a key of TakeoutScan.albums), if that folder is an album. */
  album?: string;
  /** An edited copy (`IMG_1-edited.jpg`): the path of its original in the same folder, which it is stacked under. */
  editOf?: string;
}

export interface TakeoutAlbum {
  title: string;
  description?: string;
}

export interface TakeoutReport {
  sources: string[];
  mediaWithoutSidecar: string[];
  sidecarsWithoutMedia: string[];
  skippedTrashed: string[];
  refused: Array<{ path: string; reason: string }>;
  /** Filled by the import: media whose own capture date and the sidecar's differ by more than a day. */
  dateConflicts: Array<{ path: string; media: string; sidecar: string }>;
  /** Files inside the zips and folders left out by --ignore. */
  ignored: number;
}

export interface TakeoutScan {
  items: TakeoutItem[];
  albums: Map<string, TakeoutAlbum>;
  report: TakeoutReport;
  close(): void;
}

export interface TakeoutOptions {
  /** `--from google-takeout`: read zips and folders as a Takeout even without its layout. */
  force: boolean;
  includeTrashed: boolean;
  /** --ignore globs, matched against the path inside the zip or below the folder given. */
  ignore?: string[];
}

/**
 * --ignore inside a Takeout: a glob without '/' matches a name anywhere, one with '/' the path
 * relative to the archive's root (or to the folder given), with or without the leading `Takeout/`
 * folder every part has: `'Google Photos/Trash/*'` and `'Takeout/Google Photos/Trash/*'` both work.
 */
function takeoutIgnore(globs: string[] | undefined): ((rel: string) => boolean) | undefined {
  const match = ignoreMatcher(globs ?? []);
  if (!match) return undefined;
  return (rel) => match(rel) || (/^takeout\//i.test(rel) && match(rel.slice(rel.indexOf('/') + 1)));
}

/** One file of the merged tree. */
interface Node {
  display: string;
  name: string;
  size: number;
  mtime: Date;
  zip?: { archive: ZipArchive; entry: ZipEntry };
  abs?: string;
}

const isZip = (p: string) => p.toLowerCase().endsWith('.zip');
const isJson = (p: string) => p.toLowerCase().endsWith('.json');

async function readJson(node: Node): Promise<unknown> {
  const bytes = node.zip ? await node.zip.archive.read(node.zip.entry, MAX_JSON_BYTES) : await fsp.readFile(fsPath(node.abs!));
  if (bytes.length > MAX_JSON_BYTES) throw new Error(`${bytes.length} bytes`);
  return JSON.parse(bytes.toString('utf8'));
}

const looksLikeSidecar = async (node: Node) => {
  try {
    return classifyTakeoutJson(await readJson(node)).kind === 'sidecar';
  } catch {
    return false;
  }
};

/**
 * Whether an unpacked folder is a Takeout: a JSON sidecar (one with photoTakenTime) within four
 * levels (Takeout/Google Photos/<album>/x.json seen from the folder above Takeout). Folder names are
 * not looked at: they are localised ("Google Fotos", "Photos from 2019", "Fotos von 2019"...).
 */
async function folderLooksLikeTakeout(dir: string): Promise<boolean> {
  let budget = PROBE_JSON_LIMIT;
  const visit = async (d: string, depth: number): Promise<boolean> => {
    const entries = await fsp.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isFile() || !isJson(e.name) || budget <= 0) continue;
      budget--;
      const abs = path.join(d, e.name);
      if (await looksLikeSidecar({ display: abs, name: e.name, size: 0, mtime: new Date(0), abs })) return true;
    }
    if (depth >= 4) return false;
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && (await visit(path.join(d, e.name), depth + 1))) return true;
    return false;
  };
  return visit(dir, 0);
}

/** Files of an unpacked Takeout (symbolic links and hidden files are left out, never followed). */
async function listFolder(root: string, out: Node[]): Promise<void> {
  const visit = async (dir: string) => {
    // Names as bytes, in their text form: one that is not UTF-8 is imported too (raw-path.ts).
    const entries = (await fsp.readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' })).map((d) => ({ d, name: textFromBytes(d.name) }));
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { d: e, name } of entries) {
      if (name.startsWith('.') || name === '@eaDir' || name === '#recycle' || name === '__MACOSX') continue;
      const abs = path.join(dir, name);
      if (e.isDirectory()) await visit(abs);
      else if (e.isFile()) {
        const st = await fsp.stat(fsPath(abs));
        out.push({ display: abs, name, size: st.size, mtime: st.mtime, abs });
      }
    }
  };
  await visit(root);
}

/**
 * Split the import paths into Takeout sources (zips, and folders with a Takeout's layout or all of
 * them with `force`) and the rest, and read the Takeout. Returns undefined when there is none.
 */
export async function scanTakeout(paths: string[], opts: TakeoutOptions): Promise<{ plain: string[]; scan?: TakeoutScan }> {
  const zips: string[] = [];
  const folders: string[] = [];
  const plain: string[] = [];
  for (const p of paths) {
    const st = fs.statSync(fsPath(p));
    if (st.isFile() && isZip(p)) zips.push(p);
    else if (st.isDirectory() && (opts.force || (await folderLooksLikeTakeout(p)))) folders.push(p);
    else plain.push(p);
  }
  if (!zips.length && !folders.length) return { plain };

  const archives: ZipArchive[] = [];
  const close = () => { for (const a of archives) a.close(); };
  const report: TakeoutReport = { sources: [...zips, ...folders], mediaWithoutSidecar: [], sidecarsWithoutMedia: [], skippedTrashed: [], refused: [], dateConflicts: [], ignored: 0 };
  const ignored = takeoutIgnore(opts.ignore);
  try {
    const nodes: Node[] = [];
    for (const z of zips) {
      let archive: ZipArchive;
      try {
        archive = await ZipArchive.open(z);
      } catch (err) {
        throw new UsageError(`${z}: not a readable zip archive (${errorMessage(err)})`);
      }
      archives.push(archive);
      for (const r of archive.refused) report.refused.push({ path: `${z}/${r.name}`, reason: r.reason });
      const entries = [...archive.entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        // macOS's resource forks (__MACOSX/, ._IMG.jpg) and other hidden files are not media.
        if (entry.name.split('/').some((part) => part.startsWith('.') || part === '__MACOSX')) continue;
        if (ignored?.(entry.name)) {
          report.ignored++;
          continue;
        }
        nodes.push({ display: `${z}/${entry.name}`, name: path.posix.basename(entry.name), size: entry.size, mtime: entry.mtime, zip: { archive, entry } });
      }
    }
    for (const f of folders) {
      const listed: Node[] = [];
      await listFolder(f, listed);
      for (const n of listed) {
        if (ignored?.(path.relative(f, n.abs!).split(path.sep).join('/'))) report.ignored++;
        else nodes.push(n);
      }
    }
    const { scan, sidecars } = await buildScan(nodes, opts, report, close);
    if (!opts.force && zips.length && sidecars === 0) {
      throw new UsageError(`${zips.join(', ')}: not a Google Takeout (no JSON sidecar with photoTakenTime); use --from google-takeout to import its media anyway`);
    }
    return { plain, scan };
  } catch (err) {
    close();
    throw err;
  }
}

/**
 * Group the files by album folder. The parts of one export hold the same folder names
 * (Takeout/Google Photos/<album>/), with a media file and its JSON often in different parts, so the
 * folder is known by its name, whatever part, zip or unpacked copy it is in.
 */
async function buildScan(nodes: Node[], opts: TakeoutOptions, report: TakeoutReport, close: () => void): Promise<{ scan: TakeoutScan; sidecars: number }> {
  let sidecarCount = 0;
  const folders = new Map<string, { media: Node[]; json: Node[] }>();
  for (const n of nodes) {
    const rel = n.zip ? n.zip.entry.name : n.abs!;
    const dir = path.posix.basename(path.posix.dirname(rel.split(path.sep).join('/')));
    const f = folders.get(dir) ?? folders.set(dir, { media: [], json: [] }).get(dir)!;
    if (isJson(n.name)) f.json.push(n);
    else if (isSupported(n.name)) f.media.push(n);
  }

  const items: TakeoutItem[] = [];
  const albums = new Map<string, TakeoutAlbum>();
  for (const [dir, f] of folders) {
    // Two parts holding the same name in one folder: one file (a re-downloaded part given twice).
    const media = uniqueByName(f.media);
    const json = uniqueByName(f.json);
    const sidecars = new Map<string, { title?: string; facts: ExternalFacts; node: Node }>();
    for (const j of json.values()) {
      let value: unknown;
      try {
        value = await readJson(j);
      } catch (err) {
        report.refused.push({ path: j.display, reason: `unreadable JSON: ${errorMessage(err)}` });
        continue;
      }
      const kind = classifyTakeoutJson(value);
      if (kind.kind === 'sidecar') {
        sidecars.set(j.name, { ...kind.sidecar, node: j });
        sidecarCount++;
      }
      else if (kind.kind === 'album' && !albums.has(dir)) albums.set(dir, { title: kind.title ?? dir, ...(kind.description ? { description: kind.description } : {}) });
    }
    const titles = new Map([...sidecars].filter(([, s]) => s.title).map(([n, s]) => [n, s.title!]));
    const match = matchFolder([...media.keys()], [...sidecars.keys()], titles);
    for (const s of match.unclaimed) report.sidecarsWithoutMedia.push(sidecars.get(s)!.node.display);
    for (const [name, node] of media) {
      const sidecarName = match.sidecarOf.get(name);
      const sidecar = sidecarName ? sidecars.get(sidecarName) : undefined;
      if (!sidecar) report.mediaWithoutSidecar.push(node.display);
      if (sidecar?.facts.trashed && !opts.includeTrashed) {
        report.skippedTrashed.push(node.display);
        continue;
      }
      const how = match.how.get(name);
      // The title names this very file only when the sidecar is its own (not an original's or a still's).
      const title = sidecar?.title && (how === 'name' || how === 'title') && path.extname(sidecar.title).toLowerCase() === path.extname(name).toLowerCase()
        ? titleFor(name, sidecar.title)
        : name;
      const zip = node.zip;
      // An edited copy shares its original's sidecar: the original is the media file that owns it.
      const original = how === 'edited'
        ? [...media.keys()].find((m) => m !== name && match.sidecarOf.get(m) === sidecarName && (match.how.get(m) === 'name' || match.how.get(m) === 'title'))
        : undefined;
      items.push({
        path: node.display,
        name: title,
        size: node.size,
        mtime: node.mtime,
        ...(zip ? { extract: (target: string) => zip.archive.extract(zip.entry, target) } : {}),
        ...(sidecar ? { facts: sidecar.facts } : {}),
        album: dir,
        ...(original ? { editOf: media.get(original)!.display } : {}),
      });
    }
  }
  for (const item of items) if (item.album && !albums.has(item.album)) delete item.album;
  items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { scan: { items, albums, report, close }, sidecars: sidecarCount };
}

function uniqueByName(nodes: Node[]): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const n of nodes) if (!out.has(n.name)) out.set(n.name, n);
  return out;
}

/**
 * The name a file gets: the sidecar's title, which is the original name, except that a duplicate's
 * index stays (IMG_1(1).jpg keeps its (1): the title says IMG_1.jpg for both) and a title that is
 * not a plain file name is ignored.
 */
function titleFor(name: string, title: string): string {
  if (title.includes('/') || title.includes('\\') || title === '.' || title === '..') return name;
  const index = /\(\d+\)(?=\.[^.]*$)/.exec(name)?.[0];
  if (index && !title.includes(index)) return name;
  return title;
}
