// Backup and restore as a user runs them (bin/immich), on the embedded database: an encrypted round
// trip into a fresh location, incremental backups measured in bytes, damaged and hostile repositories.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Repository } from '../../src/services/backup-repo.js';
import { runCli, tmpDir } from '../helpers/env.js';
import { allFiles, buildLibrary, expectCode, expectSameLibrary, json, libraryState, repoObjects, sha1, trashAndStack } from './backup-helpers.js';
import { makeImage, withLibraryDb } from './import-helpers.js';

const PASS = 'tr0ub4dor & 3 photos';

describe('immich backup / restore (embedded database)', () => {
  let base: string;
  let lib: string;
  let keyFile: string;
  let repo: string;
  let plainRepo: string;
  const env = () => ({ UPLOAD_LOCATION: lib });

  beforeAll(async () => {
    base = tmpDir('immich-backup-');
    lib = path.join(base, 'library');
    keyFile = path.join(base, 'key');
    fs.writeFileSync(keyFile, PASS + '\n', { mode: 0o600 });
    repo = path.join(base, 'repo-encrypted');
    plainRepo = path.join(base, 'repo-plain');
    await buildLibrary(lib, path.join(base, 'src'), {});
    await trashAndStack(lib, path.join(base, 'src'), {});
  }, 600_000);

  it('encrypted round trip: restore into a fresh location gives identical files, rows, people and tags; verify is clean', async () => {
    const backup = await runCli(['--json', 'backup', repo, '--include-derived', '--key-file', keyFile], env());
    expectCode(backup, 0);
    const b = json(backup);
    expect(b.encrypted).toBe(true);
    expect(b.created).toBe(true);
    expect(b.problems).toEqual([]);
    expect(b.stats.files).toBeGreaterThanOrEqual(12); // 4 originals + thumbnail and preview each
    expect(b.database.kind).toBe('embedded');
    expect(backup.stdout + backup.stderr).not.toContain(PASS);

    // The repository: private modes, no plaintext checksums as names, no readable names inside.
    expect(fs.statSync(repo).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(repo, 'config.json')).mode & 0o777).toBe(0o600);
    const checksums = await withLibraryDb(lib, async (db) => (await db.selectFrom('assets').select('checksum').execute()).map((a) => a.checksum));
    const objects = repoObjects(repo);
    for (const c of checksums) expect(objects.has(c)).toBe(false);
    for (const [id] of objects) {
      const f = path.join(repo, 'data', id.slice(0, 2), id);
      expect(fs.statSync(f).mode & 0o777).toBe(0o600);
      const bytes = fs.readFileSync(f);
      expect(bytes.includes(Buffer.from('Lovelace'))).toBe(false);
      expect(bytes.includes(Buffer.from('CREATE TABLE'))).toBe(false);
    }
    // Every copy worker renamed or removed its temporary file.
    expect(fs.readdirSync(path.join(repo, 'tmp'))).toEqual([]);

    const list = await runCli(['--json', 'backup', 'list', repo], { ...env(), IMMICH_BACKUP_PASSPHRASE: PASS });
    expectCode(list, 0);
    expect(json(list).snapshots).toHaveLength(1);
    expect(json(list).snapshots[0].id).toBe(b.snapshot);

    const restored = path.join(base, 'restored');
    const r = await runCli(['--json', 'restore', repo, '--to', restored], { ...env(), IMMICH_BACKUP_KEY_FILE: keyFile });
    expectCode(r, 0);
    expect(json(r).files.failed).toBe(0);
    expect(json(r).problems).toEqual([]);

    const state = await libraryState(restored);
    expectSameLibrary(await libraryState(lib), state);
    expect(state.trash).toHaveLength(2);
    expect(state.stacks).toHaveLength(1);
    const verify = await runCli(['--json', 'verify', '--no-models'], { UPLOAD_LOCATION: restored });
    expectCode(verify, 0);
    const checks = json(verify).checks as Array<{ name: string; status: string }>;
    expect(checks.filter((c) => c.status !== 'ok')).toEqual([]);
    // The restored library still knows the stack's former primary: taking it out of the trash there
    // gives it the role back.
    const src = path.join(base, 'src');
    expectCode(await runCli(['trash', 'restore', path.join(src, 'photo-2.jpg')], { UPLOAD_LOCATION: restored }), 0);
    const stacks = json(await runCli(['--json', 'stack', 'list'], { UPLOAD_LOCATION: restored })).stacks;
    expect(path.basename(stacks[0].members.find((m: { primary: boolean }) => m.primary).path)).toBe('photo-2.jpg');

    // Restoring again into the now non-empty target is refused without --force.
    const again = await runCli(['restore', repo, '--to', restored, '--key-file', keyFile], env());
    expectCode(again, 2);
    expect(again.stderr).toMatch(/not empty.*--force/);
  });

  it('a second backup after adding one photo copies only that photo', async () => {
    const before = repoObjects(repo);
    const extra = path.join(base, 'src2', 'new.jpg');
    await makeImage(extra, { color: '#ffffff', seed: 99, width: 200, height: 150 });
    expectCode(await runCli(['import', path.dirname(extra), '--skip-ml'], env()), 0);
    const r = await runCli(['--json', 'backup', repo, '--key-file', keyFile], env());
    expectCode(r, 0);
    const s = json(r).stats;
    expect(s.newFiles).toBe(1);
    expect(s.newBytes).toBe(fs.statSync(extra).size);
    // Measured on disk: the new objects are that photo (+ 33 bytes of encryption framing), the new
    // file list and the new database dump; nothing else was written.
    const after = repoObjects(repo);
    const added = [...after].filter(([id]) => !before.has(id));
    expect(added).toHaveLength(3);
    const photoObject = added.filter(([, size]) => size === fs.statSync(extra).size + 33);
    expect(photoObject).toHaveLength(1);
    expect(s.storedBytes).toBe(added.reduce((n, [, size]) => n + size, 0));
    expect(json(r).parent).not.toBeNull();
  });

  it('a wrong key is refused with a clear error and nothing is written', async () => {
    const wrong = path.join(base, 'wrong-key');
    fs.writeFileSync(wrong, 'not the passphrase');
    const snapsBefore = fs.readdirSync(path.join(repo, 'snapshots'));
    const objectsBefore = repoObjects(repo).size;
    const target = path.join(base, 'wrong-target');
    const r = await runCli(['restore', repo, '--to', target, '--key-file', wrong], env());
    expectCode(r, 3);
    expect(r.stderr).toMatch(/wrong passphrase for the encrypted repository/);
    expect(r.stderr).not.toContain('not the passphrase');
    expect(fs.existsSync(target)).toBe(false);
    const b = await runCli(['backup', repo, '--key-file', wrong], env());
    expectCode(b, 3);
    const none = await runCli(['backup', 'list', repo], env());
    expectCode(none, 3);
    expect(none.stderr).toMatch(/is encrypted: give its passphrase/);
    expect(fs.readdirSync(path.join(repo, 'snapshots'))).toEqual(snapsBefore);
    expect(repoObjects(repo).size).toBe(objectsBefore);
  });

  it('one flipped byte in a stored file or a manifest: verify --backup --read-data names exactly that file', async () => {
    expectCode(await runCli(['backup', plainRepo], env()), 0);
    const clean = await runCli(['--json', 'verify', '--backup', plainRepo, '--read-data'], env());
    expectCode(clean, 0);

    const victim = await withLibraryDb(lib, async (db) =>
      db.selectFrom('assets').select(['checksum', 'library_path']).orderBy('library_path').limit(1).executeTakeFirstOrThrow(),
    );
    const objFile = path.join(plainRepo, 'data', victim.checksum.slice(0, 2), victim.checksum);
    const original = fs.readFileSync(objFile);
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length / 2)] ^= 0x01;
    fs.writeFileSync(objFile, flipped);

    const quick = await runCli(['--json', 'verify', '--backup', plainRepo], env());
    expectCode(quick, 0); // sizes are right: only --read-data re-reads the bytes
    const r = await runCli(['--json', 'verify', '--backup', plainRepo, '--read-data'], env());
    expectCode(r, 1);
    const data = json(r).checks.find((c: { name: string }) => c.name === 'data');
    expect(data.status).toBe('error');
    expect(data.items).toHaveLength(1);
    expect(data.items[0]).toContain(victim.library_path);
    expect(data.items[0]).toContain(victim.checksum);
    fs.writeFileSync(objFile, original);

    // The manifest: a flipped byte in the snapshot header.
    const [snapId] = fs.readdirSync(path.join(plainRepo, 'snapshots')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    const snapFile = path.join(plainRepo, 'snapshots', snapId!);
    const header = fs.readFileSync(snapFile);
    const bad = Buffer.from(header);
    bad[40] ^= 0x01;
    fs.writeFileSync(snapFile, bad);
    const m = await runCli(['--json', 'verify', '--backup', plainRepo, '--read-data'], env());
    expectCode(m, 1);
    const snaps = json(m).checks.find((c: { name: string }) => c.name === 'snapshots');
    expect(snaps.items).toHaveLength(1);
    expect(snaps.items[0]).toContain(`snapshots/${snapId}`);
    fs.writeFileSync(snapFile, header);
    expectCode(await runCli(['verify', '--backup', plainRepo, '--read-data'], env()), 0);
  });

  it('a truncated repository: clear errors, the rest is restored, no temp files left', async () => {
    const copy = path.join(base, 'repo-truncated');
    fs.cpSync(plainRepo, copy, { recursive: true });
    const victim = await withLibraryDb(lib, async (db) =>
      db.selectFrom('assets').select(['checksum', 'library_path']).orderBy('library_path', 'desc').limit(1).executeTakeFirstOrThrow(),
    );
    const objFile = path.join(copy, 'data', victim.checksum.slice(0, 2), victim.checksum);
    fs.truncateSync(objFile, 100);
    const v = await runCli(['--json', 'verify', '--backup', copy], env());
    expectCode(v, 1);
    expect(JSON.stringify(json(v).checks)).toMatch(/truncated or damaged/);

    const target = path.join(base, 'restored-truncated');
    const r = await runCli(['restore', copy, '--to', target], env());
    expectCode(r, 1);
    expect(r.stderr).toContain(victim.library_path);
    expect(fs.existsSync(path.join(target, victim.library_path))).toBe(false);
    expect(allFiles(target).filter((f) => f.includes('.immich-tmp-'))).toEqual([]);
    // the other originals are there and intact
    const others = await withLibraryDb(lib, async (db) => db.selectFrom('assets').select(['checksum', 'library_path']).where('checksum', '!=', victim.checksum).execute());
    for (const o of others) expect(sha1(path.join(target, o.library_path))).toBe(o.checksum);

    fs.rmSync(path.join(copy, 'config.json'));
    const gone = await runCli(['restore', copy, '--to', path.join(base, 'never')], env());
    expectCode(gone, 3);
    expect(gone.stderr).toMatch(/not a backup repository \(config.json missing/);
    expect(fs.existsSync(path.join(base, 'never'))).toBe(false);
  });

  it('a hostile manifest (path traversal, absolute path) is rejected before anything is written', async () => {
    for (const evil of ['uploads/../../escaped.txt', '/tmp/immich-escaped.txt']) {
      const copy = path.join(base, `repo-hostile-${evil.startsWith('/') ? 'abs' : 'dots'}`);
      fs.cpSync(plainRepo, copy, { recursive: true });
      const r0 = await Repository.open(copy);
      const snap = await r0.findSnapshot('latest');
      const files = await r0.loadFileList(snap);
      files.push({ ...files[0]!, path: evil });
      const list = await r0.putFileList(files);
      const { id: _id, ...header } = snap;
      await r0.saveSnapshot({ ...header, time: new Date().toISOString(), files: { ...list, count: files.length, bytes: 0 } });

      const target = path.join(base, 'hostile-target');
      const r = await runCli(['restore', copy, '--to', target], env());
      expectCode(r, 3);
      expect(r.stderr).toMatch(/unsafe path .*(path traversal|absolute path).*refusing to restore/);
      expect(fs.existsSync(target)).toBe(false);
      expect(fs.existsSync(path.join(base, 'escaped.txt'))).toBe(false);
      expect(fs.existsSync(path.resolve(target, evil))).toBe(false);
      // verify --backup reports it too
      const v = await runCli(['--json', 'verify', '--backup', copy], env());
      expectCode(v, 1);
      expect(JSON.stringify(json(v))).toMatch(/unsafe path/);
    }
  });

  it('forget --keep-last 1 --prune removes old snapshots and the data only they used', async () => {
    const copy = path.join(base, 'repo-forget');
    fs.cpSync(repo, copy, { recursive: true });
    const list = json(await runCli(['--json', 'backup', 'list', copy, '--key-file', keyFile], env()));
    expect(list.snapshots.length).toBe(2);
    const dry = await runCli(['--json', 'backup', 'forget', copy, '--keep-last', '1', '--prune', '--dry-run', '--key-file', keyFile], env());
    expectCode(dry, 0);
    expect(json(dry).remove).toHaveLength(1);
    expect(json(dry).prune.objects).toBeGreaterThan(0); // thumbnails, the old file list and dump
    expect(json(await runCli(['--json', 'backup', 'list', copy, '--key-file', keyFile], env())).snapshots).toHaveLength(2);
    const real = await runCli(['--json', 'backup', 'forget', copy, '--keep-last', '1', '--prune', '--key-file', keyFile], env());
    expectCode(real, 0);
    expect(json(real).prune.objects).toBe(json(dry).prune.objects);
    const v = await runCli(['--json', 'verify', '--backup', copy, '--read-data', '--key-file', keyFile], env());
    expectCode(v, 0);
    expect(json(v).checks.find((c: { name: string }) => c.name === 'unreferenced')).toBeUndefined();
    const noPolicy = await runCli(['backup', 'forget', copy, '--key-file', keyFile], env());
    expectCode(noPolicy, 2);
  });

  it('in-place originals whose folder is gone are restored into the library and their rows follow', async () => {
    const photos = path.join(base, 'in-place-photos');
    await makeImage(path.join(photos, 'kept.jpg'), { color: '#a04060', seed: 41 });
    await makeImage(path.join(photos, 'lost/gone.jpg'), { color: '#40a060', seed: 42 });
    const ilib = path.join(base, 'in-place-library');
    expectCode(await runCli(['import', '--in-place', '--skip-ml', photos], { UPLOAD_LOCATION: ilib }), 0);
    const irepo = path.join(base, 'repo-in-place');
    expectCode(await runCli(['backup', irepo], { UPLOAD_LOCATION: ilib }), 0);
    const goneSum = sha1(path.join(photos, 'lost/gone.jpg'));
    fs.rmSync(path.join(photos, 'lost'), { recursive: true });

    const restored = path.join(base, 'in-place-restored');
    const r = await runCli(['--json', 'restore', irepo, '--to', restored], { UPLOAD_LOCATION: ilib });
    expectCode(r, 0);
    expect(r.stderr).toMatch(/2 in-place files were restored under .*external; 1 whose original location is gone now belong to the library/);
    const rows = await withLibraryDb(restored, (db) => db.selectFrom('assets').select(['library_path', 'storage_mode', 'original_path']).orderBy('original_path').execute());
    const gone = rows.find((a) => a.original_path.endsWith('gone.jpg'))!;
    expect(gone.storage_mode).toBe('copy');
    expect(gone.library_path).toBe(`external${path.join(photos, 'lost/gone.jpg')}`);
    expect(sha1(path.join(restored, gone.library_path))).toBe(goneSum);
    const kept = rows.find((a) => a.original_path.endsWith('kept.jpg'))!;
    expect(kept).toMatchObject({ storage_mode: 'in-place', library_path: path.join(photos, 'kept.jpg') });
    const verify = await runCli(['--json', 'verify', '--no-models'], { UPLOAD_LOCATION: restored });
    expect(json(verify).checks.filter((c: { status: string }) => c.status === 'error')).toEqual([]);
  });

  it('restore --force over the live library takes a safety snapshot first', async () => {
    const before = await libraryState(lib);
    const r = await runCli(['--json', 'restore', plainRepo, '--force'], env());
    expectCode(r, 0);
    const out = json(r);
    expect(out.safetySnapshot).toMatch(/^[0-9a-f]{64}$/);
    expect(out.files.skipped).toBeGreaterThan(0); // identical files are left alone
    const list = json(await runCli(['--json', 'backup', 'list', plainRepo], env()));
    const safety = list.snapshots.find((s: { id: string }) => s.id === out.safetySnapshot);
    expect(safety.tags).toContain('safety');
    expectSameLibrary(before, await libraryState(lib));
  });
});
