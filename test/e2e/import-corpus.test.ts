// `immich import` on the shared corpus: every format folder, exact duplicates (labels.json),
// every broken file, thumbnails/previews and web-playable video for what was imported.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, corpusLabels, noteSkip, runCli, tmpDir } from '../helpers/env.js';
import { listFiles, withLibraryDb } from './import-helpers.js';

if (!CORPUS) noteSkip('import-corpus', 'corpus');

describe.skipIf(!CORPUS)('immich import on the corpus', () => {
  const C = CORPUS!;
  const lib = tmpDir();
  let summary: any;
  let stderr: string;
  let code: number;
  let labels: any;
  // The format folders, the duplicates and broken files, the other half of an exact pair, and videos.
  const inputs = () => [path.join(C, 'formats'), path.join(C, 'duplicates'), path.join(C, 'broken'), path.join(C, 'objects/el_torcal_rocks.jpg'), path.join(C, 'video')];

  beforeAll(async () => {
    labels = corpusLabels();
    const r = await runCli(['--json', 'import', '--skip-ml', ...inputs()], { UPLOAD_LOCATION: lib }, { timeoutMs: 240_000 });
    code = r.code;
    stderr = r.stderr;
    summary = JSON.parse(r.stdout);
  }, 240_000);

  const rel = (p: string) => path.relative(C, p);
  const failed = () => new Map<string, any>(summary.failures.map((f: any) => [rel(f.path), f]));

  it('exits 1 with the failures listed, and imports the rest', () => {
    expect(code).toBe(1);
    expect(summary.counts.failed).toBeGreaterThan(0);
    expect(summary.counts.imported).toBeGreaterThan(30);
    const found = inputs().flatMap((p) => (fs.statSync(p).isDirectory() ? listFiles(p).map((f) => path.join(p, f)) : [p]));
    expect(summary.counts.found).toBe(found.length);
    // Every failure is one stderr line naming the file and the cause.
    for (const f of summary.failures) {
      const lines = stderr.split('\n').filter((l) => l.startsWith(`immich: ${f.path}: ${f.stage}: `));
      expect(lines, f.path).toHaveLength(1);
      expect(f.reason.length).toBeGreaterThan(3);
      expect(f.reason).not.toContain('\n');
    }
  });

  it('every file of every format folder is imported or failed cleanly', async () => {
    const formatFiles = listFiles(path.join(C, 'formats')).map((f) => path.join('formats', f));
    const byPath = await withLibraryDb(lib, (db) => db.selectFrom('assets').select(['original_path', 'type', 'mime_type']).execute());
    const imported = new Map(byPath.map((a) => [rel(a.original_path), a]));
    const fails = failed();
    const folders = new Set(formatFiles.map((f) => f.split('/')[1]));
    expect([...folders].sort()).toEqual(['avif', 'gif', 'heic', 'jxl', 'livephoto', 'motionphoto', 'png', 'raw', 'tiff', 'webp']);
    for (const f of formatFiles) {
      expect(imported.has(f) || fails.has(f), f).toBe(true);
      if (fails.has(f)) expect(fails.get(f).reason, f).toMatch(/\S/);
    }
    // Decodable formats make it all the way: imported and thumbnailed.
    for (const f of formatFiles.filter((x) => !x.startsWith('formats/raw/'))) {
      expect(imported.has(f), f).toBe(true);
      expect(fails.has(f), `${f}: ${fails.get(f)?.reason}`).toBe(false);
    }
    expect(imported.get('formats/livephoto/IMG_5195.MOV')?.type).toBe('video');
    expect(imported.get('formats/heic/iphone7_gps_IMG_2682.heic')?.mime_type).toMatch(/image\/hei[cf]/);
  });

  it('exact copies (labels.json duplicates.exact) become one asset; near duplicates stay separate', async () => {
    const dupOf = new Map<string, string>(summary.duplicates.map((d: any) => [rel(d.path), rel(d.of)]));
    const rows = await withLibraryDb(lib, (db) => db.selectFrom('assets').select(['original_path', 'checksum']).execute());
    const imported = new Set(rows.map((r) => rel(r.original_path)));
    for (const group of labels.duplicates.exact as string[][]) {
      const kept = group.filter((f) => imported.has(f));
      expect(kept, group.join(', ')).toHaveLength(1);
      for (const f of group.filter((g) => g !== kept[0])) expect(dupOf.get(f), f).toBe(kept[0]);
    }
    for (const f of labels.duplicates.near[0] as string[]) expect(imported.has(f), f).toBe(true);
    expect(new Set(rows.map((r) => r.checksum)).size).toBe(rows.length);
  });

  it('every broken file is refused with a one-line error, or imported as its label allows', async () => {
    const fails = failed();
    const warned = new Set<string>(summary.warnings.map((w: any) => rel(w.path)));
    const rows = await withLibraryDb(lib, (db) => db.selectFrom('assets').select(['original_path', 'mime_type']).execute());
    const imported = new Map(rows.map((r) => [rel(r.original_path), r]));
    const recorded = await withLibraryDb(lib, (db) => db.selectFrom('import_failures').select(['path', 'stage']).execute());
    const recordedPaths = new Set(recorded.map((r) => rel(r.path)));
    for (const [file, label] of Object.entries(labels.broken as Record<string, string>)) {
      expect(fs.existsSync(path.join(C, file)), file).toBe(true);
      if (/^reject( before decoding)?:/.test(label)) {
        expect(fails.has(file), `${file} (${label})`).toBe(true);
        expect(imported.has(file), file).toBe(false);
        expect(recordedPaths.has(file), file).toBe(true);
      } else if (/^reject or/.test(label)) {
        // Refused, or imported with a warning naming the file.
        expect(fails.has(file) || warned.has(file), `${file} (${label})`).toBe(true);
      } else if (/detect real type/.test(label)) {
        expect(imported.get(file)?.mime_type, file).toBe('image/jpeg');
      } else {
        expect(fails.has(file) || imported.has(file), `${file} (${label})`).toBe(true);
      }
    }
    for (const w of summary.warnings) {
      const lines = stderr.split('\n').filter((l) => l.startsWith(`immich: warning: ${w.path}: `));
      expect(lines, w.path).toHaveLength(1);
    }
    // Decompression bombs are refused before decoding (the probe stage), not by running out of memory.
    expect(fails.get('broken/bomb_65536x65536.png')?.stage).toBe('probe');
    expect(fails.get('broken/bomb_header_65500x65500.jpg')?.stage).toBe('probe');
  });

  it('thumbnails and previews exist for every thumbnailed asset; videos that need it are transcoded', async () => {
    await withLibraryDb(lib, async (db) => {
      const done = await db
        .selectFrom('asset_job_status')
        .select('asset_id')
        .where('stage', '=', 'thumbnails')
        .where('status', '=', 'done')
        .execute();
      expect(done.length).toBe(summary.stages.thumbnails.done);
      const files = await db.selectFrom('asset_files').select(['asset_id', 'kind', 'path']).execute();
      for (const { asset_id } of done) {
        const thumb = files.find((f) => f.asset_id === asset_id && f.kind === 'thumbnail');
        const preview = files.find((f) => f.asset_id === asset_id && f.kind === 'preview');
        expect(thumb && preview, asset_id).toBeTruthy();
        const t = fs.readFileSync(path.join(lib, thumb!.path));
        const p = fs.readFileSync(path.join(lib, preview!.path));
        expect(t.subarray(8, 12).toString('latin1')).toBe('WEBP');
        expect([p[0], p[1]]).toEqual([0xff, 0xd8]);
      }
      const encoded = files.filter((f) => f.kind === 'encoded_video');
      expect(encoded.length).toBe(summary.stages.video.done);
      expect(encoded.length).toBeGreaterThan(0);
      for (const e of encoded) expect(fs.existsSync(path.join(lib, e.path))).toBe(true);
    });
    expect(listFiles(lib).filter((f) => path.basename(f).startsWith('.immich-tmp-'))).toEqual([]);
  });
});
