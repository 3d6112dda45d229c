// CLIP in Immich's model format: <models>/clip/<name>/{config.json, visual/{model.onnx,
// preprocess_cfg.json}, textual/{model.onnx, tokenizer_config.json}}. Visual input `image`
// [N,3,S,S] float32 (normalised with the config's mean/std), textual input `text` [N,L] int32
// (int64 accepted), both output `embedding` [N,D]; embeddings are L2-normalised here.
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { EnvironmentError } from '../errors.js';
import { ClipTokenizer, EOT } from './clip-tokenizer.js';
import { obtainModel } from './auto-download.js';
import { clipTokenizerSupported } from './immich-models.js';
import { getModel, type LoadedModel } from './runtime.js';

export const CLIP_TASK = 'clip';
export const DEFAULT_CLIP_MODEL = 'ViT-B-32__openai';

/** IMMICH_CLIP_MODEL (Immich's model names, e.g. ViT-B-32__openai); empty string disables CLIP. */
export function clipModelName(ctx: Pick<Context, 'config'>): string {
  return (ctx.config.raw.IMMICH_CLIP_MODEL ?? DEFAULT_CLIP_MODEL).trim();
}

export interface ClipFiles {
  name: string;
  visual: string;
  textual?: string;
  /** <models>/clip/<name> */
  root: string;
}

/** The installed CLIP model's files, or undefined when it is not installed. */
export async function findClip(ctx: Pick<Context, 'config'> & { readonly logger?: Context['logger'] }): Promise<ClipFiles | undefined> {
  const name = clipModelName(ctx);
  if (!name) return undefined;
  // Downloaded on first use (IMMICH_MODELS_AUTO_DOWNLOAD), like Immich's machine-learning service.
  const visual = await obtainModel(ctx, CLIP_TASK, name, 'visual');
  if (!visual) return undefined;
  const textual = await obtainModel(ctx, CLIP_TASK, name, 'textual');
  return { name, visual, textual, root: path.dirname(path.dirname(visual)) };
}

export interface Preprocess {
  size: number;
  mean: [number, number, number];
  std: [number, number, number];
  resizeMode: 'shortest' | 'squash';
  interpolation: 'bicubic' | 'bilinear' | 'nearest';
}

// OpenAI CLIP's normalisation: the default when an export has no preprocess_cfg.json.
const OPENAI_PREPROCESS: Preprocess = {
  size: 224,
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
  resizeMode: 'shortest',
  interpolation: 'bicubic',
};

function readJson(file: string): any {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readPreprocess(visualModel: string): Preprocess {
  const cfg = readJson(path.join(path.dirname(visualModel), 'preprocess_cfg.json')) ?? {};
  const size = Array.isArray(cfg.size) ? cfg.size[0] : cfg.size;
  return {
    size: Number(size) || OPENAI_PREPROCESS.size,
    mean: Array.isArray(cfg.mean) && cfg.mean.length === 3 ? cfg.mean : OPENAI_PREPROCESS.mean,
    std: Array.isArray(cfg.std) && cfg.std.length === 3 ? cfg.std : OPENAI_PREPROCESS.std,
    resizeMode: cfg.resize_mode === 'squash' ? 'squash' : 'shortest',
    interpolation: ['bilinear', 'nearest'].includes(cfg.interpolation) ? cfg.interpolation : 'bicubic',
  };
}

export function readTextConfig(files: ClipFiles): { contextLength: number; padId: number } {
  const cfg = readJson(path.join(files.root, 'config.json')) ?? {};
  const contextLength = Number(cfg.text_cfg?.context_length) || 77;
  const dir = files.textual ? path.dirname(files.textual) : '';
  const tok = readJson(path.join(dir, 'tokenizer_config.json')) ?? {};
  const pad = typeof tok.pad_token === 'string' ? tok.pad_token : tok.pad_token?.content;
  // OpenAI's tokenizer pads with 0 ('!'); HF-style exports name <|endoftext|> as the pad token.
  return { contextLength, padId: pad === '<|endoftext|>' ? EOT : 0 };
}

export function l2normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / n;
  return out;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Image file → normalised CHW tensor data per the model's preprocessing. */
export async function preprocessImage(file: string | Buffer, p: Preprocess): Promise<Float32Array> {
  const { default: sharp } = await import('sharp');
  const kernel = p.interpolation === 'bicubic' ? 'cubic' : p.interpolation === 'bilinear' ? 'linear' : 'nearest';
  const { data, info } = await sharp(file, { failOn: 'none' })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(p.size, p.size, { fit: p.resizeMode === 'squash' ? 'fill' : 'cover', position: 'centre', kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = p.size * p.size;
  const out = new Float32Array(3 * plane);
  const ch = info.channels;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = (data[i * ch + c]! / 255 - p.mean[c]!) / p.std[c]!;
  }
  return out;
}

interface ClipVisual {
  files: ClipFiles;
  model: LoadedModel;
  preprocess: Preprocess;
}

async function visual(ctx: Context, files: ClipFiles): Promise<ClipVisual> {
  const model = await getModel(ctx, files.visual);
  return { files, model, preprocess: readPreprocess(files.visual) };
}

function firstOutput(model: LoadedModel, result: Record<string, { data: unknown; dims: readonly number[] }>): Float32Array {
  const name = model.outputNames.includes('embedding') ? 'embedding' : model.outputNames[0]!;
  const out = result[name]!;
  return out.data as Float32Array;
}

/** The image embedding (L2-normalised) of a file, normally the preview. */
export async function encodeImage(ctx: Context, files: ClipFiles, file: string | Buffer): Promise<Float32Array> {
  const v = await visual(ctx, files);
  const input = await preprocessImage(file, v.preprocess);
  const { session, ort } = v.model;
  const name = session.inputNames.includes('image') ? 'image' : session.inputNames[0]!;
  const result = await session.run({ [name]: new ort.Tensor('float32', input, [1, 3, v.preprocess.size, v.preprocess.size]) });
  return l2normalize(firstOutput(v.model, result as never));
}

/** The text embedding (L2-normalised); cached per context since scene prompts repeat. */
export async function encodeText(ctx: Context, files: ClipFiles, text: string): Promise<Float32Array> {
  if (!files.textual) throw new Error(`CLIP model ${files.name} has no textual part`);
  if (!clipTokenizerSupported(files.name)) {
    throw new EnvironmentError(`CLIP model ${files.name} needs a text tokenizer this CLI does not implement (SentencePiece/WordPiece); use an OpenAI or LAION CLIP model (IMMICH_CLIP_MODEL) for text search`);
  }
  const cache = await ctx.lazy(`clip:text-cache:${files.textual}`, () => new Map<string, Float32Array>());
  const hit = cache.get(text);
  if (hit) return hit;
  const model = await getModel(ctx, files.textual);
  const tokenizer = await ctx.lazy(`clip:tokenizer:${files.textual}`, () => new ClipTokenizer(readTextConfig(files)));
  const ids = tokenizer.encode(text);
  const { session, ort } = model;
  const name = session.inputNames.includes('text') ? 'text' : session.inputNames[0]!;
  const dims = [1, ids.length];
  let result;
  try {
    result = await session.run({ [name]: new ort.Tensor('int32', Int32Array.from(ids), dims) });
  } catch {
    // Some exports take int64 token ids.
    result = await session.run({ [name]: new ort.Tensor('int64', BigInt64Array.from(ids.map((i) => BigInt(i))), dims) });
  }
  const emb = l2normalize(firstOutput(model, result as never));
  if (cache.size > 1000) cache.clear();
  cache.set(text, emb);
  return emb;
}

/** Scenes for zero-shot tagging ("a photo of a beach"). Objects come from the detector instead. */
export const SCENES = [
  'beach', 'sea', 'lake', 'river', 'waterfall', 'mountain', 'snow', 'desert', 'sand dunes', 'forest', 'field',
  'hills', 'garden', 'park', 'flower', 'tree', 'sky', 'sunset', 'night', 'city', 'street', 'building', 'architecture',
  'monument', 'church', 'bridge', 'harbour', 'airport', 'road', 'countryside', 'farm', 'indoor', 'kitchen', 'restaurant',
  'bar', 'office', 'bedroom', 'living room', 'classroom', 'stage', 'concert', 'stadium', 'party', 'wedding', 'portrait',
  'group photo', 'selfie', 'food', 'drink', 'document', 'screenshot', 'text', 'sign', 'car', 'vehicle', 'animal', 'pet',
  'bird', 'landscape', 'underwater', 'space', 'rock', 'cave', 'black and white',
] as const;

export interface SceneTag {
  name: string;
  score: number;
}

/** Zero-shot scene classification: softmax over the scene prompts with CLIP's logit scale (100). */
export async function classifyScenes(
  ctx: Context,
  files: ClipFiles,
  image: Float32Array,
  opts: { minScore?: number; max?: number } = {},
): Promise<SceneTag[]> {
  if (!files.textual) return [];
  const logits: number[] = [];
  for (const s of SCENES) {
    const article = /^[aeiou]/.test(s) ? 'an' : 'a';
    const t = await encodeText(ctx, files, `a photo of ${article} ${s}`);
    logits.push(100 * cosine(image, t));
  }
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return SCENES.map((name, i) => ({ name, score: exps[i]! / sum }))
    .filter((s) => s.score >= (opts.minScore ?? 0.1))
    .sort((a, b) => b.score - a.score)
    .slice(0, opts.max ?? 3);
}

/** pgvector's text form. */
export function toVector(v: ArrayLike<number>): string {
  return '[' + Array.from(v, (x) => (Number.isFinite(x) ? Number(x.toPrecision(7)) : 0)).join(',') + ']';
}

export function fromVector(s: string): Float32Array {
  return Float32Array.from(s.replace(/^\[|\]$/g, '').split(',').map(Number));
}
