// OCR quality: keyword recall and character error rate (CER) on the corpus's labelled OCR photos,
// on generated photos unlike them (bench/search/ocr-photos.mjs: clean renders) and on photo-like ones
// (bench/search/ocr-photolike.mjs: perspective, blur, noise, low light, JPEG, 4000 px, ten scripts),
// read the way the ocr stage reads them (the 1440 px preview, with the original beside it).
// Run after `npm run build`:
//   node bench/search/ocr-quality.mjs [corpus=/work/shared/corpus]
// OCR_SETS=corpus,generated,photolike and OCR_READINGS=preview,stage,multi pick what to measure
// (preview: without the original beside it, as the ocr stage read before it passed the original).
// Prints Markdown tables for bench/RESULTS.md (photo-like: per category and per script too) and the
// per-photo readings on stderr.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { editDistance, foldKey, makeOcrPhotos } from './ocr-photos.mjs';
import { makePhotoLike } from './ocr-photolike.mjs';

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
async function measure(items, multiScale, withOriginal = true) {
  let kw = 0, kwFound = 0, errs = 0, chars = 0, cpu = 0;
  const lines = [];
  const per = [];
  for (const it of items) {
    const p = await preview(it.path);
    const t0 = process.cpuUsage();
    const r = await recognizeText(ctx, p, { original: withOriginal ? it.path : undefined, multiScale });
    const c = process.cpuUsage(t0);
    cpu += (c.user + c.system) / 1e6;
    const got = foldKey(r.text);
    const found = it.keywords.filter((k) => got.includes(foldKey(k)));
    kw += it.keywords.length;
    kwFound += found.length;
    let cer = '';
    let d = 0, n = 0;
    if (it.text) {
      const truth = normalise(it.text);
      d = editDistance(normalise(r.text), truth);
      n = [...truth].length;
      errs += d;
      chars += n;
      cer = ` CER ${(d / n).toFixed(3)}`;
    }
    per.push({ it, kw: it.keywords.length, found: found.length, errs: d, chars: n });
    lines.push(`${it.name}: keywords ${found.length}/${it.keywords.length}${cer} read ${JSON.stringify(r.text.replace(/\n/g, ' | '))}`);
  }
  return { kw, kwFound, errs, chars, cpu, lines, per };
}

const labels = JSON.parse(fs.readFileSync(path.join(CORPUS, 'labels.json'), 'utf8'));
const corpusItems = Object.entries(labels.ocr)
  .filter(([f]) => !f.startsWith('_'))
  .map(([f, l]) => ({ name: f, path: path.join(CORPUS, f), keywords: l.keywords, text: l.text && (l.match === 'full' || l.match === 'sign') ? l.text : null }))
  .filter((i) => fs.existsSync(i.path));
const want = (process.env.OCR_SETS ?? 'corpus,generated,photolike').split(',');
const readings = (process.env.OCR_READINGS ?? 'preview,stage').split(',');
const sets = [];
if (want.includes('corpus')) sets.push(['corpus', corpusItems]);
if (want.includes('generated')) {
  const made = await makeOcrPhotos(path.join(dir, 'photos'), CORPUS);
  sets.push(['generated, clean renders', made.map((c) => ({ name: c.file, path: c.path, keywords: c.keywords, text: c.text }))]);
}
let skipped = [];
if (want.includes('photolike')) {
  const made = await makePhotoLike(path.join(dir, 'photolike'), CORPUS);
  skipped = made.skipped;
  sets.push(['photo-like (ocr-photolike.mjs)', made.map((c) => ({ name: c.file, path: c.path, keywords: c.keywords, text: c.text, category: c.category, script: c.script }))]);
}

const rows = [];
const groups = [];
const ratio = (m) => `${m.found}/${m.kw} = ${(m.found / m.kw).toFixed(2)}`;
const cerOf = (m) => (m.chars ? (m.errs / m.chars).toFixed(3) : '-');
// The ocr stage's reading against the multi-scale reading (+ zoomed out, + tiles of the original;
// RecognizeOptions.multiScale). Same photos, same run.
for (const [name, items] of sets) {
  const choices = [['preview', 'the preview alone (no original)', false, false], ['stage', 'the ocr stage (preview + original)', false, true], ['multi', 'multi-scale (+ zoomed out, tiles of the original)', true, true]];
  for (const [, label, multi, withOriginal] of choices.filter(([k]) => readings.includes(k))) {
    const m = await measure(items, multi, withOriginal);
    process.stderr.write(`[${name}, ${label}]\n  ${m.lines.join('\n  ')}\n`);
    rows.push(`| ${name} (${items.length} photos) | ${label} | ${m.kwFound}/${m.kw} = **${(m.kwFound / m.kw).toFixed(2)}** | ${m.chars ? `${(m.errs / m.chars).toFixed(3)} (${m.errs}/${m.chars})` : '-'} | ${m.cpu.toFixed(1)} s |`);
    if (!items[0]?.category) continue;
    for (const key of ['category', 'script']) {
      const by = new Map();
      for (const p of m.per) {
        const g = by.get(p.it[key]) ?? { kw: 0, found: 0, errs: 0, chars: 0, n: 0 };
        g.kw += p.kw; g.found += p.found; g.errs += p.errs; g.chars += p.chars; g.n++;
        by.set(p.it[key], g);
      }
      for (const [k, g] of by) groups.push(`| ${key} | ${k} (${g.n}) | ${label} | ${ratio(g)} | ${cerOf(g)} |`);
    }
  }
}
console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| photos | reading | OCR keyword recall | CER | CPU (OCR only) |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
if (groups.length) {
  console.log('\n| by | group (photos) | reading | keyword recall | CER |');
  console.log('|---|---|---|---|---|');
  for (const g of groups.sort()) console.log(g);
}
if (skipped.length) console.log(`\nskipped (no font for the script here): ${skipped.map((c) => c.file).join(', ')}`);
await ctx.close();
fs.rmSync(dir, { recursive: true, force: true });
