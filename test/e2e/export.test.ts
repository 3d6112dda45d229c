// `immich export`: templates (tokens, defaults, multi-valued, collisions), --template-test, --update
// after an edit, --cleanup, --dry-run, --report, hard links, kill -9 and re-run, a full destination
// disk (tmpfs). Corpus media (HEIC → JPEG, metadata read back, --live): export-corpus.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createPgDatabase, noteSkip, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { checkState, cleanEnv, sha1, STATE, stateFiles } from './export-helpers.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

describe('immich export', () => {
  let src: string;
  let lib: string;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  const ids: Record<string, string> = {};
  /** 12 photos of 1.5 MB each (noise does not compress): an export of them takes a while and fills a 4 MB disk. */
  let big: Promise<void> | undefined;
  const importBig = () =>
    (big ??= (async () => {
      const dir = tmpDir('export-big-');
      for (let i = 0; i < 12; i++) await noisyPng(path.join(dir, `B${i}.png`));
      const r = await runCli(['import', '--skip-ml', dir], env);
      expect(r.code, r.stderr).toBe(0);
    })());
  const byName = async (name: string) => withLibraryDb(lib, (db) => db.selectFrom('assets').select(['id', 'library_path', 'checksum']).where('original_name', '=', name).orderBy('taken_at').execute(), env);

  beforeAll(async () => {
    src = tmpDir('export-src-');
    // Two IMG_1.jpg taken the same day: the second one exported gets -1.
    await makeImage(path.join(src, 'a/IMG_1.jpg'), { color: '#a02020', date: '2020:05:17 08:00:00' });
    await makeImage(path.join(src, 'b/IMG_1.jpg'), { color: '#20a020', date: '2020:05:17 09:30:00', seed: 3 });
    await makeImage(path.join(src, 'lisbon.jpg'), { color: '#2020a0', date: '2021:06:01 19:05:09' });
    await makeImage(path.join(src, 'porto.png'), { color: '#a0a020', format: 'png' });
    lib = tmpDir('export-lib-');
    const db = await createPgDatabase('export_e2e');
    drop = db.drop;
    env = { UPLOAD_LOCATION: lib, ...pgEnv(db.name) };
    const r = await runCli(['import', '--skip-ml', src], env);
    expect(r.code, r.stderr).toBe(0);
    // Organize's data, as `immich album`/`edit` and face naming leave it.
    await withLibraryDb(lib, async (db) => {
      const rows = await db.selectFrom('assets').select(['id', 'original_path']).execute();
      for (const row of rows) ids[path.relative(src, row.original_path)] = row.id;
      const trips = await db.insertInto('albums').values({ name: 'Trips', parent_id: null }).returning('id').executeTakeFirstOrThrow();
      const best = await db.insertInto('albums').values({ name: 'Best of', parent_id: null }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('album_assets').values([
        { album_id: trips.id, asset_id: ids['lisbon.jpg']! },
        { album_id: best.id, asset_id: ids['lisbon.jpg']! },
        { album_id: trips.id, asset_id: ids['a/IMG_1.jpg']! },
      ]).execute();
      await db.updateTable('assets').set({ rating: 4, description: 'Tram 28' }).where('id', '=', ids['lisbon.jpg']!).execute();
      const tag = await db.insertInto('user_tags').values({ value: 'Trips', parent_id: null }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('asset_user_tags').values({ asset_id: ids['lisbon.jpg']!, tag_id: tag.id, source: 'user' }).execute();
      const ada = await db.insertInto('people').values({ name: 'Ada' }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('asset_faces').values({
        asset_id: ids['lisbon.jpg']!, person_id: ada.id, model: 'test', image_width: 64, image_height: 48,
        box_x1: 0.25, box_y1: 0.25, box_x2: 0.75, box_y2: 0.75, score: 0.9, landmarks: [0.4, 0.4, 0.6, 0.4, 0.5, 0.5, 0.4, 0.6, 0.6, 0.6],
      }).execute();
    }, env);
  });
  afterAll(async () => {
    await drop?.();
  });

  it('templates: every token, defaults, one file per album, numbered collisions; --template-test', async () => {
    const all = '{{y}}/{{yy}}/{{MM}}/{{MMM}}/{{dd}}/{{hh}}{{mm}}{{ss}}/{{filetype}}/{{ext}}/{{make}}/{{model}}/{{rating}}/{{description}}/{{person}}/{{tag}}/{{album}}/{{city,NoCity}}/{{assetId}}/{{filename}}';
    const t = await runCli(['export', '--template-test', all, ids['lisbon.jpg']!], env);
    expect(t.code, t.stderr).toBe(0);
    const id = ids['lisbon.jpg']!;
    expect(t.stdout.trim().split('\n')).toEqual([
      `2021/21/06/Jun/01/070509/IMG/jpg/ImmichTest/Fixture/4/Tram 28/Ada/Trips/Best of/NoCity/${id}/lisbon.jpg`,
      `2021/21/06/Jun/01/070509/IMG/jpg/ImmichTest/Fixture/4/Tram 28/Ada/Trips/Trips/NoCity/${id}/lisbon.jpg`,
    ]);
    const bad = await runCli(['export', path.join(tmpDir('export-x-'), 'out'), '--directory', '{{nope}}'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--directory: unknown token \{\{nope\}\}/);

    const dest = path.join(tmpDir('export-dest-'), 'out');
    const r = await runCli(['export', dest, '--directory', '{{y}}/{{album,Unsorted}}', '--original-names', '--report', path.join(dest, '..', 'r.csv')], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/exported 5 file\(s\)/);
    const files = checkState(dest);
    // porto.png has no capture date: its file time names the year.
    const portoYear = fs.statSync(path.join(src, 'porto.png')).mtime.getUTCFullYear();
    expect(files.sort()).toEqual([
      '2020/Trips/IMG_1.jpg', '2020/Unsorted/IMG_1.jpg', '2021/Best of/lisbon.jpg', '2021/Trips/lisbon.jpg', `${portoYear}/Unsorted/porto.png`,
    ].sort());
    // Same folder, same name: the later capture gets -1 (b/IMG_1 at 09:30 is Unsorted; a/IMG_1 is in Trips).
    const dest2 = path.join(tmpDir('export-dest-'), 'flat');
    const flat = await runCli(['export', dest2, '--original-names'], env);
    expect(flat.code, flat.stderr).toBe(0);
    expect(checkState(dest2)).toEqual(['IMG_1-1.jpg', 'IMG_1.jpg', 'lisbon.jpg', 'porto.png']);
    expect(sha1(path.join(dest2, 'IMG_1.jpg'))).toBe(sha1(path.join(src, 'a/IMG_1.jpg')));
    expect(sha1(path.join(dest2, 'IMG_1-1.jpg'))).toBe(sha1(path.join(src, 'b/IMG_1.jpg')));
    // A file deleted by hand is written again by --update, under the same name, and stays in the state.
    fs.rmSync(path.join(dest2, 'IMG_1.jpg'));
    const back = await runCli(['export', dest2, '--original-names', '--update'], env);
    expect(back.stdout).toMatch(/exported 1 file\(s\).*, 3 unchanged/);
    expect(checkState(dest2)).toEqual(['IMG_1-1.jpg', 'IMG_1.jpg', 'lisbon.jpg', 'porto.png']);
    const csv = fs.readFileSync(path.join(dest, '..', 'r.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('assetId,path,kind,action,reason,bytes');
    expect(csv).toHaveLength(6);
  });

  it('--update copies exactly what changed (an edit counts); --cleanup removes only its own files; --dry-run writes nothing', async () => {
    const dest = path.join(tmpDir('export-sync-'), 'out');
    const args = ['export', dest, '--directory', '{{album,Unsorted}}', '--sidecar', 'xmp', '--json'];
    const first = await runCli(args, env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).exported).toBe(10); // 5 files + 5 sidecars
    checkState(dest);
    const again = await runCli([...args, '--update'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ exported: 0, skipped: 10, removed: 0 });

    // An edit through `immich edit` (which records it in asset_edits, not assets.edited_at).
    const edit = await runCli(['edit', '--id', ids['porto.png']!, '--description', 'Ribeira'], env);
    expect(edit.code, edit.stderr).toBe(0);
    const before = fs.statSync(path.join(dest, 'Trips/lisbon.jpg')).mtimeMs;
    const upd = JSON.parse((await runCli([...args, '--update'], env)).stdout);
    expect(upd.files.filter((f: { action: string }) => f.action === 'exported').map((f: { path: string }) => f.path).sort()).toEqual(['Unsorted/porto.png', 'Unsorted/porto.png.xmp']);
    expect(fs.readFileSync(path.join(dest, 'Unsorted/porto.png.xmp'), 'utf8')).toContain('Ribeira');
    expect(fs.statSync(path.join(dest, 'Trips/lisbon.jpg')).mtimeMs).toBe(before);

    // lisbon leaves "Best of"; a file the user put there and a file the user changed are never removed.
    await withLibraryDb(lib, async (db) => {
      const best = await db.selectFrom('albums').select('id').where('name', '=', 'Best of').executeTakeFirstOrThrow();
      await db.deleteFrom('album_assets').where('album_id', '=', best.id).execute();
      await db.updateTable('assets').set({ edited_at: new Date() }).where('id', '=', ids['lisbon.jpg']!).execute();
    }, env);
    fs.writeFileSync(path.join(dest, 'Best of/mine.txt'), 'the user\'s');
    fs.appendFileSync(path.join(dest, 'Best of/lisbon.jpg.xmp'), '\n<!-- the user edited this -->\n');
    const dry = await runCli(['export', dest, '--directory', '{{album,Unsorted}}', '--sidecar', 'xmp', '--update', '--cleanup', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would remove Best of\/lisbon\.jpg\n/);
    expect(fs.existsSync(path.join(dest, 'Best of/lisbon.jpg'))).toBe(true);
    const clean = JSON.parse((await runCli([...args, '--update', '--cleanup'], env)).stdout);
    expect(clean.removed).toBe(1);
    expect(fs.existsSync(path.join(dest, 'Best of/lisbon.jpg'))).toBe(false);
    expect(fs.readFileSync(path.join(dest, 'Best of/mine.txt'), 'utf8')).toBe('the user\'s');
    expect(fs.existsSync(path.join(dest, 'Best of/lisbon.jpg.xmp'))).toBe(true);
    const files = listFiles(dest).filter((f) => f !== STATE && !f.startsWith('Best of'));
    expect(stateFiles(dest).map((f) => f.path).sort()).toEqual(files.sort());

    // --link: the library's inode, no copy.
    const linked = path.join(tmpDir('export-link-'), 'out');
    const l = await runCli(['export', linked, '--link', '--original-names', '--id', ids['porto.png']!], env);
    expect(l.code, l.stderr).toBe(0);
    const [row] = await byName('porto.png');
    expect(fs.statSync(path.join(linked, 'porto.png')).ino).toBe(fs.statSync(path.join(lib, row!.library_path)).ino);
  });

  it('kill -9 at any point, then the same export: no duplicates, no partial files, state = disk', async () => {
    await importBig();
    for (const killAfter of [1, 7]) {
      const dest = path.join(tmpDir('export-kill-'), 'out');
      const args = ['export', dest, '--directory', '{{y}}/{{album,Unsorted}}', '--sidecar', 'json', '-j', '2'];
      const killed = await new Promise<boolean>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), cwd: os.tmpdir() });
        child.stdout.resume();
        child.stderr.resume();
        let done = false;
        const timer = setInterval(() => {
          const n = fs.existsSync(dest) ? listFiles(dest).filter((f) => f.endsWith('.png') && !path.basename(f).startsWith('.immich-tmp-')).length : 0;
          if (n >= killAfter && !done) {
            done = true;
            child.kill('SIGKILL');
          }
        }, 2);
        child.on('error', reject);
        child.on('close', (_c, signal) => {
          clearInterval(timer);
          resolve(signal === 'SIGKILL');
        });
      });
      expect(killed).toBe(true);
      const again = await runCli([...args, '--update'], env);
      expect(again.code, again.stderr).toBe(0);
      const files = checkState(dest);
      expect(files.filter((f) => !f.endsWith('.json'))).toHaveLength(12 + 4);
      expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(12 + 4);
      expect(files.some((f) => /-\d\.png$/.test(f))).toBe(false); // nothing exported twice
    }
  });

  it('a full destination disk stops with one line, exit 3, and a state matching what is there', async () => {
    const mnt = tmpDir('export-tmpfs-');
    const mounted = spawnSyncOk('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    if (!mounted) {
      noteSkip('export full disk', 'permission to mount a tmpfs');
      return;
    }
    try {
      await importBig();
      const r = await runCli(['export', mnt, '--path', 'B*.png', '-j', '2'], env);
      expect(r.code, r.stderr).toBe(3);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^immich: ${mnt}: no space left on device; \\d+ file\\(s\\) exported, \\d+ not`));
      const files = checkState(mnt);
      expect(files.length).toBeGreaterThan(0);
      expect(files.length).toBeLessThan(12);
      // Room again (the user deletes two exported files): --update carries on where it stopped.
      for (const f of files.slice(0, 2)) fs.rmSync(path.join(mnt, f));
      const more = await runCli(['export', mnt, '--path', 'B*.png', '--update', '--json'], env);
      expect([0, 3], more.stderr).toContain(more.code);
      checkState(mnt);
    } finally {
      spawnSyncOk('umount', [mnt]);
    }
  });


  it('a crash after the renames but before the flush: the next run re-verifies the logged files and writes a damaged one again under its name', async () => {
    const dest = path.join(tmpDir('export-crash-'), 'out');
    const args = ['export', dest, '--original-names', '--id', ids['lisbon.jpg']!, '--id', ids['porto.png']!, '--id', ids['a/IMG_1.jpg']!];
    const first = await runCli(args, env);
    expect(first.code, first.stderr).toBe(0);
    // What a power cut can leave: the renames reached the disk, one file's data did not, and the
    // run's log (not its committed snapshot) names the files.
    const files = stateFiles(dest);
    const logged = files.filter((f) => f.path === 'lisbon.jpg' || f.path === 'porto.png');
    expect(logged).toHaveLength(2);
    fs.writeFileSync(path.join(dest, STATE), JSON.stringify({ kind: 'immich-export', version: 1, files: files.filter((f) => !logged.includes(f)) }));
    fs.writeFileSync(path.join(dest, '.immich-export.log'), logged.map((put) => JSON.stringify({ put })).join('\n') + '\n');
    fs.truncateSync(path.join(dest, 'lisbon.jpg'), 0);
    const portoTime = fs.statSync(path.join(dest, 'porto.png')).mtimeMs;
    const again = await runCli([...args, '--update', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    const out = JSON.parse(again.stdout) as { files: Array<{ path: string; action: string }> };
    expect(out.files.filter((f) => f.action === 'exported').map((f) => f.path)).toEqual(['lisbon.jpg']);
    expect(checkState(dest).sort()).toEqual(['IMG_1.jpg', 'lisbon.jpg', 'porto.png']);
    expect(sha1(path.join(dest, 'lisbon.jpg'))).toBe(sha1(path.join(src, 'lisbon.jpg')));
    expect(fs.statSync(path.join(dest, 'porto.png')).mtimeMs).toBe(portoTime); // verified, not copied again
  });

  it('originals nothing has changed since import are copied without being read back; a library file changed since is reported, never exported as good; --verify; --no-flush', async () => {
    const root = tmpDir('export-trust-');
    const args = (dest: string, ...more: string[]) => ['export', path.join(root, dest), '--original-names', '--id', ids['lisbon.jpg']!, '--id', ids['b/IMG_1.jpg']!, '--json', ...more];
    const run = async (a: string[]) => {
      const r = await runCli(a, env);
      return { ...r, out: JSON.parse(r.stdout) as { exported: number; failed: number; hashed: number; files: Array<{ path: string; action: string }> } };
    };
    // Untouched since the import: kernel copies, not read back (a file renamed into the library less
    // than 10 ms before its row was inserted is hashed once, then trusted); --verify hashes them all.
    const first = await run(args('a0'));
    expect(first.code, first.stderr).toBe(0);
    expect(first.out.hashed).toBeLessThanOrEqual(2);
    expect((await run(args('a'))).out).toMatchObject({ exported: 2, hashed: 0 });
    checkState(path.join(root, 'a'));
    expect(sha1(path.join(root, 'a/IMG_1.jpg'))).toBe(sha1(path.join(src, 'b/IMG_1.jpg')));
    expect((await run(args('v', '--verify'))).out).toMatchObject({ exported: 2, hashed: 2 });

    // A program changes one byte of a library file and puts its mtime back (same size, same mtime).
    const [row] = await withLibraryDb(lib, (db) => db.selectFrom('assets').select('library_path').where('id', '=', ids['b/IMG_1.jpg']!).execute(), env);
    const abs = path.join(lib, row!.library_path);
    const good = fs.readFileSync(abs);
    const st = fs.statSync(abs);
    const fd = fs.openSync(abs, 'r+');
    fs.writeSync(fd, Buffer.from([good[good.length >> 1]! ^ 0xff]), 0, 1, good.length >> 1);
    fs.closeSync(fd);
    fs.utimesSync(abs, st.atime, st.mtime);
    try {
      const bad = await run(args('b'));
      expect(bad.code).toBe(1);
      expect(bad.out).toMatchObject({ exported: 1, failed: 1, hashed: 1 });
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(/^immich export: IMG_1\.jpg: /);
      expect(bad.stderr).toContain(`the library file ${row!.library_path} does not match its checksum (changed or damaged since it was imported`);
      expect(checkState(path.join(root, 'b'))).toEqual(['lisbon.jpg']);
    } finally {
      fs.writeFileSync(abs, good);
    }
    // Put right: hashed once (its ctime is newer than the import), then trusted again.
    const fixed = await run([...args('b'), '--update']);
    expect(fixed.out).toMatchObject({ exported: 1, failed: 0, hashed: 1 });
    expect((await run(args('c'))).out).toMatchObject({ exported: 2, hashed: 0 });

    // --no-flush: the state names the files not known to be on the disk with this boot's id. The same
    // boot trusts them; after a restart (another boot id) each is re-verified and a lost one written again.
    const nf = path.join(root, 'nf');
    expect((await run(args('nf', '--no-flush'))).code).toBe(0);
    const snap = JSON.parse(fs.readFileSync(path.join(nf, STATE), 'utf8'));
    expect(snap.unflushed).toEqual({ bootId: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), paths: ['IMG_1.jpg', 'lisbon.jpg'] });
    fs.truncateSync(path.join(nf, 'lisbon.jpg'), 0);
    expect((await run([...args('nf', '--no-flush'), '--update'])).out.exported).toBe(0); // same boot: not re-read
    fs.writeFileSync(path.join(nf, STATE), JSON.stringify({ ...snap, unflushed: { ...snap.unflushed, bootId: 'another-boot' } }));
    const after = await run([...args('nf'), '--update']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.out.files.filter((f) => f.action === 'exported').map((f) => f.path)).toEqual(['lisbon.jpg']);
    expect(JSON.parse(fs.readFileSync(path.join(nf, STATE), 'utf8')).unflushed).toBeUndefined();
    checkState(nf);
  });

  it('{{album}} is a nested album\'s path; --update follows a person renamed, an album renamed and a tag added (none of them edits)', async () => {
    const ok = async (args: string[]) => {
      const r = await runCli(args, env);
      expect(r.code, r.stderr).toBe(0);
      return r;
    };
    await ok(['album', 'create', 'Trips/2024/Lisbon']);
    await ok(['album', 'add', 'Trips/2024/Lisbon', '--id', ids['porto.png']!]);
    const dest = path.join(tmpDir('export-deps-'), 'out');
    const args = ['export', dest, '--directory', '{{album,Unsorted}}/{{person,Nobody}}', '--original-names', '--sidecar', 'xmp', '--update', '--cleanup', '--json', '--id', ids['lisbon.jpg']!, '--id', ids['porto.png']!];
    type Out = { exported: number; removed: number; files: Array<{ path: string; action: string }> };
    const run = async () => JSON.parse((await ok(args)).stdout) as Out;
    const paths = (o: Out, action: string) => o.files.filter((f) => f.action === action).map((f) => f.path).sort();
    const first = await run();
    expect(paths(first, 'exported')).toContain('Trips/2024/Lisbon/Nobody/porto.png');
    expect(paths(first, 'exported')).toContain('Trips/Ada/lisbon.jpg');

    const ada = await withLibraryDb(lib, (db) => db.selectFrom('people').select('id').where('name', '=', 'Ada').executeTakeFirstOrThrow(), env);
    await ok(['faces', 'name', ada.id, 'Ada Lovelace']);
    const renamed = await run();
    expect(paths(renamed, 'exported')).toEqual(['Trips/Ada Lovelace/lisbon.jpg', 'Trips/Ada Lovelace/lisbon.jpg.xmp']);
    expect(paths(renamed, 'removed')).toEqual(['Trips/Ada/lisbon.jpg', 'Trips/Ada/lisbon.jpg.xmp']);
    expect(fs.readFileSync(path.join(dest, 'Trips/Ada Lovelace/lisbon.jpg.xmp'), 'utf8')).toContain('Ada Lovelace');

    await ok(['album', 'rename', 'Trips/2024', '2025']);
    const moved = await run();
    expect(paths(moved, 'exported')).toEqual(['Trips/2025/Lisbon/Nobody/porto.png', 'Trips/2025/Lisbon/Nobody/porto.png.xmp']);
    expect(paths(moved, 'removed')).toEqual(['Trips/2024/Lisbon/Nobody/porto.png', 'Trips/2024/Lisbon/Nobody/porto.png.xmp']);

    // A tag that arrives with an XMP sidecar on import (not an edit): the template has no {{tag}},
    // so only the sidecar, which carries tags, is written again.
    await withLibraryDb(lib, async (db) => {
      const tag = await db.insertInto('user_tags').values({ value: 'Azulejo', parent_id: null }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('asset_user_tags').values({ asset_id: ids['porto.png']!, tag_id: tag.id, source: 'xmp' }).execute();
    }, env);
    const photoTime = fs.statSync(path.join(dest, 'Trips/2025/Lisbon/Nobody/porto.png')).mtimeMs;
    const tagged = await run();
    expect(paths(tagged, 'exported')).toEqual(['Trips/2025/Lisbon/Nobody/porto.png.xmp']);
    expect(fs.readFileSync(path.join(dest, 'Trips/2025/Lisbon/Nobody/porto.png.xmp'), 'utf8')).toContain('Azulejo');
    expect(fs.statSync(path.join(dest, 'Trips/2025/Lisbon/Nobody/porto.png')).mtimeMs).toBe(photoTime);
    expect((await run()).exported).toBe(0);
    checkState(dest);
  });

  it('--update numbers new names in capture-time order (its first query reads no names or dates; those come for the new assets only)', async () => {
    const dest = path.join(tmpDir('export-order-'), 'out');
    const args = ['export', dest, '--original-names', '--json'];
    expect((await runCli(args, env)).code).toBe(0);
    // Two new photos named like one already exported, imported newest first.
    const more = tmpDir('export-more-');
    await makeImage(path.join(more, 'x/lisbon.jpg'), { color: '#602060', date: '2023:01:01 10:00:00', seed: 7 });
    await makeImage(path.join(more, 'y/lisbon.jpg'), { color: '#206060', date: '2022:01:01 10:00:00', seed: 8 });
    for (const d of ['x', 'y']) expect((await runCli(['import', '--skip-ml', path.join(more, d)], env)).code).toBe(0);
    const upd = JSON.parse((await runCli([...args, '--update'], env)).stdout) as { files: Array<{ path: string; action: string }> };
    expect(upd.files.filter((f) => f.action === 'exported').map((f) => f.path).sort()).toEqual(['lisbon-1.jpg', 'lisbon-2.jpg']);
    expect(sha1(path.join(dest, 'lisbon.jpg'))).toBe(sha1(path.join(src, 'lisbon.jpg')));
    expect(sha1(path.join(dest, 'lisbon-1.jpg'))).toBe(sha1(path.join(more, 'y/lisbon.jpg'))); // 2022 before 2023
    expect(sha1(path.join(dest, 'lisbon-2.jpg'))).toBe(sha1(path.join(more, 'x/lisbon.jpg')));
    checkState(dest);
  });
});

function spawnSyncOk(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** A PNG of noise: it does not compress, so its size is about width × height × 3 bytes. */
async function noisyPng(file: string, width = 700, height = 700): Promise<void> {
  const buf = crypto.randomBytes(width * height * 3);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(buf, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toFile(file);
}
