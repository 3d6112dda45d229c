// YOLOX decoding (grid, NMS, letterbox scale), tags with hypernyms, and the real YOLOX-Nano model on a
// corpus photo when ../shared is there.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { Logger } from '../../src/logger.js';
import { COCO80, decodeYolox, detectObjects, objectTags } from '../../src/ml/objects.js';
import { getModel } from '../../src/ml/runtime.js';
import { CORPUS, noteSkip, SHARED_MODELS, tmpDir } from '../helpers/env.js';

describe('YOLOX decoding', () => {
  it('decodes grid cells into image boxes and suppresses overlaps per class', () => {
    const classes = 80;
    const stride = 5 + classes;
    const anchors = 52 * 52 + 26 * 26 + 13 * 13;
    const out = new Float32Array(anchors * stride);
    const put = (a: number, v: number[], cls: number, p: number) => {
      out.set(v, a * stride);
      out[a * stride + 5 + cls] = p;
    };
    // stride 8, row 10, col 20: centre (20.5·8, 10.5·8) = (164, 84), size e^2·8 ≈ 59
    put(10 * 52 + 20, [0.5, 0.5, 2, 2, 0.9], 16, 0.9);
    // the neighbouring cell sees the same dog with a lower score: suppressed
    put(10 * 52 + 21, [-0.3, 0.5, 2, 2, 0.8], 16, 0.8);
    // a cat on the same spot is another class: kept
    put(10 * 52 + 22, [-1.5, 0.5, 2, 2, 0.8], 15, 0.7);
    // below threshold
    put(52 * 52 + 5, [0, 0, 1, 1, 0.2], 0, 0.9);
    const dets = decodeYolox(out, classes, { scoreThreshold: 0.35, nmsThreshold: 0.45, scale: 0.5, inputSize: 416, labels: COCO80 });
    expect(dets.map((d) => d.label)).toEqual(['dog', 'cat']);
    const w = Math.exp(2) * 8;
    expect(dets[0]!.score).toBeCloseTo(0.81, 5);
    expect(dets[0]!.box[0]).toBeCloseTo((164 - w / 2) / 0.5, 3);
    expect(dets[0]!.box[2]).toBeCloseTo(w / 0.5, 3);
    const tags = objectTags(dets, 832, 832);
    expect(tags.map((t) => t.name)).toEqual(expect.arrayContaining(['dog', 'cat', 'animal', 'pet']));
    expect(tags.find((t) => t.name === 'animal')!.score).toBeCloseTo(0.81, 5);
  });
});

const modelFile = SHARED_MODELS ? path.join(SHARED_MODELS, 'object-detection/yolox_nano.onnx') : undefined;
const haveCorpus = Boolean(CORPUS && modelFile);
if (!haveCorpus) noteSkip('objects (real model)', 'corpus or shared models');

describe.skipIf(!haveCorpus)('YOLOX-Nano on a corpus photo', () => {
  let ctx: Context;
  beforeAll(async () => {
    const lib = tmpDir('immich-objects-');
    ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: lib }, cwd: lib }), new Logger('error', []), { migrate: false });
  });
  afterAll(async () => ctx?.close());

  it('finds the dog and the bicycle', async () => {
    const model = await getModel(ctx, modelFile!);
    const { detections, width, height } = await detectObjects(model, path.join(CORPUS!, 'objects/dog_bicycle_truck.jpg'));
    const labels = detections.map((d) => d.label);
    expect(labels).toEqual(expect.arrayContaining(['dog', 'bicycle']));
    const dog = detections.find((d) => d.label === 'dog')!;
    // the dog sits in the lower left of the picture
    expect(dog.box[0] + dog.box[2] / 2).toBeLessThan(width / 2);
    expect(dog.box[1] + dog.box[3] / 2).toBeGreaterThan(height / 2);
  });
});
