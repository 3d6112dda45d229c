// The export state kept in the destination: which file was written from which asset version.
//
// Two files: `.immich-export.json` (a snapshot, replaced atomically at the end of a run) and
// `.immich-export.log` (one line per file written or removed since that snapshot). A file's line is
// appended BEFORE the file takes its final name, so a run killed at any point leaves no file under a
// final name that the state does not know. The lines are not fsynced one by one: the run flushes its
// files once, then commits the snapshot and drops the log. A log found on load is an uncommitted
// run: each file it names is re-verified (size, then SHA-1) before it is trusted; one that never
// appeared is dropped, and one that appeared damaged (a crash before the flush) is written again
// under its name. The log is folded into the snapshot when a run ends (even on a full disk).
//
// `export --no-flush` commits the snapshot without waiting for the files to reach the disk, as `cp`
// does. The snapshot then names those files with the kernel's boot id: data in the page cache
// outlives any process, so only a restart (power loss, a crash of the machine) can lose it. A run
// that finds another boot id re-verifies each of them (size, then SHA-1) like a log's files.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../storage/atomic.js';
import { sha1File } from '../../storage/checksum.js';

export const STATE_FILE = '.immich-export.json';
export const STATE_LOG = '.immich-export.log';
const STATE_KIND = 'immich-export';

export type ExportedKind = 'original' | 'live' | 'sidecar';

export interface ExportedFile {
  /** Relative to the destination, '/'-separated. */
  path: string;
  assetId: string;
  kind: ExportedKind;
  /** The path the templates gave before a collision suffix: the same asset keeps its numbered name. */
  base: string;
  /** The asset version it was made from. */
  checksum: string;
  editedAt: string | null;
  /** How it was made ('copy', 'link', 'convert:jpeg:90', 'embed', 'xmp', 'json'). */
  variant: string;
  /** Short hash of the path-shaping options it was placed under (see ExportState.layout). */
  layout: string;
  /** Fingerprint of what its asset's path used besides the asset (album paths, names...; fingerprint.ts). */
  pathDeps?: string;
  /** Fingerprint of what its bytes used besides the asset (people, tags... for embed and sidecars). */
  deps?: string;
  /** SHA-1 and size of the file as written: --cleanup removes only a file that still has them. */
  sha1: string;
  size: number;
  /** Set on load for a logged file found without its bytes after a crash: written again. */
  damaged?: boolean;
}

export interface ExportState {
  files: Map<string, ExportedFile>;
  /** A log was found: the last run ended before committing; its files are not known durable. */
  uncommitted?: boolean;
  /** Files written by --no-flush runs in this boot that no flush has covered since. */
  unflushed?: Set<string>;
  /** Loading changed the state (unflushed files re-verified after a restart): save it. */
  changed?: boolean;
}

/** The kernel's id of this boot (Linux); undefined where there is none. */
export function bootId(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A file as logged or listed: is it there with those bytes (a regular file, its size, its SHA-1)? */
async function holds(abs: string, f: ExportedFile): Promise<'ok' | 'damaged' | 'gone'> {
  const st = await fsp.lstat(abs).catch(() => undefined);
  if (!st?.isFile()) return 'gone';
  return st.size === f.size && (await sha1File(abs)) === f.sha1 ? 'ok' : 'damaged';
}

/**
 * Version 2 keeps each file as an array in FIELDS order, with null for a value it can derive (sha1
 * = checksum for a plain copy, base = path without a collision number) and trailing nulls dropped:
 * 100k files are ~11 MB instead of ~28 MB of objects, and parse ~3x faster (--update reads it all).
 * Version 1 (an object per file) is still read.
 */
type Snapshot =
  | { kind: typeof STATE_KIND; version: 1; files: ExportedFile[] }
  | { kind: typeof STATE_KIND; version: 2; fields: typeof FIELDS; files: Row[]; unflushed?: Unflushed };

/** Files committed by --no-flush runs before any flush covered them, and the boot they were written in. */
interface Unflushed {
  bootId: string;
  paths: string[];
}

const FIELDS = ['path', 'assetId', 'checksum', 'size', 'kind', 'variant', 'layout', 'sha1', 'base', 'editedAt', 'pathDeps', 'deps', 'damaged'] as const;
type Row = [string, string, string, number, ExportedKind, string, string, (string | null)?, (string | null)?, (string | null)?, (string | null)?, (string | null)?, (true | null)?];

function toRow(f: ExportedFile): Row {
  const row: Row = [
    f.path, f.assetId, f.checksum, f.size, f.kind, f.variant, f.layout,
    f.sha1 === f.checksum ? null : f.sha1, f.base === f.path ? null : f.base, f.editedAt, f.pathDeps ?? null, f.deps ?? null, f.damaged ? true : null,
  ];
  while (row.length > 7 && row[row.length - 1] === null) row.pop();
  return row;
}

function fromRow(r: Row): ExportedFile {
  const f: ExportedFile = {
    path: r[0], assetId: r[1], checksum: r[2], size: r[3], kind: r[4], variant: r[5], layout: r[6], sha1: r[7] ?? r[2], base: r[8] ?? r[0], editedAt: r[9] ?? null,
  };
  if (r[10]) f.pathDeps = r[10];
  if (r[11]) f.deps = r[11];
  if (r[12]) f.damaged = true;
  return f;
}

/** The files a snapshot lists, whatever its version. */
export function snapshotFiles(parsed: Snapshot): ExportedFile[] {
  if (parsed.version === 1) return parsed.files;
  if (parsed.version === 2 && parsed.fields.join() === FIELDS.join()) return parsed.files.map(fromRow);
  throw new Error(`version ${String((parsed as { version: unknown }).version)} is not known to this immich`);
}

export function emptyState(): ExportState {
  return { files: new Map() };
}

/** Read the snapshot and replay the log. A destination without state is an empty state. */
export async function loadState(dest: string): Promise<ExportState> {
  const state = emptyState();
  const snap = path.join(dest, STATE_FILE);
  if (fs.existsSync(snap)) {
    let parsed: Snapshot;
    try {
      parsed = JSON.parse(await fsp.readFile(snap, 'utf8')) as Snapshot;
    } catch (err) {
      throw new Error(`${snap}: not a readable export state (${(err as Error).message})`);
    }
    if (parsed.kind !== STATE_KIND) throw new Error(`${snap} is not an export state file`);
    let files: ExportedFile[];
    try {
      files = snapshotFiles(parsed);
    } catch (err) {
      throw new Error(`${snap}: ${(err as Error).message}`);
    }
    for (const f of files) state.files.set(f.path, f);
    const un = parsed.version === 2 ? parsed.unflushed : undefined;
    if (un?.paths.length) {
      if (un.bootId === bootId()) state.unflushed = new Set(un.paths);
      else {
        // The machine restarted since: what was only in its memory may be lost. Each file is
        // checked; a damaged one is written again under its name, a missing one leaves the state.
        for (const p of un.paths) {
          const f = state.files.get(p);
          if (!f) continue;
          const got = await holds(path.join(dest, p), f);
          if (got === 'gone') state.files.delete(p);
          else if (got === 'damaged') state.files.set(p, { ...f, damaged: true });
        }
        state.changed = true;
      }
    }
  }
  const log = path.join(dest, STATE_LOG);
  if (fs.existsSync(log)) {
    state.uncommitted = true;
    const lines = (await fsp.readFile(log, 'utf8')).split('\n');
    for (const line of lines) {
      if (!line.trim()) continue;
      let rec: { put?: ExportedFile; del?: string };
      try {
        rec = JSON.parse(line);
      } catch {
        continue; // a line torn by a kill: its file never took its final name
      }
      if (rec.put) {
        // Logged before the rename: the file is ours only if it is there with the logged bytes (a
        // kill between the line and the rename can leave the previous version under that name).
        const abs = path.join(dest, rec.put.path);
        const st = await fsp.lstat(abs).catch(() => undefined);
        if (st?.isFile() && st.size === rec.put.size && (await sha1File(abs)) === rec.put.sha1) state.files.set(rec.put.path, rec.put);
        // A name nothing held when the run chose it, now empty or of the logged size with other
        // bytes: the rename reached the disk and the data did not (a crash before the flush). It is
        // this tool's file; written again under the same name instead of numbered around.
        else if (st?.isFile() && !state.files.has(rec.put.path) && (st.size === 0 || st.size === rec.put.size)) {
          state.files.set(rec.put.path, { ...rec.put, damaged: true });
        }
      } else if (rec.del) state.files.delete(rec.del);
    }
  }
  return state;
}

/**
 * Appends log lines (a line stands for a file that is about to appear). Written before the rename,
 * so a killed process leaves the line in the page cache; not fsynced (see the top of this file).
 */
export class StateLog {
  private fh?: fsp.FileHandle;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly dest: string) {}

  private async write(rec: unknown): Promise<void> {
    this.fh ??= await fsp.open(path.join(this.dest, STATE_LOG), 'a');
    await this.fh.write(`${JSON.stringify(rec)}\n`);
  }

  /** Lines are written one at a time, in call order. */
  append(rec: { put: ExportedFile } | { del: string }): Promise<void> {
    const next = this.chain.then(() => this.write(rec));
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.fh?.close();
    this.fh = undefined;
  }
}

/** Fold the log into a new snapshot, then drop the log. */
export async function saveState(dest: string, state: ExportState): Promise<void> {
  const files = [...state.files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const snap: Snapshot = { kind: STATE_KIND, version: 2, fields: FIELDS, files: files.map(toRow) };
  const boot = bootId();
  const unflushed = [...(state.unflushed ?? [])].filter((p) => state.files.has(p)).sort();
  if (unflushed.length && boot) snap.unflushed = { bootId: boot, paths: unflushed };
  await writeFileAtomic(path.join(dest, STATE_FILE), JSON.stringify(snap));
  await fsp.rm(path.join(dest, STATE_LOG), { force: true });
}
