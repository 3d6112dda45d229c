// A second reader for the scripts PP-OCRv4's recogniser cannot spell. Its dictionary (ppocr_keys_v1)
// is Chinese + ASCII: Cyrillic and Greek come out as Latin look-alikes ("АПТЕКА" → "ANTEKA" at 0.92),
// kana, Hangul and Arabic as nothing. Paddle's detector still boxes those lines, so each doubtful box
// is cropped (straightened along its detected quadrilateral) and read by tesseract's LSTM, one worker
// per script family, and the reading replaces Paddle's when it is confident and shows letters only
// that script has (bench/RESULTS.md, "OCR on photo-like scene text").
// Language data: npm @tesseract.js-data/{ell,jpn,kor,ara} (never fetched); Russian is not on npm, so
// Debian's tesseract-ocr-rus (or TESSDATA_PREFIX) provides it where installed.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../context.js';
import sharp from '../media/sharp.js';

export interface Crop {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface ScriptReading {
  text: string;
  /** 0..1 */
  confidence: number;
  langs: string;
}

/** Worker groups: Cyrillic and Greek apart (their capitals look alike, and each reads the other's), the rest together. */
export const SCRIPT_GROUPS: string[][] = [['rus'], ['ell'], ['jpn', 'kor', 'ara']];

interface TesseractWorker {
  setParameters(p: Record<string, string>): Promise<unknown>;
  recognize(image: Buffer): Promise<{ data: { text: string; confidence: number } }>;
  terminate(): Promise<unknown>;
}

function packageDir(name: string): string | undefined {
  const require = createRequire(import.meta.url);
  return (require.resolve.paths(name) ?? []).map((b) => path.join(b, name)).find((p) => fs.existsSync(p));
}

/** Where a language's data is: its npm package (LSTM best_int), else a system tessdata folder. */
export function tessdataFile(lang: string, env: Record<string, string | undefined> = {}): string | undefined {
  const pkg = packageDir(`@tesseract.js-data/${lang}`);
  const candidates = [
    ...(pkg ? [path.join(pkg, '4.0.0_best_int', `${lang}.traineddata.gz`), path.join(pkg, '4.0.0', `${lang}.traineddata.gz`)] : []),
    ...(env.TESSDATA_PREFIX ? [path.join(env.TESSDATA_PREFIX, `${lang}.traineddata`), path.join(env.TESSDATA_PREFIX, 'tessdata', `${lang}.traineddata`)] : []),
    ...['5', '4.00'].map((v) => `/usr/share/tesseract-ocr/${v}/tessdata/${lang}.traineddata`),
  ];
  return candidates.find((p) => fs.existsSync(p));
}

interface Readers {
  workers: Array<{ langs: string; worker: TesseractWorker }>;
  dir: string;
}

/** One tesseract worker per group whose languages are all installed; none when there is no data at all. */
async function readers(ctx: Context): Promise<Readers> {
  return ctx.lazy<Readers>(
    'ocr:scripts',
    async () => {
      // tesseract.js reads `${langPath}/${lang}.traineddata.gz` and checks the gzip magic itself, so
      // one folder of links serves both the npm (gzip) and the Debian (plain) files.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-tessdata-'));
      const workers: Readers['workers'] = [];
      const groups = SCRIPT_GROUPS.map((g) => g.filter((l) => {
        const file = tessdataFile(l, ctx.config.raw);
        if (file) fs.symlinkSync(file, path.join(dir, `${l}.traineddata.gz`));
        return !!file;
      })).filter((g) => g.length);
      if (!groups.length) return { workers, dir };
      const { createWorker, OEM, PSM } = (await import('tesseract.js')).default as unknown as {
        createWorker: (l: string[], oem: number, opts: object) => Promise<TesseractWorker>;
        OEM: { LSTM_ONLY: number };
        PSM: { SINGLE_LINE: string };
      };
      for (const g of groups) {
        const worker = await createWorker(g, OEM.LSTM_ONLY, { langPath: dir, gzip: true, cacheMethod: 'none', logger: () => {}, errorHandler: () => {} });
        // A crop holds one line; 300 dpi stops the "invalid resolution" warning for small crops.
        await worker.setParameters({ tessedit_pageseg_mode: PSM.SINGLE_LINE, user_defined_dpi: '300' });
        workers.push({ langs: g.join('+'), worker });
      }
      return { workers, dir };
    },
    async (r) => {
      for (const w of r.workers) await w.worker.terminate();
      fs.rmSync(r.dir, { recursive: true, force: true });
    },
  );
}

/** Whether any script reader is installed (so a caller can skip the crops). */
export function scriptReadersAvailable(env: Record<string, string | undefined> = {}): boolean {
  return SCRIPT_GROUPS.some((g) => g.every((l) => tessdataFile(l, env)));
}

// Latin letters that Cyrillic and Greek capitals are read as, and the letters of those scripts that
// look like Latin ones: a Cyrillic or Greek reading made only of these says nothing about the script.
const LOOKALIKE = new Set([...'ABCEHIJKMNOPTXYZabcehiknopxyАВСЕНІЈКМОРТХУЅаеорсухіјѕпкьΑΒΕΗΙΚΜΝΟΡΤΥΧΖαοικνυςρτ']);
// The Latin letters Paddle spells Cyrillic and Greek capitals with, look-alike or not (Л → JI or L,
// Ш → W, Ы → bI, Д → n, Φ → 中): a Paddle reading made of others is Latin text.
const SPELLED_AS = new Set([...'ABCEHIJKLMNOPTWXYZbn']);
const OTHER_SCRIPT = /[\u0370-\u03ff\u0400-\u04ff\u0600-\u06ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u1100-\u11ff]/u;
const CJK_OR_KANA = /[\u3040-\u30ff\u3400-\u9fff]/u;

/**
 * A reading worth a look: a letter that only its script has (one is all "АПТЕКА" and "ΦΑΡΜΑΚΕΙΟ"
 * show), two letters or more, and letters for two thirds of it (tesseract's Arabic model reads noise
 * in a small crop as "ض 4 7 5").
 */
export function scriptLike(text: string): boolean {
  const chars = [...text.replace(/\s+/g, '')];
  const letters = chars.filter((c) => /\p{L}/u.test(c)).length;
  return distinctiveLetters(text) >= 1 && letters >= 2 && letters * 3 >= chars.length * 2;
}

/** Letters only a non-Latin script has (Cyrillic or Greek beyond the look-alikes, kana, Hangul, Arabic, Han). */
export function distinctiveLetters(text: string): number {
  let n = 0;
  for (const ch of text) if (OTHER_SCRIPT.test(ch) && !LOOKALIKE.has(ch)) n++;
  return n;
}

/**
 * Whether Paddle's reading of a line may be another script spelled with its dictionary: read as
 * nothing or with low confidence, mixing scripts ("中APMAKEIO"), mixing case inside a word ("BbIXOn"),
 * or made only of the Latin letters that Cyrillic and Greek capitals are read as ("ANTEKA").
 */
export function doubtful(text: string, confidence: number): boolean {
  const t = text.trim();
  if (!t || confidence < 0.9) return true;
  const latin = /[A-Za-z]/.test(t);
  if (latin && OTHER_SCRIPT.test(t)) return true;
  if (/[a-z][A-Z]|[A-Z]{2,}[a-z]+[A-Z]/.test(t)) return true;
  const letters = [...t].filter((c) => /\p{L}/u.test(c));
  return latin && letters.length >= 3 && letters.every((c) => LOOKALIKE.has(c));
}

const CYRILLIC_OR_GREEK = /[\u0370-\u03ff\u0400-\u04ff]/u;

/**
 * Whether a script reading should replace Paddle's reading of the same line. Paddle's confident Latin
 * stands ("EAN/JAN" 0.98 is not "ЕАМ/ЛАМ" 0.86; "14-42mmlIlR" 0.84 is not "14-42тт ИВ"): the reading
 * must be about as confident (within 0.05), and a Cyrillic or Greek one must replace letters that
 * could have been spelled from that script, or a reading Paddle was unsure of (below 0.75).
 */
export function replaces(paddleText: string, paddleConfidence: number, reading: ScriptReading): boolean {
  const t = paddleText.trim();
  if (!t || paddleConfidence < 0.5) return true;
  // Paddle's confidence means little for a reading that mixes scripts ("中APMAKEIO" 0.94).
  const mixed = /[A-Za-z]/.test(t) && OTHER_SCRIPT.test(t);
  if (!mixed && reading.confidence < paddleConfidence - 0.05) return false;
  if (/[A-Za-z]/.test(reading.text) && CYRILLIC_OR_GREEK.test(reading.text)) return false;
  if (!CYRILLIC_OR_GREEK.test(reading.text)) return true;
  if (paddleConfidence < 0.75 || OTHER_SCRIPT.test(t)) return true;
  return [...t].filter((c) => /[A-Za-z]/.test(c)).every((c) => SPELLED_AS.has(c));
}

/** Tesseract spaces CJK characters apart; Hangul keeps its word spaces. */
export function tidy(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/(?<=[\u3040-\u30ff\u3400-\u9fff]) (?=[\u3040-\u30ff\u3400-\u9fff])/gu, '');
}

/** Rank a reading: its confidence less 5 points per stray symbol ("ФАРМАКЕ!О" loses to "ΦΑΡΜΑΚΕΙΟ"). */
function score(text: string, confidence: number): number {
  const stray = [...text].filter((c) => !/[\p{L}\p{N}\s]/u.test(c)).length;
  return confidence - 5 * stray;
}

/**
 * The crop as tesseract sees it: scaled to `height` px (0: as it is) inside a border, `pad` of the
 * height, of its edge's median colour (a tight crop loses letters at its ends, a wide one takes in the
 * next line, and repeating the edge pixels draws streaks from the letters that touch it).
 */
async function prepare(crop: Crop, height: number, pad: number): Promise<Buffer> {
  const h = height || crop.height;
  const w = Math.max(8, Math.round((crop.width * h) / crop.height));
  const border = Math.round(h * pad);
  return sharp(Buffer.from(crop.data.buffer, crop.data.byteOffset, crop.data.byteLength), { raw: { width: crop.width, height: crop.height, channels: 3 } })
    .resize(w, h, { fit: 'fill' })
    .extend({ top: border, bottom: border, left: border, right: border, background: edgeColour(crop) })
    .png()
    .toBuffer();
}

/** The median colour of a crop's outermost pixels: the sign's background, as a rule. */
export function edgeColour(crop: Crop): { r: number; g: number; b: number } {
  const ch: number[][] = [[], [], []];
  const take = (x: number, y: number) => {
    for (let k = 0; k < 3; k++) ch[k]!.push(crop.data[(y * crop.width + x) * 3 + k]!);
  };
  for (let x = 0; x < crop.width; x++) {
    take(x, 0);
    take(x, crop.height - 1);
  }
  for (let y = 0; y < crop.height; y++) {
    take(0, y);
    take(crop.width - 1, y);
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1] ?? 0;
  return { r: median(ch[0]!), g: median(ch[1]!), b: median(ch[2]!) };
}

/**
 * Tesseract's reading of a crop changes with its size and border more than one would hope (measured on
 * the photo-like set: ВОЙНА И МИР and きっぷうりば only at 48 px, ΕΞΟΔΟΣ only at full size), so a line is
 * read at 48 px first (cheap) and at its own size when that gave nothing usable.
 */
const VIEWS: Array<[height: number, pad: number]> = [[48, 0.3], [0, 0.25]];

/**
 * A confident reading of a one-line crop in a non-Latin script that should replace Paddle's reading
 * of it (`replaces`), or undefined.
 */
export async function readScripts(ctx: Context, crop: Crop, paddleText = '', paddleConfidence = 0): Promise<ScriptReading | undefined> {
  const { workers } = await readers(ctx);
  if (!workers.length) return undefined;
  for (const [height, pad] of VIEWS) {
    const png = await prepare(crop, height, pad);
    let best: { text: string; score: number; confidence: number; langs: string } | undefined;
    for (const { langs, worker } of workers) {
      const { data } = await worker.recognize(png);
      const text = tidy(data.text);
      if (!text || !scriptLike(text)) continue;
      const s = score(text, data.confidence);
      if (!best || s > best.score) best = { text, score: s, confidence: data.confidence / 100, langs };
    }
    // Below 70 tesseract's script readings of Latin text ("ЕВ!$СНЕ ВВОТСНЕМ" 55) start to pass.
    if (!best || best.score < 70) continue;
    const reading = { text: best.text, confidence: best.confidence, langs: best.langs };
    if (replaces(paddleText, paddleConfidence, reading)) return reading;
  }
  return undefined;
}

/** Whether a reading carries CJK or kana (spaces inside it are not word breaks). */
export const isCjk = (text: string) => CJK_OR_KANA.test(text);

/**
 * The crop of a detected line, straightened: the quadrilateral (clockwise from top-left) mapped onto
 * a rectangle by the affine map of three corners. Paddle's boxes are already padded (unclip 1.5): a
 * wider margin takes in the neighbouring line ("ラーメン 出口" read as "ジニメン 로티" at a fifth of the height).
 */
export function cropQuad(img: Crop, points: Array<{ x: number; y: number }>, scale = 1): Crop {
  const [p0, p1, , p3] = points.map((p) => ({ x: p.x * scale, y: p.y * scale })) as [{ x: number; y: number }, { x: number; y: number }, { x: number; y: number }, { x: number; y: number }];
  const w = Math.hypot(p1.x - p0.x, p1.y - p0.y);
  const h = Math.hypot(p3.x - p0.x, p3.y - p0.y);
  const m = Math.max(2, h * 0.05);
  const W = Math.max(1, Math.round(w + 2 * m));
  const H = Math.max(1, Math.round(h + 2 * m));
  // Unit vectors along the line and down it.
  const ux = (p1.x - p0.x) / Math.max(w, 1e-6), uy = (p1.y - p0.y) / Math.max(w, 1e-6);
  const vx = (p3.x - p0.x) / Math.max(h, 1e-6), vy = (p3.y - p0.y) / Math.max(h, 1e-6);
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = p0.x + (x - m) * ux + (y - m) * vx;
      const sy = p0.y + (x - m) * uy + (y - m) * vy;
      // Bilinear: nearest-neighbour steps along a slightly rolled line cost tesseract whole words.
      const fx = Math.min(img.width - 1, Math.max(0, sx));
      const fy = Math.min(img.height - 1, Math.max(0, sy));
      const x0 = Math.floor(fx), y0 = Math.floor(fy);
      const x1 = Math.min(img.width - 1, x0 + 1), y1 = Math.min(img.height - 1, y0 + 1);
      const ax = fx - x0, ay = fy - y0;
      const o = (y * W + x) * 3;
      for (let k = 0; k < 3; k++) {
        const a = img.data[(y0 * img.width + x0) * 3 + k]!, b = img.data[(y0 * img.width + x1) * 3 + k]!;
        const c = img.data[(y1 * img.width + x0) * 3 + k]!, d = img.data[(y1 * img.width + x1) * 3 + k]!;
        out[o + k] = Math.round((a * (1 - ax) + b * ax) * (1 - ay) + (c * (1 - ax) + d * ax) * ay);
      }
    }
  }
  return { width: W, height: H, data: out };
}
