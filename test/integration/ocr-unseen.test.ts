// Issue 21, OCR on photos unlike the corpus: generated on the spot (bench/search/ocr-photos.mjs:
// SVG text over corpus photos or textures), read the way the ocr stage reads them (the 1440 px
// preview). A handful of the hard cases: small text in a 4000 px photo, letters filling the frame,
// a sign rotated 28 degrees, sheared packaging, a Turkish sign (folded as search folds it).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { Logger } from '../../src/logger.js';
import { pickLines, recognizeText } from '../../src/ml/ocr.js';
import { tmpDir } from '../helpers/env.js';
// @ts-expect-error: plain JavaScript shared with the bench
import { foldKey, makeOcrPhotos, OCR_CASES } from '../../bench/search/ocr-photos.mjs';

const CORPUS = process.env.IMMICH_TEST_CORPUS;
const PICK = ['poster-small-text.jpg', 'close-up.jpg', 'exit-tilted.jpg', 'packaging.jpg', 'turkish-sign.jpg'];

interface Case { file: string; path: string; keywords: string[] }

describe('OCR on photos unlike the corpus', () => {
  let ctx: Context;
  let dir: string;
  let cases: Case[];
  beforeAll(async () => {
    dir = tmpDir('immich-ocr-unseen-');
    ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: dir }, cwd: dir }), new Logger('error', []), { migrate: false });
    cases = (await makeOcrPhotos(path.join(dir, 'photos'), CORPUS, PICK)) as Case[];
    expect(cases).toHaveLength(PICK.length);
    expect((OCR_CASES as unknown[]).length).toBeGreaterThanOrEqual(10);
  }, 300_000);
  afterAll(async () => {
    await ctx?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function read(c: Case, multiScale = false): Promise<string> {
    const preview = `${c.path}.preview.jpg`;
    if (!fs.existsSync(preview)) await sharp(c.path).resize(1440, 1440, { fit: 'outside', withoutEnlargement: true }).jpeg({ quality: 80 }).toFile(preview);
    return (await recognizeText(ctx, preview, { original: c.path, multiScale })).text;
  }
  const found = (text: string, c: Case) => c.keywords.filter((k) => foldKey(text).includes(foldKey(k)));

  it('finds at least 85% of the keywords (Turkish letters folded as search folds them)', async () => {
    let total = 0;
    let hit = 0;
    const report: string[] = [];
    for (const c of cases) {
      const text = await read(c);
      const f = found(text, c);
      total += c.keywords.length;
      hit += f.length;
      report.push(`${c.file}: ${f.length}/${c.keywords.length} ${JSON.stringify(text)}`);
    }
    process.stderr.write(`[ocr-unseen] keywords ${hit}/${total}\n  ${report.join('\n  ')}\n`);
    expect(hit / total).toBeGreaterThanOrEqual(0.85);
  }, 600_000);

  it('the multi-scale reading finds no fewer keywords than the whole-frame pass on the smallest text', async () => {
    const poster = cases.find((c) => c.file === 'poster-small-text.jpg')!;
    const single = found(await read(poster), poster);
    const multi = found(await read(poster, true), poster);
    expect(multi.length).toBeGreaterThanOrEqual(single.length);
    expect(multi.length).toBe(poster.keywords.length);
  }, 300_000);

  it('lines from several passes: the whole-frame reading stands unless another reads clearly more', () => {
    const whole = [{ text: 'P', confidence: 0.95, box: [0.4, 0.2, 0.1, 0.6] as [number, number, number, number] }];
    const zoomed = [{ text: 'OPEN', confidence: 0.97, box: [0.1, 0.2, 0.8, 0.6] as [number, number, number, number] }];
    expect(pickLines([whole, zoomed]).map((l) => l.text)).toEqual(['OPEN']);
    const spaced = [{ text: 'FRESH BREAD DAILY', confidence: 0.94, box: [0.1, 0.5, 0.8, 0.1] as [number, number, number, number] }];
    const squeezed = [{ text: 'FRESHBREADDAILY', confidence: 0.99, box: [0.1, 0.5, 0.8, 0.1] as [number, number, number, number] }];
    expect(pickLines([spaced, squeezed]).map((l) => l.text)).toEqual(['FRESH BREAD DAILY']);
    const elsewhere = [{ text: 'TICKETS', confidence: 0.9, box: [0.2, 0.7, 0.1, 0.03] as [number, number, number, number] }];
    expect(pickLines([spaced, elsewhere]).map((l) => l.text).sort()).toEqual(['FRESH BREAD DAILY', 'TICKETS']);
  });
});
