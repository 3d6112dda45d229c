// Face alignment math (Umeyama similarity onto the ArcFace template, bilinear warp) and SCRFD decoding on
// synthetic outputs.
import { describe, expect, it } from 'vitest';
import { ARCFACE_TEMPLATE, alignFace, applySimilarity, invertSimilarity, umeyama } from '../../src/ml/faces/align.js';
import { decodeScrfd, iou, nms } from '../../src/ml/faces/detect.js';

describe('umeyama similarity', () => {
  it('recovers a known rotation, scale and translation exactly', () => {
    const angle = 0.3;
    const scale = 2.5;
    const t = { a: scale * Math.cos(angle), b: scale * Math.sin(angle), tx: 40, ty: -12 };
    const src = ARCFACE_TEMPLATE.map((p) => [p[0], p[1]] as const);
    const dst = src.map((p) => applySimilarity(t, p));
    const got = umeyama(src, dst);
    expect(got.a).toBeCloseTo(t.a, 9);
    expect(got.b).toBeCloseTo(t.b, 9);
    expect(got.tx).toBeCloseTo(t.tx, 9);
    expect(got.ty).toBeCloseTo(t.ty, 9);
    const back = invertSimilarity(got);
    const p = applySimilarity(back, applySimilarity(got, [10, 20]));
    expect(p[0]).toBeCloseTo(10, 9);
    expect(p[1]).toBeCloseTo(20, 9);
  });

  it('never reflects: mirrored landmarks give a rotation, not a flip', () => {
    const src = ARCFACE_TEMPLATE.map((p) => [p[0], p[1]] as const);
    const mirrored = src.map(([x, y]) => [112 - x, y] as const);
    const t = umeyama(mirrored, src);
    // a similarity has determinant a² + b² > 0 (a reflection would be negative)
    expect(t.a * t.a + t.b * t.b).toBeGreaterThan(0);
  });

  it('warps an upscaled, shifted face back onto the template', () => {
    // draw 5 bright dots at the template points scaled ×3 and shifted by (50, 30) in a 500×400 image
    const width = 500, height = 400;
    const data = new Uint8Array(width * height * 3);
    const lm = ARCFACE_TEMPLATE.map(([x, y]) => [x * 3 + 50, y * 3 + 30] as [number, number]);
    for (const [x, y] of lm) {
      for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) {
        const o = ((Math.round(y) + dy) * width + Math.round(x) + dx) * 3;
        data[o] = data[o + 1] = data[o + 2] = 255;
      }
    }
    const crop = alignFace({ data, width, height, channels: 3 }, lm);
    expect(crop.length).toBe(112 * 112 * 3);
    for (const [x, y] of ARCFACE_TEMPLATE) {
      expect(crop[(Math.round(y) * 112 + Math.round(x)) * 3]).toBeGreaterThan(200);
    }
    expect(crop[(5 * 112 + 5) * 3]).toBe(0);
  });
});

describe('SCRFD decoding', () => {
  it('decodes a face from the stride-8 head into image pixels and applies the letterbox scale', () => {
    const size = 64;
    const outputs: Record<string, { data: Float32Array; dims: number[] }> = {};
    const strides = [8, 16, 32];
    strides.forEach((s, k) => {
      const rows = (size / s) ** 2 * 2;
      outputs[`score${k}`] = { data: new Float32Array(rows), dims: [rows, 1] };
      outputs[`box${k}`] = { data: new Float32Array(rows * 4), dims: [rows, 4] };
      outputs[`kps${k}`] = { data: new Float32Array(rows * 10), dims: [rows, 10] };
    });
    // anchor index 2·(row·cols + col) at row 2, col 3 of the stride-8 grid: centre (24, 16)
    const i = 2 * (2 * 8 + 3);
    outputs.score0!.data[i] = 0.9;
    outputs.box0!.data.set([1, 1, 2, 2], i * 4);
    outputs.kps0!.data.set([0, 0, 1, 0, 0.5, 0.5, 0, 1, 1, 1], i * 10);
    outputs.score1!.data[0] = 0.3; // below the threshold
    const faces = decodeScrfd(outputs, size, 0.5, { minScore: 0.7 });
    expect(faces).toHaveLength(1);
    expect(faces[0]!.score).toBeCloseTo(0.9);
    expect(faces[0]!.box).toEqual([(24 - 8) / 0.5, (16 - 8) / 0.5, (24 + 16) / 0.5, (16 + 16) / 0.5]);
    expect(faces[0]!.landmarks[1]).toEqual([(24 + 8) / 0.5, 16 / 0.5]);
  });

  it('suppresses overlapping boxes, keeping the best score', () => {
    const f = (x: number, score: number) => ({ box: [x, 0, x + 10, 10] as [number, number, number, number], score, landmarks: [] });
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3);
    const kept = nms([f(0, 0.8), f(1, 0.9), f(50, 0.75)], 0.4);
    expect(kept.map((k) => k.score)).toEqual([0.9, 0.75]);
  });
});
