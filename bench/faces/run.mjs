#!/usr/bin/env node
// Faces benchmark: clustering quality against ../shared/corpus labels (pairwise precision/recall/F1,
// people vs identities) through the real CLI (import → faces detect), and detection + embedding
// throughput of our pipeline against bare onnxruntime session.run on the same models and inputs,
// measured in the same run. The bare baseline runs the detector at every input size our pipeline ran for
// that photo (the second look at smaller scales included), so the ratio compares equal work.
// Usage: npm run build && node bench/faces/run.mjs [--append] [--all]
//   --all  also import the corpus' other image folders (not video/ or broken/) and list every face found
//          outside faces/ beyond labels.json's count (precision check on photos without labelled faces)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = process.env.IMMICH_TEST_CORPUS ?? path.resolve(ROOT, '../shared/corpus');
const MODELS = process.env.IMMICH_TEST_MODELS ?? path.resolve(ROOT, '../shared/models');
const APPEND = process.argv.includes('--append');
const ALL = process.argv.includes('--all');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
if (!fs.existsSync(path.join(CORPUS, 'labels.json')) || !fs.existsSync(MODELS)) {
  console.error(`bench/faces: corpus (${CORPUS}) or models (${MODELS}) not found`);
  process.exit(3);
}
const dist = (p) => import(path.join(ROOT, 'dist', p));
const [{ loadConfig }, { openDatabase }, { createModel, runtimeSettings }, faces, { letterbox, edgeInput, detectFacesTraced, RECHECK_FLOOR, EDGE_FLOOR }, { alignFace }, { toTensorData, embedOptionsFor }, { pairwiseScores }] = await Promise.all([
  dist('config.js'), dist('db/connect.js'), dist('ml/runtime.js'), dist('services/faces.js'), dist('ml/faces/detect.js'), dist('ml/faces/align.js'), dist('ml/faces/embed.js'), dist('ml/cluster.js'),
]);

const lib = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-faces-'));
const env = { ...process.env, UPLOAD_LOCATION: lib, IMMICH_MODELS_DIR: path.join(lib, 'models'), CI: 'true' };
for (const k of Object.keys(env)) if (/^(DB_|REDIS_)/.test(k)) delete env[k];
const cli = (args, okCodes = [0]) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/immich'), ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (!okCodes.includes(r.status)) throw new Error(`immich ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ...r, ms: performance.now() - t0 };
};

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
const loadBefore = uptime();
cli(['models', 'pull', 'scrfd_2.5g-mobilefacenet', '--from', MODELS]);
const imp = cli(['import', '--skip-ml', path.join(CORPUS, 'faces')]);
if (ALL) {
  // video/ is left out (no faces labelled there); RAW stubs without a preview fail their thumbnails (exit 1)
  const others = fs.readdirSync(CORPUS).filter((d) => !['faces', 'video', 'broken'].includes(d) && fs.statSync(path.join(CORPUS, d)).isDirectory());
  const videos = ['*.mp4', '*.MP4', '*.mov', '*.MOV', '*.mkv', '*.webm', '*.avi', '*.3gp', '*.m4v', '*.mts'].flatMap((g) => ['--ignore', g]);
  cli(['import', '--skip-ml', ...videos, ...others.map((d) => path.join(CORPUS, d))], [0, 1]);
}
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
const previewRows = await db.db
  .selectFrom('asset_files as p')
  .innerJoin('assets as a', 'a.id', 'p.asset_id')
  .select(['p.path', 'a.original_path'])
  .where('p.kind', '=', 'preview')
  .execute();
await db.close();
// throughput and clustering are measured on faces/ only, with or without --all
const inFaces = (p) => path.relative(CORPUS, p).startsWith('faces' + path.sep);
const previews = [...new Set(previewRows.filter((r) => inFaces(r.original_path)).map((r) => r.path))].sort();
const outside = [];
if (ALL) {
  const labelsAll = JSON.parse(fs.readFileSync(path.join(CORPUS, 'labels.json'), 'utf8')).faces;
  const found = new Map();
  for (const r of rows) if (!inFaces(r.original_path)) found.set(r.original_path, (found.get(r.original_path) ?? 0) + 1);
  for (const r of previewRows.filter((x) => !inFaces(x.original_path))) {
    const file = path.relative(CORPUS, r.original_path);
    const n = found.get(r.original_path) ?? 0;
    const labelled = (labelsAll[file] ?? []).length;
    if (n !== labelled) outside.push({ file, faces: n, labelled });
  }
}
const outsidePhotos = previewRows.filter((x) => !inFaces(x.original_path)).length;

const labels = JSON.parse(fs.readFileSync(path.join(CORPUS, 'labels.json'), 'utf8')).faces;
const items = [];
let samePhotoMerges = 0;
const byFile = new Map();
for (const r of rows) {
  if (!inFaces(r.original_path)) continue;
  const file = path.relative(CORPUS, r.original_path);
  if (!byFile.has(file)) byFile.set(file, []);
  byFile.get(file).push(r);
}
let labelled = 0, found = 0;
const misses = [];
for (const [file, list] of byFile) {
  const ids = labels[file] ?? [];
  labelled += ids.length;
  found += Math.min(ids.length, list.length);
  if (list.length < ids.length) misses.push(`${file} ${list.length}/${ids.length}`);
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
for (const [file, ids] of Object.entries(labels)) {
  if (file.startsWith('faces/') && !byFile.has(file)) {
    labelled += ids.length;
    misses.push(`${file} 0/${ids.length}`);
  }
}
const scores = pairwiseScores(items);
const people = new Set(rows.filter((r) => inFaces(r.original_path)).map((r) => r.person_id).filter(Boolean)).size;
const counts = new Map();
for (const it of items) if (!it.label.startsWith('unknown:')) counts.set(it.label, (counts.get(it.label) ?? 0) + 1);
const identities = [...counts.values()].filter((n) => n >= settings.minFaces).length;

// ---- throughput: our pipeline vs bare onnxruntime ----------------------------------------------
const rt = runtimeSettings(config.raw);
const detPath = path.join(lib, 'models/facial-recognition', settings.model, 'detection/model.onnx');
const recPath = path.join(lib, 'models/facial-recognition', settings.model, 'recognition/model.onnx');
const models = { detector: await createModel(detPath, rt), recognizer: await createModel(recPath, rt), name: settings.model };
const files = previews.map((p) => path.join(lib, p));
// inputs for the bare runs: exactly the tensors our pipeline feeds (one letterboxed image per detector
// input size it ran at, aligned crops)
const bareInputs = [];
let nFaces = 0, nFacesSingle = 0, detectorRuns = 0, secondLooks = 0, edgeLooks = 0;
const single = { ...settings, recheckFloor: settings.minScore }; // the second look off: the pipeline before it
for (const f of files) {
  const img = await faces.decodeRgb(f);
  // The first pass's input exactly as the pipeline makes it (decoded from the file at the input size);
  // a second look letterboxes the full-size decode.
  const first = await faces.prepareImage(f, settings.inputSize);
  const firstTensor = first.prepared.tensor.slice();
  const { sizes, edgeLook } = await detectFacesTraced(models.detector, first.img, { minScore: settings.minScore, inputSize: settings.inputSize }, first.prepared);
  detectorRuns += sizes.length + (edgeLook ? 1 : 0);
  if (sizes.length > 1) secondLooks++;
  if (edgeLook) edgeLooks++;
  const tensors = [{ size: sizes[0], tensor: firstTensor }];
  if (edgeLook) tensors.push({ size: sizes[0], tensor: (await edgeInput(img, sizes[0])).tensor.slice() });
  for (const size of sizes.slice(1)) tensors.push({ size, tensor: (await letterbox(img, size)).tensor.slice() });
  const p1 = await faces.prepareImage(f, settings.inputSize);
  const found = await faces.analyzeImage(models, p1.img, settings, p1.prepared);
  nFaces += found.length;
  const p2 = await faces.prepareImage(f, settings.inputSize);
  const once = await faces.analyzeImage(models, p2.img, single, p2.prepared);
  nFacesSingle += once.length;
  const crops = (list) => list.map((x) => toTensorData([alignFace(img, x.landmarks)], 112, embedOptionsFor(settings.model)));
  bareInputs.push({ tensors, crops: crops(found), cropsSingle: crops(once) });
}
const ort = await import(path.join(ROOT, 'node_modules/onnxruntime-node/dist/index.js')).catch(() => import('onnxruntime-node'));
const opts = { executionProviders: ['cpu'], intraOpNumThreads: rt.intraOpThreads, interOpNumThreads: rt.interOpThreads, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: rt.spinning ? '1' : '0' } } } };
const bareDet = await ort.InferenceSession.create(detPath, opts);
const bareRec = await ort.InferenceSession.create(recPath, opts);

// Also times analyzeImage apart (detect, align, embed once the detector's input is decoded; it still
// waits for the full-size decode that runs beside the detector): the pipeline without the preview's
// JPEG decode, which the bare runs do not do.
let lastAnalyzeMs = 0;
async function ours(s = settings) {
  const t0 = performance.now();
  let analyze = 0;
  for (const f of files) {
    const { img, prepared } = await faces.prepareImage(f, s.inputSize);
    const a = performance.now();
    await faces.analyzeImage(models, img, s, prepared);
    analyze += performance.now() - a;
  }
  lastAnalyzeMs = analyze;
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
// singlePass: the work of the pipeline without the second look (first input size, its faces' crops)
async function bare(singlePass = false) {
  const t0 = performance.now();
  for (const inp of bareInputs) {
    for (const t of singlePass ? inp.tensors.slice(0, 1) : inp.tensors) await bareDet.run({ [bareDet.inputNames[0]]: new ort.Tensor('float32', t.tensor, [1, 3, t.size, t.size]) });
    for (const c of singlePass ? inp.cropsSingle : inp.crops) await bareRec.run({ [bareRec.inputNames[0]]: new ort.Tensor('float32', c, [1, 3, 112, 112]) });
  }
  return performance.now() - t0;
}
await ours(); await bare(); // warm-up
const oursMs = [], bareMs = [], overMs = [], singleMs = [], bareSingleMs = [], analyzeMs = [];
for (let i = 0; i < ROUNDS; i++) {
  oursMs.push(await ours()); analyzeMs.push(lastAnalyzeMs); bareMs.push(await bare()); overMs.push(await oursOverlapped());
  singleMs.push(await ours(single)); bareSingleMs.push(await bare(true));
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const an = med(analyzeMs);
const o = med(oursMs), b = med(bareMs), ov = med(overMs), sg = med(singleMs), bs = med(bareSingleMs);
const loadAfter = uptime();

const result = {
  photos: files.length, faces: nFaces, labelledFaces: labelled, labelledFound: found, misses,
  secondLook: { photos: secondLooks, edgeLooks, detectorRuns, facesWithout: nFacesSingle, singlePassMs: sg, singlePassFacesPerSecond: nFacesSingle / (sg / 1000), bareSinglePassMs: bs, singlePassRatio: sg / bs },
  outside: ALL ? { photos: outsidePhotos, differingFromLabels: outside } : undefined,
  precision: scores.precision, recall: scores.recall, f1: scores.f1, pairs: scores,
  people, identities, samePhotoMerges,
  settings: { model: settings.model, minScore: settings.minScore, maxDistance: settings.maxDistance, minFaces: settings.minFaces, threads: rt.intraOpThreads },
  oursMs: o, bareMs: b, ratio: o / b, analyzeMs: an, analyzeRatio: an / b, overlappedMs: ov, overlappedRatio: ov / b, facesPerSecond: nFaces / (o / 1000), bareFacesPerSecond: nFaces / (b / 1000),
  cli: { importMs: imp.ms, facesDetectMs: det.ms, detect: { completed: detected.completed, failed: detected.failed } },
  machine: { nproc: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, loadBefore, loadAfter },
};
console.log(JSON.stringify(result, null, 2));

if (APPEND) {
  const f2 = (x) => x.toFixed(3);
  const text = `
## faces (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)

Reproduce: \`npm run build && node bench/faces/run.mjs --append${ALL ? ' --all' : ''}\` (needs ../shared/corpus and ../shared/models).
Machine: ${result.machine.nproc} cores (\`nproc\`), ${result.machine.cpu}, Node ${result.machine.node}.
Load: before \`${loadBefore}\`; after \`${loadAfter}\`.
Model ${settings.model} (SCRFD-2.5G + MobileFaceNet-128), min score ${settings.minScore}, max distance ${settings.maxDistance}, min faces ${settings.minFaces}, ${rt.intraOpThreads} intra-op thread, spinning off.

| figure | value |
|---|---|
| photos (corpus faces/) | ${files.length} |
| faces detected | ${nFaces} |
| labelled faces found (per photo, capped at the label count) | ${found} / ${labelled} |
| photos missing labelled faces | ${misses.join('; ') || 'none'} |
| photos given the second look (first pass unsure, score ${RECHECK_FLOOR}–${settings.minScore}) / the edge look (unsure face at the border, score ${EDGE_FLOOR}–${settings.minScore}) / detector runs | ${secondLooks} / ${edgeLooks} / ${detectorRuns} (${files.length} without them) |
| pairwise precision | ${f2(scores.precision)} (${scores.correctPairs}/${scores.predictedPairs} pairs) |
| pairwise recall | ${f2(scores.recall)} (${scores.correctPairs}/${scores.truePairs} pairs) |
| pairwise F1 | ${f2(scores.f1)} |
| people / identities with ≥ ${settings.minFaces} faces | ${people} / ${identities} |
| two faces of one photo in one person | ${samePhotoMerges} |
| detection + embedding, our pipeline (decode preview, letterbox, detect, align, embed; median of ${ROUNDS}) | ${o.toFixed(0)} ms = ${result.facesPerSecond.toFixed(1)} faces/s |
| same without the second look (the pipeline before it; ${nFacesSingle} faces) | ${sg.toFixed(0)} ms = ${(nFacesSingle / (sg / 1000)).toFixed(1)} faces/s |
| bare onnxruntime for that single pass / ratio | ${bs.toFixed(0)} ms / ${(sg / bs).toFixed(2)} |
| same, next preview decoded during inference (as the queue runs the stage) | ${ov.toFixed(0)} ms = ${(nFaces / (ov / 1000)).toFixed(1)} faces/s |
| bare onnxruntime session.run, same models and tensors (every detector input size ours ran) | ${b.toFixed(0)} ms = ${result.bareFacesPerSecond.toFixed(1)} faces/s |
| detection + embedding once the detector's input is decoded (detect, align, embed; median) / ratio to bare | ${an.toFixed(0)} ms / ${(an / b).toFixed(2)} |
| ratio ours / bare, sequential, the preview's JPEG decode included (target ≤ 1.2) | ${result.ratio.toFixed(2)} |
| ratio ours / bare, overlapped | ${(ov / b).toFixed(2)} |
| \`immich import --skip-ml\` of the ${files.length} photos / \`immich faces detect\` of ${files.length + outsidePhotos} photos (CLI, end to end) | ${(imp.ms / 1000).toFixed(1)} s / ${(det.ms / 1000).toFixed(1)} s |
${ALL ? `| photos outside faces/ (--all) whose face count differs from labels.json | ${outside.length} of ${outsidePhotos}: ${outside.map((x) => `${x.file} ${x.faces} (labelled ${x.labelled})`).join('; ') || 'none'} |\n` : ''}`;
  // newest first: the new section goes above the previous faces sections
  const file = path.join(ROOT, 'bench/RESULTS.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const at = old.search(/^## faces \(/m);
  fs.writeFileSync(file, at < 0 ? old + text : `${old.slice(0, at)}${text.trimStart()}\n${old.slice(at)}`);
}
fs.rmSync(lib, { recursive: true, force: true });
process.exit(0);
