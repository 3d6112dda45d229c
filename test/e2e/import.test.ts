// `immich import` on self-made fixtures: excludes, --ignore, duplicates (library and batch), the
// date layout, --dry-run, --move, --in-place, --json shape, bad files and exit codes 0/1/2.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TMP_MARK } from '../../src/storage/atomic.js';
import { createPgDatabase, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

const SKIP_ML = ['--skip-ml'];

async function fixtures(): Promise<string> {
  const src = tmpDir('immich-import-src-');
  await makeImage(path.join(src, 'red.jpg'), { color: '#c03030', date: '2019:07:04 12:00:00' });
  await makeImage(path.join(src, 'green.png'), { color: '#30c030', format: 'png' });
  await makeImage(path.join(src, 'trip/blue.webp'), { color: '#3030c0', format: 'webp' });
  await makeImage(path.join(src, 'trip/day2/yellow.jpg'), { color: '#c0c030', date: '2019:07:05 09:30:00' });
  // Same name and date as red.jpg, other content: gets a +1 suffix.
  await makeImage(path.join(src, 'trip/red.jpg'), { color: '#c03030', date: '2019:07:04 18:00:00', seed: 7 });
  // Byte copy of red.jpg: a duplicate within the batch.
  fs.copyFileSync(path.join(src, 'red.jpg'), path.join(src, 'trip/day2/red-copy.jpg'));
  // Never imported by default.
  await makeImage(path.join(src, '.hidden.jpg'), { color: '#101010' });
  await makeImage(path.join(src, '.cache/inside.jpg'), { color: '#202020' });
  await makeImage(path.join(src, '@eaDir/red.jpg/SYNOPHOTO_THUMB_XL.jpg'), { color: '#303030' });
  await makeImage(path.join(src, '#recycle/old.jpg'), { color: '#404040' });
  await makeImage(path.join(src, '._red.jpg'), { color: '#505050' });
  fs.writeFileSync(path.join(src, '.DS_Store'), 'mac');
  fs.writeFileSync(path.join(src, 'notes.txt'), 'not media');
  await makeImage(path.join(src, 'drafts/draft.jpg'), { color: '#606060' });
  return src;
}

describe('immich import (fixtures)', () => {
  let src: string;
  // --move and --in-place run against the machine's PostgreSQL: both backends are exercised.
  const dbs: Array<() => Promise<void>> = [];
  const pgLibrary = async () => {
    const { name, drop } = await createPgDatabase('immich_import');
    dbs.push(drop);
    return pgEnv(name);
  };
  beforeAll(async () => {
    src = await fixtures();
  });
  afterAll(async () => {
    for (const drop of dbs) await drop();
  });

  it('--dry-run reports what would happen and writes nothing', async () => {
    const lib = path.join(tmpDir(), 'library');
    const r = await runCli(['--json', 'import', '--dry-run', '--ignore', 'drafts', src], { UPLOAD_LOCATION: lib });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.dryRun).toBe(true);
    expect(s.counts).toMatchObject({ found: 6, imported: 5, duplicates: 1, failed: 0 });
    expect(s.duplicates).toEqual([{ path: path.join(src, 'trip/day2/red-copy.jpg'), of: path.join(src, 'red.jpg') }]);
    expect(fs.existsSync(lib)).toBe(false);
  });

  describe('copy (default) into one library', () => {
    let lib: string;
    let first: any;
    beforeAll(async () => {
      lib = tmpDir();
      const r = await runCli(['--json', 'import', ...SKIP_ML, '--ignore', 'drafts', '-j', '2', src], { UPLOAD_LOCATION: lib });
      expect(r.code, r.stderr).toBe(0);
      first = JSON.parse(r.stdout);
    });

    it('imports by date, dedupes within the batch, leaves out junk and --ignore matches', async () => {
      expect(first.counts).toEqual({ found: 6, imported: 5, duplicates: 1, failed: 0, knownFailures: 0, skipped: expect.any(Number), resumed: 0 });
      expect(first.counts.skipped).toBeGreaterThanOrEqual(7);
      expect(first.skippedByReason).toMatchObject({ hidden: 2, excluded: 4, unsupported: 1, ignored: 1 });
      expect(first.failures).toEqual([]);
      expect(first.duplicates).toEqual([{ path: path.join(src, 'trip/day2/red-copy.jpg'), of: path.join(src, 'red.jpg') }]);
      const uploads = listFiles(lib, 'uploads');
      expect(uploads).toContain('2019/2019-07-04/red.jpg');
      expect(uploads).toContain('2019/2019-07-04/red+1.jpg');
      expect(uploads).toContain('2019/2019-07-05/yellow.jpg');
      expect(uploads).toHaveLength(5);
      expect(uploads.some((u) => /hidden|inside|SYNOPHOTO|old|draft|\._/.test(u))).toBe(false);
      // Walk order decides: the top-level red.jpg keeps the plain name.
      expect(fs.readFileSync(path.join(lib, 'uploads/2019/2019-07-04/red.jpg'))).toEqual(fs.readFileSync(path.join(src, 'red.jpg')));
      // Sources stay in copy mode.
      expect(fs.existsSync(path.join(src, 'red.jpg'))).toBe(true);
      expect(listFiles(lib).some((p) => path.basename(p).startsWith(TMP_MARK))).toBe(false);
    });

    it('records rows, metadata, stage status and thumbnails/previews', async () => {
      expect(first.stages.metadata).toMatchObject({ done: 5, failed: 0 });
      expect(first.stages.thumbnails).toMatchObject({ done: 5, failed: 0 });
      // --skip-ml: no ML stage was queued.
      expect(Object.keys(first.stages).sort()).toEqual(['metadata', 'thumbnails']);
      await withLibraryDb(lib, async (db) => {
        const assets = await db.selectFrom('assets').selectAll().orderBy('library_path').execute();
        expect(assets).toHaveLength(5);
        for (const a of assets) {
          expect(a.checksum).toMatch(/^[0-9a-f]{40}$/);
          expect(a.storage_mode).toBe('copy');
          expect(fs.existsSync(path.join(lib, a.library_path))).toBe(true);
          expect([a.width, a.height]).toEqual([64, 48]);
        }
        const red = assets.find((a) => a.library_path === 'uploads/2019/2019-07-04/red.jpg')!;
        expect(red.original_path).toBe(path.join(src, 'red.jpg'));
        expect(red.mime_type).toBe('image/jpeg');
        expect(String(red.local_taken_at instanceof Date ? red.local_taken_at.toISOString() : red.local_taken_at)).toMatch(/^2019-07-04T12:00:00/);
        const exif = await db.selectFrom('exif').select(['asset_id', 'make']).where('asset_id', '=', red.id).executeTakeFirstOrThrow();
        expect(exif.make).toBe('ImmichTest');
        const files = await db.selectFrom('asset_files').selectAll().execute();
        expect(files.filter((f) => f.kind === 'thumbnail')).toHaveLength(5);
        expect(files.filter((f) => f.kind === 'preview')).toHaveLength(5);
        for (const f of files) expect(fs.existsSync(path.join(lib, f.path))).toBe(true);
        const status = await db.selectFrom('asset_job_status').select(['stage', 'status']).execute();
        expect(status.filter((s) => s.stage === 'metadata' && s.status === 'done')).toHaveLength(5);
      });
    });

    it('a second run finds everything in the library: all duplicates, nothing queued, exit 0', async () => {
      const r = await runCli(['--json', 'import', ...SKIP_ML, '--ignore', 'drafts', src], { UPLOAD_LOCATION: lib });
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s.counts).toMatchObject({ found: 6, imported: 0, duplicates: 6, failed: 0, resumed: 0 });
      expect(listFiles(lib, 'uploads')).toHaveLength(5);
    });

    it('a bad file: one line naming it and the cause, exit 1, recorded; the rest goes on; cleared once fixed', async () => {
      const more = tmpDir('immich-import-more-');
      await makeImage(path.join(more, 'fine.jpg'), { color: '#00ffff', date: '2020:01:02 03:04:05' });
      fs.writeFileSync(path.join(more, 'broken.jpg'), 'this is not a JPEG at all\n');
      const r = await runCli(['import', ...SKIP_ML, more], { UPLOAD_LOCATION: lib });
      expect(r.code).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.includes('broken.jpg'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`${path.join(more, 'broken.jpg').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: probe: .*(text|not an image)`));
      expect(r.stdout).toMatch(/1 imported/);
      expect(listFiles(lib, 'uploads')).toContain('2020/2020-01-02/fine.jpg');
      const failed = await withLibraryDb(lib, (db) => db.selectFrom('import_failures').selectAll().execute());
      expect(failed.map((f) => [f.path, f.stage])).toEqual([[path.join(more, 'broken.jpg'), 'probe']]);

      // The user replaces the file with a real image: the re-run imports it and clears the failure.
      await makeImage(path.join(more, 'broken.jpg'), { color: '#ff00ff', date: '2020:01:03 00:00:00' });
      const again = await runCli(['import', ...SKIP_ML, more], { UPLOAD_LOCATION: lib });
      expect(again.code, again.stderr).toBe(0);
      expect(listFiles(lib, 'uploads')).toContain('2020/2020-01-03/broken.jpg');
      const after = await withLibraryDb(lib, (db) => db.selectFrom('import_failures').selectAll().execute());
      expect(after).toEqual([]);
    });
  });

  it('--move: files leave the source only once recorded; duplicates stay where they are', async () => {
    const moveSrc = tmpDir('immich-import-move-');
    await makeImage(path.join(moveSrc, 'a.jpg'), { color: '#112233', date: '2018:02:03 04:05:06' });
    await makeImage(path.join(moveSrc, 'b/b.png'), { color: '#332211', format: 'png' });
    fs.copyFileSync(path.join(moveSrc, 'a.jpg'), path.join(moveSrc, 'b/a-again.jpg'));
    // An XMP sidecar (photo.xmp) moves along with its photo.
    fs.writeFileSync(
      path.join(moveSrc, 'a.xmp'),
      `<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>` +
        `<rdf:Description rdf:about='' xmlns:xmp='http://ns.adobe.com/xap/1.0/'><xmp:Rating>4</xmp:Rating></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>`,
    );
    const lib = tmpDir();
    const env = await pgLibrary();
    const r = await runCli(['--json', 'import', '--move', ...SKIP_ML, moveSrc], { UPLOAD_LOCATION: lib, ...env });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.mode).toBe('move');
    expect(s.counts).toMatchObject({ imported: 2, duplicates: 1 });
    expect(listFiles(moveSrc)).toEqual(['b/a-again.jpg']);
    expect(listFiles(lib, 'uploads')).toContain('2018/2018-02-03/a.jpg');
    expect(listFiles(lib, 'uploads')).toContain('2018/2018-02-03/a.jpg.xmp');
    await withLibraryDb(lib, async (db) => {
      const modes = await db.selectFrom('assets').select('storage_mode').execute();
      expect(modes.map((m) => m.storage_mode)).toEqual(['move', 'move']);
      const exif = await db.selectFrom('exif').select(['rating', 'sidecar_path']).where('sidecar_path', 'is not', null).execute();
      expect(exif).toEqual([{ rating: 4, sidecar_path: path.join('uploads', '2018', '2018-02-03', 'a.jpg.xmp') }]);
    }, env);
    // The state a kill leaves between committing the row and removing the source: the re-run finishes the move.
    fs.copyFileSync(path.join(lib, 'uploads/2018/2018-02-03/a.jpg'), path.join(moveSrc, 'a.jpg'));
    fs.copyFileSync(path.join(lib, 'uploads/2018/2018-02-03/a.jpg.xmp'), path.join(moveSrc, 'a.xmp'));
    const again = await runCli(['--json', 'import', '--move', ...SKIP_ML, moveSrc], { UPLOAD_LOCATION: lib, ...env });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).counts).toMatchObject({ imported: 0, duplicates: 2 });
    expect(listFiles(moveSrc)).toEqual(['b/a-again.jpg']);
  });

  it('--in-place: files are referenced where they are, nothing is copied', async () => {
    const lib = tmpDir();
    const env = await pgLibrary();
    const r = await runCli(['--json', 'import', '--in-place', ...SKIP_ML, '--ignore', 'drafts', src], { UPLOAD_LOCATION: lib, ...env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).counts).toMatchObject({ imported: 5, duplicates: 1 });
    expect(listFiles(lib, 'uploads')).toEqual([]);
    await withLibraryDb(lib, async (db) => {
      const rows = await db.selectFrom('assets').select(['library_path', 'storage_mode']).orderBy('library_path').execute();
      expect(rows.map((x) => x.library_path)).toContain(path.join(src, 'red.jpg'));
      for (const x of rows) {
        expect(path.isAbsolute(x.library_path)).toBe(true);
        expect(x.storage_mode).toBe('in-place');
      }
      const thumbs = await db.selectFrom('asset_files').select('path').where('kind', '=', 'thumbnail').execute();
      expect(thumbs).toHaveLength(5);
    }, env);
  });

  it('--include-hidden imports hidden files but never NAS/macOS junk', async () => {
    const r = await runCli(['--json', 'import', '--dry-run', '--include-hidden', src], { UPLOAD_LOCATION: path.join(tmpDir(), 'none') });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.counts.found).toBe(9); // 6 + .hidden.jpg + .cache/inside.jpg + drafts/draft.jpg
    expect(s.skippedByReason.excluded).toBe(4);
  });

  it('without ffmpeg, videos fail one by one and the photos of the batch still import', async () => {
    const dir = tmpDir('immich-import-noff-');
    await makeImage(path.join(dir, 'photo.jpg'), { color: '#808030' });
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=1', '-pix_fmt', 'yuv420p', path.join(dir, 'clip.mp4')]);
    const lib = path.join(tmpDir(), 'library');
    const missing = '/nonexistent/ffmpeg';
    const r = await runCli(['--json', 'import', ...SKIP_ML, dir], { UPLOAD_LOCATION: lib, FFMPEG_PATH: missing });
    expect(r.code, r.stderr).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.counts).toMatchObject({ imported: 1, failed: 1 });
    expect(r.stderr).toContain(`${path.join(dir, 'clip.mp4')}: probe: unreadable video: FFMPEG_PATH=${missing}: no such file`);
    expect(listFiles(path.join(lib, 'uploads')).filter((f) => f.endsWith('.jpg'))).toHaveLength(1);
  });

  it('usage errors exit 2 with a message', async () => {
    const lib = tmpDir();
    const both = await runCli(['import', '--move', '--in-place', src], { UPLOAD_LOCATION: lib });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--move and --in-place/);
    const missing = await runCli(['import', path.join(src, 'nope')], { UPLOAD_LOCATION: lib });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope: no such file or folder/);
    const conc = await runCli(['import', '--concurrency', '0', src], { UPLOAD_LOCATION: lib });
    expect(conc.code).toBe(2);
    expect(conc.stderr).toMatch(/--concurrency/);
    const none = await runCli(['import'], { UPLOAD_LOCATION: lib });
    expect(none.code).toBe(2);
  });

  it('help text documents modes, excludes, examples and exit status', async () => {
    const r = await runCli(['import', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['--move', '--in-place', '--dry-run', '--concurrency', '--ignore', '--include-hidden', '--skip-ml', '@eaDir', 'Examples:', 'Exit status:']) {
      expect(r.stdout).toContain(s);
    }
  });
});
