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

type Mode = 'normal' | 'cut-once' | 'cut-then-fail' | 'fail';
interface Hub {
  url: string;
  /** "/<repo>/resolve/<commit>/<file>" → bytes */
  files: Map<string, Buffer>;
  /** The commit `resolve/main/…` answers with, per repository. */
  mains: Map<string, string>;
  /** Repositories served from their current main whatever commit the URL names (a mirror that ignores it). */
  ignoreRevision: Set<string>;
  /** Repositories whose answers carry no X-Repo-Commit (a static mirror). */
  noCommitHeader: Set<string>;
  /** Like huggingface.co for large files: .onnx answers redirect to /cdn/…, the commit header only on the redirect. */
  redirectLfs: boolean;
  /** Called after each request is answered (to move main between two files of one pull). */
  onServed?: (path: string) => void;
  modes: Map<string, Mode>;
  /** Paths whose one cut has happened (cleared to cut again). */
  cut: Set<string>;
  /** "<path> <range or ->" per request */
  log: string[];
  close(): Promise<void>;
}

/**
 * huggingface.co's resolve URLs: 200 with the whole file, 206 for `Range: bytes=N-`, the commit served in
 * X-Repo-Commit (`main` resolved through `mains`); modes cut connections.
 */
function hubServer(): Promise<Hub> {
  const files = new Map<string, Buffer>();
  const modes = new Map<string, Mode>();
  const cut = new Set<string>();
  const log: string[] = [];
  const mains = new Map<string, string>();
  const ignoreRevision = new Set<string>();
  const noCommitHeader = new Set<string>();
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(req.url ?? '');
    const range = req.headers.range;
    log.push(`${p} ${range ?? '-'}`);
    res.on('finish', () => hub.onServed?.(p));
    const m_ = /^\/(cdn\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    let body: Buffer | undefined;
    const head: Record<string, string | number> = {};
    if (m_) {
      const [, cdn, repo, rev, file] = m_ as unknown as [string, string | undefined, string, string, string];
      const commit = ignoreRevision.has(repo) || rev === 'main' ? mains.get(repo) : rev;
      body = files.get(`/${repo}/resolve/${commit}/${file}`);
      if (body && !cdn && !noCommitHeader.has(repo)) head['x-repo-commit'] = commit!;
      if (body && !cdn && hub.redirectLfs && file.endsWith('.onnx')) {
        return void res.writeHead(302, { ...head, location: `/cdn/${repo}/resolve/${commit}/${file}` }).end();
      }
    }
    if (!body) return void res.writeHead(404).end('Entry not found');
    const mode = modes.get(p) ?? 'normal';
    if (mode === 'fail') return void res.writeHead(503).end('busy');
    if (mode !== 'normal' && cut.has(p) && mode === 'cut-then-fail') return void res.writeHead(503).end('busy');
    if (mode !== 'normal' && !cut.has(p)) {
      // Headers for the whole file, half of it, then the connection drops.
      cut.add(p);
      res.writeHead(200, { ...head, 'content-length': body.length, 'accept-ranges': 'bytes' });
      // end (FIN), not destroy (RST): a reset can discard bytes the client has not read yet
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.end());
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m) {
      const start = Number(m[1]);
      if (start >= body.length) return void res.writeHead(416, { ...head, 'content-range': `bytes */${body.length}` }).end();
      res.writeHead(206, { ...head, 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` }).end(body.subarray(start));
      return;
    }
    res.writeHead(200, { ...head, 'content-length': body.length, 'accept-ranges': 'bytes' }).end(body);
  });
  const hub: Hub = {
    url: '',
    files,
    mains,
    ignoreRevision,
    noCommitHeader,
    redirectLfs: false,
    modes,
    cut,
    log,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve(hub);
    }),
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

/** A new commit of `repo` that main now points at. */
function publishMain(hub: Hub, repo: string, rev: string, files: Record<string, Buffer>): void {
  publish(hub, repo, rev, files);
  hub.mains.set(repo, rev);
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
    expect(list.find((m: { model: string }) => m.model === 'clip/ViT-B-32__openai/textual')).toMatchObject({ checksum: 'ok', revision: CLIP_REV, revisionSource: 'pinned' });
    // a record written before revisionSource was kept reads as pinned when its commit is the registry's
    const recFile = path.join(dir, '.checksums.json');
    const { revisionSource: _dropped, ...legacy } = JSON.parse(fs.readFileSync(recFile, 'utf8'));
    fs.writeFileSync(recFile, JSON.stringify(legacy));
    const old = JSON.parse((await runCli(['models', 'list', '--json'], env())).stdout).models;
    expect(old.find((m: { model: string }) => m.model === 'clip/ViT-B-32__openai/visual')).toMatchObject({ revision: CLIP_REV, revisionSource: 'pinned' });
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
    // a name with no pinned commit asks main which commit it is at
    const unpinned = await runCli(['models', 'pull', 'buffalo_m'], e);
    expect(unpinned.code).toBe(3);
    expect(unpinned.stderr).toContain(`cannot download ${deadUrl}/immich-app/buffalo_m/resolve/main/detection/model.onnx: connect ECONNREFUSED`);
    expect(unpinned.stderr).toContain('immich models pull buffalo_m --from <folder>');
    fs.rmSync(lib3, { recursive: true, force: true });
  });
});

describe('one commit per model: the one main resolved to on the first download, recorded and reused', () => {
  let hub: Hub;
  const lib = tmpDir('immich-models-rev-');
  const models = path.join(lib, 'models');
  const env = () => ({ UPLOAD_LOCATION: lib, IMMICH_MODELS_DIR: models, IMMICH_MODEL_CACHE: path.join(lib, 'cache'), IMMICH_MODELS_BASE_URL: hub.url });
  const C1 = '1111111111111111111111111111111111111111';
  const C2 = '2222222222222222222222222222222222222222';
  const requests = (repo: string) => hub.log.filter((l) => l.startsWith(`/${repo}/`)).map((l) => l.slice(repo.length + 2));
  // Two commits of the same files with other bytes: which commit a file came from is visible in its bytes.
  const ocr = (tag: string) => ({ 'detection/model.onnx': Buffer.from(`det ${tag}`), 'recognition/model.onnx': Buffer.from(`rec ${tag}`) });
  const clip2 = () => {
    const c = clipFiles();
    return { ...c, 'config.json': Buffer.from(JSON.stringify({ embed_dim: 4, v: 2 })), 'visual/model.onnx': Buffer.concat([c['visual/model.onnx']!, Buffer.from('v2')]) };
  };

  beforeAll(async () => {
    hub = await hubServer();
    hub.redirectLfs = true; // as huggingface.co: the commit is named on the redirect, not by the CDN
  });
  afterAll(async () => {
    await hub?.close();
    fs.rmSync(lib, { recursive: true, force: true });
  });

  it('the first pull of an unpinned model records the commit; its other part is fetched at that commit after main moved', async () => {
    const repo = 'immich-app/PP-OCRv5_mobile';
    publishMain(hub, repo, C1, ocr('c1'));
    const first = await runCli(['models', 'pull', 'ocr/PP-OCRv5_mobile', '--part', 'detection', '--json'], env());
    expect(first.code, first.stderr).toBe(0);
    expect(requests(repo)).toEqual(['resolve/main/detection/model.onnx -']);
    expect(JSON.parse(first.stdout).models).toMatchObject([{ file: 'detection/model.onnx', revision: C1, revisionSource: 'recorded', source: `${hub.url}/${repo}/resolve/${C1}/detection/model.onnx` }]);
    const dir = path.join(models, 'ocr/PP-OCRv5_mobile');
    expect(JSON.parse(fs.readFileSync(path.join(dir, '.checksums.json'), 'utf8'))).toMatchObject({ repo, revision: C1, revisionSource: 'recorded' });

    publishMain(hub, repo, C2, ocr('c2'));
    hub.log.length = 0;
    const second = await runCli(['models', 'pull', 'ocr/PP-OCRv5_mobile'], env());
    expect(second.code, second.stderr).toBe(0);
    // main is not asked again: the recognition part (and its optional charset, absent) come from C1
    expect(requests(repo)).toEqual([`resolve/${C1}/recognition/model.onnx -`, `resolve/${C1}/recognition/charset.txt -`]);
    expect(second.stdout).toContain(`ocr/PP-OCRv5_mobile is at commit ${C1} (recorded)`);
    expect(fs.readFileSync(path.join(dir, 'recognition/model.onnx'), 'utf8')).toBe('rec c1');
    const list = JSON.parse((await runCli(['models', 'list', '--json'], env())).stdout).models.filter((m: { model: string }) => m.model.startsWith('ocr/PP-OCRv5_mobile/'));
    expect(list).toMatchObject([
      { model: 'ocr/PP-OCRv5_mobile/detection', revision: C1, revisionSource: 'recorded', checksum: 'ok' },
      { model: 'ocr/PP-OCRv5_mobile/recognition', revision: C1, revisionSource: 'recorded', checksum: 'ok' },
    ]);
    // a pinned model not pulled yet shows its pin, an unpinned one nothing yet
    const all = JSON.parse((await runCli(['models', 'list', '--all', '--json'], env())).stdout).models;
    expect(all.find((m: { model: string }) => m.model === 'facial-recognition/buffalo_l/detection')).toMatchObject({ installed: false, revision: 'f833e51b56d96744b95c40af840411bfbcfd5995', revisionSource: 'pinned' });
    expect(all.find((m: { model: string }) => m.model === 'facial-recognition/buffalo_m/detection')).toMatchObject({ installed: false, revision: null, revisionSource: null, sha256: '041f73f47371333d1d17a6fee6c8ab4e6aecabefe398ff32cca4e2d5eaee0af9' });
  });

  it('a download cut on the first file resumes at the recorded commit, not at main', async () => {
    const repo = 'immich-app/RN101__openai';
    hub.log.length = 0;
    publishMain(hub, repo, C1, clipFiles());
    const config = `/${repo}/resolve/main/config.json`;
    const atC1 = `/${repo}/resolve/${C1}/config.json`;
    hub.modes.set(config, 'cut-once');
    hub.modes.set(atC1, 'fail');
    const first = await runCli(['models', 'pull', 'clip/RN101__openai'], env());
    expect(first.code, `${first.stdout}${first.stderr}${hub.log.join('\n')}`).toBe(3);
    const half = Math.floor(clipFiles()['config.json']!.length / 2);
    // cut halfway through main's answer (which named C1); the retry asked C1 for the rest
    expect(requests(repo)).toEqual(['resolve/main/config.json -', `resolve/${C1}/config.json bytes=${half}-`]);
    expect(first.stderr).toContain(`cannot download ${hub.url}${atC1}: HTTP 503`);
    expect(fs.existsSync(path.join(models, 'clip/RN101__openai'))).toBe(false);
    expect(fs.statSync(path.join(models, 'clip/.RN101__openai.download/config.json.part')).size).toBe(half);
    hub.modes.set(atC1, 'normal');

    publishMain(hub, repo, C2, clip2());
    hub.log.length = 0;
    const second = await runCli(['models', 'pull', 'clip/RN101__openai'], env());
    expect(second.code, second.stderr).toBe(0);
    const asked = requests(repo);
    expect(asked[0]).toBe(`resolve/${C1}/config.json bytes=${half}-`);
    expect(asked.every((l) => l.startsWith(`resolve/${C1}/`))).toBe(true);
    const dir = path.join(models, 'clip/RN101__openai');
    for (const [f, b] of Object.entries(clipFiles())) expect(fs.readFileSync(path.join(dir, f)).equals(b), f).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, '.checksums.json'), 'utf8'))).toMatchObject({ revision: C1, revisionSource: 'recorded' });
    expect(fs.readdirSync(path.join(models, 'clip'))).toEqual(['RN101__openai']);
  });

  it('a server whose commit changes in the middle of a model is refused in one line, with nothing half-installed', async () => {
    const repo = 'immich-app/ViT-B-16__laion400m_e31';
    publishMain(hub, repo, C1, clipFiles());
    publish(hub, repo, C2, clip2());
    hub.ignoreRevision.add(repo); // a mirror that serves whatever main is
    hub.onServed = (p) => {
      if (p.endsWith('/config.json')) hub.mains.set(repo, C2); // main moves after the first file
    };
    const r = await runCli(['models', 'pull', 'clip/ViT-B-16__laion400m_e31'], env());
    hub.onServed = undefined;
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(
      `revision mismatch for clip/ViT-B-16__laion400m_e31: visual/model.onnx was served from commit ${C2}, but the model is at commit ${C1} (recorded); files of two revisions are never mixed, nothing was installed`,
    );
    expect(fs.readdirSync(path.join(models, 'clip')).filter((f) => f.includes('laion400m_e31'))).toEqual([]);

    // a pinned model whose source serves another commit is refused the same way
    const pinned = 'immich-app/ViT-B-32__openai';
    publishMain(hub, pinned, C2, clipFiles());
    hub.ignoreRevision.add(pinned);
    const p = await runCli(['models', 'pull', 'clip/ViT-B-32__openai'], env());
    expect(p.code).toBe(3);
    expect(p.stderr).toContain(`revision mismatch for clip/ViT-B-32__openai: config.json was served from commit ${C2}, but the model is at commit ${CLIP_REV} (pinned)`);
    expect(fs.readdirSync(path.join(models, 'clip')).filter((f) => f.includes('ViT-B-32__openai'))).toEqual([]);
  });

  it('--revision pins a commit; another one for part of the model is refused; --revision main --force moves the whole model', async () => {
    const repo = 'immich-app/RN50__yfcc15m';
    publish(hub, repo, C1, clipFiles());
    publishMain(hub, repo, C2, clip2());
    hub.log.length = 0;
    const r = await runCli(['models', 'pull', 'clip/RN50__yfcc15m', '--revision', C1, '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(requests(repo).every((l) => l.startsWith(`resolve/${C1}/`))).toBe(true);
    expect(JSON.parse(r.stdout).models.every((m: { revision: string; revisionSource: string }) => m.revision === C1 && m.revisionSource === 'given')).toBe(true);
    const dir = path.join(models, 'clip/RN50__yfcc15m');
    expect(fs.readFileSync(path.join(dir, 'config.json')).equals(clipFiles()['config.json']!)).toBe(true);

    const mix = await runCli(['models', 'pull', 'clip/RN50__yfcc15m', '--part', 'visual', '--force', '--revision', C2], env());
    expect(mix.code).toBe(2);
    expect(mix.stderr).toContain(`clip/RN50__yfcc15m is installed from commit ${C1}; fetching part of it at ${C2} would mix two revisions`);

    hub.log.length = 0;
    const moved = await runCli(['models', 'pull', 'clip/RN50__yfcc15m', '--revision', 'main', '--force', '--json'], env());
    expect(moved.code, moved.stderr).toBe(0);
    expect(requests(repo)[0]).toBe('resolve/main/config.json -');
    expect(requests(repo).slice(1).every((l) => l.startsWith(`resolve/${C2}/`))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'config.json')).equals(clip2()['config.json']!)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, '.checksums.json'), 'utf8'))).toMatchObject({ revision: C2, revisionSource: 'recorded' });
  });

  it('a mirror that does not say which commit main is cannot pin an unpinned model: it asks for --revision', async () => {
    const repo = 'immich-app/RN50__cc12m';
    publishMain(hub, repo, C1, clipFiles());
    hub.noCommitHeader.add(repo);
    const r = await runCli(['models', 'pull', 'clip/RN50__cc12m'], env());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/resolve\/main\/config\.json did not say which commit of immich-app\/RN50__cc12m it served \(no X-Repo-Commit header\), so clip\/RN50__cc12m cannot be pinned to one revision: give --revision <commit>/);
    expect(fs.readdirSync(path.join(models, 'clip')).filter((f) => f.includes('RN50__cc12m'))).toEqual([]);
    // with --revision a static mirror works (no header to check)
    const given = await runCli(['models', 'pull', 'clip/RN50__cc12m', '--revision', C1], env());
    expect(given.code, given.stderr).toBe(0);
    expect(given.stdout).toContain(`clip/RN50__cc12m is at commit ${C1} (given)`);
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

  it('a free-text search in a library without CLIP embeddings downloads nothing and searches the text', async () => {
    // before: every free-text search of an offline library without CLIP tried the download (~0.5 s each)
    const lib = path.join(root, 'lib-text');
    const env = { UPLOAD_LOCATION: lib, IMMICH_MODELS_AUTO_DOWNLOAD: '1', IMMICH_MODELS_BASE_URL: hub.url, IMMICH_OBJECT_MODEL: '', IMMICH_FACE_MODEL: 'not-installed' };
    const r = await runCli(['import', '--skip-ml', src], env);
    expect(r.code, r.stderr).toBe(0);
    hub.log.length = 0;
    const s = await runCli(['--json', 'search', 'red'], env);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).mode).toBe('text');
    expect(s.stderr).not.toMatch(/downloading model/);
    expect(hub.log).toEqual([]);
    expect(fs.existsSync(path.join(lib, 'models/clip'))).toBe(false);
  }, 600_000);

  it('an unpinned CLIP name is downloaded on first use at the commit main resolved to, recorded', async () => {
    const C3 = '3333333333333333333333333333333333333333';
    publishMain(hub, 'immich-app/RN50x4__openai', C3, clipFiles());
    hub.log.length = 0;
    const lib = path.join(root, 'lib-unpinned');
    const env = { UPLOAD_LOCATION: lib, IMMICH_MODELS_AUTO_DOWNLOAD: '1', IMMICH_MODELS_BASE_URL: hub.url, IMMICH_CLIP_MODEL: 'RN50x4__openai', IMMICH_OBJECT_MODEL: '', IMMICH_FACE_MODEL: 'not-installed' };
    const r = await runCli(['import', path.join(src, 'red.jpg')], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /downloading model clip\/RN50x4__openai/.test(l)), r.stderr + hub.log.join(' ')).toHaveLength(1);
    const asked = hub.log.map((l) => l.replace('/immich-app/RN50x4__openai/', ''));
    expect(asked[0]).toBe('resolve/main/config.json -');
    expect(asked.slice(1).every((l) => l.startsWith(`resolve/${C3}/`))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(lib, 'models/clip/RN50x4__openai/.checksums.json'), 'utf8'))).toMatchObject({ revision: C3, revisionSource: 'recorded' });
  }, 600_000);

  it('off, the stage says once which command installs the model and fetches nothing', async () => {
    const lib = path.join(root, 'lib-off');
    hub.log.length = 0;
    const r = await runCli(['import', src], { UPLOAD_LOCATION: lib, IMMICH_MODELS_AUTO_DOWNLOAD: 'false', IMMICH_MODELS_BASE_URL: hub.url, IMMICH_OBJECT_MODEL: '', IMMICH_FACE_MODEL: 'not-installed' });
    expect(r.code, r.stderr).toBe(0);
    const said = r.stderr.split('\n').filter((l) => /clip\/ViT-B-32__openai/.test(l));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/not installed .*install it with: immich models pull clip\/ViT-B-32__openai/);
    // an empty IMMICH_OBJECT_MODEL is "off", not a model named ''
    expect(r.stderr).not.toMatch(/object-detection\/\//);
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
