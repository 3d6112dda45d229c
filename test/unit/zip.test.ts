// The zip reader: zip64 archives (as `zip -fz` writes them), random access to any entry, SHA-1
// while extracting, and entries that could escape a folder or are links refused, not fatal.
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unsafeEntryName, ZipArchive } from '../../src/storage/zip.js';
import { noteSkip, tmpDir } from '../helpers/env.js';
import { writeZip } from '../helpers/zip.js';

const hasZip = spawnSync('zip', ['-v']).status === 0;

describe('zip archives', () => {
  it('names that could escape are refused', () => {
    expect(unsafeEntryName('Takeout/Google Photos/a.jpg')).toBeUndefined();
    expect(unsafeEntryName('Takeout/../../etc/passwd')).toBe("'..' in path");
    expect(unsafeEntryName('/etc/passwd')).toBe('absolute path');
    expect(unsafeEntryName('C:/x.jpg')).toBe('absolute path');
    expect(unsafeEntryName('a\\..\\b.jpg')).toBe('backslash in name');
    expect(unsafeEntryName('a..b/c..jpg')).toBeUndefined();
  });

  it('lists, refuses and extracts entries in any order', async () => {
    const dir = tmpDir('immich-zip-');
    const file = path.join(dir, 'a.zip');
    const big = crypto.randomBytes(300_000);
    writeZip(file, [
      { name: 'Takeout/Google\u00a0Fotos/Été ☀/a.bin', data: big },
      { name: 'Takeout/../evil.bin', data: 'x' },
      { name: 'Takeout/link.jpg', data: '/etc/passwd', symlink: true },
      { name: 'Takeout/b.json', data: '{"title":"b"}' },
    ]);
    const z = await ZipArchive.open(file);
    try {
      expect(z.entries.map((e) => [e.name, e.size])).toEqual([['Takeout/Google\u00a0Fotos/Été ☀/a.bin', big.length], ['Takeout/b.json', 13]]);
      expect(z.refused).toEqual([{ name: 'Takeout/../evil.bin', reason: "'..' in path" }, { name: 'Takeout/link.jpg', reason: 'symbolic link' }]);
      // The last entry first, then the first: random access through the central directory.
      expect((await z.read(z.entries[1]!, 1000)).toString()).toBe('{"title":"b"}');
      await expect(z.read(z.entries[0]!, 1000)).rejects.toThrow(/more than 1000/);
      const out = path.join(dir, 'out.bin');
      expect(await z.extract(z.entries[0]!, out)).toBe(crypto.createHash('sha1').update(big).digest('hex'));
      expect(fs.readFileSync(out).equals(big)).toBe(true);
      // Never over an existing file.
      await expect(z.extract(z.entries[0]!, out)).rejects.toThrow(/EEXIST/);
    } finally {
      z.close();
    }
  });

  it('reads zip64 archives', async () => {
    if (!hasZip) return noteSkip('zip64', 'no zip command to write a zip64 archive');
    const dir = tmpDir('immich-zip64-');
    fs.mkdirSync(path.join(dir, 'Takeout'));
    const data = crypto.randomBytes(100_000);
    fs.writeFileSync(path.join(dir, 'Takeout', 'IMG_1.jpg'), data);
    execFileSync('zip', ['-q', '-fz', '-r', 'z64.zip', 'Takeout'], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'z64.zip')).includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // zip64 end record
    const z = await ZipArchive.open(path.join(dir, 'z64.zip'));
    try {
      const e = z.entries.find((x) => x.name === 'Takeout/IMG_1.jpg')!;
      expect(e.size).toBe(data.length);
      expect((await z.read(e, 1 << 20)).equals(data)).toBe(true);
    } finally {
      z.close();
    }
  });
});
