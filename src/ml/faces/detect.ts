// SCRFD face detection (InsightFace export with 5 keypoints): letterbox into a square input, decode the
// three stride heads, non-maximum suppression, and map boxes and landmarks back to image pixels. Faces the
// first pass is unsure of get a second look at smaller input scales (see `detectFacesTraced`).
import type { Sharp } from 'sharp';
import sharp from '../../media/sharp.js';
import type { LoadedModel } from '../runtime.js';
import type { RgbImage } from './align.js';

export interface DetectedFace {
  /** x1, y1, x2, y2 in image pixels */
  box: [number, number, number, number];
  score: number;
  /** left eye, right eye, nose, left mouth corner, right mouth corner (image pixels) */
  landmarks: Array<[number, number]>;
}

export interface DetectOptions {
  /** Faces scoring below this are dropped (Immich: 0.7). */
  minScore: number;
  /** Square input side, a multiple of 32. */
  inputSize?: number;
  nmsIou?: number;
  /**
   * Faces the first pass scores in [recheckFloor, minScore) are looked at again at smaller input scales
   * (RECHECK_SCALES) and kept when one of those scores them ≥ minScore. ≥ minScore turns this off, and
   * the edge look with it.
   */
  recheckFloor?: number;
}

/** Default floor of the second look. On the corpus, non-faces stay under 0.52 at 640 (a copper ornament). */
export const RECHECK_FLOOR = 0.5;
/**
 * Input scales of the second look, relative to inputSize. SCRFD's score is a predicted box quality
 * (quality focal loss), and for hard faces (a turned head, a face cut by the frame) it moves by ±0.1 with
 * scale; the best of three scales is standard multi-scale testing, run only where it can change the outcome.
 */
export const RECHECK_SCALES: readonly number[] = [0.75, 0.6];

/**
 * Faces cut by the frame (a group selfie's outermost people): a first-pass candidate scoring at least
 * this whose box reaches the image border gets one more look with the image mirror-padded by
 * EDGE_PAD of its longer side. The mirrored half gives the detector the context it was trained with
 * (it scores a half face 0.3–0.6); only such a candidate can be promoted, so the mirror images of
 * faces inside the photo are never added.
 */
export const EDGE_FLOOR = 0.3;
export const EDGE_PAD = 0.2;

/** Square input sides of the second look for a first-pass side (multiples of 32). */
export function recheckSizes(size: number): number[] {
  return RECHECK_SCALES.map((f) => Math.max(32, Math.round((size * f) / 32) * 32));
}

interface Head {
  stride: number;
  scores: Float32Array;
  boxes: Float32Array;
  kps?: Float32Array;
}

/** (v − 127.5) / 128 for every byte value: SCRFD's input normalisation. */
const NORM = Float32Array.from({ length: 256 }, (_, v) => (v - 127.5) / 128);

/**
 * Input tensors are reused once a detector run is done with them: a fresh 4.9 MB Float32Array per
 * photo cost ~2 ms in page faults on first write, a tenth of the pipeline's own time per photo. Two
 * per size cover the photo being inferred and the one prepared meanwhile.
 */
const spareTensors = new Map<number, Float32Array[]>();
function takeTensor(length: number): { tensor: Float32Array; reused: boolean } {
  const t = spareTensors.get(length)?.pop();
  return t ? { tensor: t, reused: true } : { tensor: new Float32Array(length), reused: false };
}
function giveBackTensor(t: Float32Array): void {
  const list = spareTensors.get(t.length) ?? [];
  if (list.length < 2 && !list.includes(t)) list.push(t);
  spareTensors.set(t.length, list);
}

/** The letterboxed size of a width×height image in a size×size input. */
function fitInside(width: number, height: number, size: number): { w: number; h: number } {
  const scale = Math.min(size / width, size / height);
  return { w: Math.max(1, Math.round(width * scale)), h: Math.max(1, Math.round(height * scale)) };
}

/** Letterbox: keep the aspect ratio, scale into size×size, pad right and bottom with black. */
export async function letterbox(img: RgbImage, size: number): Promise<{ tensor: Float32Array; scale: number }> {
  const { w, h } = fitInside(img.width, img.height, size);
  const resized = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 3 | 4 } })
    .removeAlpha()
    .resize(w, h, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return { tensor: toInputTensor(resized, w, h, size), scale: w / img.width };
}

/**
 * Letterbox straight from an image file (the preview), so that the full-size decode alignment needs
 * is not in the way: it can run beside this one and while the detector runs (a large preview also
 * gets the JPEG decoder's shrink-on-load).
 */
export async function letterboxFile(file: string, size: number): Promise<Letterboxed> {
  // sharp picks the fitted size (no header read first); the scale is settled in detectPass once
  // the full-size decode tells the image's width.
  const { data, info } = await uprightRgb(file)
    .resize(size, size, { fit: 'inside', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { tensor: toInputTensor(data, info.width, info.height, size), scale: 0, fittedWidth: info.width, size };
}

/**
 * An image file as upright sRGB without alpha: what detection and alignment both decode (the
 * preview is already upright; rotate() only matters for one that kept an EXIF orientation).
 */
export function uprightRgb(file: string): Sharp {
  return sharp(file).rotate().removeAlpha().toColourspace('srgb');
}

/** RGB bytes (w×h) → the detector's planar, normalised size×size input, zero-padded right and bottom. */
function toInputTensor(resized: Uint8Array, w: number, h: number, size: number): Float32Array {
  const plane = size * size;
  // padding is 0 in the normalised input, as in SCRFD's training and test pipelines (mmdet Pad after
  // Normalize; training crops pad with grey 128). InsightFace's Python package pads black: same detections here.
  const { tensor, reused } = takeTensor(3 * plane);
  const g = plane, b = 2 * plane;
  if (reused) {
    // Only the padding needs clearing: every other value is written below.
    for (const base of [0, g, b]) {
      if (w < size) for (let y = 0; y < h; y++) tensor.fill(0, base + y * size + w, base + (y + 1) * size);
      tensor.fill(0, base + h * size, base + plane);
    }
  }
  for (let y = 0, s = 0; y < h; y++) {
    const row = y * size;
    for (let d = row, end = row + w; d < end; d++, s += 3) {
      tensor[d] = NORM[resized[s]!]!;
      tensor[g + d] = NORM[resized[s + 1]!]!;
      tensor[b + d] = NORM[resized[s + 2]!]!;
    }
  }
  return tensor;
}

/** Outputs are grouped by their last dimension (1 scores, 4 boxes, 10 keypoints), strides by row count. */
function heads(outputs: Record<string, { data: unknown; dims: readonly number[] }>, size: number): Head[] {
  const byWidth = new Map<number, Array<{ rows: number; data: Float32Array }>>();
  for (const t of Object.values(outputs)) {
    const width = t.dims[t.dims.length - 1]!;
    const rows = (t.data as Float32Array).length / width;
    if (!byWidth.has(width)) byWidth.set(width, []);
    byWidth.get(width)!.push({ rows, data: t.data as Float32Array });
  }
  const scores = (byWidth.get(1) ?? []).sort((a, b) => b.rows - a.rows);
  const boxes = (byWidth.get(4) ?? []).sort((a, b) => b.rows - a.rows);
  const kps = (byWidth.get(10) ?? []).sort((a, b) => b.rows - a.rows);
  if (!scores.length || scores.length !== boxes.length) {
    throw new Error('not an SCRFD model: expected score [N,1] and box [N,4] outputs per stride');
  }
  return scores.map((s, i) => {
    // anchors per cell × (size/stride)² = rows
    const cells = s.rows / 2;
    const stride = size / Math.sqrt(cells);
    return { stride, scores: s.data, boxes: boxes[i]!.data, kps: kps[i]?.data };
  });
}

export interface Letterboxed {
  tensor: Float32Array;
  /** Input pixels per image pixel; 0 when made from a file (see fittedWidth). */
  scale: number;
  /** Width of the image inside the input, when made from a file: scale = fittedWidth / image width. */
  fittedWidth?: number;
  size: number;
}

/** The image itself, or its decode still under way (awaited only where pixels are needed). */
export type ImageSource = RgbImage | Promise<RgbImage>;

/** One detector run on a size×size input; the input tensor goes back to the pool (each is used once). */
async function runDetector(model: LoadedModel, tensor: Float32Array, size: number): Promise<Parameters<typeof decodeScrfd>[0]> {
  const input = new model.ort.Tensor('float32', tensor, [1, 3, size, size]);
  try {
    return (await model.session.run({ [model.inputNames[0]!]: input })) as never;
  } finally {
    giveBackTensor(tensor);
  }
}

async function detectPass(model: LoadedModel, img: ImageSource, size: number, opts: DetectOptions, prepared?: Letterboxed): Promise<DetectedFace[]> {
  const usePrepared = prepared && prepared.size === size;
  const { tensor, scale } = usePrepared ? prepared : await letterbox(await img, size);
  const out = await runDetector(model, tensor, size);
  // A file-made input learns its scale from the full-size decode, which ran beside the detector.
  const sc = usePrepared && prepared.fittedWidth ? prepared.fittedWidth / (await img).width : scale;
  return decodeScrfd(out, size, sc, opts);
}

export interface DetectionTrace {
  faces: DetectedFace[];
  /** Input sides the detector ran at, in order (the first pass, then any second look). */
  sizes: number[];
  /** The edge look ran (at the first pass's size, on edgeInput's image). */
  edgeLook: boolean;
}

/** Does the box reach the image's border (within 1% of its size)? */
function atBorder(box: readonly number[], width: number, height: number): boolean {
  const mx = width * 0.01, my = height * 0.01;
  return box[0]! <= mx || box[1]! <= my || box[2]! >= width - mx || box[3]! >= height - my;
}

/** The edge look's input: the image mirror-padded by EDGE_PAD on every side, letterboxed. */
export async function edgeInput(img: RgbImage, size: number): Promise<{ tensor: Float32Array; scale: number; pad: number }> {
  const pad = Math.max(1, Math.round(Math.max(img.width, img.height) * EDGE_PAD));
  const padded = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 3 | 4 } })
    .removeAlpha()
    .extend({ top: pad, bottom: pad, left: pad, right: pad, extendWith: 'mirror' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const lb = await letterbox({ data: padded.data, width: padded.info.width, height: padded.info.height, channels: 3 }, size);
  return { ...lb, pad };
}

async function edgePass(model: LoadedModel, img: RgbImage, size: number, opts: DetectOptions): Promise<DetectedFace[]> {
  const { tensor, scale, pad } = await edgeInput(img, size);
  return decodeScrfd(await runDetector(model, tensor, size), size, scale, opts).map((f) => ({
    ...f,
    box: [f.box[0] - pad, f.box[1] - pad, f.box[2] - pad, f.box[3] - pad],
    landmarks: f.landmarks.map(([x, y]) => [x - pad, y - pad] as [number, number]),
  }));
}

/**
 * Faces scoring ≥ minScore at inputSize, plus first-pass candidates promoted by a later look (their
 * box and landmarks from that look): one at the border scored in [EDGE_FLOOR, minScore) that the
 * mirror-padded image scores ≥ minScore (the edge look), then one scored in [recheckFloor, minScore)
 * that a smaller scale scores ≥ minScore (the second look). Only a first-pass candidate can be
 * promoted, so no look adds a face the first pass did not see.
 */
export async function detectFacesTraced(model: LoadedModel, img: ImageSource, opts: DetectOptions, prepared?: Letterboxed): Promise<DetectionTrace> {
  const size = opts.inputSize ?? 640;
  const nmsIou = opts.nmsIou ?? 0.4;
  const floor = Math.min(opts.recheckFloor ?? RECHECK_FLOOR, opts.minScore);
  const edgeFloor = Math.min(EDGE_FLOOR, floor);
  const first = await detectPass(model, img, size, { ...opts, minScore: edgeFloor }, prepared);
  const sure = first.filter((f) => f.score >= opts.minScore);
  const promoted: DetectedFace[] = [];
  let edgeLook = false;
  // Faces cut by the frame first: the mirror-padded look.
  let edgy: DetectedFace[] = [];
  if (floor < opts.minScore && first.some((f) => f.score < opts.minScore)) {
    const full = await img;
    edgy = first.filter((f) => f.score < opts.minScore && atBorder(f.box, full.width, full.height));
  }
  if (edgy.length) {
    edgeLook = true;
    for (const f of await edgePass(model, await img, size, opts)) {
      const match = edgy.find((u) => iou(u.box, f.box) > 0.5);
      if (!match) continue;
      promoted.push(f);
      edgy = edgy.filter((u) => u !== match);
    }
  }
  let unsure = first.filter((f) => f.score >= floor && f.score < opts.minScore && !promoted.some((p) => iou(p.box, f.box) > 0.5));
  const sizes = [size];
  for (const s of unsure.length ? recheckSizes(size) : []) {
    sizes.push(s);
    for (const f of await detectPass(model, img, s, opts)) {
      if (!unsure.some((u) => iou(u.box, f.box) > 0.5)) continue;
      promoted.push(f);
      unsure = unsure.filter((u) => iou(u.box, f.box) <= 0.5);
    }
    if (!unsure.length) break;
  }
  return { faces: promoted.length ? nms([...sure, ...promoted], nmsIou) : sure, sizes, edgeLook };
}

export async function detectFaces(model: LoadedModel, img: ImageSource, opts: DetectOptions, prepared?: Letterboxed): Promise<DetectedFace[]> {
  return (await detectFacesTraced(model, img, opts, prepared)).faces;
}

export function decodeScrfd(
  outputs: Record<string, { data: unknown; dims: readonly number[] }>,
  size: number,
  scale: number,
  opts: DetectOptions,
): DetectedFace[] {
  const found: DetectedFace[] = [];
  for (const h of heads(outputs, size)) {
    const cols = Math.round(size / h.stride);
    const n = h.scores.length;
    for (let i = 0; i < n; i++) {
      const score = h.scores[i]!;
      if (score < opts.minScore) continue;
      const cell = i >> 1; // 2 anchors per cell
      const cx = (cell % cols) * h.stride;
      const cy = Math.floor(cell / cols) * h.stride;
      const b = h.boxes;
      const box: DetectedFace['box'] = [
        (cx - b[i * 4]! * h.stride) / scale,
        (cy - b[i * 4 + 1]! * h.stride) / scale,
        (cx + b[i * 4 + 2]! * h.stride) / scale,
        (cy + b[i * 4 + 3]! * h.stride) / scale,
      ];
      const landmarks: Array<[number, number]> = [];
      if (h.kps) {
        for (let k = 0; k < 5; k++) {
          landmarks.push([(cx + h.kps[i * 10 + k * 2]! * h.stride) / scale, (cy + h.kps[i * 10 + k * 2 + 1]! * h.stride) / scale]);
        }
      }
      found.push({ box, score, landmarks });
    }
  }
  return nms(found, opts.nmsIou ?? 0.4);
}

export function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const h = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const area = (r: readonly number[]) => (r[2]! - r[0]!) * (r[3]! - r[1]!);
  return inter / (area(a) + area(b) - inter);
}

export function nms(faces: DetectedFace[], threshold: number): DetectedFace[] {
  const sorted = [...faces].sort((a, b) => b.score - a.score);
  const keep: DetectedFace[] = [];
  for (const f of sorted) if (keep.every((k) => iou(k.box, f.box) <= threshold)) keep.push(f);
  return keep;
}
