// Previews, thumbnails and thumbhashes with sharp, decoding the source once. Formats that sharp's
// prebuilt libvips cannot decode go through a fallback decoder first: HEIC/HEIF (HEVC) via Debian's
// heif-convert or npm heic-decode, JPEG XL via npm @jsquash/jxl or Debian's djxl, RAW via the embedded
// JPEG preview that exiftool extracts.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import crypto from 'node:crypto';
import type { OutputInfo, Sharp } from 'sharp';
import sharp from './sharp.js';
import { rgbaToThumbHash } from './thumbhash.js';
import type { ExifTool } from 'exiftool-vendored';
import { RAW_FORMATS, type MediaFormat } from './sniff.js';
import { runCommand } from './video.js';
import { findExecutable } from './executables.js';

/** Immich's sizes: preview 1440 px JPEG q80, thumbnail 250 px WebP; both on the shorter side. */
export const PREVIEW_SIZE = 1440;
export const THUMBNAIL_SIZE = 250;
export const PREVIEW_QUALITY = 80;
export const THUMBNAIL_QUALITY = 80;
/** Default decompression-bomb limit (pixels), configurable with IMMICH_MAX_IMAGE_PIXELS. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface ImageHeader {
  format: string;
  width: number;
  height: number;
  orientation?: number;
}

/** Header-only dimensions from sharp (never decodes pixels, so a bomb costs nothing here). */
export async function readImageHeader(input: string | Buffer): Promise<ImageHeader> {
  const m = await sharp(input, { limitInputPixels: false, sequentialRead: true }).metadata();
  if (!m.width || !m.height) throw new Error('image header has no dimensions');
  return { format: m.format ?? 'unknown', width: m.width, height: m.height, orientation: m.orientation };
}

export function pixelLimitMessage(width: number, height: number, maxPixels: number): string {
  const mp = (n: number) => `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)} Mpx`;
  return `image declares ${width}x${height} (${mp(width * height)}), over the ${mp(maxPixels)} limit (decompression bomb?); refused without decoding`;
}

export interface DecodedSource {
  /** What sharp reads: the original path, a decoded temp file, or raw/encoded bytes. */
  input: string | Buffer;
  raw?: { width: number; height: number; channels: 3 | 4 };
  /** Apply EXIF orientation (false when the fallback decoder already applied the transform). */
  autoOrient: boolean;
  /** Rotate by this many degrees instead (RAW previews carry no orientation of their own). */
  rotate?: number;
  flop?: boolean;
  cleanup(): Promise<void>;
}

export interface DecodeTools {
  /** Folder for temporary decoded files (inside the library, removed after use). */
  tmpDir: string;
  /** Names a temp file in tmpDir (services use the atomic-write mark so `cache clean` finds leftovers). */
  tempFile?: (ext: string) => string;
  exiftool: () => Promise<ExifTool>;
  /** Orientation (1-8) of the original, for RAW embedded previews. */
  orientation?: number | null;
  timeoutMs?: number;
  /**
   * Decoder executables. heifConvert: undefined looks it up, null forces npm heic-decode. djxl: a path
   * uses it instead of the WebAssembly decoder, undefined looks it up only as a fallback, null never.
   */
  heifConvert?: string | null;
  djxl?: string | null;
}

const noop = async () => {};
// Untyped packages, imported by name so TypeScript does not need declarations for them.
const HEIC_DECODE = 'heic-decode';
const JSQUASH_JXL = '@jsquash/jxl/decode.js';


function which(name: string): string | undefined {
  return findExecutable(name, ['/usr/bin', '/usr/local/bin', process.env.PATH]);
}

function tempName(tools: DecodeTools, ext: string): string {
  if (tools.tempFile) return tools.tempFile(ext);
  return path.join(tools.tmpDir, `decode-${process.pid}-${crypto.randomBytes(6).toString('hex')}${ext}`);
}

async function viaCommand(cmd: string, args: (out: string) => string[], tools: DecodeTools, ext: string, timeoutMs: number): Promise<DecodedSource> {
  await fsp.mkdir(tools.tmpDir, { recursive: true });
  const out = tempName(tools, ext);
  const r = await runCommand(cmd, args(out), { timeoutMs });
  if (r.code !== 0 || !fs.existsSync(out)) {
    await fsp.rm(out, { force: true });
    const cause = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? `exit code ${r.code}`;
    throw new Error(`${path.basename(cmd)} failed: ${cause}`);
  }
  return { input: out, autoOrient: false, cleanup: () => fsp.rm(out, { force: true }) };
}

// WebAssembly decoders run in a worker thread: a 20 Mpx decode takes seconds of CPU and would
// otherwise stall every other job (and the progress display) on the event loop. The worker is plain
// JavaScript evaluated from a string so it works from dist/ and from the TypeScript sources alike.
const WASM_WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const fs = require('node:fs');
(async () => {
  try {
    if (!globalThis.ImageData) globalThis.ImageData = class { constructor(d, x, y) { this.data = d; this.width = x; this.height = y; } };
    const bytes = fs.readFileSync(w.file);
    let img;
    if (w.kind === 'jxl') {
      const mod = await import(w.moduleUrl);
      await mod.init(await WebAssembly.compile(fs.readFileSync(w.wasm)));
      img = await mod.default(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    } else {
      const mod = await import(w.moduleUrl);
      img = await (mod.default ?? mod)({ buffer: bytes });
    }
    const data = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
    parentPort.postMessage({ width: img.width, height: img.height, data }, [data.buffer]);
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) });
  }
})();
`;

function decodeInWorker(kind: 'jxl' | 'heic', file: string, timeoutMs: number): Promise<DecodedSource> {
  const require = createRequire(import.meta.url);
  const moduleFile = kind === 'jxl' ? require.resolve(JSQUASH_JXL) : require.resolve(HEIC_DECODE);
  const wasm = kind === 'jxl' ? path.join(path.dirname(require.resolve('@jsquash/jxl/package.json')), 'codec/dec/jxl_dec.wasm') : undefined;
  return new Promise((resolve, reject) => {
    const worker = new Worker(WASM_WORKER, { eval: true, workerData: { kind, file, wasm, moduleUrl: pathToFileURL(moduleFile).href } });
    const timer = setTimeout(() => { void worker.terminate(); reject(new Error(`${kind} decoder timed out after ${timeoutMs} ms`)); }, timeoutMs);
    worker.once('message', (m: { error?: string; width: number; height: number; data: Uint8Array }) => {
      clearTimeout(timer);
      void worker.terminate();
      if (m.error) return reject(new Error(`${kind === 'jxl' ? 'JPEG XL' : 'HEIF'} decoder: ${m.error}`));
      resolve({
        input: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
        raw: { width: m.width, height: m.height, channels: 4 },
        autoOrient: false,
        cleanup: noop,
      });
    });
    worker.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

async function decodeHeic(file: string, tools: DecodeTools): Promise<DecodedSource> {
  const heifConvert = tools.heifConvert === undefined ? which('heif-convert') : tools.heifConvert;
  if (heifConvert) {
    // libheif applies the irot/imir transforms, so the EXIF orientation must not be applied again.
    return viaCommand(heifConvert, (out) => ['--quiet', '-q', '92', file, out], tools, '.jpg', tools.timeoutMs ?? 60_000).catch(async (err) => {
      // Older heif-convert has no --quiet.
      if (!/quiet|unrecognized|invalid option/i.test((err as Error).message)) throw err;
      return viaCommand(heifConvert, (out) => ['-q', '92', file, out], tools, '.jpg', tools.timeoutMs ?? 60_000);
    });
  }
  // npm heic-decode (libheif compiled to WebAssembly) also applies the transforms.
  return decodeInWorker('heic', file, tools.timeoutMs ?? 120_000);
}

/**
 * JPEG XL: @jsquash/jxl (libjxl compiled to WebAssembly, from npm) first: it is faster and more robust
 * than Debian bookworm's djxl 0.7, which writes 16-bit PNGs slowly and chokes on some files. djxl is
 * the fallback when the WebAssembly decoder cannot load.
 */
async function decodeJxl(file: string, tools: DecodeTools): Promise<DecodedSource> {
  const viaDjxl = (djxl: string) => viaCommand(djxl, (out) => [file, out, '--quiet'], tools, '.png', tools.timeoutMs ?? 120_000);
  if (tools.djxl) return viaDjxl(tools.djxl);
  try {
    return await decodeInWorker('jxl', file, tools.timeoutMs ?? 120_000);
  } catch (err) {
    const djxl = tools.djxl === undefined ? which('djxl') : undefined;
    if (!djxl) throw err;
    return viaDjxl(djxl);
  }
}

const ORIENTATION_ROTATE: Record<number, { angle: number; flop: boolean }> = {
  1: { angle: 0, flop: false }, 2: { angle: 0, flop: true }, 3: { angle: 180, flop: false }, 4: { angle: 180, flop: true },
  5: { angle: 90, flop: true }, 6: { angle: 90, flop: false }, 7: { angle: 270, flop: true }, 8: { angle: 270, flop: false },
};

async function decodeRaw(file: string, tools: DecodeTools): Promise<DecodedSource> {
  const et = await tools.exiftool();
  let best: Buffer | undefined;
  for (const tag of ['JpgFromRaw', 'PreviewImage', 'OtherImage']) {
    const buf = await et.extractBinaryTagToBuffer(tag, file).catch(() => undefined);
    if (!buf || buf.length < 1024 || buf[0] !== 0xff || buf[1] !== 0xd8) continue;
    if (!best || buf.length > best.length) best = buf;
  }
  if (!best) throw new Error('RAW file has no usable embedded preview (RAW decoding itself is not supported)');
  // The embedded JPEG is stored unrotated; the RAW's own orientation applies.
  const o = ORIENTATION_ROTATE[tools.orientation ?? 1] ?? ORIENTATION_ROTATE[1]!;
  return { input: best, autoOrient: false, rotate: o.angle, flop: o.flop, cleanup: noop };
}

/** Prepare a source sharp can decode for the given (sniffed) format. */
export async function decodeSource(file: string, format: MediaFormat, tools: DecodeTools): Promise<DecodedSource> {
  if (format === 'heic') return decodeHeic(file, tools);
  if (format === 'jxl') return decodeJxl(file, tools);
  if (RAW_FORMATS.has(format)) return decodeRaw(file, tools);
  return { input: file, autoOrient: true, cleanup: noop };
}

export interface RenderedImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface Rendered {
  preview: RenderedImage;
  thumbnail: RenderedImage;
  /** base64 thumbhash */
  thumbhash: string;
  /** Oriented size of the full image. */
  width: number;
  height: number;
  /** Set when the image was damaged but still rendered (truncated JPEG...). */
  warning?: string;
}

/** Longest-to-shorter-side rule: scale so the shorter side is `size`, never enlarge (fit 'outside'). */
export function outsideSize(width: number, height: number, size: number): { width: number; height: number } {
  const short = Math.min(width, height);
  if (short <= size) return { width, height };
  const scale = size / short;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** sharp's message when libvips's error text was gone by the time the failing pipeline read it. */
function isLostVipsError(message: string): boolean {
  return message === '' || message === 'Unknown error';
}

function pipelineFor(src: DecodedSource, maxPixels: number, failOn: 'error' | 'none'): Sharp {
  let p = sharp(src.input, {
    limitInputPixels: maxPixels,
    failOn,
    sequentialRead: true,
    ...(src.raw ? { raw: src.raw } : {}),
  });
  if (src.autoOrient) p = p.rotate();
  else if (src.rotate) p = p.rotate(src.rotate);
  if (src.flop) p = p.flop();
  return p;
}

/**
 * Decode the source once, at preview size (libjpeg/libwebp shrink-on-load does most of the work). An
 * opaque source's preview is encoded in that same pipeline and the thumbnail and thumbhash are made from
 * the preview JPEG; otherwise the raw pixels are kept and the preview, thumbnail and thumbhash made from them.
 */
export async function renderImage(
  src: DecodedSource,
  opts: {
    maxPixels: number;
    /** The source's header when the caller already read it (saves a parse). */
    header?: { width: number; height: number; orientation?: number };
    /** The source has no alpha channel (JPEG): the thumbnail is made from the encoded preview. */
    opaque?: boolean;
  },
): Promise<Rendered> {
  let warning: string | undefined;
  /** Runs `render` strict, then, for damaged but partly decodable data (truncated JPEG), lenient, like Immich. */
  const tolerant = async <T>(render: (failOn: 'error' | 'none') => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await render('error');
      } catch (err) {
        const msg = (err as Error).message;
        // libvips keeps its error text in one process-wide buffer that every finished pipeline clears:
        // a pipeline failing while another one ends can lose its cause ("Unknown error", seen under
        // load with a truncated JPEG). Run it again to learn the cause; still none after three runs,
        // the lenient run decides: it fails for what is not damage (unknown format, pixel limit).
        const lost = isLostVipsError(msg);
        if (lost && attempt < 2) continue;
        if (!lost && !/premature end|truncated|corrupt data|unexpected end/i.test(msg)) throw err;
        warning = `damaged image data (${lost ? 'libvips gave no cause' : msg.split('\n')[0]}); rendered what could be decoded`;
        return render('none');
      }
    }
  };
  const header = async (failOn: 'error' | 'none') => opts.header ?? (await pipelineFor(src, opts.maxPixels, failOn).metadata());
  const toPreviewSize = (failOn: 'error' | 'none') =>
    pipelineFor(src, opts.maxPixels, failOn).resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: 'outside', withoutEnlargement: true }).toColourspace('srgb');
  /** Thumbnail (WebP) and the thumbhash's 100 px RGBA from pixels at least thumbnail-sized. */
  const fromSmall = async (input: Sharp) => {
    const small = await input.resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'outside', withoutEnlargement: true }).raw().toBuffer({ resolveWithObject: true });
    const smallRaw = { width: small.info.width, height: small.info.height, channels: small.info.channels as 1 | 2 | 3 | 4 };
    return Promise.all([
      sharp(small.data, { raw: smallRaw }).webp({ quality: THUMBNAIL_QUALITY }).toBuffer({ resolveWithObject: true }),
      sharp(small.data, { raw: smallRaw }).resize(100, 100, { fit: 'inside', withoutEnlargement: true }).ensureAlpha().raw().toBuffer({ resolveWithObject: true }),
    ]);
  };

  let meta: { width?: number; height?: number; orientation?: number };
  let info: { width: number; height: number };
  let preview: { data: Buffer; info: OutputInfo };
  let thumbnail: { data: Buffer; info: OutputInfo };
  let hash: { data: Buffer; info: OutputInfo };
  if (opts.opaque) {
    // Decode, shrink and encode the preview in one libvips pipeline, then the thumbnail from that JPEG
    // (libjpeg decodes it at 1/4 scale): no 1440 px raw buffer passes through JavaScript. Those
    // 4-6 MB buffers count as external memory, and V8 ran a full GC every ~64 MB of them.
    ({ meta, preview } = await tolerant(async (failOn) => ({
      meta: await header(failOn),
      preview: await toPreviewSize(failOn).jpeg({ quality: PREVIEW_QUALITY, mozjpeg: false }).toBuffer({ resolveWithObject: true }),
    })));
    info = preview.info;
    [thumbnail, hash] = await fromSmall(sharp(preview.data));
  } else {
    // Alpha possible: decode once to raw at preview size; the preview is flattened, the thumbnail keeps alpha.
    const decoded = await tolerant(async (failOn) => ({ meta: await header(failOn), ...(await toPreviewSize(failOn).raw().toBuffer({ resolveWithObject: true })) }));
    ({ meta, info } = decoded);
    const raw = { width: decoded.info.width, height: decoded.info.height, channels: decoded.info.channels as 1 | 2 | 3 | 4 };
    [preview, [thumbnail, hash]] = await Promise.all([
      // JPEG has no alpha: flatten transparent images onto white (dropping alpha would show the
      // undefined colour under transparent pixels, often black).
      (raw.channels === 2 || raw.channels === 4 ? sharp(decoded.data, { raw }).flatten({ background: '#ffffff' }) : sharp(decoded.data, { raw }))
        .jpeg({ quality: PREVIEW_QUALITY, mozjpeg: false })
        .toBuffer({ resolveWithObject: true }),
      // The thumbnail and thumbhash come from the 1440 px pixels already decoded.
      fromSmall(sharp(decoded.data, { raw })),
    ]);
  }
  const thumbhash = Buffer.from(rgbaToThumbHash(hash.info.width, hash.info.height, hash.data)).toString('base64');
  // Full oriented size: from the header (swap for 90/270 transforms), or the decoded size for temp files.
  let width = meta.width ?? info.width;
  let height = meta.height ?? info.height;
  const swap = (src.autoOrient && (meta.orientation ?? 1) >= 5) || (!src.autoOrient && (src.rotate === 90 || src.rotate === 270));
  if (swap) [width, height] = [height, width];
  return {
    preview: { data: preview.data, width: preview.info.width, height: preview.info.height },
    thumbnail: { data: thumbnail.data, width: thumbnail.info.width, height: thumbnail.info.height },
    thumbhash,
    width,
    height,
    warning,
  };
}
