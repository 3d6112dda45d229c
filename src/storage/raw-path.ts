// File names that are not valid UTF-8 (a Latin-1 `caf\xe9.jpg` from an old camera card or a Samba
// share). Node decodes such a name to U+FFFD, which names no file, and the database's text columns
// cannot hold the bytes either. So a path is carried everywhere (memory, database, --json) in one
// lossless text form, and turned back into its bytes only where the file system is called:
//
//   - a byte that is not part of valid UTF-8 is written as U+FFFD followed by its two hex digits
//     (uppercase): the bytes `caf\xe9.jpg` are the text "caf\uFFFDE9.jpg";
//   - a U+FFFD that the name really holds (its bytes EF BF BD, valid UTF-8) is written the same way,
//     byte by byte ("\uFFFDEF\uFFFDBF\uFFFDBD"), so no name can be taken for another's escaped form;
//   - everything else is the name itself: a valid UTF-8 path without U+FFFD is its own text form.
//
// The text form never holds a "/" or a "." that the bytes do not, so path.join, basename, extname and
// globs work on it unchanged. `fsPath` gives what node:fs needs (the string itself, or a Buffer when
// the path holds escaped bytes); external tools (exiftool, ffmpeg, sharp's libvips) get a temporary
// link with a UTF-8 name (`toolPath`).
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { TMP_MARK } from './atomic.js';

const MARK = '\uFFFD';
const ESCAPED = /\uFFFD([0-9A-F]{2})/g;

/** Whether the text form holds escaped bytes: the file system must then be given a Buffer. */
export function isRawPath(p: string): boolean {
  return p.includes(MARK);
}

/** Length of the valid UTF-8 sequence starting at b[i], 0 when the byte starts none. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0; // overlong
    if (c === 0xed) hi = 0x9f; // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90; // overlong
    if (c === 0xf4) hi = 0x8f; // above U+10FFFF
  } else return 0;
  if (i + n > b.length) return 0;
  for (let k = 1; k < n; k++) {
    const d = b[i + k]!;
    if (d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return 0;
  }
  return n;
}

const hex = (byte: number) => MARK + byte.toString(16).toUpperCase().padStart(2, '0');

/** The text form of a name or path given as bytes (readdir/realpath with encoding 'buffer'). */
export function textFromBytes(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const s = buf.toString('utf8');
  // The common case: valid UTF-8 (decoding back gives the same bytes) without U+FFFD.
  if (!s.includes(MARK)) return s;
  let out = '';
  let start = 0;
  let i = 0;
  while (i < buf.length) {
    const n = utf8SequenceLength(buf, i);
    // U+FFFD itself (EF BF BD) is escaped too: the mark must only ever mean an escaped byte.
    const isMark = n === 3 && buf[i] === 0xef && buf[i + 1] === 0xbf && buf[i + 2] === 0xbd;
    if (n && !isMark) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', start, i);
    const len = n || 1;
    for (let k = 0; k < len; k++) out += hex(buf[i + k]!);
    i += len;
    start = i;
  }
  return out + buf.toString('utf8', start);
}

/** The bytes a text-form path stands for. */
export function bytesFromText(p: string): Buffer {
  if (!isRawPath(p)) return Buffer.from(p, 'utf8');
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of p.matchAll(/\uFFFD([0-9A-Fa-f]{2})?/g)) {
    parts.push(Buffer.from(p.slice(last, m.index), 'utf8'));
    // A lone U+FFFD (from a command line whose bytes Node could not decode) stays U+FFFD.
    parts.push(m[1] ? Buffer.from([parseInt(m[1], 16)]) : Buffer.from(MARK, 'utf8'));
    last = m.index! + m[0].length;
  }
  parts.push(Buffer.from(p.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** What node:fs is given for a text-form path: the string itself, or its bytes. */
export function fsPath(p: string): string | Buffer {
  return isRawPath(p) ? bytesFromText(p) : p;
}

/** The text form as a person reads it (`caf\xe9.jpg`): in display-name.ts, which the web gallery shares. */
export { displayPath } from './display-name.js';

/**
 * A name for a copy the library makes: valid UTF-8 without U+FFFD or control characters, which
 * every tool takes (`caf\xe9.jpg` → `caf%E9.jpg`, a newline → `%0A`). Not one-to-one: the library
 * numbers a name that is taken (+1), and the original name stays in original_path/original_name.
 */
export function plainName(p: string): string {
  return p
    .replace(ESCAPED, '%$1')
    .replace(/[\u0000-\u001f\u007f\uFFFD]/g, (c) => (c === MARK ? '%EF%BF%BD' : `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`));
}

/**
 * Whether an external program needs a link to the file (`withToolPath`): its name holds bytes that
 * are not UTF-8, or a control character (exiftool reads its arguments one per line).
 */
export function needsToolLink(p: string): boolean {
  return /[\u0000-\u001f\u007f\uFFFD]/.test(p);
}

/**
 * Run `fn` with a path an external program can open (exiftool, ffmpeg and libvips take UTF-8 names):
 * the path itself, or for a name with escaped bytes a symbolic link to it with a UTF-8 name in
 * `tmpDir`, under the temp-file mark of this process (TMP_MARK), so a killed run's link is cleaned
 * like its other temp files. The extension is kept: the tools go by it.
 */
export async function withToolPath<T>(p: string, tmpDir: string, fn: (toolPath: string) => Promise<T>): Promise<T> {
  if (!needsToolLink(p)) return fn(p);
  await fsp.mkdir(tmpDir, { recursive: true });
  const ext = plainName(path.extname(p)).replace(/[^\w.]/g, '_');
  const link = path.join(tmpDir, `${TMP_MARK}${process.pid}-${crypto.randomBytes(6).toString('hex')}-link${ext}`);
  await fsp.symlink(bytesFromText(path.resolve(p)), link);
  try {
    return await fn(link);
  } catch (err) {
    // Messages name the file the user knows, not the link.
    if (err instanceof Error) {
      err.message = err.message.replaceAll(link, p);
      const e = err as Error & { item?: unknown };
      if (e.item === link) Object.defineProperty(err, 'item', { value: p });
    }
    throw err;
  } finally {
    await fsp.rm(link, { force: true });
  }
}
