// Supported file extensions → asset type and MIME type (Immich's list, minus the rare ones).
// The walk decides by extension; the real type is confirmed from the bytes by probeFile().
import path from 'node:path';
const IMAGE = {
    jpg: 'image/jpeg', jpeg: 'image/jpeg', jpe: 'image/jpeg',
    png: 'image/png',
    webp: 'image/webp',
    gif: 'image/gif',
    tif: 'image/tiff', tiff: 'image/tiff',
    heic: 'image/heic', heif: 'image/heif',
    avif: 'image/avif',
    jxl: 'image/jxl',
};
const RAW = {
    dng: 'image/dng',
    cr2: 'image/x-canon-cr2',
    cr3: 'image/x-canon-cr3',
    nef: 'image/x-nikon-nef',
    arw: 'image/x-sony-arw',
    raf: 'image/x-fuji-raf',
    rw2: 'image/x-panasonic-rw2',
    orf: 'image/x-olympus-orf',
};
const VIDEO = {
    mp4: 'video/mp4',
    mov: 'video/quicktime', qt: 'video/quicktime',
    m4v: 'video/x-m4v',
    mkv: 'video/x-matroska',
    webm: 'video/webm',
    avi: 'video/x-msvideo',
    '3gp': 'video/3gpp',
    mts: 'video/mp2t', m2ts: 'video/mp2t',
};
const FORMATS = new Map([
    ...Object.entries(IMAGE).map(([e, mime]) => [e, { type: 'image', mime }]),
    ...Object.entries(RAW).map(([e, mime]) => [e, { type: 'image', mime, raw: true }]),
    ...Object.entries(VIDEO).map(([e, mime]) => [e, { type: 'video', mime }]),
]);
/** Lower-case extension without the dot ('' when none). */
export function extensionOf(file) {
    return path.extname(file).slice(1).toLowerCase();
}
/** The format of a file by its extension, or undefined when the extension is not supported. */
export function formatOf(file) {
    return FORMATS.get(extensionOf(file));
}
export function isSupported(file) {
    return FORMATS.has(extensionOf(file));
}
/** Every supported extension, for help texts. */
export function supportedExtensions(type) {
    return [...FORMATS.entries()].filter(([, f]) => !type || f.type === type).map(([e]) => e);
}
/** XMP sidecars sit beside the media file: `photo.jpg.xmp` or `photo.xmp`. */
export function sidecarCandidates(file) {
    const ext = path.extname(file);
    return [`${file}.xmp`, `${file.slice(0, file.length - ext.length)}.xmp`];
}
//# sourceMappingURL=formats.js.map