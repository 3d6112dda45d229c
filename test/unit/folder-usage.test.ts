// `stats`' folder totals kept between runs (storage/folder-usage.ts): only folders whose entries
// changed are read again, a folder changed within its times' tick is never kept, kept counts expire,
// and an edited cache can neither widen the walk nor break it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderUsage, MAX_AGE_MS } from '../../src/storage/folder-usage.js';
import { tmpDir } from '../helpers/env.js';

/** thumbs/ab/cd/<n>.webp-like tree. */
function tree(root: string, shards = 4, perShard = 5): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (let a = 0; a < shards; a++) {
    for (let b = 0; b < shards; b++) {
      const d = path.join(root, `a${a}`, `b${b}`);
      fs.mkdirSync(d, { recursive: true });
      for (let i = 0; i < perShard; i++) {
        const data = Buffer.alloc(100 + a * 10 + b + i);
        fs.writeFileSync(path.join(d, `f${i}.webp`), data);
        bytes += data.length;
        files++;
      }
    }
  }
  return { bytes, files };
}

// The tree was made just now: without racyMs 0 nothing would be kept.
const settled = { racyMs: 0 };

describe('folder usage kept between runs', () => {
  it('equals a full walk; an unchanged folder is not read again until its count expires', async () => {
    const root = path.join(tmpDir(), 'thumbs');
    const want = tree(root);
    const cacheFile = path.join(tmpDir(), 'stats-thumbs.json');
    expect(await folderUsage(root)).toEqual(want);
    expect(await folderUsage(root, { cacheFile, ...settled })).toEqual(want);
    // rewritten in place: the folder's entries and times stay, its kept count stands (the library
    // never does this: it writes by temp + rename) ...
    fs.appendFileSync(path.join(root, 'a1', 'b2', 'f0.webp'), Buffer.alloc(50));
    expect(await folderUsage(root, { cacheFile, ...settled })).toEqual(want);
    // ... until it expires
    expect(await folderUsage(root, { cacheFile, ...settled, now: Date.now() + MAX_AGE_MS + 1000 })).toEqual({ bytes: want.bytes + 50, files: want.files });
  });

  it('follows files added, renamed in and removed, folders added and removed, and mtimes set back', async () => {
    const root = path.join(tmpDir(), 'uploads');
    const want = tree(root);
    const cacheFile = path.join(tmpDir(), 'c.json');
    const leaf = path.join(root, 'a0', 'b0');
    const m = new Date(Date.now() - 3600_000);
    fs.utimesSync(leaf, m, m);
    expect(await folderUsage(root, { cacheFile, ...settled })).toEqual(want);
    fs.writeFileSync(path.join(root, 'new.tmp'), Buffer.alloc(1000));
    fs.renameSync(path.join(root, 'new.tmp'), path.join(leaf, 'new.jpg'));
    fs.utimesSync(leaf, m, m); // as rsync -t leaves it: only the ctime tells
    expect(await folderUsage(root, { cacheFile, ...settled })).toEqual({ bytes: want.bytes + 1000, files: want.files + 1 });
    fs.rmSync(path.join(root, 'a3'), { recursive: true });
    const goneBytes = [0, 1, 2, 3].reduce((s, b) => s + [0, 1, 2, 3, 4].reduce((t, i) => t + 100 + 30 + b + i, 0), 0);
    expect(await folderUsage(root, { cacheFile, ...settled })).toEqual({ bytes: want.bytes + 1000 - goneBytes, files: want.files + 1 - 20 });
    fs.mkdirSync(path.join(root, 'x', 'y'), { recursive: true });
    fs.writeFileSync(path.join(root, 'x', 'y', 'z'), Buffer.alloc(7));
    fs.unlinkSync(path.join(leaf, 'f1.webp'));
    expect(await folderUsage(root, { cacheFile, ...settled })).toEqual({ bytes: want.bytes + 1000 - goneBytes + 7 - 101, files: want.files + 1 - 20 });
  });

  it('does not keep a folder changed within the last 2 s: a change in the same clock tick is seen', async () => {
    const root = path.join(tmpDir(), 'encoded');
    fs.mkdirSync(root);
    const f = path.join(root, 'v.mp4');
    fs.writeFileSync(f, Buffer.alloc(10));
    const cacheFile = path.join(tmpDir(), 'c.json');
    expect(await folderUsage(root, { cacheFile })).toEqual({ bytes: 10, files: 1 });
    // the folder's times stay as they were (here: a rewrite in place stands for a second entry made
    // within the same tick); a folder kept at the first walk would still count 10
    fs.writeFileSync(f, Buffer.alloc(25));
    expect(await folderUsage(root, { cacheFile })).toEqual({ bytes: 25, files: 1 });
  });

  it('an edited or damaged cache is not trusted; an unwritable one only costs speed', async () => {
    const root = path.join(tmpDir(), 'thumbs');
    const want = tree(root, 2, 2);
    const outside = path.join(path.dirname(root), 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'big'), Buffer.alloc(5000));
    const cacheFile = path.join(tmpDir(), 'c.json');
    await folderUsage(root, { cacheFile, ...settled });
    const data = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
    const top = data.folders.find((r: unknown[]) => r[0] === '');
    top[5].push('../outside');
    top[3] = 1e12;
    fs.writeFileSync(cacheFile, JSON.stringify(data));
    expect(await folderUsage(root, { cacheFile, ...settled })).toEqual(want);
    fs.writeFileSync(cacheFile, '{"version":1,"root":');
    expect(await folderUsage(root, { cacheFile, ...settled })).toEqual(want);
    // its folder is a file: not writable
    expect(await folderUsage(root, { cacheFile: path.join(outside, 'big', 'c.json'), ...settled })).toEqual(want);
    expect(await folderUsage(path.join(root, 'missing'), { cacheFile, ...settled })).toEqual({ bytes: 0, files: 0 });
  });
});
