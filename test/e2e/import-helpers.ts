// Shared by the import suites: sharp-made fixtures, and a snapshot of a library (rows, files on
// disk) that is independent of asset ids, so two libraries built from the same input compare equal.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { TMP_MARK } from '../../src/storage/atomic.js';

/** A small image of one colour with a noisy stripe, so every (colour, seed) gives different bytes. */
export async function makeImage(
  file: string,
  opts: { color: string; format?: 'jpeg' | 'png' | 'webp'; date?: string; width?: number; height?: number; seed?: number },
): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const width = opts.width ?? 64;
  const height = opts.height ?? 48;
  const noise = Buffer.alloc(width * 4 * 3);
  let x = (opts.seed ?? 1) * 2654435761;
  for (let i = 0; i < noise.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    noise[i] = x >>> 24;
  }
  let img = sharp({ create: { width, height, channels: 3, background: opts.color } }).composite([
    { input: noise, raw: { width, height: 4, channels: 3 }, top: 0, left: 0 },
  ]);
  if (opts.date) img = img.withExif({ IFD0: { Make: 'ImmichTest', Model: 'Fixture' }, IFD2: { DateTimeOriginal: opts.date } });
  const format = opts.format ?? 'jpeg';
  img = format === 'png' ? img.png() : format === 'webp' ? img.webp() : img.jpeg({ quality: 80 });
  await img.toFile(file);
}

/** Files under root/sub, relative to root/sub, sorted. */
export function listFiles(root: string, sub = ''): string[] {
  const base = path.join(root, sub);
  const out: string[] = [];
  const visit = (rel: string) => {
    const dir = path.join(base, rel);
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) visit(child);
      else out.push(child);
    }
  };
  visit('');
  return out.sort();
}

/** Open the database of a library (embedded, or PostgreSQL when `env` names one) after a run. */
export async function withLibraryDb<T>(
  lib: string,
  fn: (db: Awaited<ReturnType<typeof openDatabase>>['db']) => Promise<T>,
  env: Record<string, string> = {},
): Promise<T> {
  const database = await openDatabase(loadConfig({ env: { UPLOAD_LOCATION: lib, ...env }, cwd: lib }).database, { command: 'test' });
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}

export interface LibrarySnapshot {
  assets: Array<Record<string, unknown>>;
  assetFiles: string[];
  stages: string[];
  exifRows: number;
  failures: string[];
  uploads: string[];
  derived: string[];
  tempFiles: string[];
}

/** Everything a user would notice about a library, with asset ids replaced by checksums. */
export async function snapshot(lib: string): Promise<LibrarySnapshot> {
  return withLibraryDb(lib, async (db) => {
    const assets = await db
      .selectFrom('assets')
      .select(['id', 'checksum', 'library_path', 'storage_mode', 'type', 'mime_type', 'file_size', 'taken_at', 'local_taken_at', 'width', 'height', 'thumbhash'])
      .orderBy('checksum')
      .execute();
    const idToSum = new Map(assets.map((a) => [a.id, a.checksum]));
    const swap = (s: string) => s.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => idToSum.get(id) ?? `?${id}`);
    const files = await db.selectFrom('asset_files').select(['asset_id', 'kind', 'path', 'width', 'height']).execute();
    const stages = await db.selectFrom('asset_job_status').select(['asset_id', 'stage', 'status']).execute();
    const exif = await db.selectFrom('exif').select('asset_id').execute();
    const failures = await db.selectFrom('import_failures').select(['path', 'stage']).execute();
    // Derived files live under thumbs/ab/cd/<id>...: compare by checksum, not by folder.
    const derived = [...listFiles(lib, 'thumbs'), ...listFiles(lib, 'encoded')].map((p) => swap(path.basename(p))).sort();
    return {
      assets: assets.map(({ id: _id, taken_at, ...a }) => ({ ...a, taken_at: taken_at ? new Date(taken_at).toISOString() : null })),
      assetFiles: files.map((f) => `${idToSum.get(f.asset_id)} ${f.kind} ${swap(path.basename(f.path))} ${f.width}x${f.height}`).sort(),
      stages: stages.map((s) => `${idToSum.get(s.asset_id)} ${s.stage} ${s.status}`).sort(),
      exifRows: exif.length,
      failures: failures.map((f) => `${f.path} ${f.stage}`).sort(),
      uploads: listFiles(lib, 'uploads'),
      derived,
      tempFiles: listFiles(lib).filter((p) => path.basename(p).startsWith(TMP_MARK) && !p.startsWith('database')),
    };
  });
}
