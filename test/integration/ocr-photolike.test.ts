// Issue 21: scene text on photo-like pictures (bench/search/ocr-photolike.mjs: seeded signs in
// perspective, noise, JPEG) read the way the ocr stage reads them (the 1440 px preview, the original
// beside it). Scripts PP-OCRv4 cannot spell (Cyrillic, Greek, Korean) were read as Latin look-alikes
// or as nothing before the second reader (src/ml/ocr-scripts.ts), and a timetable in a 4000 px photo
// (6 px letters in the preview) was not even detected before the tiles of the original.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { Logger } from '../../src/logger.js';
import { recognizeText } from '../../src/ml/ocr.js';
import { cropQuad, distinctiveLetters, doubtful, replaces, scriptLike, tessdataFile, tidy } from '../../src/ml/ocr-scripts.js';
import { CORPUS, tmpDir } from '../helpers/env.js';
// @ts-expect-error: plain JavaScript shared with the bench
import { foldKey } from '../../bench/search/ocr-photos.mjs';
// @ts-expect-error: plain JavaScript shared with the bench
import { makePhotoLike } from '../../bench/search/ocr-photolike.mjs';

const PICK = ['pl-pharmacy-ru.jpg', 'pl-pharmacy-el.jpg', 'pl-station-ko.jpg', 'pl-street-sign-tr.jpg', 'pl-timetable-tiny-4000.jpg'];

interface Case { file: string; path: string; keywords: string[]; script: string }

describe('OCR on photo-like scene text in several scripts', () => {
  let ctx: Context;
  let dir: string;
  let cases: Case[];
  beforeAll(async () => {
    dir = tmpDir('immich-ocr-photolike-');
    ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: dir }, cwd: dir }), new Logger('error', []), { migrate: false });
    const made = await makePhotoLike(path.join(dir, 'photos'), CORPUS, PICK);
    // Korean needs a CJK font (.ci/run installs fonts-wqy-microhei); without one the case is left out, not drawn as boxes.
    cases = made as Case[];
    for (const c of made.skipped as Case[]) process.stderr.write(`[ocr-photolike] ${c.file}: no font for ${c.script} here, left out\n`);
    // Russian's data is Debian's (.ci/run installs tesseract-ocr-rus); the others come from npm.
    if (!tessdataFile('rus')) cases = cases.filter((c) => c.script !== 'cyrillic');
    expect(cases.length).toBeGreaterThanOrEqual(2);
  }, 300_000);
  afterAll(async () => {
    await ctx?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function read(c: Case): Promise<string> {
    const preview = `${c.path}.preview.jpg`;
    await sharp(c.path).resize(1440, 1440, { fit: 'outside', withoutEnlargement: true }).jpeg({ quality: 80 }).toFile(preview);
    return (await recognizeText(ctx, preview, { original: c.path })).text;
  }

  it('finds the keywords of each script (Cyrillic, Greek and Korean included)', async () => {
    const report: string[] = [];
    let total = 0;
    let hit = 0;
    for (const c of cases) {
      const text = await read(c);
      const found = c.keywords.filter((k) => foldKey(text).includes(foldKey(k)));
      total += c.keywords.length;
      hit += found.length;
      report.push(`${c.file}: ${found.length}/${c.keywords.length} ${JSON.stringify(text)}`);
      // Before: "ANTEKA | BbIXOn", "中APMAKEIO | EEOAOZ", "" and "" (no keyword at all).
      if (c.script !== 'turkish') expect(found.length, `${c.file} read ${JSON.stringify(text)}`).toBeGreaterThanOrEqual(c.keywords.length - 1);
    }
    process.stderr.write(`[ocr-photolike] keywords ${hit}/${total}\n  ${report.join('\n  ')}\n`);
    expect(hit / total).toBeGreaterThanOrEqual(0.85);
  }, 600_000);

  it('sends only doubtful Paddle readings to the script readers, and keeps Latin readings', () => {
    expect(doubtful('ANTEKA', 0.92)).toBe(true); // АПТЕКА in Latin look-alikes
    expect(doubtful('BbIXOn', 0.95)).toBe(true); // ВЫХОД
    expect(doubtful('中APMAKEIO', 0.94)).toBe(true); // ΦΑΡΜΑΚΕΙΟ
    expect(doubtful('', 0)).toBe(true); // 서울역, read as nothing
    expect(doubtful('PIZZERIA NAPOLI', 0.98)).toBe(false);
    expect(doubtful('北京路药店', 0.97)).toBe(false);
    // A Greek or Cyrillic reading of Latin text shows only look-alikes: not taken.
    expect(distinctiveLetters('ΡΙΖΖΕΒΙΑ ΝΑΡΟΙΙ')).toBe(0);
    expect(distinctiveLetters('ΟςΟΕΑΝ')).toBe(0);
    expect(distinctiveLetters('АПТЕКА')).toBeGreaterThan(0);
    expect(distinctiveLetters('출구 약국')).toBeGreaterThan(0);
    expect(scriptLike('ض 4 7 5')).toBe(false);
    expect(scriptLike('ВЫХОД')).toBe(true);
    expect(scriptLike('АПТЕКА')).toBe(true);
    // Paddle's confident Latin stands; look-alike spellings and mixed readings give way.
    expect(replaces('EAN/JAN', 0.983, { text: 'ЕАМ/ЛАМ', confidence: 0.86, langs: 'rus' })).toBe(false);
    expect(replaces('14-42mmlIlR', 0.842, { text: '14-42тт ИВ', confidence: 0.83, langs: 'rus' })).toBe(false);
    expect(replaces('ANTEKA', 0.922, { text: 'АПТЕКА', confidence: 0.96, langs: 'rus' })).toBe(true);
    expect(replaces('中APMAKEIO', 0.943, { text: 'ΦΑΡΜΑΚΕΙΟ', confidence: 0.86, langs: 'ell' })).toBe(true);
    expect(replaces('', 0, { text: '서울역', confidence: 0.96, langs: 'jpn+kor+ara' })).toBe(true);
    expect(tidy('ラー メン 出口')).toBe('ラーメン出口');
    expect(tidy('출구  약국')).toBe('출구 약국');
  });

  it('straightens a rolled line into an upright crop', () => {
    // A 40 x 10 white bar rolled 30 degrees on black: its crop (2 px of margin) is the bar, where the
    // upright bounding box would be about a third white.
    const w = 100, h = 100;
    const data = new Uint8Array(w * h * 3);
    const a = Math.PI / 6;
    const at = (u: number, v: number) => ({ x: 30 + u * Math.cos(a) - v * Math.sin(a), y: 30 + u * Math.sin(a) + v * Math.cos(a) });
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const dx = x - 30, dy = y - 30;
      const u = dx * Math.cos(a) + dy * Math.sin(a), v = -dx * Math.sin(a) + dy * Math.cos(a);
      if (u >= 0 && u <= 40 && v >= 0 && v <= 10) data.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
    const crop = cropQuad({ width: w, height: h, data }, [at(0, 0), at(40, 0), at(40, 10), at(0, 10)]);
    expect(crop.width).toBeGreaterThan(crop.height * 3);
    let white = 0;
    for (let i = 0; i < crop.data.length; i += 3) if (crop.data[i]! > 128) white++;
    expect(white / (crop.width * crop.height)).toBeGreaterThan(0.55);
    const mid = Math.floor(crop.height / 2);
    for (let x = 3; x < crop.width - 3; x++) expect(crop.data[(mid * crop.width + x) * 3]).toBeGreaterThan(128);
  });
});
