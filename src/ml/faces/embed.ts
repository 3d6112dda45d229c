// Face embeddings: an aligned 112x112 crop → recognition model → L2-normalised vector. The dimension
// comes from the model's output, so 128-d (MobileFaceNet) and 512-d (ArcFace-style) models both work.
import type { LoadedModel } from '../runtime.js';

export interface EmbedOptions {
  /** Channel order the model was trained on (MobileFaceNet: rgb; Faceplugin: bgr). */
  channels?: 'rgb' | 'bgr';
  mean?: number;
  std?: number;
}

/** Preprocessing for a recognition model, chosen by its name (user-added models default to RGB, 127.5/128). */
export function embedOptionsFor(modelName: string): EmbedOptions {
  if (/faceplugin/i.test(modelName)) return { channels: 'bgr', mean: 127, std: 128 };
  // Immich's InsightFace packs (ArcFace w600k_r50, w600k_mbf, glintr100): RGB, (x − 127.5) / 127.5, as
  // Immich's recognition.py and InsightFace's ArcFaceONNX feed them.
  if (/^(buffalo_[lms]|antelopev2)$/.test(modelName)) return { channels: 'rgb', mean: 127.5, std: 127.5 };
  return { channels: 'rgb', mean: 127.5, std: 128 };
}

export function toTensorData(crops: Uint8Array[], size: number, opts: EmbedOptions): Float32Array {
  const plane = size * size;
  const mean = opts.mean ?? 127.5;
  const std = opts.std ?? 128;
  const bgr = opts.channels === 'bgr';
  const data = new Float32Array(crops.length * 3 * plane);
  crops.forEach((crop, n) => {
    const base = n * 3 * plane;
    for (let p = 0; p < plane; p++) {
      const r = (crop[p * 3]! - mean) / std;
      const g = (crop[p * 3 + 1]! - mean) / std;
      const b = (crop[p * 3 + 2]! - mean) / std;
      data[base + p] = bgr ? b : r;
      data[base + plane + p] = g;
      data[base + 2 * plane + p] = bgr ? r : b;
    }
  });
  return data;
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  return v.map((x) => x / n);
}

/** Embeddings for aligned crops; batches when the model's batch dimension is dynamic. */
export async function embedFaces(model: LoadedModel, crops: Uint8Array[], opts: EmbedOptions, size = 112): Promise<Float32Array[]> {
  if (!crops.length) return [];
  const meta = (model.session as unknown as { inputMetadata?: Array<{ shape?: readonly unknown[] }> }).inputMetadata?.[0];
  const dynamicBatch = meta?.shape ? typeof meta.shape[0] !== 'number' : false;
  const batches = dynamicBatch ? [crops] : crops.map((c) => [c]);
  const out: Float32Array[] = [];
  for (const batch of batches) {
    const input = new model.ort.Tensor('float32', toTensorData(batch, size, opts), [batch.length, 3, size, size]);
    const res = await model.session.run({ [model.inputNames[0]!]: input });
    const t = res[model.outputNames[0]!]!;
    const dim = (t.data as Float32Array).length / batch.length;
    for (let i = 0; i < batch.length; i++) out.push(l2normalize((t.data as Float32Array).slice(i * dim, (i + 1) * dim)));
  }
  return out;
}
