// XMP sidecar write-back with exiftool: the fields Immich writes, merged into an existing sidecar
// (fields we do not know are kept), written atomically. Originals are never touched.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { ExifTool, WriteTags } from 'exiftool-vendored';
import { TMP_MARK } from '../storage/atomic.js';
import { fsPath } from '../storage/raw-path.js';
import { syncFs } from '../storage/syncfs.js';

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

export interface SidecarWrite {
  /** Absolute path of the sidecar. */
  target: string;
  fields: XmpFields;
}

export type SidecarWriteResult = { mtime: Date; size: number } | { error: unknown };

/** Files made durable and renamed together (at most): bounds the open descriptors of one commit. */
const COMMIT_BATCH = 256;
/** Temp files gathered before a commit while writers are still busy. */
const MIN_COMMIT = 64;

/**
 * Write many sidecars, each atomically and durably, with exiftool kept busy:
 *
 * - `concurrency` writers (more than exiftool's processes, so one always has its next file queued)
 *   each let exiftool write the new content to a temp file beside the target: an existing sidecar
 *   is read by exiftool itself and written merged to the temp file (`-o`: fields we do not know are
 *   kept, the target is untouched until the rename); a new one is created from our fields alone.
 *   The temp file's name ends in .xmp so exiftool knows the format, and starts with TMP_MARK so
 *   cleaners know it.
 * - One committer takes the temp files written so far, fsyncs them together (the filesystem
 *   commits concurrent syncs in one journal commit, where one fsync per file waits for a commit
 *   each), renames each over its target, then fsyncs each folder once. A file takes its name only
 *   after its content is on disk; the result (mtime, size) is known only after the rename is.
 *
 * Results are in the order of `writes`; a failure (read-only folder, disk full, a sidecar exiftool
 * cannot parse) is that file's result, the others go on. `onDone` is called as each file finishes.
 */
export async function writeXmpSidecars(
  et: ExifTool,
  writes: SidecarWrite[],
  opts: { concurrency: number; onDone?: (index: number) => void; procs?: number },
): Promise<SidecarWriteResult[]> {
  if (opts.procs && writes.length >= ARGFILE_MIN * opts.procs) return writeWithArgfiles(writes, opts.procs, opts.onDone);
  const results: SidecarWriteResult[] = new Array(writes.length);
  const fail = (i: number, error: unknown) => {
    results[i] = { error };
    opts.onDone?.(i);
  };
  const folders = new Map<string, Promise<unknown>>();
  const committer = startCommitter(writes, results, opts.onDone);
  let next = 0;
  const writer = async () => {
    while (next < writes.length) {
      const i = next++;
      const { target, fields } = writes[i]!;
      const dir = path.dirname(target);
      try {
        let made = folders.get(dir);
        if (!made) folders.set(dir, (made = fsp.mkdir(fsPath(dir), { recursive: true })));
        await made;
        committer.add({ i, tmp: await writeTemp(et, target, fields) });
      } catch (err) {
        fail(i, err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, writes.length)) }, writer));
  } finally {
    await committer.finish();
  }
  return results;
}

/** Files per exiftool process from which a batch goes through argfiles instead of the warm processes. */
const ARGFILE_MIN = 16;

const requireCjs = createRequire(import.meta.url);

/**
 * Many sidecars at once, the way exiftool is fastest: `procs` exiftool processes, each given its share
 * as one argfile with one command (`-execute`) per file: no round trip and no idle exiftool between
 * files, which through exiftool-vendored's warm processes cost about a third of the time (each task
 * waits for Node to read its answer and send the next). The arguments per file are exactly those of
 * exiftool-vendored's write (the same value encoding). A file exiftool did not write (it says why on
 * stderr) fails alone; then the temp files are made durable and renamed as in writeXmpSidecars.
 */
async function writeWithArgfiles(writes: SidecarWrite[], procs: number, onDone?: (index: number) => void): Promise<SidecarWriteResult[]> {
  const results: SidecarWriteResult[] = new Array(writes.length);
  const fail = (i: number, error: unknown) => {
    results[i] = { error };
    onDone?.(i);
  };
  const { exiftoolPath } = requireCjs('exiftool-vendored') as typeof import('exiftool-vendored');
  const { WriteTask } = requireCjs('exiftool-vendored/dist/WriteTask.js') as { WriteTask: { for(file: string, tags: WriteTags, o: object): { args: string[] } } };
  const dirs = new Map<string, Promise<unknown>>();
  for (const w of writes) {
    const dir = path.dirname(w.target);
    if (!dirs.has(dir)) dirs.set(dir, fsp.mkdir(dir, { recursive: true }).then(() => undefined, (err: unknown) => err));
  }
  const jobs: Array<{ i: number; tmp: string; args: string[] }> = [];
  await Promise.all(
    writes.map(async ({ target, fields }, i) => {
      const dirErr = await dirs.get(path.dirname(target));
      if (dirErr) return fail(i, dirErr);
      try {
        const exists = await fsp.lstat(target).then(() => true, (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return false;
          throw err;
        });
        const tmp = path.join(path.dirname(target), `${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}.xmp`);
        const tags = xmpTags(fields);
        if (!exists) for (const k of Object.keys(tags)) if (tags[k] === null) delete tags[k];
        const task = exists
          ? WriteTask.for(target, tags as WriteTags, { writeArgs: ['-o', tmp], useMWG: false })
          : WriteTask.for(tmp, tags as WriteTags, { writeArgs: ['-overwrite_original'], useMWG: false });
        if (task.args.some((a) => /[\r\n]/.test(a))) throw new Error('a value with a line break reached the argument file');
        jobs.push({ i, tmp, args: task.args });
      } catch (err) {
        fail(i, err);
      }
    }),
  );
  const bin = await exiftoolPath();
  const env = { LANG: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin', ...(process.env.EXIFTOOL_HOME ? { EXIFTOOL_HOME: process.env.EXIFTOOL_HOME } : {}) };
  const per = Math.ceil(jobs.length / procs);
  const stderr: string[] = [];
  const errorFor = (j: { tmp: string; i: number }) =>
    stderr.length ? stderr.join('').split('\n').find((l) => /^Error/i.test(l) && (l.includes(j.tmp) || l.includes(writes[j.i]!.target))) : undefined;
  const committer = startCommitter(writes, results, onDone);
  const handled = new Set<number>();
  const marked = new Set<number>();
  // exiftool prints "@@immich-done <k>" on stderr after its k-th command (-echo4): that file is
  // finished, and an error it reported for it came before, on the same stream
  const finished = (j: { i: number; tmp: string }) =>
    new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      if (handled.has(j.i)) return;
      handled.add(j.i);
      const said = errorFor(j);
      // marked and no error: written (a missing file still fails its commit's open)
      if (!said && marked.has(j.i)) return committer.add(j);
      const made = !said && (await fsp.stat(j.tmp).then((st) => st.isFile(), () => false));
      if (made) return committer.add(j);
      await fsp.rm(j.tmp, { force: true }).catch(() => undefined);
      fail(j.i, new Error(said ?? `exiftool did not write ${writes[j.i]!.target}`));
    });
  const checks: Promise<void>[] = [];
  try {
    await Promise.all(
      Array.from({ length: procs }, async (_, p) => {
        const share = jobs.slice(p * per, (p + 1) * per);
        if (!share.length) return;
        const argfile = path.join(os.tmpdir(), `${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}.args`);
        // -echo4: the mark goes to stderr, which Perl does not buffer (stdout comes in 4 KB blocks)
        await fsp.writeFile(argfile, share.map((j, k) => [...j.args, '-echo4', `@@immich-done ${k}`, '-execute'].join('\n')).join('\n') + '\n');
        try {
          await new Promise<void>((resolve) => {
            const child = spawn(bin, ['-@', argfile], { stdio: ['ignore', 'ignore', 'pipe'], env });
            let out = '';
            child.stderr.setEncoding('utf8');
            child.stderr.on('data', (d: string) => {
              out += d;
              const lines = out.split('\n');
              out = lines.pop()!;
              for (const l of lines) {
                const m = /^@@immich-done (\d+)$/.exec(l.trim());
                const j = m ? share[Number(m[1])] : undefined;
                if (!j) {
                  stderr.push(`${l}\n`);
                  continue;
                }
                marked.add(j.i);
                checks.push(finished(j));
              }
            });
            child.on('error', (err) => {
              stderr.push(`${err.message}\n`);
              resolve();
            });
            child.on('close', () => {
              if (out) stderr.push(out);
              resolve();
            });
          });
        } finally {
          await fsp.rm(argfile, { force: true });
        }
        // files without their mark (exiftool stopped early): what it said, or not written
        for (const j of share) checks.push(finished(j));
      }),
    );
    await Promise.all(checks);
  } finally {
    await committer.finish();
  }
  return results;
}

/**
 * The committer of a batch: temp files are added as exiftool finishes them; it commits them in
 * batches of at least MIN_COMMIT while more are coming (fewer, fuller journal commits), the rest
 * once finish() is called, which resolves when all are committed.
 */
function startCommitter(writes: SidecarWrite[], results: SidecarWriteResult[], onDone?: (index: number) => void) {
  const ready: Array<{ i: number; tmp: string }> = [];
  let wake: (() => void) | undefined;
  let adding = true;
  const run = async () => {
    for (;;) {
      if (ready.length < (adding ? MIN_COMMIT : 1)) {
        // each folder synced once, at the end: the results are returned (and recorded) only after it
        if (!adding) return syncDirs(dirs);
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const batch = ready.splice(0, COMMIT_BATCH);
      await commit(batch.map((b) => ({ ...b, target: writes[b.i]!.target })), results, dirs);
      for (const b of batch) onDone?.(b.i);
    }
  };
  const dirs = new Set<string>();
  const done = run();
  return {
    add(item: { i: number; tmp: string }) {
      ready.push(item);
      wake?.();
    },
    async finish() {
      adding = false;
      wake?.();
      await done;
    },
  };
}

/** exiftool writes the sidecar's new content to a temp file beside `target`; returns its path. */
async function writeTemp(et: ExifTool, target: string, fields: XmpFields): Promise<string> {
  const tmp = path.join(path.dirname(target), `${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}.xmp`);
  // (The sidecar of an in-place original whose name is not UTF-8 is read and renamed by its bytes,
  // raw-path.ts; exiftool only ever sees the UTF-8 temp name then.)
  const byBytes = typeof fsPath(target) !== 'string';
  const exists = await fsp.lstat(fsPath(target)).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  const tags = xmpTags(fields);
  try {
    if (exists && byBytes) {
      await fsp.copyFile(fsPath(target), tmp);
      await et.write(tmp, tags as WriteTags, { writeArgs: ['-overwrite_original'], useMWG: false });
    } else if (exists) {
      // merged: exiftool reads the target and writes the result to tmp (-o), the target unchanged
      await et.write(target, tags as WriteTags, { writeArgs: ['-o', tmp], useMWG: false });
    } else {
      // exiftool creates a sidecar only for fields with a value
      for (const k of Object.keys(tags)) if (tags[k] === null) delete tags[k];
      await et.write(tmp, tags as WriteTags, { writeArgs: ['-overwrite_original'], useMWG: false });
    }
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  return tmp;
}

/** Make temp files durable together, rename each over its target; the folders renamed into are added to `dirs`. */
async function commit(batch: Array<{ i: number; tmp: string; target: string }>, results: SidecarWriteResult[], dirs: Set<string>): Promise<void> {
  // Many files: one syncfs per filesystem after all are written, instead of an fdatasync each (the
  // per-file syncs kept the writer at 0.67 of standalone exiftool on 2 cores). Few: fdatasync each.
  const bulk = batch.length >= BULK_SYNC;
  const devs = new Map<number, string>();
  const synced = await Promise.all(
    batch.map(async (b) => {
      try {
        const fh = await fsp.open(b.tmp, 'r+');
        try {
          if (bulk) {
            const st = await fh.stat();
            if (!devs.has(st.dev)) devs.set(st.dev, path.dirname(b.tmp));
            return { ...b, mtime: st.mtime, size: st.size };
          }
          await fh.datasync();
          // the mtime and size the file keeps after the rename
          const st = await fh.stat();
          return { ...b, mtime: st.mtime, size: st.size };
        } finally {
          await fh.close();
        }
      } catch (err) {
        results[b.i] = { error: err };
        await fsp.rm(b.tmp, { force: true }).catch(() => undefined);
        return undefined;
      }
    }),
  );
  if (bulk) {
    const ok = await Promise.all([...devs.values()].map((dir) => syncFs(dir)));
    // no syncfs here (or a folder name it cannot take): the files one by one
    if (!ok.every(Boolean)) {
      await Promise.all(synced.map(async (b) => {
        if (!b) return;
        const fh = await fsp.open(b.tmp, 'r+');
        await fh.datasync().finally(() => fh.close());
      }));
    }
  }
  const renamed = await Promise.all(
    synced.map(async (b) => {
      if (!b) return undefined;
      try {
        await fsp.rename(b.tmp, fsPath(b.target));
        return b;
      } catch (err) {
        results[b.i] = { error: err };
        await fsp.rm(b.tmp, { force: true }).catch(() => undefined);
        return undefined;
      }
    }),
  );
  for (const b of renamed) {
    if (!b) continue;
    dirs.add(path.dirname(b.target));
    results[b.i] = { mtime: b.mtime, size: b.size };
  }
}

const BULK_SYNC = 16;

/** fsync each folder once (many folders: one syncfs per filesystem): the renames into them are then durable. */
async function syncDirs(dirs: Set<string>): Promise<void> {
  if (dirs.size >= BULK_SYNC) {
    const devs = new Map<number, string>();
    for (const dir of dirs) {
      const st = await fsp.stat(fsPath(dir)).catch(() => undefined);
      if (st && !devs.has(st.dev)) devs.set(st.dev, dir);
    }
    if ((await Promise.all([...devs.values()].map((dir) => syncFs(dir)))).every(Boolean)) return;
  }
  await Promise.all(
    [...dirs].map(async (dir) => {
      const dfh = await fsp.open(fsPath(dir), 'r').catch(() => undefined);
      if (dfh) await dfh.sync().catch(() => undefined).finally(() => dfh.close());
    }),
  );
}

/**
 * Write `fields` into the sidecar at `target` (merged into an existing one), atomically and durably:
 * one file of writeXmpSidecars. Returns the new file's mtime and size.
 */
export async function writeXmpSidecar(et: ExifTool, target: string, fields: XmpFields): Promise<{ mtime: Date; size: number }> {
  const [r] = await writeXmpSidecars(et, [{ target, fields }], { concurrency: 1 });
  if ('error' in r!) throw r.error;
  return r as { mtime: Date; size: number };
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
