// Never lose a photo (issue 13, "Data loss"): originals named like our temporary files survive the
// stale-temp cleaners and `cache clean`.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tmpDir } from '../helpers/env.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

/** Invert byte 100 of a (repository) file, keeping its mtime when asked: damage a size and time check cannot see. */
function flipByte(file: string, keepMtime: boolean): void {
  const st = fs.statSync(file);
  fs.chmodSync(file, 0o600);
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, 100);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd, b, 0, 1, 100);
  fs.closeSync(fd);
  if (keepMtime) fs.utimesSync(file, st.atime, st.mtime);
}

/** The pid of a process that has exited: what a temp file of a killed run carries. */
function deadPid(): number {
  return Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
}

describe('temporary files never match originals', () => {
  it('originals named decode-<pid>-… and .immich-tmp-<pid>-… survive imports and cache clean', async () => {
    const pid = deadPid();
    const src = tmpDir('immich-safety-src-');
    const lib = tmpDir('immich-safety-lib-');
    const date = '2020:02:02 10:00:00';
    await makeImage(path.join(src, `decode-${pid}-abcdef.jpg`), { color: '#aa0000', date, seed: 1 });
    await makeImage(path.join(src, `.immich-tmp-${pid}-0011-IMG_1.jpg`), { color: '#00aa00', date, seed: 2 });
    await makeImage(path.join(src, 'plain.jpg'), { color: '#0000aa', date, seed: 3 });
    const env = { UPLOAD_LOCATION: lib };
    const first = await runCli(['--json', 'import', '--skip-ml', '--include-hidden', src], env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).counts).toMatchObject({ imported: 3, failed: 0 });

    // A library written before the mark was reserved: an original that carries it, with its row.
    const legacy = `uploads/2020/2020-02-02/.immich-tmp-${pid}-0022-legacy.jpg`;
    fs.copyFileSync(path.join(lib, 'uploads/2020/2020-02-02/plain.jpg'), path.join(lib, legacy));
    await withLibraryDb(lib, (db) => db.updateTable('assets').set({ library_path: legacy }).where('library_path', '=', 'uploads/2020/2020-02-02/plain.jpg').execute());
    fs.rmSync(path.join(lib, 'uploads/2020/2020-02-02/plain.jpg'));

    // A second import into the same dated folder cleans stale temps there; then cache clean.
    const src2 = tmpDir('immich-safety-src2-');
    await makeImage(path.join(src2, 'later.jpg'), { color: '#aaaa00', date, seed: 4 });
    const second = await runCli(['import', '--skip-ml', src2], env);
    expect(second.code, second.stderr).toBe(0);
    const clean = await runCli(['--json', 'cache', 'clean'], env);
    expect(clean.code, clean.stderr).toBe(0);

    const uploads = listFiles(lib, 'uploads');
    expect(uploads).toContain(`2020/2020-02-02/decode-${pid}-abcdef.jpg`);
    // The marked name is not one the library can hold: the last dash of the mark becomes "_".
    expect(uploads).toContain(`2020/2020-02-02/.immich-tmp_${pid}-0011-IMG_1.jpg`);
    expect(uploads).toContain(legacy.slice('uploads/'.length));
    expect(uploads).toContain('2020/2020-02-02/later.jpg');
  }, 400_000);
});

/** An empty library (only import and restore create one). */
async function newLibrary(prefix: string): Promise<string> {
  const lib = tmpDir(prefix);
  const r = await runCli(['import', tmpDir('immich-safety-empty-')], { UPLOAD_LOCATION: lib });
  expect(r.code, r.stderr).toBe(0);
  return lib;
}

describe('a repository shared by several libraries', () => {
  it('forget and "latest" are per library, safety snapshots are never latest, list names the library', async () => {
    const a = await newLibrary('immich-safety-a-');
    const b = await newLibrary('immich-safety-b-');
    const repo = path.join(tmpDir('immich-safety-repo-'), 'repo');
    const json = (r: { code: number; stdout: string; stderr: string }) => {
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const a1 = json(await runCli(['--json', 'backup', repo], { UPLOAD_LOCATION: a })).snapshot;
    const a2 = json(await runCli(['--json', 'backup', repo], { UPLOAD_LOCATION: a })).snapshot;
    // The repository after a repeatable option is the repository, not a second tag.
    const b1 = json(await runCli(['--json', 'backup', '--tag', 'nightly', repo], { UPLOAD_LOCATION: b })).snapshot;
    expect(fs.readdirSync(path.join(b, 'backups'))).toEqual([]);

    const forget = json(await runCli(['--json', 'backup', 'forget', repo, '--keep-last', '1'], {}));
    expect(forget.remove.map((s: { id: string }) => s.id)).toEqual([a1]);
    expect(forget.keep.map((s: { id: string }) => s.id).sort()).toEqual([a2, b1].sort());

    // B's backup is the newest of the repository; restoring A takes A's.
    const r1 = json(await runCli(['--json', 'restore', repo, '--force'], { UPLOAD_LOCATION: a }));
    expect(r1.snapshot).toBe(a2);
    expect(r1.safetySnapshot).toMatch(/^[0-9a-f]{64}$/);
    // The safety snapshot is now A's newest: never "latest".
    const r2 = json(await runCli(['--json', 'restore', repo, '--force'], { UPLOAD_LOCATION: a }));
    expect(r2.snapshot).toBe(a2);

    const list = json(await runCli(['--json', 'backup', 'list', repo], {}));
    const byId = new Map(list.snapshots.map((s: { id: string }) => [s.id, s]));
    expect(byId.get(b1)).toMatchObject({ library: b, tags: ['nightly'], safety: false });
    expect(byId.get(a2)).toMatchObject({ library: a, safety: false });
    expect(byId.get(r1.safetySnapshot)).toMatchObject({ library: a, safety: true });
    const human = await runCli(['--wide', 'backup', 'list', repo], {});
    expect(human.stdout).toContain(path.basename(b)); // the tail of host:folder

    // Another folder, two libraries in the repository: which one is meant must be said.
    const other = await runCli(['restore', repo, '--to', tmpDir('immich-safety-new-')], {});
    expect(other.code, other.stderr).toBe(2);
    expect(other.stderr).toMatch(/2 libraries/);
  }, 400_000);
});

describe('a damaged object in a backup repository', () => {
  it('is stored again by the next backup (written to) or by `backup repair` (decayed silently)', async () => {
    const lib = tmpDir('immich-safety-dmg-');
    const src = tmpDir('immich-safety-dmg-src-');
    const repo = path.join(tmpDir('immich-safety-dmg-repo-'), 'repo');
    const env = { UPLOAD_LOCATION: lib };
    await makeImage(path.join(src, 'one.jpg'), { color: '#884422', seed: 5 });
    await makeImage(path.join(src, 'two.jpg'), { color: '#228844', seed: 6 });
    expect((await runCli(['import', '--skip-ml', src], env)).code).toBe(0);
    expect((await runCli(['backup', repo], env)).code).toBe(0);
    // Unencrypted: an original's object is named by its SHA-1.
    const objectOf = (name: string) => {
      const sum = crypto.createHash('sha1').update(fs.readFileSync(path.join(src, name))).digest('hex');
      return path.join(repo, 'data', sum.slice(0, 2), sum);
    };
    const verify = () => runCli(['--json', 'verify', '--backup', repo, '--read-data'], env);

    flipByte(objectOf('one.jpg'), false);
    expect((await verify()).code).not.toBe(0);
    const again = await runCli(['backup', repo], env);
    expect(again.code, again.stderr).toBe(0);
    const v1 = await verify();
    expect(v1.code, v1.stdout).toBe(0);

    // Bit rot: same size, same mtime. Only a full read finds it.
    flipByte(objectOf('two.jpg'), true);
    const repair = await runCli(['--json', 'backup', 'repair', repo], env);
    expect(repair.code, repair.stderr).toBe(0);
    const r = JSON.parse(repair.stdout);
    expect(r.damaged.map((d: { object: string }) => d.object)).toEqual([path.basename(objectOf('two.jpg'))]);
    expect(r.unrecoverable).toEqual([]);
    const v2 = await verify();
    expect(v2.code, v2.stdout).toBe(0);
  }, 400_000);
});

describe('the next backup re-checks what it reuses', () => {
  it('finds a decayed object in its rolling sample and an object it references for the first time, and stores both again', async () => {
    const src = tmpDir('immich-safety-sample-src-');
    const repo = path.join(tmpDir('immich-safety-sample-repo-'), 'repo');
    const libA = tmpDir('immich-safety-sample-a-');
    const libB = tmpDir('immich-safety-sample-b-');
    const sha1 = (file: string) => crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex');
    const objectOf = (file: string) => path.join(repo, 'data', sha1(file).slice(0, 2), sha1(file));
    /** A photo whose SHA-1 (its object id, unencrypted) starts with a digit `want` accepts. */
    const photo = async (dir: string, name: string, want: (digit: string) => boolean, seed: number) => {
      const file = path.join(dir, name);
      for (let s = seed; s < seed + 200; s++) {
        await makeImage(file, { color: '#604020', seed: s });
        if (want(sha1(file)[0]!)) return file;
      }
      throw new Error('no photo with such a checksum');
    };
    const decay = (file: string) => flipByte(file, true); // bit rot: same size, same mtime
    const backup = async (lib: string) => {
      const r = await runCli(['--json', 'backup', repo], { UPLOAD_LOCATION: lib });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { objectChecks: { checked: number; damaged: number } };
    };
    const intact = (file: string) => sha1(objectOf(file) /* content */) === path.basename(objectOf(file));

    // The second snapshot of the repository samples the objects whose id starts with 1.
    const sampled = await photo(path.join(src, 'a'), 'sampled.jpg', (d) => d === '1', 100);
    await makeImage(path.join(src, 'a', 'other.jpg'), { color: '#206040', seed: 7 });
    expect((await runCli(['import', '--skip-ml', path.join(src, 'a')], { UPLOAD_LOCATION: libA })).code).toBe(0);
    await backup(libA);
    decay(objectOf(sampled));
    expect(intact(sampled)).toBe(false);
    const second = await backup(libA);
    expect(second.objectChecks.damaged).toBe(1);
    expect(intact(sampled)).toBe(true);

    // Library B's second backup references a decayed object of library A for the first time (and
    // that backup, the fifth snapshot, samples digit 4, which that object does not start with).
    const shared = await photo(path.join(src, 'shared'), 'shared.jpg', (d) => d !== '4', 400);
    expect((await runCli(['import', '--skip-ml', shared], { UPLOAD_LOCATION: libA })).code).toBe(0);
    await backup(libA);
    await makeImage(path.join(src, 'b', 'own.jpg'), { color: '#402060', seed: 9 });
    expect((await runCli(['import', '--skip-ml', path.join(src, 'b')], { UPLOAD_LOCATION: libB })).code).toBe(0);
    await backup(libB);
    decay(objectOf(shared));
    expect((await runCli(['import', '--skip-ml', shared], { UPLOAD_LOCATION: libB })).code).toBe(0);
    const firstUse = await backup(libB);
    expect(firstUse.objectChecks.damaged).toBe(1);
    expect(intact(shared)).toBe(true);
    const v = await runCli(['--json', 'verify', '--backup', repo, '--read-data'], { UPLOAD_LOCATION: libB });
    expect(v.code, v.stdout).toBe(0);
  }, 1_500_000);
});

describe('files never left out silently', () => {
  it('unreadable folders and links out of the source are reported; a non-UTF-8 name is imported; --move never leaves a dangling link; a library reached by a link does not import itself', async () => {
    const src = tmpDir('immich-safety-walk-');
    const outside = tmpDir('immich-safety-outside-');
    const lib = tmpDir('immich-safety-walk-lib-');
    const env = { UPLOAD_LOCATION: lib };
    await makeImage(path.join(src, 'ok.jpg'), { color: '#336699', seed: 31 });
    await makeImage(path.join(src, 'locked', 'hidden-from-us.jpg'), { color: '#993366', seed: 32 });
    await makeImage(path.join(outside, 'secret.jpg'), { color: '#669933', seed: 33 });
    fs.symlinkSync(path.join(outside, 'secret.jpg'), path.join(src, 'escape.jpg'));
    fs.symlinkSync(path.join(src, 'ok.jpg'), path.join(src, 'alias.jpg'));
    fs.symlinkSync(path.join(outside, 'gone.jpg'), path.join(src, 'gone.jpg'));
    const badName = Buffer.concat([Buffer.from(path.join(src, 'bad-')), Buffer.from([0xff, 0xfe]), Buffer.from('.jpg')]);
    fs.copyFileSync(path.join(src, 'ok.jpg'), badName);
    const asRoot = process.getuid?.() === 0;
    fs.chmodSync(path.join(src, 'locked'), 0o000);
    try {
      const r = await runCli(['--json', 'import', '--skip-ml', src], env);
      expect(r.code, r.stderr).toBe(1);
      const s = JSON.parse(r.stdout);
      const failed = s.failures.map((f: { path: string }) => path.relative(src, f.path)).sort();
      // (root reads any folder: there only the broken link stands for the unreadable.)
      expect(failed).toEqual([...(asRoot ? [] : ['locked']), 'escape.jpg', 'gone.jpg'].sort());
      // The name that is not UTF-8 is found (its bytes in the text form, U+FFFD and hex): ok.jpg's content.
      expect(s.duplicates.map((d: { path: string }) => path.relative(src, d.path))).toEqual(['bad-\uFFFDFF\uFFFDFE.jpg']);
      // ok.jpg once (alias.jpg is the same file), nothing from outside.
      expect(s.imported.map((i: { path: string }) => path.relative(src, i.path)).sort()).toEqual(asRoot ? ['locked/hidden-from-us.jpg', 'ok.jpg'] : ['ok.jpg']);
      expect(r.stderr).toMatch(/escape\.jpg: walk: symbolic link to .*outside the imported folders/);
    } finally {
      fs.chmodSync(path.join(src, 'locked'), 0o755);
    }

    // --move: links are not moved (the library gets no link, the source keeps no dangling one).
    const mv = tmpDir('immich-safety-mv-');
    await makeImage(path.join(mv, 'real.jpg'), { color: '#123123', seed: 34 });
    fs.symlinkSync(path.join(mv, 'real.jpg'), path.join(mv, 'link.jpg'));
    fs.symlinkSync(path.join(outside, 'secret.jpg'), path.join(mv, 'away.jpg'));
    const moved = await runCli(['--json', 'import', '--skip-ml', '--move', mv, path.join(mv, 'away.jpg')], env);
    expect(JSON.parse(moved.stdout).imported.map((i: { path: string }) => path.basename(i.path))).toEqual(['real.jpg']);
    expect(fs.existsSync(path.join(outside, 'secret.jpg'))).toBe(true);
    expect(fs.lstatSync(path.join(mv, 'away.jpg')).isSymbolicLink()).toBe(true);
    for (const f of listFiles(lib, 'uploads')) expect(fs.lstatSync(path.join(lib, 'uploads', f)).isFile(), f).toBe(true);

    // The library inside the imported folder, reached through a link: its thumbnails are not photos.
    const parent = tmpDir('immich-safety-parent-');
    await makeImage(path.join(parent, 'photos', 'p.jpg'), { color: '#445566', seed: 35 });
    fs.mkdirSync(path.join(parent, 'lib'));
    const via = path.join(tmpDir('immich-safety-via-'), 'lib-link');
    fs.symlinkSync(path.join(parent, 'lib'), via);
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['--json', 'import', parent], { UPLOAD_LOCATION: via });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).counts.imported).toBe(i === 0 ? 1 : 0);
    }
  }, 400_000);
});

describe('models and backups', () => {
  it('a snapshot records the installed models; restore names the ones missing and how to install them', async () => {
    const lib = await newLibrary('immich-safety-models-');
    const cache = tmpDir('immich-safety-cache-');
    const repo = path.join(tmpDir('immich-safety-models-repo-'), 'repo');
    for (const part of ['detection', 'recognition']) {
      const f = path.join(lib, 'models', 'facial-recognition', 'scrfd_2.5g-mobilefacenet', part, 'model.onnx');
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, `stand-in ${part}`);
    }
    const b = await runCli(['backup', repo], { UPLOAD_LOCATION: lib, IMMICH_MODEL_CACHE: cache });
    expect(b.code, b.stderr).toBe(0);
    const target = tmpDir('immich-safety-models-new-');
    const r = await runCli(['--json', 'restore', repo], { UPLOAD_LOCATION: target, IMMICH_MODEL_CACHE: cache });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).modelsMissing.map((m: { model: string }) => m.model)).toEqual([
      'facial-recognition/scrfd_2.5g-mobilefacenet/detection',
      'facial-recognition/scrfd_2.5g-mobilefacenet/recognition',
    ]);
    expect(r.stderr).toMatch(/model facial-recognition\/scrfd_2\.5g-mobilefacenet\/detection .*immich models pull facial-recognition\/scrfd_2\.5g-mobilefacenet/);
  }, 400_000);
});
