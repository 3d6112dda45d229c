// SCRFD detection with the real model on corpus photos: the second look at smaller input scales finds a
// face the first pass is unsure of, and costs nothing on photos where the first pass is sure of everything.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFacesTraced, recheckSizes } from '../../src/ml/faces/detect.js';
import { createModel, runtimeSettings, type LoadedModel } from '../../src/ml/runtime.js';
import { decodeRgb } from '../../src/services/faces.js';
import { CORPUS, SHARED_MODELS, noteSkip } from '../helpers/env.js';

describe.skipIf(!CORPUS || !SHARED_MODELS)('SCRFD-2.5G on corpus photos', () => {
  let model: LoadedModel;
  beforeAll(async () => {
    model = await createModel(path.join(SHARED_MODELS!, 'face-detection/scrfd_2.5g_bnkps.onnx'), runtimeSettings({}));
  });
  afterAll(async () => model?.session.release());

  it('second look sizes are 0.75x and 0.6x of the input, in multiples of 32', () => {
    expect(recheckSizes(640)).toEqual([480, 384]);
    expect(recheckSizes(960)).toEqual([736, 576]);
  });

  it('finds Pierre Curie (turned head) only with the second look, and keeps Marie as the first pass found her', async () => {
    const img = await decodeRgb(path.join(CORPUS!, 'faces/curie/portrait.jpg'));
    const once = await detectFacesTraced(model, img, { minScore: 0.7, recheckFloor: 0.7 });
    expect(once.sizes).toEqual([640]);
    expect(once.faces).toHaveLength(1);
    const twice = await detectFacesTraced(model, img, { minScore: 0.7 });
    expect(twice.sizes).toEqual([640, 480]); // the first smaller scale settled it
    expect(twice.faces).toHaveLength(2);
    expect(twice.faces.every((f) => f.score >= 0.7 && f.landmarks.length === 5)).toBe(true);
    const centre = (f: { box: number[] }) => (f.box[0]! + f.box[2]!) / 2 / img.width;
    expect(twice.faces.map(centre).sort((a, b) => a - b)).toEqual([expect.closeTo(0.37, 1), expect.closeTo(0.68, 1)]);
    expect(twice.faces[0]!.box).toEqual(once.faces[0]!.box);
  });

  it('runs the detector once on a photo without an unsure candidate', async () => {
    const img = await decodeRgb(path.join(CORPUS!, 'objects/el_torcal_rocks.jpg'));
    const r = await detectFacesTraced(model, img, { minScore: 0.7 });
    expect(r).toEqual({ faces: [], sizes: [640], edgeLook: false });
  });

  it('finds the faces a group selfie cuts at its border with the edge look, and no mirror image of the others', async () => {
    const img = await decodeRgb(path.join(CORPUS!, 'faces/groups/selfie-many-people.jpg'));
    const without = await detectFacesTraced(model, img, { minScore: 0.7, recheckFloor: 0.7 });
    expect(without.edgeLook).toBe(false);
    expect(without.faces).toHaveLength(4);
    const r = await detectFacesTraced(model, img, { minScore: 0.7 });
    expect(r.edgeLook).toBe(true);
    expect(r.faces).toHaveLength(7);
    expect(r.faces.every((f) => f.score >= 0.7 && f.landmarks.length === 5)).toBe(true);
    // Four reach past the frame (two left, two right), each about half inside the photo: real faces
    // cut by it, not the mirror images the padded input also shows (those lie wholly outside).
    const outside = r.faces.filter((f) => f.box[0] < 0 || f.box[2] > img.width || f.box[3] > img.height);
    expect(outside).toHaveLength(4);
    for (const f of r.faces) {
      const [x1, y1, x2, y2] = f.box;
      const inside = (Math.min(x2, img.width) - Math.max(x1, 0)) * (Math.min(y2, img.height) - Math.max(y1, 0));
      expect(inside / ((x2 - x1) * (y2 - y1))).toBeGreaterThan(0.45);
    }
    // The faces the first pass was sure of are kept as they were.
    for (const f of without.faces) expect(r.faces.some((g) => g.box.every((v, i) => v === f.box[i]))).toBe(true);
  });
});
if (!CORPUS || !SHARED_MODELS) noteSkip('SCRFD on corpus photos', '../shared/corpus or ../shared/models');
