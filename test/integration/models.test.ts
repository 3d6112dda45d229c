// Models registry and runtime: Immich layout lookup order, missing-model errors, sessions with provider
// fallback and idle unloading, and `immich models pull/add/list/verify` against a local HTTP server.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { Logger } from '../../src/logger.js';
import { ModelMissingError, installModelFile, modelFile, requireModel, resolveModel } from '../../src/ml/models.js';
import { createModel, getModel, runtimeSettings } from '../../src/ml/runtime.js';
import { SHARED_MODELS, noteSkip, runCli, tmpDir } from '../helpers/env.js';
import { tinyMatMulModel } from '../helpers/tiny-onnx.js';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

function serve(routes: Record<string, Buffer | string>): Promise<{ url: string; close: () => Promise<void>; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const body = routes[req.url ?? ''];
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    const data = typeof body === 'string' ? fs.readFileSync(body) : body;
    res.writeHead(200, { 'content-length': data.length, 'content-type': 'application/octet-stream' }).end(data);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise((r) => server.close(() => r())) }),
    ),
  );
}

function filesUnder(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : [];
}

const tiny = tinyMatMulModel(4, 2, [1, 0, 0, 1, 1, 1, 2, -1]);

describe('models registry and runtime', () => {
  it('resolves IMMICH_MODELS_DIR first, then the user cache, and says how to install a missing model', async () => {
    const lib = tmpDir();
    const config = loadConfig({ env: { UPLOAD_LOCATION: lib, IMMICH_MODELS_DIR: path.join(lib, 'm'), IMMICH_MODEL_CACHE: path.join(lib, 'c'), IMMICH_MODELS_AUTO_DOWNLOAD: '0' } });
    const ctx = { config };
    expect(await resolveModel(ctx, 'clip', 'tiny', 'visual')).toBeUndefined();
    await expect(requireModel(ctx, 'facial-recognition', 'scrfd_2.5g-mobilefacenet', 'detection')).rejects.toThrow(
      /facial-recognition\/scrfd_2.5g-mobilefacenet\/detection is not installed.*immich models pull facial-recognition\/scrfd_2.5g-mobilefacenet/,
    );
    await expect(requireModel(ctx, 'clip', 'tiny', 'visual')).rejects.toBeInstanceOf(ModelMissingError);
    const src = path.join(lib, 'tiny.onnx');
    fs.writeFileSync(src, tiny);
    await installModelFile(config.modelCacheDir, { task: 'clip', name: 'tiny', part: 'visual' }, src);
    expect(await resolveModel(ctx, 'clip', 'tiny', 'visual')).toBe(modelFile(config.modelCacheDir, 'clip', 'tiny', 'visual'));
    const r = await installModelFile(config.modelsDir, { task: 'clip', name: 'tiny', part: 'visual' }, src);
    expect(r.sha256).toBe(sha(tiny));
    expect(await requireModel(ctx, 'clip', 'tiny', 'visual')).toBe(modelFile(config.modelsDir, 'clip', 'tiny', 'visual'));
    // a model shipped in an npm package is found last
    expect(await resolveModel(ctx, 'ocr', 'PP-OCRv4', 'detection')).toMatch(/@gutenye\/ocr-models\/assets\/ch_PP-OCRv4_det_infer\.onnx$/);
  });

  it('runs a session with one thread by default, falls back to the CPU, and unloads after idle', async () => {
    const s = runtimeSettings({ IMMICH_ML_PROVIDERS: 'cuda' });
    expect(s).toMatchObject({ providers: ['cuda', 'cpu'], intraOpThreads: 1, spinning: false });
    expect(runtimeSettings({}).providers).toEqual(['cpu']);
    const lib = tmpDir();
    const file = path.join(lib, 'tiny.onnx');
    fs.writeFileSync(file, tiny);
    const m = await createModel(file, s);
    if (m.provider === 'cpu') expect(m.fallbacks.join(' ')).toMatch(/^cuda: /);
    const out = await m.session.run({ x: new m.ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]) });
    // x·W with W = [[1,0],[0,1],[1,1],[2,-1]]
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1 + 3 + 8, 2 + 3 - 4]);
    await m.session.release();

    const config = loadConfig({ env: { UPLOAD_LOCATION: lib, IMMICH_ML_IDLE_MS: '150' } });
    const ctx = await createContext(config, new Logger('error', []));
    try {
      const a = await getModel(ctx, file);
      expect(await getModel(ctx, file)).toBe(a);
      await new Promise((r) => setTimeout(r, 400));
      const b = await getModel(ctx, file);
      expect(b).not.toBe(a);
      const y = await b.session.run({ x: new b.ort.Tensor('float32', Float32Array.from([1, 0, 0, 0]), [1, 4]) });
      expect(Array.from(y.y!.data as Float32Array)).toEqual([1, 0]);
    } finally {
      await ctx.close();
    }
  });
});

describe('immich models (CLI)', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  const lib = tmpDir();
  const env = { UPLOAD_LOCATION: lib, IMMICH_MODELS_DIR: path.join(lib, 'models'), IMMICH_MODEL_CACHE: path.join(lib, 'cache') };
  const bad = Buffer.concat([tiny, Buffer.from('tampered')]);

  beforeAll(async () => {
    server = await serve({ '/tiny.onnx': tiny, '/bad.onnx': bad });
  });
  afterAll(async () => server?.close());

  it('pull downloads, checks the sha256 and installs in the Immich layout; list shows it', async () => {
    const r = await runCli(['models', 'pull', 'clip/tiny/visual', '--url', `${server.url}/tiny.onnx`, '--sha256', sha(tiny), '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const target = path.join(lib, 'models/clip/tiny/visual/model.onnx');
    expect(JSON.parse(r.stdout).models[0]).toMatchObject({ status: 'installed', sha256: sha(tiny), path: target, size: tiny.length });
    expect(fs.readFileSync(target).equals(tiny)).toBe(true);
    const again = await runCli(['models', 'pull', 'clip/tiny/visual', '--url', `${server.url}/tiny.onnx`, '--sha256', sha(tiny)], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^present/);
    const list = await runCli(['models', 'list', '--json'], env);
    expect(list.code).toBe(0);
    const row = JSON.parse(list.stdout).models.find((m: { model: string }) => m.model === 'clip/tiny/visual');
    expect(row).toMatchObject({ size: tiny.length, sha256: sha(tiny), where: 'models', path: target });
  });

  it('a checksum mismatch is a clear error and leaves no file behind', async () => {
    const r = await runCli(['models', 'pull', 'clip/other/visual', '--url', `${server.url}/bad.onnx`, '--sha256', sha(tiny)], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/checksum mismatch for clip\/other\/visual .*expected [0-9a-f]{64}; nothing was installed/);
    expect(filesUnder(path.join(lib, 'models/clip/other'))).toEqual([]);
    const nf = await runCli(['models', 'pull', 'clip/other/visual', '--url', `${server.url}/missing.onnx`, '--sha256', sha(tiny)], env);
    expect(nf.code).toBe(3);
    expect(nf.stderr).toMatch(/HTTP 404/);
    expect(filesUnder(path.join(lib, 'models/clip/other'))).toEqual([]);
    const usage = await runCli(['models', 'pull', 'nonsense'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown model nonsense/);
  });

  it('add installs a local file; verify loads and runs every model, and names the one that fails', async () => {
    const file = path.join(lib, 'local.onnx');
    fs.writeFileSync(file, tiny);
    const add = await runCli(['models', 'add', 'clip/local/textual', file], env);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain(sha(tiny));
    const v = await runCli(['models', 'verify', 'clip/local', '--json'], env);
    expect(v.code).toBe(0);
    const res = JSON.parse(v.stdout).models;
    expect(res).toHaveLength(1);
    expect(res[0]).toMatchObject({ ok: true, provider: 'cpu', inputs: { x: [1, 4] }, outputs: { y: [1, 2] } });
    // a broken model file in the cache folder
    const broken = path.join(lib, 'cache/clip/broken/visual/model.onnx');
    fs.mkdirSync(path.dirname(broken), { recursive: true });
    fs.writeFileSync(broken, 'not a model');
    const all = await runCli(['models', 'verify'], env);
    expect(all.code).toBe(1);
    expect(all.stderr).toContain(`clip/broken/visual (${broken})`);
  });

  describe.skipIf(!SHARED_MODELS)('the shared face models from a mirror URL', () => {
    it('pull --from checks the pinned checksums and installs both parts', async () => {
      const mirror = await serve({
        '/face-detection/scrfd_2.5g_bnkps.onnx': path.join(SHARED_MODELS!, 'face-detection/scrfd_2.5g_bnkps.onnx'),
        '/face-recognition/mobilefacenet_128d.onnx': path.join(SHARED_MODELS!, 'face-recognition/mobilefacenet_128d.onnx'),
      });
      try {
        const r = await runCli(['models', 'pull', 'scrfd_2.5g-mobilefacenet', '--from', mirror.url + '/', '--json'], env);
        expect(r.code).toBe(0);
        const parts = JSON.parse(r.stdout).models;
        expect(parts.map((p: { part: string }) => p.part)).toEqual(['detection', 'recognition']);
        const list = JSON.parse((await runCli(['models', 'list', '--json'], env)).stdout).models;
        expect(list.filter((m: { model: string; checksum: string }) => m.model.startsWith('facial-recognition/scrfd_2.5g-mobilefacenet/') && m.checksum === 'ok')).toHaveLength(2);
      } finally {
        await mirror.close();
      }
    });
  });
  if (!SHARED_MODELS) noteSkip('models mirror', '../shared/models');
});
