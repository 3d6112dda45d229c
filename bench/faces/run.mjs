#!/usr/bin/env node
// Faces benchmark: clustering quality against ../shared/corpus labels (pairwise precision/recall/F1,
// people vs identities) through the real CLI (import → faces detect), and detection + embedding
// throughput of our pipeline against bare onnxruntime session.run on the same models and inputs,
// measured in the same run. Usage: npm run build && node bench/faces/run.mjs [--append]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = process.env.IMMICH_TEST_CORPUS ?? path.resolve(ROOT, '../shared/corpus');
const MODELS = process.env.IMMICH_TEST_MODELS ?? path.resolve(ROOT, '../shared/models');
const APPEND = process.argv.includes('--append');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
if (!fs.existsSync(path.join(CORPUS, 'labels.json')) || !fs.existsSync(MODELS)) {
  console.error(`bench/faces: corpus (${CORPUS}) or models (${MODELS}) not found`);
  process.exit(3);
}
const dist = (p) => import(path.join(ROOT, 'dist', p));
const [{ loadConfig }, { openDatabase }, { createModel, runtimeSettings }, faces, { letterbox }, { alignFace }, { toTensorData, embedOptionsFor }, { pairwiseScores }] = await Promise.all([
  dist('config.js'), dist('db/connect.js'), dist('ml/runtime.js'), dist('services/faces.js'), dist('ml/faces/detect.js'), dist('ml/faces/align.js'), dist('ml/faces/embed.js'), dist('ml/cluster.js'),
]);

const lib = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-faces-'));
const env = { ...process.env, UPLOAD_LOCATION: lib, IMMICH_MODELS_DIR: path.join(lib, 'models'), CI: 'true' };
for (const k of Object.keys(env)) if (/^(DB_|REDIS_)/.test(k)) delete env[k];
const cli = (args) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/immich'), ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`immich ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ...r, ms: performance.now() - t0 };
};

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
const loadBefore = uptime();
cli(['models', 'pull', 'scrfd_2.5g-mobilefacenet', '--from', MODELS]);
const imp = cli(['import', '--skip-ml', path.join(CORPUS, 'faces')]);
const det = cli(['faces', 'detect', '--json']);
const detected = JSON.parse(det.stdout);

// ---- clustering quality -------------------------------------------------------------------------
const config = loadConfig({ env });
const settings = faces.faceSettings(config.raw);
const db = await openDatabase(config.database);
const rows = await db.db
  .selectFrom('asset_faces as f')
  .innerJoin('assets as a', 'a.id', 'f.asset_id')
  .innerJoin('asset_files as p', (j) => j.onRef('p.asset_id', '=', 'a.id').on('p.kind', '=', 'preview'))
  .select(['f.id', 'f.person_id', 'f.box_x1', 'f.box_x2', 'a.original_path', 'p.path as preview'])
  .execute();
const previews = [...new Set((await db.db.selectFrom('asset_files').select('path').where('kind', '=', 'preview').execute()).map((r) => r.path))].sort();
await db.close();

const labels = JSON.parse(fs.readFileSync(path.join(CORPUS, 'labels.json'), 'utf8')).faces;
const items = [];
let samePhotoMerges = 0;
const byFile = new Map();
for (const r of rows) {
  const file = path.relative(CORPUS, r.original_path);
  if (!byFile.has(file)) byFile.set(file, []);
  byFile.get(file).push(r);
}
let labelled = 0, found = 0;
for (const [file, list] of byFile) {
  const ids = labels[file] ?? [];
  labelled += ids.length;
  found += Math.min(ids.length, list.length);
  list.sort((a, b) => (b.box_x2 - b.box_x1) - (a.box_x2 - a.box_x1));
  list.forEach((r, i) => {
    let label = null;
    if (ids.length === 1 && ids[0] !== 'unknown') label = i === 0 ? ids[0] : null; // the main face; background faces are unlabelled
    else if (file.startsWith('faces/curie/')) label = `curie@${(r.box_x1 + r.box_x2) / 2 < 0.5 ? 'left' : 'right'}`; // same portrait twice
    else if (ids.length && ids.every((x) => x === 'unknown')) label = `unknown:${file}:${i}`; // distinct strangers
    if (label) items.push({ label, cluster: r.person_id });
  });
  for (let i = 0; i < list.length; i++) for (let j = i + 1; j < list.length; j++) if (list[i].person_id && list[i].person_id === list[j].person_id) samePhotoMerges++;
}
for (const [file, ids] of Object.entries(labels)) if (file.startsWith('faces/') && !byFile.has(file)) labelled += ids.length;
const scores = pairwiseScores(items);
const people = new Set(rows.map((r) => r.person_id).filter(Boolean)).size;
const counts = new Map();
for (const it of items) if (!it.label.startsWith('unknown:')) counts.set(it.label, (counts.get(it.label) ?? 0) + 1);
const identities = [...counts.values()].filter((n) => n >= settings.minFaces).length;

// ---- throughput: our pipeline vs bare onnxruntime ----------------------------------------------
const rt = runtimeSettings(config.raw);
const detPath = path.join(lib, 'models/facial-recognition', settings.model, 'detection/model.onnx');
const recPath = path.join(lib, 'models/facial-recognition', settings.model, 'recognition/model.onnx');
const models = { detector: await createModel(detPath, rt), recognizer: await createModel(recPath, rt), name: settings.model };
const files = previews.map((p) => path.join(lib, p));
// inputs for the bare runs: exactly the tensors our pipeline feeds (letterboxed image, aligned crops)
const bareInputs = [];
let nFaces = 0;
for (const f of files) {
  const img = await faces.decodeRgb(f);
  const { tensor } = await letterbox(img, settings.inputSize);
  const found = await faces.analyzeImage(models, img, settings);
  nFaces += found.length;
  bareInputs.push({ tensor, crops: found.map((x) => toTensorData([alignFace(img, x.landmarks)], 112, embedOptionsFor(settings.model))) });
}
const ort = await import(path.join(ROOT, 'node_modules/onnxruntime-node/dist/index.js')).catch(() => import('onnxruntime-node'));
const opts = { executionProviders: ['cpu'], intraOpNumThreads: rt.intraOpThreads, interOpNumThreads: rt.interOpThreads, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: rt.spinning ? '1' : '0' } } } };
const bareDet = await ort.InferenceSession.create(detPath, opts);
const bareRec = await ort.InferenceSession.create(recPath, opts);
const s = settings.inputSize;

async function ours() {
  const t0 = performance.now();
  for (const f of files) {
    const { img, prepared } = await faces.prepareImage(f, settings.inputSize);
    await faces.analyzeImage(models, img, settings, prepared);
  }
  return performance.now() - t0;
}
// as the queue runs the stage (2 jobs at once): the next preview is decoded while this one is inferred
async function oursOverlapped() {
  const t0 = performance.now();
  let next = faces.prepareImage(files[0], settings.inputSize);
  for (let i = 0; i < files.length; i++) {
    const cur = await next;
    if (i + 1 < files.length) next = faces.prepareImage(files[i + 1], settings.inputSize);
    await faces.analyzeImage(models, cur.img, settings, cur.prepared);
  }
  return performance.now() - t0;
}
async function bare() {
  const t0 = performance.now();
  for (const inp of bareInputs) {
    await bareDet.run({ [bareDet.inputNames[0]]: new ort.Tensor('float32', inp.tensor, [1, 3, s, s]) });
    for (const c of inp.crops) await bareRec.run({ [bareRec.inputNames[0]]: new ort.Tensor('float32', c, [1, 3, 112, 112]) });
  }
  return performance.now() - t0;
}
await ours(); await bare(); // warm-up
const oursMs = [], bareMs = [], overMs = [];
for (let i = 0; i < ROUNDS; i++) { oursMs.push(await ours()); bareMs.push(await bare()); overMs.push(await oursOverlapped()); }
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const o = med(oursMs), b = med(bareMs), ov = med(overMs);
const loadAfter = uptime();

const result = {
  photos: files.length, faces: nFaces, labelledFaces: labelled, labelledFound: found,
  precision: scores.precision, recall: scores.recall, f1: scores.f1, pairs: scores,
  people, identities, samePhotoMerges,
  settings: { model: settings.model, minScore: settings.minScore, maxDistance: settings.maxDistance, minFaces: settings.minFaces, threads: rt.intraOpThreads },
  oursMs: o, bareMs: b, ratio: o / b, overlappedMs: ov, overlappedRatio: ov / b, facesPerSecond: nFaces / (o / 1000), bareFacesPerSecond: nFaces / (b / 1000),
  cli: { importMs: imp.ms, facesDetectMs: det.ms, detect: { completed: detected.completed, failed: detected.failed } },
  machine: { nproc: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, loadBefore, loadAfter },
};
console.log(JSON.stringify(result, null, 2));

if (APPEND) {
  const f2 = (x) => x.toFixed(3);
  const text = `
## faces (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)

Reproduce: \`npm run build && node bench/faces/run.mjs --append\` (needs ../shared/corpus and ../shared/models).
Machine: ${result.machine.nproc} cores (\`nproc\`), ${result.machine.cpu}, Node ${result.machine.node}.
Load: before \`${loadBefore}\`; after \`${loadAfter}\`.
Model ${settings.model} (SCRFD-2.5G + MobileFaceNet-128), min score ${settings.minScore}, max distance ${settings.maxDistance}, min faces ${settings.minFaces}, ${rt.intraOpThreads} intra-op thread, spinning off.

| figure | value |
|---|---|
| photos (corpus faces/) | ${files.length} |
| faces detected | ${nFaces} |
| labelled faces found (per photo, capped at the label count) | ${found} / ${labelled} |
| pairwise precision | ${f2(scores.precision)} (${scores.correctPairs}/${scores.predictedPairs} pairs) |
| pairwise recall | ${f2(scores.recall)} (${scores.correctPairs}/${scores.truePairs} pairs) |
| pairwise F1 | ${f2(scores.f1)} |
| people / identities with ≥ ${settings.minFaces} faces | ${people} / ${identities} |
| two faces of one photo in one person | ${samePhotoMerges} |
| detection + embedding, our pipeline (decode preview, letterbox, detect, align, embed; median of ${ROUNDS}) | ${o.toFixed(0)} ms = ${result.facesPerSecond.toFixed(1)} faces/s |
| same, next preview decoded during inference (as the queue runs the stage) | ${ov.toFixed(0)} ms = ${(nFaces / (ov / 1000)).toFixed(1)} faces/s |
| bare onnxruntime session.run, same models and tensors | ${b.toFixed(0)} ms = ${result.bareFacesPerSecond.toFixed(1)} faces/s |
| ratio ours / bare, sequential (target ≤ 1.2) | ${result.ratio.toFixed(2)} |
| ratio ours / bare, overlapped | ${(ov / b).toFixed(2)} |
| \`immich import --skip-ml\` of the 40 photos / \`immich faces detect\` (CLI, end to end) | ${(imp.ms / 1000).toFixed(1)} s / ${(det.ms / 1000).toFixed(1)} s |
`;
  fs.appendFileSync(path.join(ROOT, 'bench/RESULTS.md'), text);
}
fs.rmSync(lib, { recursive: true, force: true });
process.exit(0);
