// Object detection with YOLOX (COCO-80) on the preview: letterbox, raw head decode (the grid is not
// in the exported graph), class-aware NMS, then per-label tags. Pure functions except detectObjects.
import sharp from '../media/sharp.js';
import type { LoadedModel } from './runtime.js';

export const COCO80 = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
  'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
  'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
  'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
  'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
  'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard',
  'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
  'teddy bear', 'hair drier', 'toothbrush',
] as const;

/**
 * Broader words a user types for a detected class ("animal" finds a dog). Each is stored as a tag
 * with the score of the class that implies it.
 */
export const HYPERNYMS: Readonly<Record<string, readonly string[]>> = {
  person: ['people'],
  bicycle: ['vehicle', 'bike'], car: ['vehicle'], motorcycle: ['vehicle', 'motorbike'], airplane: ['vehicle', 'plane'],
  bus: ['vehicle'], train: ['vehicle'], truck: ['vehicle'], boat: ['vehicle', 'ship'],
  bird: ['animal'], cat: ['animal', 'pet'], dog: ['animal', 'pet'], horse: ['animal'], sheep: ['animal'],
  cow: ['animal'], elephant: ['animal'], bear: ['animal'], zebra: ['animal'], giraffe: ['animal'],
  'wine glass': ['glass', 'drink'], cup: ['drink'], bottle: ['drink'],
  banana: ['food', 'fruit'], apple: ['food', 'fruit'], orange: ['food', 'fruit'], sandwich: ['food'],
  broccoli: ['food'], carrot: ['food'], 'hot dog': ['food'], pizza: ['food'], donut: ['food'], cake: ['food'],
  'potted plant': ['plant'], 'dining table': ['table'], couch: ['sofa'], tv: ['television'], 'cell phone': ['phone'],
};

export const YOLOX_SIZE = 416;

export interface Detection {
  label: string;
  classId: number;
  score: number;
  /** In source-image pixels: x, y, width, height. */
  box: [number, number, number, number];
}

export interface DecodeOptions {
  scoreThreshold: number;
  nmsThreshold: number;
  /** Letterbox scale (model pixels per image pixel). */
  scale: number;
  inputSize: number;
  labels: readonly string[];
}

/** Decode YOLOX raw head output [anchors, 5 + classes] (strides 8/16/32) into boxes in image pixels. */
export function decodeYolox(out: Float32Array, numClasses: number, opts: DecodeOptions): Detection[] {
  const stride = 5 + numClasses;
  const dets: Detection[] = [];
  let a = 0;
  for (const s of [8, 16, 32]) {
    const g = Math.floor(opts.inputSize / s);
    for (let row = 0; row < g; row++) {
      for (let col = 0; col < g; col++, a++) {
        const o = a * stride;
        if (o + stride > out.length) return nms(dets, opts.nmsThreshold);
        const obj = out[o + 4]!;
        if (obj < opts.scoreThreshold) continue;
        let best = 0;
        let cls = -1;
        for (let c = 0; c < numClasses; c++) {
          const v = out[o + 5 + c]!;
          if (v > best) { best = v; cls = c; }
        }
        const score = obj * best;
        if (score < opts.scoreThreshold) continue;
        const cx = (out[o]! + col) * s;
        const cy = (out[o + 1]! + row) * s;
        const w = Math.exp(out[o + 2]!) * s;
        const h = Math.exp(out[o + 3]!) * s;
        dets.push({
          label: opts.labels[cls] ?? `class ${cls}`,
          classId: cls,
          score,
          box: [(cx - w / 2) / opts.scale, (cy - h / 2) / opts.scale, w / opts.scale, h / opts.scale],
        });
      }
    }
  }
  return nms(dets, opts.nmsThreshold);
}

export function iou(a: Detection['box'], b: Detection['box']): number {
  const x1 = Math.max(a[0], b[0]);
  const y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/** Class-aware non-maximum suppression. */
export function nms(dets: Detection[], threshold: number): Detection[] {
  const sorted = [...dets].sort((x, y) => y.score - x.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.every((k) => k.classId !== d.classId || iou(k.box, d.box) <= threshold)) kept.push(d);
  }
  return kept;
}

export interface ObjectTag {
  name: string;
  score: number;
  count: number;
  /** Best box, normalised to the image: x, y, w, h. */
  box: [number, number, number, number] | null;
}

/** Detections → one tag per label (best score, instance count) plus hypernym tags. */
export function objectTags(dets: Detection[], width: number, height: number): ObjectTag[] {
  const tags = new Map<string, ObjectTag>();
  for (const d of dets) {
    const box: ObjectTag['box'] = [d.box[0] / width, d.box[1] / height, d.box[2] / width, d.box[3] / height].map((v) =>
      Math.round(Math.min(1, Math.max(0, v)) * 1e4) / 1e4,
    ) as ObjectTag['box'];
    const t = tags.get(d.label);
    if (!t) tags.set(d.label, { name: d.label, score: d.score, count: 1, box });
    else {
      t.count++;
      if (d.score > t.score) { t.score = d.score; t.box = box; }
    }
  }
  for (const t of [...tags.values()]) {
    for (const h of HYPERNYMS[t.name] ?? []) {
      const e = tags.get(h);
      if (!e) tags.set(h, { name: h, score: t.score, count: t.count, box: null });
      else if (!e.box && t.score > e.score) e.score = t.score;
    }
  }
  return [...tags.values()].sort((a, b) => b.score - a.score);
}

export interface ObjectOptions {
  scoreThreshold?: number;
  nmsThreshold?: number;
}

/** Run YOLOX on an image file (the preview): BGR, raw 0..255, letterboxed top-left with 114 padding. */
export async function detectObjects(model: LoadedModel, file: string, opts: ObjectOptions = {}): Promise<{ detections: Detection[]; width: number; height: number }> {
  const size = YOLOX_SIZE;
  const img = sharp(file, { failOn: 'none' }).rotate().removeAlpha().toColourspace('srgb');
  const meta = await img.clone().raw().toBuffer({ resolveWithObject: true });
  const width = meta.info.width;
  const height = meta.info.height;
  const scale = Math.min(size / width, size / height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const { data, info } = await sharp(meta.data, { raw: { width, height, channels: meta.info.channels as 3 } })
    .resize(w, h, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = size * size;
  const input = new Float32Array(3 * plane).fill(114);
  const ch = info.channels;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * ch;
      const o = y * size + x;
      input[o] = data[i + 2]!; // B
      input[plane + o] = data[i + 1]!; // G
      input[2 * plane + o] = data[i]!; // R
    }
  }
  const { session, ort } = model;
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, size, size]) };
  const result = await session.run(feeds);
  const out = result[session.outputNames[0]!]!;
  const dims = out.dims;
  const numClasses = Number(dims[dims.length - 1]) - 5;
  const detections = decodeYolox(out.data as Float32Array, numClasses, {
    scoreThreshold: opts.scoreThreshold ?? 0.35,
    nmsThreshold: opts.nmsThreshold ?? 0.45,
    scale,
    inputSize: size,
    labels: numClasses === 80 ? COCO80 : [],
  });
  return { detections, width, height };
}
