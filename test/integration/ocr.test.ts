// OCR engines on generated images: PaddleOCR for a sign in a photo, tesseract chosen for a
// document-like page, row merging, and offline operation (models and language data from npm).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { Logger } from '../../src/logger.js';
import { mergeRows, paddleModelFiles, recognizeText, tesseractLangDir } from '../../src/ml/ocr.js';
import { tmpDir } from '../helpers/env.js';

async function textImage(file: string, lines: string[], opts: { bg: string; fg: string; size: number; width: number }): Promise<void> {
  const lh = Math.round(opts.size * 1.5);
  const height = lh * lines.length + 80;
  const text = lines.map((l, i) => `<text x="40" y="${60 + i * lh}" font-family="DejaVu Sans" font-size="${opts.size}" fill="${opts.fg}">${l}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${opts.width}" height="${height}"><rect width="100%" height="100%" fill="${opts.bg}"/>${text}</svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(file);
}

describe('OCR', () => {
  let ctx: Context;
  let dir: string;
  beforeAll(async () => {
    dir = tmpDir('immich-ocr-');
    ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: dir }, cwd: dir }), new Logger('error', []), { migrate: false });
  });
  afterAll(async () => {
    await ctx?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds its models and language data in npm packages (nothing is downloaded)', async () => {
    const files = await paddleModelFiles(ctx);
    expect(files?.det).toMatch(/ch_PP-OCRv4_det_infer\.onnx$/);
    expect(files?.keys).toMatch(/ppocr_keys_v1\.txt$/);
    expect(fs.existsSync(path.join(tesseractLangDir()!, 'eng.traineddata.gz'))).toBe(true);
  });

  it('reads a sign with PaddleOCR, with normalised line boxes', async () => {
    const f = path.join(dir, 'sign.jpg');
    await textImage(f, ['CAFE OPEN'], { bg: '#2040a0', fg: '#ffffff', size: 64, width: 640 });
    const r = await recognizeText(ctx, f);
    expect(r.engine).toBe('paddle');
    expect(r.text.replace(/\s+/g, ' ')).toMatch(/CAFE ?OPEN/);
    const box = r.lines[0]!.box;
    expect(box[0]).toBeGreaterThanOrEqual(0);
    expect(box[0] + box[2]).toBeLessThanOrEqual(1);
    expect(box[3]).toBeGreaterThan(0.05);
  });

  it('uses tesseract for a document-like page when it reads it confidently', async () => {
    const f = path.join(dir, 'page.jpg');
    const lines = ['The quick brown fox jumps over', 'the lazy dog near the river bank', 'while seven wizards quietly hex', 'a jovial sphinx of black quartz'];
    await textImage(f, lines, { bg: '#ffffff', fg: '#000000', size: 28, width: 700 });
    const r = await recognizeText(ctx, f);
    expect(r.engine).toBe('tesseract');
    expect(r.lines).toHaveLength(4);
    expect(r.text).toContain('lazy dog');
    expect(r.text).toContain('sphinx of black quartz');
  }, 60_000);

  it('joins segments of one row left to right', () => {
    const rows = mergeRows([
      { text: 'PARKING', confidence: 0.9, box: [0.5, 0.1, 0.3, 0.1] },
      { text: 'NO', confidence: 0.8, box: [0.2, 0.11, 0.1, 0.1] },
      { text: 'EXIT', confidence: 0.9, box: [0.2, 0.5, 0.2, 0.1] },
    ]);
    expect(rows.map((r) => r.text)).toEqual(['NO PARKING', 'EXIT']);
    expect(rows[0]!.box[0]).toBeCloseTo(0.2);
    expect(rows[0]!.box[2]).toBeCloseTo(0.6);
  });
});
