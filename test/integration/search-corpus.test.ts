// Search quality on the shared corpus, through the real CLI: YOLOX object tags against labels.json
// `objects`, OCR text against `ocr` (character error rate), `search` captions found through tags / OCR
// / places / names, and near-duplicate groups against `duplicates`. Skips when the corpus or the
// models are absent.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { Logger } from '../../src/logger.js';
import { COCO80, HYPERNYMS } from '../../src/ml/objects.js';
import { search } from '../../src/services/search.js';
import { CORPUS, corpusLabels, noteSkip, runCli, SHARED_MODELS, tmpDir } from '../helpers/env.js';
import { withLibraryDb } from '../e2e/import-helpers.js';

const available = Boolean(CORPUS && SHARED_MODELS && fs.existsSync(path.join(SHARED_MODELS ?? '', 'object-detection/yolox_nano.onnx')));
if (!available) noteSkip('search-corpus', 'corpus or shared models');

/** Files beyond ocr/ and objects/ that captions, objects or duplicates refer to (small JPEGs only). */
const EXTRA = [
  'duplicates', 'faces/curie', 'exif/moto-g9-plus_empty-gps.jpg', 'exif/mongolels_rating3.jpg', 'exif/thompson-springs_xmp-offset-0400.jpg',
  'exif/nikon-p6000_gps_DSCN0021.jpg', 'exif/nikon-p6000_gps_DSCN0042.jpg', 'exif/iphone4_gps.jpg', 'exif/htc-desire_gps.jpg',
  'exif/canon-eos-7d_portrait.jpg', 'sidecars/IMG_5910.jpg',
];

/** Levenshtein distance over code points. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

const normalise = (s: string) => s.replace(/\s+/g, ' ').trim();

describe.skipIf(!available)('search quality on the corpus', () => {
  let lib: string;
  let env: Record<string, string>;
  const labels = available ? corpusLabels() : {};
  /** corpus-relative path → asset id */
  let ids: Record<string, string> = {};
  let byId: Record<string, string> = {};

  beforeAll(async () => {
    lib = tmpDir('immich-search-corpus-');
    env = { UPLOAD_LOCATION: lib };
    const pull = await runCli(['models', 'pull', 'object-detection/yolox_nano', '--from', SHARED_MODELS!], env);
    expect(pull.code, pull.stderr).toBe(0);
    // OCR is slow: the full pipeline runs on ocr/ only; the rest gets objects and hashes via index.
    const ocr = await runCli(['import', path.join(CORPUS!, 'ocr'), path.join(CORPUS!, 'exif/olympus-pen-e-p3.jpg')], env);
    expect(ocr.code, ocr.stderr).toBe(0);
    const rest = await runCli(['import', '--skip-ml', path.join(CORPUS!, 'objects'), ...EXTRA.map((e) => path.join(CORPUS!, e))], env);
    expect(rest.code, rest.stderr).toBe(0);
    const index = await runCli(['index', '--jobs', 'objects,smart-search'], env);
    expect(index.code, index.stderr).toBe(0);
    await withLibraryDb(lib, async (db) => {
      for (const r of await db.selectFrom('assets').select(['id', 'original_path']).execute()) {
        const rel = path.relative(CORPUS!, r.original_path);
        ids[rel] = r.id;
        byId[r.id] = rel;
      }
    });
    // Byte-identical copies: import keeps whichever it met first; name them after the first file.
    for (const pair of labels.duplicates.exact as string[][]) {
      const kept = pair.find((f) => ids[f]);
      if (!kept) continue;
      const id = ids[kept]!;
      for (const f of pair) delete ids[f];
      ids[pair[0]!] = id;
      byId[id] = pair[0]!;
    }
  }, 600_000);
  afterAll(() => fs.rmSync(lib, { recursive: true, force: true }));

  it('finds the labelled COCO objects as tags', async () => {
    const detectable = new Set<string>([...COCO80, ...Object.values(HYPERNYMS).flat()]);
    const tags = await withLibraryDb(lib, (db) =>
      db.selectFrom('asset_tags as at').innerJoin('tags as t', 't.id', 'at.tag_id').select(['at.asset_id', 't.name', 'at.score']).where('at.source', '=', 'objects').execute(),
    );
    let expected = 0;
    let found = 0;
    const report: string[] = [];
    for (const [file, want] of Object.entries(labels.objects as Record<string, string[]>)) {
      const id = ids[file];
      if (!id) continue;
      const have = new Set(tags.filter((t) => t.asset_id === id).map((t) => t.name));
      const wanted = want.filter((w) => detectable.has(w));
      const hit = wanted.filter((w) => have.has(w));
      expected += wanted.length;
      found += hit.length;
      report.push(`${file}: ${hit.length}/${wanted.length} [${wanted.filter((w) => !have.has(w)).join(', ')} missing] tags: ${[...have].join(', ')}`);
    }
    process.stderr.write(`[objects] COCO-detectable labels found as tags: ${found}/${expected}\n  ${report.join('\n  ')}\n`);
    expect(expected).toBeGreaterThan(15);
    expect(found / expected).toBeGreaterThanOrEqual(0.75);
    // the headline objects, each on its own
    const tagOf = (f: string) => new Set(tags.filter((t) => t.asset_id === ids[f]).map((t) => t.name));
    expect([...tagOf('objects/dog_bicycle_truck.jpg')]).toEqual(expect.arrayContaining(['dog', 'bicycle']));
    expect([...tagOf('objects/person_dog_horse.jpg')]).toEqual(expect.arrayContaining(['person', 'dog', 'horse']));
    expect(tagOf('objects/chelsea_cat.png').has('cat')).toBe(true);
    expect(tagOf('objects/motorcycle.png').has('motorcycle')).toBe(true);
  });

  it('reads the labelled text (character error rate) and finds the keywords', async () => {
    const rows = await withLibraryDb(lib, (db) => db.selectFrom('asset_ocr').select(['asset_id', 'text', 'engine']).execute());
    const textOf = new Map(rows.map((r) => [byId[r.asset_id]!, r]));
    let errs = 0;
    let chars = 0;
    let kwTotal = 0;
    let kwFound = 0;
    const report: string[] = [];
    for (const [file, l] of Object.entries(labels.ocr as Record<string, { text: string | null; keywords: string[]; match: string }>)) {
      if (!ids[file]) continue;
      const got = textOf.get(file);
      const squeeze = (s: string) => s.toLowerCase().replace(/\s+/g, '');
      const kws = l.keywords.filter((k) => got && squeeze(got.text).includes(squeeze(k)));
      kwTotal += l.keywords.length;
      kwFound += kws.length;
      let cer = '';
      if (l.text && (l.match === 'full' || l.match === 'sign')) {
        const truth = normalise(l.text);
        const d = editDistance(normalise(got?.text ?? ''), truth);
        errs += d;
        chars += [...truth].length;
        cer = ` CER ${(d / [...truth].length).toFixed(3)}`;
      }
      report.push(`${file} (${got?.engine ?? 'no text'}):${cer} keywords ${kws.length}/${l.keywords.length}`);
    }
    const cer = errs / chars;
    process.stderr.write(`[ocr] character error rate over full/sign labels: ${cer.toFixed(3)} (${errs}/${chars}); keywords found ${kwFound}/${kwTotal}\n  ${report.join('\n  ')}\n`);
    expect(cer).toBeLessThan(0.15);
    expect(kwFound / kwTotal).toBeGreaterThanOrEqual(0.7);
  });

  it('finds the caption files through tags, OCR text, places and names', async () => {
    let answerable = 0;
    let hits = 0;
    const report: string[] = [];
    // One CLI run shows the command works; the rest go through the same service in-process.
    const one = await runCli(['--json', 'search', 'horses in a field', '--limit', '5'], env);
    expect(one.code, one.stderr).toBe(0);
    expect((JSON.parse(one.stdout).results as Array<{ id: string }>).map((h) => byId[h.id])).toContain('objects/horses.jpg');
    const ctx = await createContext(loadConfig({ env, cwd: lib }), new Logger('error', []), { command: 'test' });
    try {
      for (const [caption, files] of Object.entries(labels.search as Record<string, string[]>)) {
        const present = files.filter((f) => ids[f]);
        if (!present.length) continue;
        answerable++;
        const got = (await search(ctx, { query: caption, limit: 5 })).hits.map((h) => byId[h.id]);
        const ok = present.some((f) => got.includes(f));
        if (ok) hits++;
        report.push(`${ok ? 'hit ' : 'miss'} "${caption}" → ${got.slice(0, 3).join(', ') || '(nothing)'}`);
      }
    } finally {
      await ctx.close();
    }
    process.stderr.write(`[search] captions with a labelled file in the top 5 (no CLIP model): ${hits}/${answerable}\n  ${report.join('\n  ')}\n`);
    expect(hits).toBeGreaterThanOrEqual(7);
  });

  it('groups the near-duplicates of labels.json and nothing similar-but-different', async () => {
    const r = await runCli(['--json', 'duplicates'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { method: string; groups: Array<{ assets: Array<{ id: string }> }> };
    expect(out.method).toBe('phash');
    const groups = out.groups.map((g) => g.assets.map((a) => byId[a.id]!).sort());
    process.stderr.write(`[duplicates] ${JSON.stringify(groups)}\n`);
    const near = labels.duplicates.near[0] as string[];
    // the byte-identical copy was refused at import, so the group has the other four files
    expect(groups).toContainEqual(near.filter((f) => ids[f]).sort());
    for (const pair of labels.duplicates.similar_not_duplicate as string[][]) {
      expect(groups.some((g) => pair.every((f) => g.includes(f)))).toBe(false);
    }
    // the rotated Curie portrait is the same picture once displayed upright: grouped too
    expect(groups).toContainEqual(['faces/curie/portrait-orientation-6.jpg', 'faces/curie/portrait.jpg']);
    expect(groups).toHaveLength(2);
  });
});
