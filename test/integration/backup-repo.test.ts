// The repository format on its own: encryption, content addressing, wrong keys, damaged data and
// hostile manifests.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createKey, decryptStream, encryptBuffer, openKey } from '../../src/crypto/backup-crypto.js';
import { Repository, RepositoryError, unsafePathReason, validateFileList, type FileEntry } from '../../src/services/backup-repo.js';
import { tmpDir } from '../helpers/env.js';

const FAST_KDF = { N: 2 ** 12, r: 8, p: 1 }; // tests only; the default is 2^17
const sha1 = (b: Buffer) => crypto.createHash('sha1').update(b).digest('hex');

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('backup repository', () => {
  it('unencrypted: objects are named by the SHA-1 of their content and stored once', async () => {
    const root = path.join(tmpDir(), 'repo');
    const repo = await Repository.open(root, { create: true });
    expect(repo.encrypted).toBe(false);
    expect(fs.statSync(root).mode & 0o777).toBe(0o700);
    const data = crypto.randomBytes(100_000);
    const a = await repo.putBuffer(data);
    expect(a.object).toBe(sha1(data));
    expect(a.written).toBe(true);
    const b = await repo.putBuffer(data);
    expect(b.written).toBe(false);
    expect(fs.statSync(repo.objectPath(a.object)).mode & 0o777).toBe(0o600);
    expect((await collect(repo.readStream(a.object))).equals(data)).toBe(true);
    expect(await repo.checkObject(a.object)).toBeNull();
    // one flipped byte is found
    const file = repo.objectPath(a.object);
    const bytes = fs.readFileSync(file);
    bytes[5000] ^= 0xff;
    fs.writeFileSync(file, bytes);
    expect(await repo.checkObject(a.object)).toMatch(/does not match/);
  });

  it('encrypted: ids do not reveal checksums, content is unreadable without the key, a wrong key is refused', async () => {
    const root = path.join(tmpDir(), 'repo');
    const repo = await Repository.open(root, { create: true, passphrase: 'correct horse', kdf: FAST_KDF });
    expect(repo.encrypted).toBe(true);
    const data = Buffer.from('a photo of a cat '.repeat(5000));
    const put = await repo.putBuffer(data);
    expect(put.object).not.toBe(sha1(data));
    expect(put.object).toMatch(/^[0-9a-f]{64}$/);
    const stored = fs.readFileSync(repo.objectPath(put.object));
    expect(stored.includes(Buffer.from('a photo of a cat'))).toBe(false);
    expect(stored.length).toBe(repo.storedSize(data.length));
    expect((await collect(repo.readStream(put.object))).equals(data)).toBe(true);
    const config = JSON.parse(fs.readFileSync(path.join(root, 'config.json'), 'utf8'));
    expect(config.encryption.kdf).toMatchObject({ name: 'scrypt', N: FAST_KDF.N });
    expect(JSON.stringify(config)).not.toContain('correct horse');

    const again = await Repository.open(root, { passphrase: 'correct horse' });
    expect((await collect(again.readStream(put.object))).equals(data)).toBe(true);
    await expect(Repository.open(root, { passphrase: 'wrong' })).rejects.toThrow(/wrong passphrase/);
    await expect(Repository.open(root, {})).rejects.toThrow(/encrypted/);
    const err = await Repository.open(root, { passphrase: 'wrong' }).catch((e) => e);
    expect(err).toBeInstanceOf(RepositoryError);
    expect(err.exitCode).toBe(3);
  });

  it('streaming decryption rejects tampering and truncation', async () => {
    const { envelope } = await createKey('pw', FAST_KDF);
    const key = await openKey('pw', envelope);
    const plain = crypto.randomBytes(3 * 1024 * 1024 + 7);
    const enc = encryptBuffer(key, plain);
    const chunks = (b: Buffer) => Readable.from([b.subarray(0, 1000), b.subarray(1000, 2_000_000), b.subarray(2_000_000)]);
    expect((await collect(chunks(enc).pipe(decryptStream(key)))).equals(plain)).toBe(true);
    const bad = Buffer.from(enc);
    bad[1_000_000] ^= 1;
    await expect(collect(chunks(bad).pipe(decryptStream(key)))).rejects.toThrow(/authentication failed/);
    await expect(collect(chunks(enc.subarray(0, enc.length - 5)).pipe(decryptStream(key)))).rejects.toThrow(/authentication|truncated/);
  });

  it('snapshots are named by the hash of their bytes; a flipped byte is reported', async () => {
    const root = path.join(tmpDir(), 'repo');
    const repo = await Repository.open(root, { create: true });
    const list = await repo.putFileList([]);
    const id = await repo.saveSnapshot({
      version: 1, time: new Date().toISOString(), hostname: 'h', library: '/lib', tags: [], parent: null, include_derived: false,
      database: { kind: 'embedded', migrations: [], rows: {}, dump: null },
      files: { ...list, count: 0, bytes: 0 },
      stats: { files: 0, bytes: 0, new_files: 0, new_bytes: 0, stored_bytes: 0, duration_ms: 0 },
    });
    expect((await repo.findSnapshot('latest')).id).toBe(id);
    expect((await repo.findSnapshot(id.slice(0, 6))).id).toBe(id);
    const file = path.join(root, 'snapshots', id);
    const b = fs.readFileSync(file);
    b[10] ^= 1;
    fs.writeFileSync(file, b);
    const { damaged } = await repo.listSnapshots();
    expect(damaged[0]!.error).toMatch(/damaged/);
  });

  it('a truncated repository is a clear error', async () => {
    const root = path.join(tmpDir(), 'repo');
    await Repository.open(root, { create: true });
    fs.rmSync(path.join(root, 'data'), { recursive: true });
    await expect(Repository.open(root)).rejects.toThrow(/incomplete: data\/ is missing/);
    fs.writeFileSync(path.join(root, 'config.json'), '{"format": "immich-ba');
    await expect(Repository.open(root)).rejects.toThrow(/damaged/);
    await expect(Repository.open(path.join(tmpDir(), 'nothing'))).rejects.toThrow(/no backup repository/);
  });

  it('hostile manifest paths are rejected', () => {
    for (const p of ['../evil', 'uploads/../../evil', '/etc/passwd', 'C:/x', 'uploads\\..\\x', '', 'uploads/./x', 'database/base/1', 'uploads', 'uploads//x', 'a\0b']) {
      expect(unsafePathReason(p), p).not.toBeNull();
    }
    expect(unsafePathReason('uploads/2024/01/a.jpg')).toBeNull();
    expect(unsafePathReason('thumbs/ab/cd/x-thumbnail.webp')).toBeNull();
    const ok: FileEntry = { path: 'uploads/a.jpg', checksum: 'a'.repeat(40), size: 1, mode: 0o644, mtime: 0, object: 'a'.repeat(40), kind: 'original' };
    expect(validateFileList([ok])).toHaveLength(1);
    expect(() => validateFileList([{ ...ok, path: '../x' }])).toThrow(/path traversal/);
    expect(() => validateFileList([{ ...ok, type: 'symlink' }])).toThrow(/not a regular file/);
    expect(() => validateFileList([{ ...ok, object: '../../config.json' }])).toThrow(/invalid object id/);
    expect(() => validateFileList([ok, ok])).toThrow(/twice/);
  });
});
