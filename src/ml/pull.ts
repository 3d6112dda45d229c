// `immich models pull` and the stages' automatic download: every file of a model into a staging folder
// (<dir>/<task>/.<name>.download, where cut downloads wait as .part files to be resumed), each checked
// against its published sha256, or against the one recorded on the first download (trust on first use,
// kept in <model>/.checksums.json and checked on every later pull), then the folder renamed into place:
// a model folder appears complete or not at all.
// Hub files come from one commit per model: the registry's pin, --revision, or else the commit that
// `main` resolved to on the first download (huggingface.co's X-Repo-Commit header), recorded in the
// staging folder at once and in .checksums.json after, and used for every later file of the model
// (resume, other parts, re-pull). A file served from another commit is refused, never mixed in.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { EnvironmentError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../storage/atomic.js';
import { copyToPart, DownloadError, fetchToPart, REPO_COMMIT } from './download.js';
import { findModel, sha256File, type HasConfig, type ModelRef, type ModelSpec } from './models.js';

export const DEFAULT_MODELS_BASE_URL = 'https://huggingface.co';
export const CHECKSUMS_FILE = '.checksums.json';
/** In the staging folder: the commit its files come from, written before their bytes (a resume reuses it). */
const STAGED_REVISION = '.revision.json';

/**
 * Where a model's commit came from: the registry (pinned), `main` resolved on the first download
 * (recorded), or `--revision` (given).
 */
export type RevisionSource = 'pinned' | 'recorded' | 'given';

/** A file served from another commit than the rest of its model: nothing is installed. */
export class RevisionMismatchError extends EnvironmentError {}

/** IMMICH_MODELS_BASE_URL: where `<org>/<name>/resolve/<commit>/<file>` is fetched from (a mirror laid out like huggingface.co). */
export function modelsBaseUrl(raw: Readonly<Record<string, string>>): string {
  return (raw.IMMICH_MODELS_BASE_URL || DEFAULT_MODELS_BASE_URL).replace(/\/+$/, '');
}

export interface PullOptions {
  /** Install here (default: the models folder). */
  dir?: string;
  /** A mirror: a folder (an Immich model cache, or the registry's mirror paths) or a base URL laid out like huggingface.co. */
  from?: string;
  /** Only this part (detection, recognition, visual, textual). */
  part?: string;
  /** For models not in the registry, or to override: the URL/file and its sha256 (one part). */
  url?: string;
  sha256?: string;
  /** Allow a part without a pinned checksum (legacy single-file models and --url). */
  noVerify?: boolean;
  force?: boolean;
  /** Commit of the hub repository (overrides the pinned one; required where none is pinned). */
  revision?: string;
  /** Where hub files come from (IMMICH_MODELS_BASE_URL). */
  baseUrl?: string;
  onProgress?: (file: string, done: number, total: number | undefined) => void;
  /** Called once before the first byte is fetched (the stages' one line of progress). */
  onStart?: (info: { source: string; files: number; bytes?: number }) => void;
}

export interface PulledPart {
  task: string;
  name: string;
  /** detection, recognition, visual, textual; '' for a file at the model's root (config.json). */
  part: string;
  /** Path inside the model folder (detection/model.onnx). */
  file: string;
  path: string;
  sha256: string;
  size: number;
  source: string;
  status: 'installed' | 'present';
  /** What the sha256 was checked against. */
  checksum: 'published' | 'recorded' | 'recorded now';
  /** The hub commit the model's files come from (null: unknown, e.g. copied from a folder without one). */
  revision: string | null;
  revisionSource: RevisionSource | null;
}

interface Item {
  file: string;
  /** URL or local path; for a hub file the URL at the model's commit is made when it is fetched. */
  source: string;
  hub?: boolean;
  /** Further local candidates (mirror folders in either layout). */
  alternatives?: string[];
  sha256?: string;
  optional?: boolean;
}

interface Record_ {
  task: string;
  name: string;
  repo?: string;
  revision?: string;
  revisionSource?: RevisionSource;
  files: Record<string, { sha256: string; size: number; source: string; recordedAt: string }>;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);
const partOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : '');

async function readRecord(modelDir: string): Promise<Record_ | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path.join(modelDir, CHECKSUMS_FILE), 'utf8')) as Record_;
  } catch {
    return undefined;
  }
}

/** The files to fetch for a model (or one part of it) and where each comes from. */
function plan(spec: ModelSpec | undefined, ref: ModelRef, opts: PullOptions, modelDirExists: boolean): { items: Item[]; repo?: string; hubUrl?: (revision: string, file: string) => string } {
  const part = opts.part ?? ref.part;
  if (opts.url) {
    if (!part) throw new UsageError('--url needs a single part: give the model as <task>/<name>/<part>');
    const pinned = spec?.hub?.files.find((f) => f.path === `${part}/model.onnx`)?.sha256 ?? spec?.parts.find((p) => p.part === part)?.sha256;
    return { items: [{ file: `${part}/model.onnx`, source: opts.url, sha256: opts.sha256 ?? pinned }] };
  }
  if (!spec) throw new UsageError(`model ${ref.task}/${ref.name} is not in the registry: give --url and --sha256, or use immich models add`);
  if (part && !spec.parts.some((p) => p.part === part)) {
    throw new UsageError(`model ${ref.task}/${ref.name} has no part ${part} (parts: ${spec.parts.map((p) => p.part).join(', ')})`);
  }
  if (spec.hub) {
    if (opts.revision !== undefined && !/^[0-9a-f]{7,40}$|^main$/.test(opts.revision)) throw new UsageError(`--revision ${opts.revision} is not a commit hash (or main)`);
    const from = opts.from;
    const base = from && isUrl(from) ? from.replace(/\/+$/, '') : (opts.baseUrl ?? DEFAULT_MODELS_BASE_URL);
    const repo = spec.hub.repo;
    const files = spec.hub.files.filter((f) => !part || f.path.startsWith(`${part}/`) || (!f.path.includes('/') && !modelDirExists));
    const hubUrl = (revision: string, file: string) => `${base}/${repo}/resolve/${revision}/${file}`;
    if (from && !isUrl(from)) {
      // A folder: an Immich model cache (<task>/<name>/<file>) or a folder of model folders (<name>/<file>).
      return {
        repo,
        items: files.map((f) => {
          const candidates = [path.join(from, ref.task, ref.name, f.path), path.join(from, ref.name, f.path)];
          return { file: f.path, source: candidates[0]!, alternatives: candidates.slice(1), sha256: f.sha256, optional: f.optional };
        }),
      };
    }
    return { repo, hubUrl, items: files.map((f) => ({ file: f.path, source: hubUrl('main', f.path), hub: true, sha256: f.sha256, optional: f.optional })) };
  }
  const items: Item[] = [];
  for (const p of spec.parts.filter((x) => !part || x.part === part)) {
    let source: string | undefined;
    if (opts.from) {
      if (!p.mirrorPath) throw new UsageError(`${ref.task}/${ref.name}/${p.part} has no file name for a mirror; use --url or immich models add`);
      source = isUrl(opts.from) ? `${opts.from.replace(/\/+$/, '')}/${p.mirrorPath}` : path.join(opts.from, p.mirrorPath);
    } else {
      source = p.url;
    }
    if (p.package && !source) continue; // shipped in an npm package: nothing to fetch
    if (!source) {
      throw new EnvironmentError(
        `${ref.task}/${ref.name}/${p.part} has no download source; install a local copy with: immich models add ${ref.task}/${ref.name}/${p.part} <file.onnx>`,
      );
    }
    if (source.endsWith('.tgz')) {
      throw new EnvironmentError(`${ref.task}/${ref.name}/${p.part} is published inside ${source}; unpack it and use immich models add, or pull --from a folder`);
    }
    if (!p.sha256 && !opts.noVerify) {
      throw new UsageError(`${ref.task}/${ref.name}/${p.part} has no pinned checksum: give --sha256 <hex>, or --no-verify to accept any file`);
    }
    items.push({ file: `${p.part}/model.onnx`, source, sha256: p.sha256 });
  }
  return { items };
}

/** Only one pull per staging folder at a time, across processes (an import and a worker may both start one). */
async function lockStaging(lock: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      const fh = await fsp.open(lock, 'wx');
      await fh.write(String(process.pid));
      await fh.close();
      return () => fsp.rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await fsp.readFile(lock, 'utf8').catch(() => ''));
      let alive = false;
      try {
        if (holder > 0) process.kill(holder, 0);
        alive = holder > 0;
      } catch {
        alive = false;
      }
      if (!alive) {
        await fsp.rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new EnvironmentError(`another process (pid ${holder}) is downloading into ${path.dirname(lock)}; try again later`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

interface Pin {
  /** undefined until the first answer says which commit `main` is. */
  revision?: string;
  source: RevisionSource;
}

const sameCommit = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);

/**
 * The commit to fetch a hub model at: --revision, else the one its installed files came from, else the
 * registry's pin, else `main` resolved on the first answer (undefined revision).
 */
function choosePin(label: string, given: string | undefined, installed: Record_ | undefined, pinned: string | undefined, keepsOthers: boolean): Pin {
  const at = installed?.revision;
  if (given && given !== 'main') {
    if (keepsOthers && at && !sameCommit(given, at)) {
      throw new UsageError(`${label} is installed from commit ${at}; fetching part of it at ${given} would mix two revisions: pull the whole model again with --revision ${given} --force`);
    }
    return { revision: given, source: 'given' };
  }
  if (given === 'main') {
    if (keepsOthers && at) throw new UsageError(`${label} is installed from commit ${at}; to move it to main pull the whole model again with --revision main --force`);
    return { source: 'recorded' };
  }
  if (at) return { revision: at, source: installed.revisionSource ?? (pinned && sameCommit(at, pinned) ? 'pinned' : 'given') };
  return pinned ? { revision: pinned, source: 'pinned' } : { source: 'recorded' };
}

/** Synchronously (it runs between a response's headers and its body), written whole before any byte of that commit. */
function writeStagedPin(staging: string, pin: Pin): void {
  const file = path.join(staging, STAGED_REVISION);
  const fd = fs.openSync(`${file}.tmp`, 'w', 0o644);
  try {
    fs.writeSync(fd, JSON.stringify(pin) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${file}.tmp`, file);
}

async function readStagedPin(staging: string): Promise<Pin | undefined> {
  try {
    const p = JSON.parse(await fsp.readFile(path.join(staging, STAGED_REVISION), 'utf8')) as Pin;
    return typeof p.revision === 'string' ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Download (or copy from a mirror) a model's files and install them as one folder. */
export async function pullModel(ctx: HasConfig, ref: ModelRef, opts: PullOptions = {}): Promise<PulledPart[]> {
  const dir = opts.dir ?? ctx.config.modelsDir;
  const spec = findModel(ref.task, ref.name);
  const modelDir = path.join(dir, ref.task, ref.name);
  const modelDirExists = fs.existsSync(modelDir);
  const label = `${ref.task}/${ref.name}`;
  const { items, repo, hubUrl } = plan(spec, ref, opts, modelDirExists);
  const installed = modelDirExists ? await readRecord(modelDir) : undefined;
  const record: Record_ = installed ?? { task: ref.task, name: ref.name, files: {} };
  // Files of the installed model that this pull keeps (not fetched again) fix the commit of the others.
  const keepsOthers = modelDirExists && !(opts.force && !(opts.part ?? ref.part));
  const pin = hubUrl ? choosePin(label, opts.revision, installed, spec?.hub?.revision, keepsOthers) : undefined;
  const revisionOf = (): Pick<PulledPart, 'revision' | 'revisionSource'> =>
    pin ? { revision: pin.revision ?? null, revisionSource: pin.source } : { revision: record.revision ?? null, revisionSource: record.revisionSource ?? null };
  const results: PulledPart[] = [];
  const base = { task: ref.task, name: ref.name };
  // Files already installed: checked, and recorded the first time they are seen.
  const todo: Item[] = [];
  for (const it of items) {
    const target = path.join(modelDir, it.file);
    if (opts.force || !fs.existsSync(target)) {
      todo.push(it);
      continue;
    }
    const sha = await sha256File(target);
    const size = fs.statSync(target).size;
    const expected = it.sha256 ?? record.files[it.file]?.sha256;
    if (expected && sha !== expected.toLowerCase()) {
      throw new EnvironmentError(
        `${ref.task}/${ref.name}/${it.file} (${target}) does not match its ${it.sha256 ? 'published' : 'recorded'} sha256: got ${sha}, expected ${expected}; pull it again with --force`,
      );
    }
    const checksum = it.sha256 ? 'published' : record.files[it.file] ? 'recorded' : 'recorded now';
    if (!record.files[it.file]) record.files[it.file] = { sha256: sha, size, source: target, recordedAt: new Date().toISOString() };
    results.push({ ...base, part: partOf(it.file), file: it.file, path: target, sha256: sha, size, source: target, status: 'present', checksum, revision: null, revisionSource: null });
  }
  if (!todo.length) {
    if (results.some((r) => r.checksum === 'recorded now')) await writeFileAtomic(path.join(modelDir, CHECKSUMS_FILE), JSON.stringify(record, null, 2) + '\n');
    const rev = { revision: record.revision ?? null, revisionSource: record.revisionSource ?? null };
    return results.map((r) => ({ ...r, ...rev }));
  }

  const staging = path.join(dir, ref.task, `.${ref.name}.download`);
  await fsp.mkdir(staging, { recursive: true });
  const unlock = await lockStaging(`${staging}.lock`);
  try {
    if (pin) {
      // A staging folder of an interrupted pull: resumed at its commit, or emptied when that is not this pull's.
      const staged = await readStagedPin(staging);
      if (staged && (!pin.revision || sameCommit(staged.revision!, pin.revision))) {
        if (!pin.revision) Object.assign(pin, staged);
      } else {
        if (staged || (!pin.revision && (await listFiles(staging)).length)) await emptyDir(staging);
        if (pin.revision) writeStagedPin(staging, pin);
      }
    }
    const revisionChanged = () => Boolean(pin?.revision && installed?.revision && !sameCommit(pin.revision, installed.revision));
    const sourceOf = (it: Item) => (it.hub && hubUrl && pin ? hubUrl(pin.revision ?? 'main', it.file) : it.source);
    // Checks the commit each answer names (X-Repo-Commit); the first answer for `main` fixes it.
    const checkCommit = (file: string, url: () => string) => (headers: import('node:http').IncomingHttpHeaders) => {
      if (!pin) return;
      const raw = headers[REPO_COMMIT];
      const served = typeof raw === 'string' && /^[0-9a-f]{40}$/i.test(raw.trim()) ? raw.trim().toLowerCase() : undefined;
      if (!pin.revision) {
        if (!served) {
          throw new EnvironmentError(
            `${url()} did not say which commit of ${repo} it served (no X-Repo-Commit header), so ${label} cannot be pinned to one revision: give --revision <commit>`,
          );
        }
        pin.revision = served;
      } else if (served && !sameCommit(served, pin.revision)) {
        fs.rmSync(staging, { recursive: true, force: true });
        throw new RevisionMismatchError(
          `revision mismatch for ${label}: ${file} was served from commit ${served}, but the model is at commit ${pin.revision} (${pin.source}); files of two revisions are never mixed, nothing was installed`,
        );
      } else if (served && served !== pin.revision) {
        pin.revision = served; // a short --revision, now known in full
      } else {
        return;
      }
      writeStagedPin(staging, pin);
    };
    // A staged folder from an interrupted pull with other sources is only reused file by file after its checksum passes.
    opts.onStart?.({ source: sourceOf(todo[0]!), files: todo.length });
    const fetched: PulledPart[] = [];
    for (const it of todo) {
      const staged = path.join(staging, it.file);
      const part = `${staged}.part`;
      await fsp.mkdir(path.dirname(staged), { recursive: true });
      let source = sourceOf(it);
      if (!fs.existsSync(staged)) {
        try {
          if (isUrl(source)) {
            await fetchToPart(() => (source = sourceOf(it)), part, { onBytes: (d, t) => opts.onProgress?.(it.file, d, t), onHeaders: checkCommit(it.file, () => source) });
            source = sourceOf(it);
          } else {
            const found = [it.source, ...(it.alternatives ?? [])].find((p) => fs.existsSync(p));
            if (!found) {
              if (it.optional) continue;
              throw new EnvironmentError(`cannot copy ${it.file} of ${ref.task}/${ref.name}: ${[it.source, ...(it.alternatives ?? [])].join(' or ')} does not exist`);
            }
            source = found;
            await copyToPart(found, part, (d, t) => opts.onProgress?.(it.file, d, t));
          }
        } catch (err) {
          if (it.optional && err instanceof DownloadError && err.status === 404) {
            await fsp.rm(part, { force: true });
            continue;
          }
          throw err;
        }
        await fsp.rename(part, staged);
      }
      const sha = await sha256File(staged);
      const size = fs.statSync(staged).size;
      // Checksums recorded for another commit say nothing about this one's files.
      const recorded = revisionChanged() ? undefined : record.files[it.file]?.sha256;
      const expected = it.sha256 ?? recorded;
      if (expected && sha !== expected.toLowerCase()) {
        await fsp.rm(staged, { force: true });
        throw new EnvironmentError(
          `checksum mismatch for ${ref.task}/${ref.name}/${it.file.replace(/\/model\.onnx$/, '')} from ${source}: got sha256 ${sha}, expected ${expected}` +
            `${it.sha256 ? '' : ' (recorded on the first download)'}; nothing was installed`,
        );
      }
      const checksum = it.sha256 ? 'published' : recorded ? 'recorded' : 'recorded now';
      record.files[it.file] = { sha256: sha, size, source, recordedAt: record.files[it.file]?.recordedAt ?? new Date().toISOString() };
      fetched.push({ ...base, part: partOf(it.file), file: it.file, path: path.join(modelDir, it.file), sha256: sha, size, source, status: 'installed', checksum, revision: null, revisionSource: null });
    }
    if (revisionChanged()) record.files = Object.fromEntries(Object.entries(record.files).filter(([f]) => fetched.some((x) => x.file === f)));
    if (repo) {
      record.repo = repo;
      if (pin?.revision) Object.assign(record, { revision: pin.revision, revisionSource: pin.source });
      else if (opts.revision && opts.revision !== 'main') Object.assign(record, { revision: opts.revision, revisionSource: 'given' });
      else if (!record.revision && spec?.hub?.revision) Object.assign(record, { revision: spec.hub.revision, revisionSource: 'pinned' });
    }
    await installStaged(staging, modelDir, fetched.map((f) => f.file), record, opts.force === true);
    return [...results, ...fetched].map((r) => ({ ...r, ...revisionOf() })).sort((a, b) => a.file.localeCompare(b.file));
  } catch (err) {
    await cleanEmptyStaging(dir, ref).catch(() => undefined);
    throw err;
  } finally {
    await unlock();
  }
}

async function emptyDir(dir: string): Promise<void> {
  for (const e of await fsp.readdir(dir)) await fsp.rm(path.join(dir, e), { recursive: true, force: true });
}

/** The staged files into place: the whole folder by one rename when it is new (or replaced), else file by file. */
async function installStaged(staging: string, modelDir: string, files: string[], record: Record_, replace: boolean): Promise<void> {
  const recordText = JSON.stringify(record, null, 2) + '\n';
  // Leftovers of another attempt (a part of another source) are not installed.
  for (const f of await listFiles(staging)) if (!files.includes(f)) await fsp.rm(path.join(staging, f), { force: true });
  if (!fs.existsSync(modelDir) || replace) {
    await writeFileAtomic(path.join(staging, CHECKSUMS_FILE), recordText);
    await syncDir(staging);
    let old: string | undefined;
    if (fs.existsSync(modelDir)) {
      // --force: files not fetched again (a part filter) are carried over first.
      for (const f of await listFiles(modelDir)) {
        if (files.includes(f) || f === CHECKSUMS_FILE) continue;
        await fsp.mkdir(path.dirname(path.join(staging, f)), { recursive: true });
        await fsp.link(path.join(modelDir, f), path.join(staging, f)).catch(() => fsp.copyFile(path.join(modelDir, f), path.join(staging, f)));
      }
      old = `${path.dirname(modelDir)}/.${path.basename(modelDir)}.old-${process.pid}`;
      await fsp.rename(modelDir, old);
    }
    await fsp.rename(staging, modelDir);
    await syncDir(path.dirname(modelDir));
    if (old) await fsp.rm(old, { recursive: true, force: true });
    return;
  }
  for (const f of files) {
    await fsp.mkdir(path.dirname(path.join(modelDir, f)), { recursive: true });
    await fsp.rename(path.join(staging, f), path.join(modelDir, f));
  }
  await writeFileAtomic(path.join(modelDir, CHECKSUMS_FILE), recordText);
  await fsp.rm(staging, { recursive: true, force: true });
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const d of await fsp.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(r);
      else if (d.isFile()) out.push(r);
    }
  };
  await walk('');
  return out;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r').catch(() => undefined);
  await fh?.sync().catch(() => undefined);
  await fh?.close();
}

/** Remove an empty staging folder left by a failed pull (a partial .part is kept for resuming). */
export async function cleanEmptyStaging(dir: string, ref: ModelRef): Promise<void> {
  const staging = path.join(dir, ref.task, `.${ref.name}.download`);
  // The staged commit alone is nothing to resume.
  if ((await listFiles(staging)).every((f) => f === STAGED_REVISION)) await fsp.rm(staging, { recursive: true, force: true });
}
