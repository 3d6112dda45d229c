// OCR quality: keyword recall and character error rate (CER) on the corpus's labelled OCR photos
// and on generated photos unlike them (bench/search/ocr-photos.mjs), read the way the ocr stage
// reads them (the 1440 px preview, with the original beside it). Run after `npm run build`:
//   node bench/search/ocr-quality.mjs [corpus=/work/shared/corpus]
// Prints a Markdown table for bench/RESULTS.md and the per-photo readings on stderr.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { editDistance, foldKey, makeOcrPhotos } from './ocr-photos.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { loadConfig } = await import(path.join(ROOT, 'dist/config.js'));
const { createContext } = await import(path.join(ROOT, 'dist/context.js'));
const { Logger } = await import(path.join(ROOT, 'dist/logger.js'));
const { recognizeText } = await import(path.join(ROOT, 'dist/ml/ocr.js'));

const CORPUS = process.argv[2] ?? process.env.IMMICH_TEST_CORPUS ?? '/work/shared/corpus';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-ocr-quality-'));
const ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: dir }, cwd: dir }), new Logger('error', []), { migrate: false });

/** The preview the thumbnails stage makes: 1440 px on the shorter side, JPEG q80. */
async function preview(file) {
  const out = path.join(dir, `preview-${path.basename(file)}.jpg`);
  await sharp(file, { failOn: 'none' }).rotate().resize(1440, 1440, { fit: 'outside', withoutEnlargement: true }).jpeg({ quality: 80 }).toFile(out);
  return out;
}

const normalise = (s) => s.replace(/\s+/g, ' ').trim();
async function measure(items, multiScale) {
  let kw = 0, kwFound = 0, errs = 0, chars = 0, cpu = 0;
  const lines = [];
  for (const it of items) {
    const p = await preview(it.path);
    const t0 = process.cpuUsage();
    const r = await recognizeText(ctx, p, { original: it.path, multiScale });
    const c = process.cpuUsage(t0);
    cpu += (c.user + c.system) / 1e6;
    const got = foldKey(r.text);
    const found = it.keywords.filter((k) => got.includes(foldKey(k)));
    kw += it.keywords.length;
    kwFound += found.length;
    let cer = '';
    if (it.text) {
      const truth = normalise(it.text);
      const d = editDistance(normalise(r.text), truth);
      errs += d;
      chars += [...truth].length;
      cer = ` CER ${(d / [...truth].length).toFixed(3)}`;
    }
    lines.push(`${it.name}: keywords ${found.length}/${it.keywords.length}${cer} read ${JSON.stringify(r.text.replace(/\n/g, ' | '))}`);
  }
  return { kw, kwFound, errs, chars, cpu, lines };
}

const labels = JSON.parse(fs.readFileSync(path.join(CORPUS, 'labels.json'), 'utf8'));
const corpusItems = Object.entries(labels.ocr)
  .filter(([f]) => !f.startsWith('_'))
  .map(([f, l]) => ({ name: f, path: path.join(CORPUS, f), keywords: l.keywords, text: l.text && (l.match === 'full' || l.match === 'sign') ? l.text : null }))
  .filter((i) => fs.existsSync(i.path));
const made = await makeOcrPhotos(path.join(dir, 'photos'), CORPUS);
const newItems = made.map((c) => ({ name: c.file, path: c.path, keywords: c.keywords, text: c.text }));

const rows = [];
const sets = [['corpus', corpusItems], ['generated, unlike the corpus', newItems]].filter(([n]) => !(process.env.OCR_ONLY_NEW && n === 'corpus'));
// The ocr stage's reading (one whole-frame pass) against the multi-scale reading (+ zoomed out,
// + tiles of the original; RecognizeOptions.multiScale). Same photos, same run.
for (const [name, items] of sets) {
  for (const [label, single] of [['one 960 px pass (the ocr stage)', false], ['multi-scale (+ zoomed out, tiles of the original)', true]]) {
    const m = await measure(items, single);
    process.stderr.write(`[${name}, ${label}]\n  ${m.lines.join('\n  ')}\n`);
    rows.push(`| ${name} (${items.length} photos) | ${label} | ${m.kwFound}/${m.kw} = **${(m.kwFound / m.kw).toFixed(2)}** | ${m.chars ? `${(m.errs / m.chars).toFixed(3)} (${m.errs}/${m.chars})` : '-'} | ${m.cpu.toFixed(1)} s |`);
  }
}
console.log('| photos | reading | OCR keyword recall | CER | CPU (OCR only) |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
await ctx.close();
fs.rmSync(dir, { recursive: true, force: true });
