// The lossless text form of paths whose bytes are not valid UTF-8 (storage/raw-path.ts), and the walk
// that lists names by their bytes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesFromText, displayPath, fsPath, needsToolLink, plainName, textFromBytes, withToolPath } from '../../src/storage/raw-path.js';
import { walk } from '../../src/storage/walk.js';
import { tmpDir } from '../helpers/env.js';

const L = (s: string) => Buffer.from(s, 'latin1');

describe('text form of a path', () => {
  it('is the name itself for UTF-8 without U+FFFD; escapes raw bytes and a real U+FFFD', () => {
    expect(textFromBytes(Buffer.from('Ünïcødé 😀.jpg'))).toBe('Ünïcødé 😀.jpg');
    expect(textFromBytes(L('caf\xe9.jpg'))).toBe('caf\uFFFDE9.jpg');
    expect(textFromBytes(Buffer.from('caf\uFFFDE9.jpg'))).toBe('caf\uFFFDEF\uFFFDBF\uFFFDBDE9.jpg');
    // a UTF-8-encoded surrogate, an overlong "/", a truncated sequence: each byte escaped
    expect(textFromBytes(Buffer.from([0x61, 0xed, 0xa0, 0x80, 0xc0, 0xaf, 0xe2, 0x82]))).toBe('a\uFFFDED\uFFFDA0\uFFFD80\uFFFDC0\uFFFDAF\uFFFDE2\uFFFD82');
  });

  it('gives the bytes back, and no two byte strings share a form (random names)', () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      const bytes = crypto.randomBytes(1 + (i % 12));
      // mixes of ASCII, valid multi-byte sequences, U+FFFD itself and raw bytes
      const b = i % 3 ? Buffer.concat([bytes, Buffer.from(i % 2 ? '\uFFFD' : 'é')]) : bytes;
      const t = textFromBytes(b);
      expect(bytesFromText(t).equals(b)).toBe(true);
      const prev = seen.get(t);
      if (prev !== undefined) expect(prev).toBe(b.toString('hex'));
      seen.set(t, b.toString('hex'));
      // Valid text for the database (no lone surrogates) that never adds a "/" or a "."
      expect(Buffer.from(t, 'utf8').toString('utf8')).toBe(t);
      expect(t.split('/').length).toBe(b.toString('latin1').split('/').length);
    }
  });

  it('reads as \\xHH for people, and gives the library a plain UTF-8 name', () => {
    expect(displayPath('/p/caf\uFFFDE9.jpg')).toBe('/p/caf\\xe9.jpg');
    expect(displayPath('caf\uFFFDEF\uFFFDBF\uFFFDBD.jpg')).toBe('caf\uFFFD.jpg');
    expect(plainName('caf\uFFFDE9.jpg')).toBe('caf%E9.jpg');
    expect(plainName('a\nb\u001b.jpg')).toBe('a%0Ab%1B.jpg');
    expect(fsPath('/plain/name.jpg')).toBe('/plain/name.jpg');
    expect(fsPath('/p/caf\uFFFDE9.jpg')).toEqual(L('/p/caf\xe9.jpg'));
    expect(needsToolLink('/p/a.jpg')).toBe(false);
    expect(needsToolLink('/p/a\nb.jpg')).toBe(true);
  });
});

describe('walk and tools by bytes', () => {
  it('lists Latin-1 names and folders by their bytes; a tool link opens the file and goes away', async () => {
    const root = tmpDir('immich-raw-walk-');
    const dir = Buffer.concat([Buffer.from(root + '/'), L('d\xff')]);
    fs.mkdirSync(dir);
    const file = Buffer.concat([dir, L('/caf\xe9.jpg')]);
    fs.writeFileSync(file, 'one');
    fs.writeFileSync(path.join(root, 'caf\uFFFDE9.jpg'), 'two');
    const r = await walk([root]);
    expect(r.skipped.filter((s) => s.reason !== 'unsupported')).toEqual([]);
    expect(r.files.map((f) => path.relative(root, f.path)).sort()).toEqual(['caf\uFFFDEF\uFFFDBF\uFFFDBDE9.jpg', 'd\uFFFDFF/caf\uFFFDE9.jpg']);
    const raw = r.files.find((f) => f.path.includes('d\uFFFDFF'))!;
    expect(fs.readFileSync(fsPath(raw.path)).toString()).toBe('one');
    const tmp = tmpDir('immich-raw-link-');
    const seen = await withToolPath(raw.path, tmp, async (p) => {
      expect(Buffer.from(p).toString('utf8')).toBe(p);
      expect(path.extname(p)).toBe('.jpg');
      return fs.readFileSync(p, 'utf8');
    });
    expect(seen).toBe('one');
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe('command-line arguments', () => {
  it('an argument Node decoded with U+FFFD gets its bytes back from the kernel\'s copy', async () => {
    const { rawArguments } = await import('../../src/cli/main.js');
    const cmdline = Buffer.concat([Buffer.from('node\0--no-warnings\0/x/main.js\0info\0'), L('/p/caf\xe9.jpg'), Buffer.from('\0/p/ok.jpg\0')]);
    const argv = ['/usr/bin/node', '/x/main.js', 'info', L('/p/caf\xe9.jpg').toString('utf8'), '/p/ok.jpg'];
    expect(rawArguments(argv, cmdline)).toEqual(['/usr/bin/node', '/x/main.js', 'info', '/p/caf\uFFFDE9.jpg', '/p/ok.jpg']);
    // Without U+FFFD nothing is read; bytes that do not match the argument are not used.
    expect(rawArguments(['n', 's', 'a'], Buffer.from('zzz\0'))).toEqual(['n', 's', 'a']);
    expect(rawArguments(['n', 's', 'x\uFFFD'], Buffer.concat([Buffer.from('n\0s\0y'), L('\xe9'), Buffer.from('\0')]))).toEqual(['n', 's', 'x\uFFFD']);
  });
});
