// Zip archives read in place (yauzl): the central directory is listed once, then any entry is
// streamed on demand (random access, zip64 included), so a 50 GB Takeout part is never unpacked.
// Entries that could escape a folder (absolute names, `..`, backslashes) and symbolic links are
// refused and reported, never extracted.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import yauzl from 'yauzl';

export interface ZipEntry {
  /** Name inside the archive, '/'-separated, as stored (UTF-8). */
  name: string;
  size: number;
  mtime: Date;
  /** yauzl's entry, for openReadStream. */
  raw: yauzl.Entry;
}

export interface ZipRefused {
  name: string;
  reason: string;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** Why an entry name is refused, or undefined when it is a safe relative path. */
export function unsafeEntryName(name: string): string | undefined {
  if (name.includes('\\')) return 'backslash in name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'absolute path';
  if (name.split('/').some((part) => part === '..')) return "'..' in path";
  if (name.includes('\0')) return 'NUL in name';
  return undefined;
}

export class ZipArchive {
  private constructor(
    readonly path: string,
    private readonly zip: yauzl.ZipFile,
    readonly entries: ZipEntry[],
    readonly refused: ZipRefused[],
  ) {}

  /** Open and list an archive (files only; folders are implied by names). */
  static async open(file: string): Promise<ZipArchive> {
    // decodeStrings off: yauzl would fail the whole archive on one bad name; we refuse that entry only.
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (err, z) => (err ? reject(err) : resolve(z))),
    );
    const entries: ZipEntry[] = [];
    const refused: ZipRefused[] = [];
    const utf8 = new TextDecoder('utf-8');
    const latin1 = new TextDecoder('latin1');
    try {
      await new Promise<void>((resolve, reject) => {
        zip.on('entry', (e: yauzl.Entry) => {
          const bytes = e.fileName as unknown as Buffer;
          // Bit 11: UTF-8 names (what Takeout writes); older tools' names are read as Latin-1.
          const name = ((e.generalPurposeBitFlag & 0x800) !== 0 ? utf8 : latin1).decode(bytes);
          if (!name.endsWith('/')) {
            const mode = (e.externalFileAttributes >>> 16) & S_IFMT;
            const why = unsafeEntryName(name) ?? (mode === S_IFLNK ? 'symbolic link' : undefined);
            if (why) refused.push({ name, reason: why });
            else entries.push({ name, size: e.uncompressedSize, mtime: e.getLastModDate(), raw: e });
          }
          zip.readEntry();
        });
        zip.once('end', () => resolve());
        zip.once('error', reject);
        zip.readEntry();
      });
    } catch (err) {
      zip.close();
      throw err;
    }
    return new ZipArchive(file, zip, entries, refused);
  }

  stream(entry: ZipEntry): Promise<Readable> {
    return new Promise((resolve, reject) => this.zip.openReadStream(entry.raw, (err, s) => (err ? reject(err) : resolve(s))));
  }

  /** An entry's bytes (for small files: JSON sidecars, CSVs), refused above `maxBytes`. */
  async read(entry: ZipEntry, maxBytes: number): Promise<Buffer> {
    if (entry.size > maxBytes) throw new Error(`${entry.name}: ${entry.size} bytes, more than ${maxBytes}`);
    const chunks: Buffer[] = [];
    for await (const c of await this.stream(entry)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Write an entry to `target` (created exclusively) and return its SHA-1. */
  async extract(entry: ZipEntry, target: string): Promise<string> {
    const hash = crypto.createHash('sha1');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(await this.stream(entry), tap, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 }));
    return hash.digest('hex');
  }

  close(): void {
    this.zip.close();
  }
}
