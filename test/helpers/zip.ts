// A small zip writer for fixtures: deflated entries with UTF-8 names, and the entries real tools
// refuse to write (names with '..', symbolic links), so the reader's refusals can be tested.
// More than 65535 entries, entries over 4 GiB and offsets past 4 GiB get zip64's records (as zip tools
// write them for large Takeout parts); a sparse entry keeps such a fixture small on disk.
import fs from 'node:fs';
import zlib from 'node:zlib';

export interface ZipFixtureEntry {
  name: string;
  data: Buffer | string;
  /** Store as a symbolic link (the data is the link target). */
  symlink?: boolean;
  mtime?: Date;
  /** Stored, not deflated (fast for many filler entries). */
  store?: boolean;
  /** A stored entry of this many zero bytes left as a hole in the file (zip64 sizes and offsets past 4 GiB). */
  sparse?: number;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function dosTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** A zip64 extended-information extra field (id 1) with these 64-bit values, in the order the spec gives. */
function zip64Extra(values: number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(1, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

const MAX32 = 0xffffffff;

export function writeZip(file: string, entries: ZipFixtureEntry[]): void {
  // Written piece by piece at their offsets: a sparse entry is a hole in the file, not bytes.
  const fd = fs.openSync(file, 'w');
  const centrals: Buffer[] = [];
  let offset = 0;
  const put = (b: Buffer) => {
    fs.writeSync(fd, b, 0, b.length, offset);
    offset += b.length;
  };
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const raw = e.sparse !== undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data, 'utf8');
    const store = e.store || e.sparse !== undefined;
    const packed = store ? raw : zlib.deflateRawSync(raw);
    const size = e.sparse ?? raw.length;
    const csize = e.sparse ?? packed.length;
    // A hole reads as zeros, and nothing here checks data CRCs; the reader never opens fillers.
    const crc = e.sparse !== undefined ? 0 : crc32(raw);
    const big = size > MAX32;
    const far = offset > MAX32;
    const { time, date } = dosTime(e.mtime ?? new Date(2024, 0, 15, 12, 0, 0));
    const localExtra = big ? zip64Extra([size, csize]) : Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(big ? 45 : 20, 4);
    local.writeUInt16LE(0x800, 6); // UTF-8 names
    local.writeUInt16LE(store ? 0 : 8, 8); // stored or deflated
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(big ? MAX32 : csize, 18);
    local.writeUInt32LE(big ? MAX32 : size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    const centralExtra = big || far ? zip64Extra([...(big ? [size, csize] : []), ...(far ? [offset] : [])]) : Buffer.alloc(0);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 45, 4); // made by Unix
    central.writeUInt16LE(big || far ? 45 : 20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(store ? 0 : 8, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(big ? MAX32 : csize, 20);
    central.writeUInt32LE(big ? MAX32 : size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(centralExtra.length, 30);
    central.writeUInt32LE((((e.symlink ? 0o120777 : 0o100644) << 16) >>> 0), 38);
    central.writeUInt32LE(far ? MAX32 : offset, 42);
    centrals.push(central, name, centralExtra);
    put(Buffer.concat([local, name, localExtra]));
    if (e.sparse !== undefined) offset += e.sparse;
    else put(packed);
  }
  const cd = Buffer.concat(centrals);
  const cdOffset = offset;
  put(cd);
  const zip64 = entries.length > 0xffff || cdOffset > MAX32;
  if (zip64) {
    // Zip64 end of central directory record and its locator: the real counts and offsets, 64-bit.
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE((3 << 8) | 45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset), 8);
    loc.writeUInt32LE(1, 16);
    put(Buffer.concat([rec, loc]));
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(zip64 ? MAX32 : cdOffset, 16);
  put(end);
  fs.closeSync(fd);
}
