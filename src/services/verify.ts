// `immich verify`: is everything a library needs there and intact? Database (reachable, migrated,
// pgvector), Redis, storage, models, every original against its checksum, untracked files, missing
// derived files (with --repair: regenerated through the job queue); and `verify --backup` for a
// backup repository (structure, manifests, objects; --read-data re-reads every byte).
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import type { SqlBool } from 'kysely';
import { migrationState } from '../db/migrate.js';
import { sql } from '../db/kysely.js';
import { EXIT } from '../errors.js';
import type { JobSpec } from '../jobs/types.js';
import { TMP_MARK } from '../storage/atomic.js';
import { sha1File } from '../storage/checksum.js';
import { LIBRARY_FOLDERS } from '../storage/layout.js';
import { mapLimit } from './backup.js';
import { referencedObjects } from './backup-forget.js';
import { Repository, RepositoryError, shortId, validateFileList, type FileEntry, type Snapshot } from './backup-repo.js';
import { findTemporaries } from './cache.js';
import { fsPath, textFromBytes } from '../storage/raw-path.js';

export type CheckStatus = 'ok' | 'warning' | 'error' | 'unavailable';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** The files / objects / migrations the check is about (all of them). */
  items?: string[];
}

export interface VerifyReport {
  checks: Check[];
  /** 0 clean (warnings allowed), 1 problems found, 3 a service is unreachable. */
  exitCode: number;
}

export interface VerifyOptions {
  /** Percentage of originals to re-hash (default 100). */
  samplePercent?: number;
  repair?: boolean;
  models?: boolean;
  concurrency?: number;
  onProgress?: (p: { done: number; total: number; bytes: number }) => void;
}

export function exitCodeFor(checks: Check[]): number {
  if (checks.some((c) => c.status === 'unavailable')) return EXIT.ENVIRONMENT;
  if (checks.some((c) => c.status === 'error')) return EXIT.ITEMS_FAILED;
  return EXIT.OK;
}

const LOW_FREE_BYTES = 2 * 1024 ** 3;
const LOW_FREE_RATIO = 0.05;

/** Each library folder exists, is readable and writable (a probe file round trip); free space. */
export async function checkStorage(config: Config): Promise<Check[]> {
  const root = config.uploadLocation;
  const bad: string[] = [];
  for (const f of [...LIBRARY_FOLDERS, 'tmp']) {
    const dir = path.join(root, f);
    const probe = path.join(dir, `${TMP_MARK}${process.pid}-verify-probe`);
    try {
      await fsp.mkdir(dir, { recursive: true });
      const data = crypto.randomBytes(64);
      await fsp.writeFile(probe, data);
      const back = await fsp.readFile(probe);
      if (!back.equals(data)) throw new Error('read back different bytes');
      await fsp.readdir(dir);
    } catch (err) {
      bad.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    } finally {
      await fsp.rm(probe, { force: true }).catch(() => {});
    }
  }
  const checks: Check[] = [
    bad.length
      ? { name: 'storage', status: 'unavailable', detail: `${bad.length} library folder(s) not readable/writable`, items: bad }
      : { name: 'storage', status: 'ok', detail: `${root}: folders readable and writable` },
  ];
  try {
    const st = await fsp.statfs(root);
    const free = st.bavail * st.bsize;
    const total = st.blocks * st.bsize;
    const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
    const low = free < LOW_FREE_BYTES || free / total < LOW_FREE_RATIO;
    checks.push({ name: 'free space', status: low ? 'warning' : 'ok', detail: `${gib(free)} free of ${gib(total)}${low ? ' (low)' : ''}` });
  } catch (err) {
    checks.push({ name: 'free space', status: 'warning', detail: `cannot read: ${(err as Error).message}` });
  }
  return checks;
}

export async function checkRedisReachable(config: Config): Promise<Check> {
  if (!config.redis) return { name: 'redis', status: 'ok', detail: 'not configured (jobs run in-process)' };
  try {
    const { checkRedis } = await import('../jobs/bullmq.js');
    await checkRedis(config.redis, 3000);
    return { name: 'redis', status: 'ok', detail: `${config.redis.host}:${config.redis.port} answers` };
  } catch (err) {
    return { name: 'redis', status: 'unavailable', detail: `${config.redis.host}:${config.redis.port}: ${(err as Error).message.split('\n')[0]}` };
  }
}

async function checkModels(ctx: Context): Promise<Check> {
  try {
    const { listInstalled } = await import('../ml/models.js');
    const { verifyModelFile } = await import('../ml/verify.js');
    const { runtimeSettings } = await import('../ml/runtime.js');
    const installed = await listInstalled(ctx, { checksums: false });
    // The model each ML stage uses, by its configured name: "ok" only when every one is there.
    const { faceSettings, FACE_TASK } = await import('./faces.js');
    const { clipModelName, CLIP_TASK } = await import('../ml/clip.js');
    const { objectModelName, OBJECT_TASK } = await import('./search-jobs.js');
    const { installHint } = await import('../ml/models.js');
    const wanted: Array<[string, string, string]> = [
      ['faces', FACE_TASK, faceSettings(ctx.config.raw).model],
      ['smart search', CLIP_TASK, clipModelName(ctx)],
      ['objects', OBJECT_TASK, objectModelName(ctx)],
    ];
    const missing = wanted
      .filter(([, task, name]) => !installed.some((m) => m.task === task && m.name === name))
      .map(([stage, task, name]) => `${stage}: ${task}/${name} is not installed; install it with: ${installHint(task, name)}`);
    if (!installed.length) {
      return { name: 'models', status: 'warning', detail: `none installed: faces, smart search and objects are skipped (see \`immich models pull\`)`, items: missing };
    }
    const failed: string[] = [];
    const okNames: string[] = [];
    for (const m of installed) {
      const r = await verifyModelFile(m.path, runtimeSettings(ctx.config.raw));
      if (r.ok) okNames.push(`${m.task}/${m.name}/${m.part}`);
      else failed.push(`${m.task}/${m.name}/${m.part}: ${r.error}`);
    }
    if (failed.length) return { name: 'models', status: 'error', detail: `${failed.length} of ${installed.length} model(s) fail to load or run`, items: [...failed, ...missing] };
    if (missing.length) {
      return {
        name: 'models',
        status: 'warning',
        detail: `${installed.length} installed model(s) load and run; ${missing.length} stage(s) skipped for want of their model`,
        items: [...missing, ...okNames],
      };
    }
    return { name: 'models', status: 'ok', detail: `${installed.length} model(s) load and run a sanity inference`, items: okNames };
  } catch (err) {
    return { name: 'models', status: 'warning', detail: `cannot check models: ${(err as Error).message.split('\n')[0]}` };
  }
}

async function checkDatabase(ctx: Context): Promise<{ checks: Check[]; pending: number }> {
  const checks: Check[] = [{ name: 'database', status: 'ok', detail: `${ctx.database.target} reachable` }];
  const state = await migrationState(ctx.db, ctx.database.hasVector);
  if (state.pending.length) {
    const fresh = !state.applied.length;
    const how = fresh ? 'a new database: `immich import` or `immich restore` sets it up' : 'run `immich index` or any other command that opens the library to apply them';
    checks.push({ name: 'migrations', status: 'error', detail: `${state.pending.length} pending (${how})`, items: state.pending });
  } else {
    checks.push({ name: 'migrations', status: 'ok', detail: `at the latest migration (${state.applied[state.applied.length - 1] ?? 'none'})` });
  }
  if (ctx.database.hasVector) checks.push({ name: 'pgvector', status: 'ok', detail: 'installed' });
  else {
    checks.push({
      name: 'pgvector',
      status: 'warning',
      detail: `missing: ${state.blocked.length} migration(s) held back; face and smart search are unavailable (use the pgvector/pgvector image)`,
      items: state.blocked,
    });
  }
  return { checks, pending: state.pending.length };
}

async function checkOriginals(ctx: Context, opts: VerifyOptions): Promise<{ checks: Check[]; sampled?: string[] }> {
  // Assets being purged (asset_purge) are on their way out: the next purge or maintenance finishes them.
  const live = () =>
    ctx.db
      .selectFrom('assets')
      .where('id', 'not in', (eb) => eb.selectFrom('asset_purge').select('asset_id'));
  const percent = opts.samplePercent ?? 100;
  let chosen: Array<{ id: string; library_path: string; checksum: string; file_size: number; deleted_at: Date | null }>;
  let total: number;
  if (percent >= 100) {
    chosen = await live().select(['id', 'library_path', 'checksum', 'file_size', 'deleted_at']).orderBy('library_path').execute();
    total = chosen.length;
  } else {
    // The sample is drawn in SQL (a top-N by random()): listing every asset to pick 1% of them
    // held 865 MB and took minutes at 1M.
    total = Number((await live().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const n = Math.max(1, Math.ceil((total * percent) / 100));
    chosen = total
      ? await live().select(['id', 'library_path', 'checksum', 'file_size', 'deleted_at']).orderBy(sql`random()`).limit(Math.min(n, total)).execute()
      : [];
  }
  const missing: string[] = [];
  const mismatch: string[] = [];
  let done = 0;
  let bytes = 0;
  await mapLimit(chosen, opts.concurrency ?? 2, async (a) => {
    const abs = ctx.library.resolve(a.library_path);
    try {
      const st = await fsp.stat(fsPath(abs));
      const sha1 = await sha1File(abs);
      bytes += st.size;
      if (sha1 !== a.checksum) mismatch.push(`${a.library_path}: checksum ${sha1} != ${a.checksum}${st.size !== a.file_size ? ` (size ${st.size} != ${a.file_size})` : ''}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // One line per asset with what to do about it.
      const choice = a.deleted_at
        ? `in the trash: \`immich trash empty\` purges it`
        : `\`immich rm ${a.id}\` to trash the asset, or import the file again to put it back`;
      missing.push(`${a.library_path}: ${code === 'ENOENT' ? 'missing' : (code ?? (err as Error).message)} (asset ${a.id}; ${choice})`);
    } finally {
      opts.onProgress?.({ done: ++done, total: chosen.length, bytes });
    }
  });
  const scope = chosen.length === total ? `all ${total}` : `${chosen.length} of ${total} (sample)`;
  const checks: Check[] = [];
  checks.push(
    missing.length
      ? { name: 'originals present', status: 'error', detail: `${missing.length} missing (checked ${scope})`, items: missing.sort() }
      : { name: 'originals present', status: 'ok', detail: `${scope} present` },
  );
  checks.push(
    mismatch.length
      ? { name: 'original checksums', status: 'error', detail: `${mismatch.length} do not match the checksum recorded at import`, items: mismatch.sort() }
      : { name: 'original checksums', status: 'ok', detail: `${scope} match` },
  );
  return { checks, ...(percent < 100 ? { sampled: chosen.map((a) => a.id) } : {}) };
}

async function listFiles(dir: string, out: string[] = []): Promise<string[]> {
  // Names as bytes, in their text form (raw-path.ts): the form the database holds.
  for (const e of await fsp.readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' }).catch(() => [])) {
    const abs = path.join(dir, textFromBytes(e.name));
    if (e.isDirectory()) await listFiles(abs, out);
    else out.push(abs);
  }
  return out;
}

async function checkUntracked(ctx: Context): Promise<Check> {
  const known = new Set<string>();
  const sidecars = await ctx.db.selectFrom('exif').select('sidecar_path').where('sidecar_path', 'is not', null).execute();
  for (const s of sidecars) known.add(path.normalize(ctx.library.resolve(s.sidecar_path!)));
  // XMP sidecars that edits wrote (services/sidecars.ts)
  const written = await ctx.db.selectFrom('asset_sidecars').select('path').where('path', '<>', '').execute();
  for (const s of written) known.add(path.normalize(ctx.library.resolve(s.path)));
  // The files found, looked up 5,000 at a time by library path (unique index) instead of every
  // asset's path held in memory: 1M assets took 1 GB RSS for a --sample 1% run.
  const files = (await listFiles(ctx.library.folder('uploads'))).filter((f) => !known.has(f) && !path.basename(f).startsWith(TMP_MARK));
  const untracked: string[] = [];
  for (let i = 0; i < files.length; i += 5000) {
    const batch = files.slice(i, i + 5000);
    // copied files are stored relative to the library, in-place ones by their absolute path
    const names = [...batch.map((f) => ctx.library.relative(f)), ...batch];
    const rows = await ctx.db.selectFrom('assets').select('library_path').where(sql<SqlBool>`library_path = any(${sql.val(names)}::text[])`).execute();
    const found = new Set(rows.map((r) => path.normalize(ctx.library.resolve(r.library_path))));
    for (const f of batch) if (!found.has(f)) untracked.push(ctx.library.relative(f));
  }
  untracked.sort();
  return untracked.length
    ? { name: 'untracked files', status: 'warning', detail: `${untracked.length} file(s) in uploads/ that no asset references (import them, or remove them)`, items: untracked }
    : { name: 'untracked files', status: 'ok', detail: 'none in uploads/' };
}

interface MissingDerived {
  assetId: string;
  kind: string;
  path: string;
}

/** Derived files of every asset, or of the sampled ones (--sample: the same assets as the originals). */
async function findMissingDerived(ctx: Context, sampled?: string[]): Promise<{ missing: MissingDerived[]; noThumb: string[] }> {
  const some = <T extends { where: (...a: any[]) => T }>(q: T, col: string): T => (sampled ? q.where(sql<SqlBool>`${sql.ref(col)} = any(${sql.val(sampled)}::uuid[])`) : q);
  const rows = await some(ctx.db.selectFrom('asset_files').select(['asset_id', 'kind', 'path']), 'asset_id').execute();
  const missing: MissingDerived[] = [];
  for (const r of rows) if (!fs.existsSync(fsPath(ctx.library.resolve(r.path)))) missing.push({ assetId: r.asset_id, kind: r.kind, path: r.path });
  const withThumb = new Set(rows.filter((r) => r.kind === 'thumbnail').map((r) => r.asset_id));
  const assets = await some(ctx.db.selectFrom('assets').select(['id', 'library_path']).where('is_motion_part', '=', false), 'id').execute();
  const noThumb = assets.filter((a) => !withThumb.has(a.id)).map((a) => a.id);
  return { missing, noThumb };
}

function derivedCheck(found: { missing: MissingDerived[]; noThumb: string[] }, repaired?: { queued: number; failed: number }): Check {
  const { missing, noThumb } = found;
  const items = [...missing.map((m) => `${m.path} (${m.kind} of asset ${m.assetId})`), ...noThumb.map((id) => `asset ${id}: no thumbnail yet`)];
  if (!items.length) return { name: 'thumbnails/previews/encoded', status: 'ok', detail: 'all present' };
  const detail = `${missing.length} derived file(s) missing, ${noThumb.length} asset(s) without thumbnails (regenerable: immich verify --repair)`;
  return { name: 'thumbnails/previews/encoded', status: 'warning', detail: repaired ? `${detail}; repair queued ${repaired.queued}, ${repaired.failed} failed` : detail, items };
}

/** What would help a file that failed, from its cause. */
function remedy(reason: string): string {
  if (/ffmpeg|ffprobe/i.test(reason) && /not found|no such file|ENOENT/i.test(reason)) return 'install ffmpeg (apt-get install ffmpeg) or set FFMPEG_PATH';
  if (/models? .*not installed|immich models pull/i.test(reason)) return 'install the model (immich models pull)';
  return 'replace the file with a readable copy (or remove it), then run immich import --retry-failed';
}

/**
 * Files that failed at import, and assets with a failed stage: each once, by file name, with its
 * cause and what would help. Re-runs leave them alone while they and the environment are unchanged.
 */
async function checkFailedFiles(ctx: Context): Promise<Check> {
  const imports = await ctx.db.selectFrom('import_failures').select(['path', 'stage', 'reason']).orderBy('path').execute();
  const stages = await ctx.db
    .selectFrom('asset_job_status')
    .innerJoin('assets', 'assets.id', 'asset_job_status.asset_id')
    .select(['assets.library_path', 'assets.original_path', 'asset_job_status.stage', 'asset_job_status.error'])
    .where('asset_job_status.status', '=', 'failed')
    .orderBy('assets.library_path')
    .execute();
  const items = new Map<string, string>();
  for (const f of imports) if (!items.has(f.path)) items.set(f.path, `${f.path}: ${f.stage}: ${f.reason} (${remedy(f.reason)})`);
  for (const f of stages) {
    const name = f.library_path;
    if (!items.has(name)) items.set(name, `${name}: ${f.stage}: ${f.error ?? 'failed'} (${remedy(f.error ?? '')})`);
  }
  if (!items.size) return { name: 'failed files', status: 'ok', detail: 'none' };
  return {
    name: 'failed files',
    status: 'warning',
    detail: `${items.size} file(s) failed to import or process; not retried while unchanged (--retry-failed retries them)`,
    items: [...items.values()],
  };
}

/** Re-queue the stages that regenerate missing derived files, with force, and run them. */
async function repairDerived(ctx: Context, found: { missing: MissingDerived[]; noThumb: string[] }): Promise<{ queued: number; failed: number; failures: string[] }> {
  const jobs: JobSpec[] = [];
  for (const m of found.missing) jobs.push({ stage: m.kind === 'encoded_video' ? 'video' : 'thumbnails', assetId: m.assetId, force: true });
  for (const id of found.noThumb) jobs.push({ stage: 'thumbnails', assetId: id, force: true });
  if (!jobs.length) return { queued: 0, failed: 0, failures: [] };
  await ctx.queue.enqueue(jobs);
  const result = await ctx.queue.drain();
  return { queued: jobs.length, failed: result.failed, failures: result.failures.map((f) => `${f.job.stage} ${f.job.assetId}: ${f.message}`) };
}

/** The library checks, with an open context. */
export async function verifyLibrary(ctx: Context, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const checks: Check[] = [];
  const db = await checkDatabase(ctx);
  checks.push(...db.checks);
  checks.push(await checkRedisReachable(ctx.config));
  checks.push(...(await checkStorage(ctx.config)));
  if (opts.models !== false) checks.push(await checkModels(ctx));
  // The checks below read the library's tables, which a database with pending migrations may lack.
  if (db.pending) return { checks, exitCode: exitCodeFor(checks) };
  const originals = await checkOriginals(ctx, opts);
  checks.push(...originals.checks);
  checks.push(await checkUntracked(ctx));
  let derived = await findMissingDerived(ctx, originals.sampled);
  if (opts.repair) {
    const r = await repairDerived(ctx, derived);
    derived = await findMissingDerived(ctx, originals.sampled);
    const check = derivedCheck(derived, r);
    if (r.queued) check.detail = derived.missing.length + derived.noThumb.length ? check.detail : `repaired: ${r.queued} regenerated`;
    if (r.failures.length) check.items = [...(check.items ?? []), ...r.failures];
    checks.push(check);
  } else {
    checks.push(derivedCheck(derived));
  }
  checks.push(await checkFailedFiles(ctx));
  const temps = await findTemporaries(ctx);
  checks.push(
    temps.length
      ? { name: 'temporary files', status: 'warning', detail: `${temps.length} left by interrupted runs (immich cache clean removes them)`, items: temps.map((t) => t.path) }
      : { name: 'temporary files', status: 'ok', detail: 'none' },
  );
  return { checks, exitCode: exitCodeFor(checks) };
}

/** The checks that need no database, when it cannot be opened. */
export async function verifyWithoutDatabase(config: Config, dbError: string): Promise<VerifyReport> {
  const checks: Check[] = [{ name: 'database', status: 'unavailable', detail: dbError }];
  checks.push(await checkRedisReachable(config));
  checks.push(...(await checkStorage(config)));
  return { checks, exitCode: exitCodeFor(checks) };
}

// ---- backup repositories ----

export interface VerifyBackupOptions {
  passphrase?: string;
  readData?: boolean;
  onProgress?: (p: { done: number; total: number; bytes: number }) => void;
}

export async function verifyBackup(repository: string, opts: VerifyBackupOptions): Promise<VerifyReport & { repository: string; snapshots: number; objects: number }> {
  const checks: Check[] = [];
  let repo: Repository;
  try {
    repo = await Repository.open(repository, { passphrase: opts.passphrase });
  } catch (err) {
    if (!(err instanceof RepositoryError)) throw err;
    checks.push({ name: 'repository', status: 'unavailable', detail: err.message });
    return { repository, snapshots: 0, objects: 0, checks, exitCode: exitCodeFor(checks) };
  }
  const release = repo.lock('immich verify --backup');
  try {
    checks.push({ name: 'repository', status: 'ok', detail: `${repo.root}: format ${repo.config.version}, ${repo.encrypted ? 'encrypted (passphrase accepted)' : 'not encrypted'}` });
    const { snapshots, damaged } = await repo.listSnapshots();
    const snapProblems = damaged.map((d) => d.error);
    // path → where it is listed; object → the files that need it
    const users = new Map<string, string[]>();
    const expectedSize = new Map<string, number>();
    const readable: Snapshot[] = [];
    const note = (id: string, what: string, size: number) => {
      const list = users.get(id) ?? [];
      if (list.length < 20) list.push(what);
      users.set(id, list);
      expectedSize.set(id, size);
    };
    for (const s of snapshots) {
      let files: FileEntry[];
      try {
        files = validateFileList(await repo.loadFileList(s));
      } catch (err) {
        snapProblems.push(`snapshot ${shortId(s.id)}: manifest (file list data/${s.files.object.slice(0, 2)}/${s.files.object}): ${(err as Error).message}`);
        continue;
      }
      readable.push(s);
      note(s.files.object, `file list of snapshot ${shortId(s.id)}`, s.files.size);
      if (s.database.dump) note(s.database.dump.object, `database dump of snapshot ${shortId(s.id)}`, s.database.dump.size);
      for (const f of files) note(f.object, `${f.path} (snapshot ${shortId(s.id)})`, f.size);
    }
    checks.push(
      snapProblems.length
        ? { name: 'snapshots', status: 'error', detail: `${snapProblems.length} of ${snapshots.length + damaged.length} snapshot(s) damaged`, items: snapProblems }
        : { name: 'snapshots', status: 'ok', detail: `${snapshots.length} snapshot(s), manifests intact` },
    );
    const stored = await repo.listObjects();
    const absent: string[] = [];
    const wrongSize: string[] = [];
    const sizes = await repo.objectSizes([...users.keys()].filter((id) => stored.has(id)));
    for (const [id, who] of users) {
      const where = `data/${id.slice(0, 2)}/${id}`;
      if (!stored.has(id)) absent.push(`${who.join(', ')}: object ${where} is missing`);
      else if (sizes.get(id) !== repo.storedSize(expectedSize.get(id)!)) {
        wrongSize.push(`${who.join(', ')}: object ${where} has ${sizes.get(id)} bytes, expected ${repo.storedSize(expectedSize.get(id)!)} (truncated or damaged)`);
      }
    }
    const structural = [...absent, ...wrongSize];
    checks.push(
      structural.length
        ? { name: 'objects', status: 'error', detail: `${absent.length} missing, ${wrongSize.length} with the wrong size (of ${users.size} referenced)`, items: structural }
        : { name: 'objects', status: 'ok', detail: `${users.size} referenced object(s) present with the expected size` },
    );
    if (opts.readData) {
      const damagedData: string[] = [];
      const ids = [...users.keys()].filter((id) => stored.has(id));
      let done = 0;
      let bytes = 0;
      await mapLimit(ids, 2, async (id) => {
        const problem = await repo.checkObject(id);
        if (problem) damagedData.push(`${users.get(id)!.join(', ')}: object data/${id.slice(0, 2)}/${id} ${problem}`);
        bytes += expectedSize.get(id) ?? 0;
        opts.onProgress?.({ done: ++done, total: ids.length, bytes });
      });
      checks.push(
        damagedData.length
          ? { name: 'data', status: 'error', detail: `${damagedData.length} object(s) damaged (re-read and checked ${ids.length})`, items: damagedData.sort() }
          : { name: 'data', status: 'ok', detail: `${ids.length} object(s) re-read${repo.encrypted ? ', decrypted' : ''} and match their checksums` },
      );
    }
    if (!snapProblems.length) {
      const used = await referencedObjects(repo, readable).catch(() => undefined);
      const unused = used ? [...stored.keys()].filter((id) => !used.has(id)) : [];
      if (unused.length) checks.push({ name: 'unreferenced', status: 'warning', detail: `${unused.length} object(s) no snapshot uses (removed by \`immich backup forget --prune\`)` });
    }
    return { repository: repo.root, snapshots: snapshots.length, objects: stored.size, checks, exitCode: exitCodeFor(checks) };
  } finally {
    release();
  }
}
