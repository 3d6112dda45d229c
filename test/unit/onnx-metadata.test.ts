// Immich's PP-OCRv5 layout (issue 21): ocr/PP-OCRv5_mobile/{detection,recognition}/model.onnx, the
// character list in the recogniser's ONNX metadata ("character") or recognition/charset.txt.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { paddleModelFiles } from '../../src/ml/ocr.js';
import { readOnnxMetadata } from '../../src/ml/onnx-metadata.js';
import { tmpDir } from '../helpers/env.js';
import { tinyMatMulModel, withOnnxMetadata } from '../helpers/tiny-onnx.js';

describe("Immich's OCR model layout", () => {
  it('reads the character list from the recogniser metadata, else charset.txt', async () => {
    const lib = tmpDir();
    const dir = path.join(lib, 'models/ocr/PP-OCRv5_mobile');
    fs.mkdirSync(path.join(dir, 'detection'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'recognition'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'detection/model.onnx'), tinyMatMulModel());
    const rec = path.join(dir, 'recognition/model.onnx');
    fs.writeFileSync(rec, withOnnxMetadata(tinyMatMulModel(), { character: 'a\nb\n日', other: 'x' }));
    expect(await readOnnxMetadata(rec)).toEqual({ character: 'a\nb\n日', other: 'x' });
    // the file stays a loadable model
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(rec);
    expect(s.inputNames).toEqual(['x']);
    await s.release();

    const ctx = { config: loadConfig({ env: { UPLOAD_LOCATION: lib, IMMICH_OCR_MODEL: 'PP-OCRv5_mobile', IMMICH_MODEL_CACHE: path.join(lib, 'c') } }) };
    expect(await paddleModelFiles(ctx)).toEqual({ det: path.join(dir, 'detection/model.onnx'), rec, keysText: 'a\nb\n日' });
    fs.writeFileSync(path.join(dir, 'recognition/charset.txt'), 'a\nb\n');
    expect(await paddleModelFiles(ctx)).toEqual({ det: path.join(dir, 'detection/model.onnx'), rec, keys: path.join(dir, 'recognition/charset.txt') });
    expect(await readOnnxMetadata(path.join(dir, 'recognition/charset.txt'))).toEqual({});
  });
});
