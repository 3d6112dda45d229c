// CLIP: tokenizer ids, Immich-format model loading, image/text embeddings and zero-shot scenes,
// on a generated model pair with Immich's input/output names.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { Logger } from '../../src/logger.js';
import { ClipTokenizer, EOT, SOT } from '../../src/ml/clip-tokenizer.js';
import { classifyScenes, cosine, encodeImage, encodeText, findClip, readPreprocess, readTextConfig, toVector, fromVector } from '../../src/ml/clip.js';
import { tmpDir } from '../helpers/env.js';
import { installTestClip, TEST_DIM } from './clip-fixture.js';

describe('CLIP tokenizer', () => {
  it('gives OpenAI CLIP token ids, padded to the context length', () => {
    const ids = new ClipTokenizer().encode('A photo of a  DOG');
    expect(ids.slice(0, 7)).toEqual([SOT, 320, 1125, 539, 320, 1929, EOT]);
    expect(ids).toHaveLength(77);
    expect(ids.slice(7).every((i) => i === 0)).toBe(true);
    const long = new ClipTokenizer({ contextLength: 8, padId: EOT }).encode('one two three four five six seven eight nine');
    expect(long).toHaveLength(8);
    expect(long[7]).toBe(EOT);
  });
});

describe('CLIP model in Immich layout', () => {
  let ctx: Context;
  let lib: string;
  beforeAll(async () => {
    lib = tmpDir('immich-clip-');
    installTestClip(path.join(lib, 'models'));
    const config = loadConfig({ env: { UPLOAD_LOCATION: lib }, cwd: lib });
    ctx = await createContext(config, new Logger('error', []), { migrate: false });
  });
  afterAll(async () => ctx?.close());

  it('reads config.json, preprocess_cfg.json and tokenizer_config.json', async () => {
    const files = (await findClip(ctx))!;
    expect(files.name).toBe('ViT-B-32__openai');
    expect(files.visual).toBe(path.join(lib, 'models/clip/ViT-B-32__openai/visual/model.onnx'));
    expect(readPreprocess(files.visual)).toMatchObject({ size: 224, resizeMode: 'shortest' });
    expect(readTextConfig(files)).toEqual({ contextLength: 77, padId: EOT });
  });

  it('embeds images and text so that colour words find colour pictures', async () => {
    const files = (await findClip(ctx))!;
    const dir = tmpDir();
    const emb: Record<string, Float32Array> = {};
    for (const [name, color] of [['red', '#e01010'], ['green', '#10c020'], ['blue', '#1020e0']] as const) {
      const f = path.join(dir, `${name}.png`);
      await sharp({ create: { width: 300, height: 200, channels: 3, background: color } }).png().toFile(f);
      emb[name] = await encodeImage(ctx, files, f);
      expect(emb[name]).toHaveLength(TEST_DIM);
      expect(Math.hypot(...emb[name])).toBeCloseTo(1, 5);
    }
    for (const word of ['red', 'green', 'blue']) {
      const t = await encodeText(ctx, files, `a photo of something ${word}`);
      const best = Object.entries(emb).sort((a, b) => cosine(t, b[1]) - cosine(t, a[1]))[0]![0];
      expect(best).toBe(word);
    }
    // zero-shot scenes: the test model ties "sea" to blue
    const scenes = await classifyScenes(ctx, files, emb.blue!);
    expect(scenes[0]?.name).toBe('sea');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips pgvector text', () => {
    const v = Float32Array.from([0.25, -0.5, 1e-3]);
    expect(Array.from(fromVector(toVector(v)))).toEqual(Array.from(v).map((x) => Math.fround(x)));
  });
});
