// Content sniffing: the real type of a file from its first bytes, not its extension (a JPEG saved
// as .nef is a JPEG). Pure; reads nothing itself.
export const RAW_FORMATS = new Set(['dng', 'cr2', 'cr3', 'nef', 'arw', 'raf', 'rw2', 'orf']);
const MIME = {
    jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', tiff: 'image/tiff',
    heic: 'image/heic', avif: 'image/avif', jxl: 'image/jxl',
    dng: 'image/x-adobe-dng', cr2: 'image/x-canon-cr2', cr3: 'image/x-canon-cr3', nef: 'image/x-nikon-nef',
    arw: 'image/x-sony-arw', raf: 'image/x-fuji-raf', rw2: 'image/x-panasonic-rw2', orf: 'image/x-olympus-orf',
    mp4: 'video/mp4', mov: 'video/quicktime', mkv: 'video/x-matroska', webm: 'video/webm', avi: 'video/x-msvideo',
    '3gp': 'video/3gpp', mts: 'video/mp2t',
};
/** How many leading bytes sniff() wants. */
export const SNIFF_BYTES = 4096;
const VIDEO = new Set(['mp4', 'mov', 'mkv', 'webm', 'avi', '3gp', 'mts']);
function result(format) {
    return { type: VIDEO.has(format) ? 'video' : 'image', format, mime: MIME[format] };
}
function ascii(buf, start, len) {
    return Buffer.from(buf.subarray(start, start + len)).toString('latin1');
}
/** Whether the bytes look like plain text (for a clearer error message). */
export function looksLikeText(buf) {
    if (buf.length === 0)
        return false;
    let printable = 0;
    for (const b of buf)
        if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc0)
            printable++;
    return printable / buf.length > 0.95;
}
/**
 * Identify a media file from its first bytes. `ext` (lowercase, no dot) only refines TIFF-based RAW
 * formats, which share TIFF's magic. Returns undefined when the content is not a supported format.
 */
export function sniff(buf, ext = '') {
    if (buf.length < 4)
        return undefined;
    const b = buf;
    if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff)
        return result('jpeg');
    if (b[0] === 0x89 && ascii(b, 1, 3) === 'PNG')
        return result('png');
    if (ascii(b, 0, 4) === 'GIF8')
        return result('gif');
    if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP')
        return result('webp');
    if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'AVI ')
        return result('avi');
    if (b[0] === 0xff && b[1] === 0x0a)
        return result('jxl');
    if (ascii(b, 4, 8) === 'JXL \r\n\x87\n')
        return result('jxl');
    if (ascii(b, 0, 15) === 'FUJIFILMCCD-RAW')
        return result('raf');
    const head4 = ascii(b, 0, 4);
    if (head4 === 'IIRO' || head4 === 'IIRS' || head4 === 'MMOR')
        return result('orf');
    if (head4 === 'IIU\0')
        return result('rw2');
    if (head4 === 'II*\0' || head4 === 'MM\0*') {
        if (ascii(b, 8, 2) === 'CR')
            return result('cr2');
        if (ext === 'dng' || ext === 'nef' || ext === 'nrw' || ext === 'arw' || ext === 'cr2') {
            return result(ext === 'nrw' ? 'nef' : ext);
        }
        return result('tiff');
    }
    if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
        // EBML: the DocType tells WebM from Matroska.
        return result(ascii(b, 0, Math.min(b.length, 64)).includes('webm') ? 'webm' : 'mkv');
    }
    if (ascii(b, 4, 4) === 'ftyp') {
        const brand = ascii(b, 8, 4);
        const boxSize = Math.min(b.length, (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
        const brands = [brand];
        for (let i = 16; i + 4 <= boxSize; i += 4)
            brands.push(ascii(b, i, 4));
        if (brands.includes('crx '))
            return result('cr3');
        if (brand === 'avif' || brand === 'avis')
            return result('avif');
        if (['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1', 'mif2'].includes(brand)) {
            return result(brands.includes('avif') && !brands.some((x) => x.startsWith('hei')) ? 'avif' : 'heic');
        }
        if (brand === 'qt  ')
            return result('mov');
        if (brand.startsWith('3g'))
            return result('3gp');
        return result('mp4');
    }
    // QuickTime files without ftyp start with another top-level atom.
    if (['moov', 'mdat', 'wide', 'free', 'skip', 'pnot'].includes(ascii(b, 4, 4)))
        return result('mov');
    // MPEG transport stream: sync byte 0x47 every 188 bytes (TS) or at 4 + 192n (M2TS / AVCHD .mts).
    const ts = (start, stride) => {
        if (b.length < start + stride * 3)
            return false;
        for (let i = start; i < b.length && i < start + stride * 5; i += stride)
            if (b[i] !== 0x47)
                return false;
        return true;
    };
    if (ts(0, 188) || ts(4, 192))
        return result('mts');
    return undefined;
}
/** Image width/height from a JPEG XL header (SizeHeader), without decoding. */
export function jxlSize(buf) {
    let data = buf;
    if (ascii(buf, 4, 8) === 'JXL \r\n\x87\n') {
        // ISOBMFF container: find the jxlc (or first jxlp) box.
        let off = 0;
        data = new Uint8Array();
        while (off + 8 <= buf.length) {
            let size = (buf[off] * 2 ** 24) + (buf[off + 1] << 16) + (buf[off + 2] << 8) + buf[off + 3];
            const type = ascii(buf, off + 4, 4);
            let hdr = 8;
            if (size === 1) {
                size = Number(Buffer.from(buf.subarray(off + 8, off + 16)).readBigUInt64BE());
                hdr = 16;
            }
            if (type === 'jxlc') {
                data = buf.subarray(off + hdr);
                break;
            }
            if (type === 'jxlp') {
                data = buf.subarray(off + hdr + 4);
                break;
            }
            if (size === 0)
                break;
            off += size;
        }
    }
    if (data.length < 12 || data[0] !== 0xff || data[1] !== 0x0a)
        return undefined;
    let pos = 16; // bit position after the signature
    const bits = (n) => {
        let v = 0;
        for (let i = 0; i < n; i++, pos++)
            v |= ((data[pos >> 3] >> (pos & 7)) & 1) << i;
        return v >>> 0;
    };
    const u32 = (d) => {
        const [off, n] = d[bits(2)];
        return off + bits(n);
    };
    const ratio = (r, h) => {
        const f = { 1: [1, 1], 2: [12, 10], 3: [4, 3], 4: [3, 2], 5: [16, 9], 6: [5, 4], 7: [2, 1] };
        const [n, d] = f[r];
        return Math.floor((h * n) / d);
    };
    const small = bits(1);
    let height;
    let width;
    if (small) {
        height = (bits(5) + 1) * 8;
        const r = bits(3);
        width = r ? ratio(r, height) : (bits(5) + 1) * 8;
    }
    else {
        const dist = [[1, 9], [1, 13], [1, 18], [1, 30]];
        height = u32(dist);
        const r = bits(3);
        width = r ? ratio(r, height) : u32(dist);
    }
    return { width, height };
}
//# sourceMappingURL=sniff.js.map