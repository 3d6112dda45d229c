// Immich's model names downloaded like Immich does (issue 21): a local HTTP server laid out like
// huggingface.co (/<org>/<name>/resolve/<commit>/<file>) serves generated models in Immich's layout;
// `immich models pull` resumes a cut download with HTTP Range, refuses wrong bytes (published checksum,
// or the one recorded on the first download) with nothing installed, installs a model folder whole, says
// `--from` when offline; and import / faces detect download their stage's model on first use.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_MODELS, noteSkip, runCli, tmpDir } from '../helpers/env.js';
import { tinyArcFaceModel } from '../helpers/tiny-onnx.js';
import { textualModel, visualModel } from '../unit/clip-fixture.js';
import { withLibraryDb } from './import-helpers.js';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

type Mode = 'normal' | 'cut-once' | 'cut-then-fail';
interface Hub {
  url: string;
  files: Map<string, Buffer>;
  modes: Map<string, Mode>;
  /** Paths whose one cut has happened (cleared to cut again). */
  cut: Set<string>;
  /** "<path> <range or ->" per request */
  log: string[];
  close(): Promise<void>;
}

/** huggingface.co's resolve URLs: 200 with the whole file, 206 for `Range: bytes=N-`; modes cut connections. */
function hubServer(): Promise<Hub> {
  const files = new Map<string, Buffer>();
  const modes = new Map<string, Mode>();
  const cut = new Set<string>();
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(req.url ?? '');
    const range = req.headers.range;
    log.push(`${p} ${range ?? '-'}`);
    const body = files.get(p);
    if (!body) return void res.writeHead(404).end('Entry not found');
    const mode = modes.get(p) ?? 'normal';
    if (mode !== 'normal' && cut.has(p) && mode === 'cut-then-fail') return void res.writeHead(503).end('busy');
    if (mode !== 'normal' && !cut.has(p)) {
      // Headers for the whole file, half of it, then the connection drops.
      cut.add(p);
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
      // end (FIN), not destroy (RST): a reset can discard bytes the client has not read yet
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.end());
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m) {
      const start = Number(m[1]);
      if (start >= body.length) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` }).end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' }).end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        files,
        modes,
        cut,
        log,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      }),
    ),
  );
}

const CLIP_REV = '77520f2136c0467e32b012be8d190ccf110c5667';
const BUFFALO_L_REV = 'f833e51b56d96744b95c40af840411bfbcfd5995';
const ANTELOPE_REV = 'eabf859e4fe873cbdd2f60a27569f932a104c431';

/** The tiny CLIP pair as Immich's ViT-B-32__openai repository holds it. */
function clipFiles(): Record<string, Buffer> {
  const mean = [0.48145466, 0.4578275, 0.40821073];
  const std = [0.26862954, 0.26130258, 0.27577711];
  return {
    'config.json': Buffer.from(JSON.stringify({ embed_dim: 4, vision_cfg: { image_size: 224 }, text_cfg: { context_length: 77 } })),
    'visual/model.onnx': visualModel(),
    'visual/preprocess_cfg.json': Buffer.from(JSON.stringify({ size: [224, 224], mode: 'RGB', mean, std, interpolation: 'bicubic', resize_mode: 'shortest' })),
    'textual/model.onnx': textualModel(),
    'textual/tokenizer_config.json': Buffer.from(JSON.stringify({ pad_token: '<|endoftext|>', model_max_length: 77 })),
    'textual/tokenizer.json': Buffer.from('{"model":{"type":"BPE"}}'),
  };
}

function publish(hub: Hub, repo: string, rev: string, files: Record<string, Buffer>): void {
  for (const [f, b] of Object.entries(files)) hub.files.set(`/${repo}/resolve/${rev}/${f}`, b);
}

function filesUnder(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort() : [];
}

describe('immich models pull from a hub laid out like huggingface.co', () => {
  let hub: Hub;
  const lib = tmpDir('immich-models-dl-');
  const models = path.join(lib, 'models');
  const env = () => ({ UPLOAD_LOCATION: lib, IMMICH_MODELS_DIR: models, IMMICH_MODEL_CACHE: path.join(lib, 'cache'), IMMICH_MODELS_BASE_URL: hub.url });
  const clip = clipFiles();

  beforeAll(async () => {
    hub = await hubServer();
    publish(hub, 'immich-app/ViT-B-32__openai', CLIP_REV, clip);
  });
  afterAll(async () => {
    await hub?.close();
    fs.rmSync(lib, { recursive: true, force: true });
  });

  it('a connection cut halfway is resumed with a Range request; the folder appears whole with the checksums recorded', async () => {
    const visual = `/immich-app/ViT-B-32__openai/resolve/${CLIP_REV}/visual/model.onnx`;
    hub.modes.set(visual, 'cut-once');
    const r = await runCli(['models', 'pull', 'ViT-B-32__openai', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const half = Math.floor(clip['visual/model.onnx']!.length / 2);
    // the first request for the visual model was cut; the retry asked for the rest only
    expect(hub.log.filter((l) => l.startsWith(visual))).toEqual([`${visual} -`, `${visual} bytes=${half}-`]);
    const dir = path.join(models, 'clip/ViT-B-32__openai');
    for (const [f, b] of Object.entries(clip)) expect(fs.readFileSync(path.join(dir, f)).equals(b), f).toBe(true);
    const rows = JSON.parse(r.stdout).models as Array<{ file: string; status: string; checksum: string; sha256: string }>;
    expect(rows.map((x) => x.file).sort()).toEqual(Object.keys(clip).sort());
    expect(rows.every((x) => x.status === 'installed' && x.checksum === 'recorded now')).toBe(true);
    const record = JSON.parse(fs.readFileSync(path.join(dir, '.checksums.json'), 'utf8'));
    expect(record).toMatchObject({ repo: 'immich-app/ViT-B-32__openai', revision: CLIP_REV });
    expect(record.files['visual/model.onnx'].sha256).toBe(sha(clip['visual/model.onnx']!));
    // no staging folder or lock left beside it
    expect(fs.readdirSync(path.join(models, 'clip'))).toEqual(['ViT-B-32__openai']);

    // a later pull checks the installed files against the recorded checksums
    const again = await runCli(['models', 'pull', 'clip/ViT-B-32__openai'], env());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^present .*\(recorded\)/m);

    // the source now serves other bytes for the same commit: refused, the installed folder untouched
    hub.files.set(`/immich-app/ViT-B-32__openai/resolve/${CLIP_REV}/textual/model.onnx`, Buffer.concat([clip['textual/model.onnx']!, Buffer.from('x')]));
    const changed = await runCli(['models', 'pull', 'clip/ViT-B-32__openai', '--force'], env());
    expect(changed.code).toBe(3);
    expect(changed.stderr).toMatch(/checksum mismatch for clip\/ViT-B-32__openai\/textual from http:\/\/127\.0\.0\.1:\d+\/immich-app\/ViT-B-32__openai\/resolve\/77520f2\w+\/textual\/model\.onnx: got sha256 [0-9a-f]{64}, expected [0-9a-f]{64} \(recorded on the first download\); nothing was installed/);
    expect(fs.readFileSync(path.join(dir, 'textual/model.onnx')).equals(clip['textual/model.onnx']!)).toBe(true);
    // and `models list` still reads the installed model as matching
    const list = JSON.parse((await runCli(['models', 'list', '--json'], env())).stdout).models;
    expect(list.find((m: { model: string }) => m.model === 'clip/ViT-B-32__openai/textual')).toMatchObject({ checksum: 'ok' });
    hub.files.set(`/immich-app/ViT-B-32__openai/resolve/${CLIP_REV}/textual/model.onnx`, clip['textual/model.onnx']!);
  });

  it('a download cut and then refused resumes in the next run from the kept .part file', async () => {
    const lib2 = tmpDir('immich-models-dl2-');
    const e = { ...env(), UPLOAD_LOCATION: lib2, IMMICH_MODELS_DIR: path.join(lib2, 'models') };
    const visual = `/immich-app/ViT-B-32__openai/resolve/${CLIP_REV}/visual/model.onnx`;
    hub.modes.set(visual, 'cut-then-fail');
    hub.cut.clear();
    hub.log.length = 0;
    const first = await runCli(['models', 'pull', 'ViT-B-32__openai', '--part', 'visual'], e);
    expect(first.code).toBe(3);
    const half = Math.floor(clip['visual/model.onnx']!.length / 2);
    expect(first.stderr).toContain(`cannot download ${hub.url}${visual}: HTTP 503`);
    // nothing installed, the cut half kept for the next run
    expect(fs.existsSync(path.join(lib2, 'models/clip/ViT-B-32__openai'))).toBe(false);
    expect(fs.statSync(path.join(lib2, 'models/clip/.ViT-B-32__openai.download/visual/model.onnx.part')).size).toBe(half);
    hub.modes.set(visual, 'normal');
    hub.log.length = 0;
    const second = await runCli(['models', 'pull', 'ViT-B-32__openai', '--part', 'visual'], e);
    expect(second.code, second.stderr).toBe(0);
    expect(hub.log.filter((l) => l.startsWith(visual))).toEqual([`${visual} bytes=${half}-`]);
    expect(fs.readFileSync(path.join(lib2, 'models/clip/ViT-B-32__openai/visual/model.onnx')).equals(clip['visual/model.onnx']!)).toBe(true);
    fs.rmSync(lib2, { recursive: true, force: true });
  });

  it('wrong bytes for a published checksum are refused and nothing is installed', async () => {
    publish(hub, 'immich-app/buffalo_l', BUFFALO_L_REV, { 'detection/model.onnx': Buffer.from('not the SCRFD model'), 'recognition/model.onnx': tinyArcFaceModel() });
    const r = await runCli(['models', 'pull', 'buffalo_l'], env());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /checksum mismatch for facial-recognition\/buffalo_l\/detection from http:\/\/127\.0\.0\.1:\d+\/immich-app\/buffalo_l\/resolve\/f833e51b56d96744b95c40af840411bfbcfd5995\/detection\/model\.onnx: got sha256 [0-9a-f]{64}, expected 5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91; nothing was installed/,
    );
    expect(filesUnder(path.join(models, 'facial-recognition'))).toEqual([]);
  });

  it('offline, pull names the URL, the cause and --from; a model cache folder given with --from installs it', async () => {
    const lib3 = tmpDir('immich-models-dl3-');
    // a port nothing listens on
    const closed = await hubServer();
    const deadUrl = closed.url;
    await closed.close();
    const e = { UPLOAD_LOCATION: lib3, IMMICH_MODELS_DIR: path.join(lib3, 'models'), IMMICH_MODELS_BASE_URL: deadUrl };
    const r = await runCli(['models', 'pull', 'clip/ViT-B-32__openai'], e);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`cannot download ${deadUrl}/immich-app/ViT-B-32__openai/resolve/${CLIP_REV}/config.json: connect ECONNREFUSED`);
    expect(r.stderr).toMatch(/cannot download http:\/\/127\.0\.0\.1:\d+\/immich-app\/ViT-B-32__openai\/resolve\/77520f2\w+\/config\.json: connect ECONNREFUSED.*immich models pull clip\/ViT-B-32__openai --from <folder>/);
    expect(fs.existsSync(path.join(lib3, 'models/clip'))).toBe(true);
    expect(fs.readdirSync(path.join(lib3, 'models/clip'))).toEqual([]);
    // the first library's models folder is an Immich cache: copied file by file, checksums recorded
    const from = await runCli(['models', 'pull', 'clip/ViT-B-32__openai', '--from', models, '--json'], e);
    expect(from.code, from.stderr).toBe(0);
    expect(filesUnder(path.join(lib3, 'models/clip/ViT-B-32__openai'))).toEqual([...Object.keys(clip), '.checksums.json'].sort());
    // a revision-less name asks for --revision
    const rev = await runCli(['models', 'pull', 'buffalo_m'], e);
    expect(rev.code).toBe(2);
    expect(rev.stderr).toMatch(/facial-recognition\/buffalo_m has no pinned revision here: give --revision <commit>/);
    fs.rmSync(lib3, { recursive: true, force: true });
  });
});

async function photo(file: string, rgb: [number, number, number]): Promise<void> {
  await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).jpeg().toFile(file);
}

describe('a stage downloads its model on first use (IMMICH_MODELS_AUTO_DOWNLOAD)', () => {
  let hub: Hub;
  const root = tmpDir('immich-models-auto-');
  const src = path.join(root, 'src');

  beforeAll(async () => {
    hub = await hubServer();
    publish(hub, 'immich-app/ViT-B-32__openai', CLIP_REV, clipFiles());
    fs.mkdirSync(src);
    await photo(path.join(src, 'red.jpg'), [230, 20, 20]);
    await photo(path.join(src, 'blue.jpg'), [20, 20, 230]);
  });
  afterAll(async () => {
    await hub?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('import fetches the CLIP model once with one line of progress, and smart search works', async () => {
    const lib = path.join(root, 'lib-on');
    const env = { UPLOAD_LOCATION: lib, IMMICH_MODELS_AUTO_DOWNLOAD: '1', IMMICH_MODELS_BASE_URL: hub.url, IMMICH_OBJECT_MODEL: '', IMMICH_FACE_MODEL: 'not-installed' };
    const r = await runCli(['import', src], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => /downloading model/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/downloading model clip\/ViT-B-32__openai \(\d files\) from http:\/\/127\.0\.0\.1:\d+\/immich-app\/ViT-B-32__openai\/resolve\/77520f2/);
    // each file fetched once although both photos' stages asked for it
    expect(hub.log.filter((l) => l.includes('/visual/model.onnx'))).toHaveLength(1);
    expect(fs.existsSync(path.join(lib, 'models/clip/ViT-B-32__openai/.checksums.json'))).toBe(true);
    const s = await runCli(['--json', 'search', 'red'], env);
    expect(s.code, s.stderr).toBe(0);
    const out = JSON.parse(s.stdout);
    expect(out.mode).toBe('clip');
    expect(out.results[0].originalName).toBe('red.jpg');
  }, 600_000);

  it('off, the stage says once which command installs the model and fetches nothing', async () => {
    const lib = path.join(root, 'lib-off');
    hub.log.length = 0;
    const r = await runCli(['import', src], { UPLOAD_LOCATION: lib, IMMICH_MODELS_AUTO_DOWNLOAD: 'false', IMMICH_MODELS_BASE_URL: hub.url, IMMICH_OBJECT_MODEL: '', IMMICH_FACE_MODEL: 'not-installed' });
    expect(r.code, r.stderr).toBe(0);
    const said = r.stderr.split('\n').filter((l) => /clip\/ViT-B-32__openai/.test(l));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/not installed .*install it with: immich models pull clip\/ViT-B-32__openai/);
    expect(hub.log).toEqual([]);
  }, 600_000);

  describe.skipIf(!SHARED_MODELS)('faces detect with an Immich face model name', () => {
    it('downloads antelopev2 (SCRFD detection + a 512-d ArcFace-shaped recogniser) and stores 512-d faces', async () => {
      const scrfd = fs.readFileSync(path.join(SHARED_MODELS!, 'face-detection/scrfd_2.5g_bnkps.onnx'));
      publish(hub, 'immich-app/antelopev2', ANTELOPE_REV, { 'detection/model.onnx': scrfd, 'recognition/model.onnx': tinyArcFaceModel() });
      const faces = path.join(root, 'faces');
      fs.mkdirSync(faces);
      // (a photo without XMP face regions, so the faces come from the detector)
      const corpusFace = path.join(path.dirname(SHARED_MODELS!), 'corpus/faces/jack_dorsey/img16.jpg');
      const face = fs.existsSync(corpusFace) ? corpusFace : undefined;
      if (!face) return noteSkip('faces detect auto-download', 'corpus/faces/jack_dorsey/img16.jpg');
      fs.copyFileSync(face, path.join(faces, 'dorsey.jpg'));
      const lib = path.join(root, 'lib-faces');
      const env = { UPLOAD_LOCATION: lib, IMMICH_MODELS_AUTO_DOWNLOAD: '1', IMMICH_MODELS_BASE_URL: hub.url, IMMICH_FACE_MODEL: 'antelopev2', IMMICH_CLIP_MODEL: '' };
      const imp = await runCli(['import', '--skip-ml', faces], env);
      expect(imp.code, imp.stderr).toBe(0);
      const r = await runCli(['faces', 'detect'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/1 photos: 1 done, 0 skipped, 0 failed; library: 1 faces/);
      expect(r.stderr.split('\n').filter((l) => /downloading model facial-recognition\/antelopev2/.test(l))).toHaveLength(1);
      const dims = await withLibraryDb(lib, async (db) =>
        (await db.selectFrom('face_search' as never).select('embedding' as never).execute()).map((x) => String((x as { embedding: string }).embedding).split(',').length),
      );
      expect(dims.length).toBeGreaterThan(0);
      expect(new Set(dims)).toEqual(new Set([512]));
    }, 600_000);
  });
  if (!SHARED_MODELS) noteSkip('models-download faces', '../shared/models');
});
