// `immich storage migrate`: move copied/moved originals to their storage-template path.
//
// Safety (kill -9 at any point, then the same command again finishes; `--undo <journal>` goes back):
// - the whole plan is written to a journal (atomically) before the first file moves; each move then
//   appends one fsynced line when it is complete;
// - one move is: hard-link the original (and its XMP sidecar) at the new path (a copy verified by
//   checksum where a link is impossible), verify the new file's SHA-1 against the asset's, update the
//   row in one transaction (library_path and exif.sidecar_path), then unlink the old name. Every step
//   is checked against what is on disk and in the row, so re-running a half-done move completes it;
// - undo runs the same step from the new path back to the old one, newest move first.
// Live Photo halves move together: the motion video goes into its still's folder.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import { errorMessage } from '../errors.js';
import { copyFileVerified, writeFileAtomic } from '../storage/atomic.js';
import { sha1File } from '../storage/checksum.js';
import { acquireLock } from '../storage/lock.js';
import type { Template } from '../storage/template.js';
import { candidateName, libraryTarget } from './import-plan.js';
import { loadTemplateValues } from './template-values.js';
import { fsPath, plainName } from '../storage/raw-path.js';

export const JOURNAL_DIR = 'storage-migrate';
const JOURNAL_KIND = 'immich-storage-migrate';

export interface PlannedMove {
  assetId: string;
  checksum: string;
  from: string;
  to: string;
  sidecarFrom?: string;
  sidecarTo?: string;
}

interface JournalHeader {
  kind: typeof JOURNAL_KIND;
  version: 1;
  template: string;
  started: string;
}

interface Journal {
  file: string;
  header: JournalHeader;
  moves: PlannedMove[];
  done: Set<number>;
  undone: Set<number>;
  ended?: 'migrate' | 'undo';
}

export interface MigrateResult {
  dryRun: boolean;
  template: string;
  journal: string | null;
  /** Journals of killed runs that this run finished first. */
  resumed: string[];
  moved: Array<{ assetId: string; from: string; to: string }>;
  unchanged: number;
  failed: Array<{ assetId: string; path: string; reason: string }>;
}

export interface UndoResult {
  journal: string;
  restored: Array<{ assetId: string; from: string; to: string }>;
  failed: Array<{ assetId: string; path: string; reason: string }>;
}

function readJournal(file: string): Journal {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  let header: JournalHeader | undefined;
  const moves: PlannedMove[] = [];
  const j: Omit<Journal, 'header'> = { file, moves, done: new Set(), undone: new Set() };
  for (const [n, line] of lines.entries()) {
    if (!line.trim()) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // Only the last line can be torn (a kill during its append): the step it records is redone.
      if (n >= lines.length - 2) continue;
      throw new Error(`${file}: line ${n + 1} is not JSON`);
    }
    if (!header) {
      if (rec.kind !== JOURNAL_KIND) throw new Error(`${file} is not a storage migration journal`);
      header = rec as unknown as JournalHeader;
    } else if (rec.move) moves.push(rec.move as PlannedMove);
    else if (typeof rec.done === 'number') j.done.add(rec.done);
    else if (typeof rec.undone === 'number') j.undone.add(rec.undone);
    else if (rec.end === 'migrate' || rec.end === 'undo') j.ended = rec.end;
  }
  if (!header) throw new Error(`${file} is empty`);
  return { ...j, header };
}

async function appendLine(file: string, rec: unknown): Promise<void> {
  const fh = await fsp.open(file, 'a');
  try {
    await fh.write(`${JSON.stringify(rec)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The plan: every copied or moved original whose template path differs from where it is. */
export async function planMigration(ctx: Context, tpl: Template): Promise<{ moves: PlannedMove[]; unchanged: number }> {
  const rows = await ctx.db
    .selectFrom('assets')
    .leftJoin('asset_sidecars', 'asset_sidecars.asset_id', 'assets.id')
    .select(['assets.id', 'assets.library_path', eb => eb.ref('asset_sidecars.path').as('written_sidecar')])
    .where('assets.storage_mode', '<>', 'in-place')
    .orderBy('assets.library_path')
    .execute();
  // The sidecar organize writes edits to (asset_sidecars), else the one the file came with.
  const writtenSidecar = new Map(rows.map((r) => [r.id, r.written_sidecar]));
  const assets = await loadTemplateValues(ctx, rows.map((r) => r.id), { albums: true });
  const byId = new Map(assets.map((a) => [a.id, a]));
  const stillOf = new Map<string, string>();
  for (const a of assets) if (a.livePhotoVideoId && byId.has(a.livePhotoVideoId)) stillOf.set(a.livePhotoVideoId, a.id);
  // Paths other assets hold now: never a target, even if that asset moves away in this plan.
  const held = new Set(rows.map((r) => r.library_path));
  const reserved = new Set<string>();
  const targetOf = new Map<string, string>();
  const moves: PlannedMove[] = [];
  let unchanged = 0;
  // Stills before their motion parts, so a motion part can follow its still's folder.
  const ordered = [...assets.filter((a) => !stillOf.has(a.id)), ...assets.filter((a) => stillOf.has(a.id))];
  for (const a of ordered) {
    let first = libraryTarget(tpl, { ...a.values, name: a.originalName });
    const still = stillOf.get(a.id);
    if (still && targetOf.has(still)) first = path.posix.join(path.posix.dirname(targetOf.get(still)!), path.posix.basename(first));
    // Already at its template path (or at a numbered variant of it): nothing to do.
    // A UTF-8 name without escapes or control characters, as the import gives (raw-path.ts plainName).
    const dir = plainName(path.posix.dirname(first));
    const name = plainName(path.posix.basename(first));
    let to: string | undefined;
    for (let n = 0; ; n++) {
      const cand = path.posix.join(dir, candidateName(name, n));
      if (cand === a.libraryPath) { to = cand; break; }
      if (held.has(cand) || reserved.has(cand) || fs.existsSync(ctx.library.resolve(cand))) continue;
      to = cand;
      break;
    }
    reserved.add(to);
    targetOf.set(a.id, to);
    if (to === a.libraryPath) {
      unchanged++;
      continue;
    }
    const move: PlannedMove = { assetId: a.id, checksum: a.checksum, from: a.libraryPath, to };
    const sidecar = writtenSidecar.get(a.id) || a.sidecarPath;
    if (sidecar && !path.isAbsolute(sidecar) && sidecar.startsWith('uploads/')) {
      move.sidecarFrom = sidecar;
      move.sidecarTo = `${to}.xmp`;
    }
    moves.push(move);
  }
  return { moves, unchanged };
}

/** Where the row of this asset is now: the old path, the new one, or somewhere else. */
async function rowPath(ctx: Context, assetId: string): Promise<string | undefined> {
  const r = await ctx.db.selectFrom('assets').select('library_path').where('id', '=', assetId).executeTakeFirst();
  return r?.library_path;
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(fsPath(p)).then(() => true, () => false);
}

/** Publish src's bytes at dst: a hard link, or a verified copy across filesystems. */
async function place(src: string, dst: string, sha1: string): Promise<void> {
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  try {
    await fsp.link(fsPath(src), dst);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
    await copyFileVerified(src, dst, sha1);
  }
}

/** Remove folders left empty under uploads/ by a move, up to uploads/ itself. */
async function pruneEmpty(ctx: Context, rel: string): Promise<void> {
  const stop = ctx.library.folder('uploads');
  let dir = path.dirname(ctx.library.resolve(rel));
  while (dir.startsWith(stop + path.sep)) {
    try {
      await fsp.rmdir(dir);
    } catch {
      return;
    }
    dir = path.dirname(dir);
  }
}

/**
 * One move from `from` to `to` (undo calls it with the two swapped). Idempotent: each step looks at
 * the row and the files first, so a move interrupted anywhere is completed by running it again.
 */
async function moveOne(ctx: Context, m: PlannedMove, from: string, to: string, sidecarFrom: string | undefined, sidecarTo: string | undefined): Promise<void> {
  const absFrom = ctx.library.resolve(from);
  const absTo = ctx.library.resolve(to);
  const now = await rowPath(ctx, m.assetId);
  if (now === undefined) throw new Error('the asset is no longer in the library');
  if (now !== from && now !== to) throw new Error(`the asset was moved elsewhere meanwhile (${now})`);
  if (now === from) {
    if (!(await exists(absTo))) {
      if (!(await exists(absFrom))) throw new Error(`${from} is missing`);
      await place(absFrom, absTo, m.checksum);
    }
    // The bytes at the new path are the asset's (a link, a copy, or the file a killed run placed).
    const got = await sha1File(absTo);
    if (got !== m.checksum) throw new Error(`${to} exists with other content; left as it is`);
    if (sidecarFrom && sidecarTo) {
      const absSf = ctx.library.resolve(sidecarFrom);
      const absSt = ctx.library.resolve(sidecarTo);
      if ((await exists(absSf)) && !(await exists(absSt))) await place(absSf, absSt, await sha1File(absSf));
    }
    await ctx.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('assets').set({ library_path: to, updated_at: new Date() })
        .where('id', '=', m.assetId).where('library_path', '=', from).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new Error('the asset changed meanwhile');
      if (sidecarFrom && sidecarTo) {
        // Both records of the sidecar follow it: the one read at import and the one edits are written to.
        await trx.updateTable('exif').set({ sidecar_path: sidecarTo }).where('asset_id', '=', m.assetId).where('sidecar_path', '=', sidecarFrom).execute();
        await trx.updateTable('asset_sidecars').set({ path: sidecarTo }).where('asset_id', '=', m.assetId).where('path', '=', sidecarFrom).execute();
      }
    });
  }
  // The row names the new path: the old names go (only if the new ones are really there).
  if ((await exists(absFrom)) && (await exists(absTo))) await fsp.unlink(fsPath(absFrom));
  if (sidecarFrom && sidecarTo) {
    const absSf = ctx.library.resolve(sidecarFrom);
    if ((await exists(absSf)) && (await exists(ctx.library.resolve(sidecarTo)))) await fsp.unlink(fsPath(absSf));
  }
  await pruneEmpty(ctx, from);
}

function journalDir(ctx: Context): string {
  return path.join(ctx.library.root, JOURNAL_DIR);
}

/** Journals whose migration (or undo) was interrupted, oldest first. */
function unfinishedJournals(ctx: Context): Journal[] {
  const dir = journalDir(ctx);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter((n) => n.endsWith('.journal'))
    .sort()
    .map((n) => readJournal(path.join(dir, n)))
    .filter((j) => !j.ended);
}

async function runMoves(ctx: Context, j: Journal, onMove?: (done: number, total: number) => void): Promise<Pick<MigrateResult, 'moved' | 'failed'>> {
  const moved: MigrateResult['moved'] = [];
  const failed: MigrateResult['failed'] = [];
  for (const [i, m] of j.moves.entries()) {
    if (j.done.has(i)) continue;
    try {
      await moveOne(ctx, m, m.from, m.to, m.sidecarFrom, m.sidecarTo);
      await appendLine(j.file, { done: i });
      moved.push({ assetId: m.assetId, from: m.from, to: m.to });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw err;
      failed.push({ assetId: m.assetId, path: m.from, reason: errorMessage(err) });
    }
    onMove?.(i + 1, j.moves.length);
  }
  await appendLine(j.file, { end: 'migrate' });
  return { moved, failed };
}

export async function migrateStorage(
  ctx: Context,
  opts: { template: Template; dryRun?: boolean; onMove?: (done: number, total: number) => void },
): Promise<MigrateResult> {
  const result: MigrateResult = { dryRun: Boolean(opts.dryRun), template: opts.template.source, journal: null, resumed: [], moved: [], unchanged: 0, failed: [] };
  if (opts.dryRun) {
    const plan = await planMigration(ctx, opts.template);
    result.moved = plan.moves.map((m) => ({ assetId: m.assetId, from: m.from, to: m.to }));
    result.unchanged = plan.unchanged;
    return result;
  }
  const release = acquireLock(path.join(journalDir(ctx), '.lock'), 'immich storage migrate');
  try {
    // A killed run is finished first, with the plan it wrote: its files are half-way.
    for (const j of unfinishedJournals(ctx)) {
      if (j.undone.size) continue; // an interrupted undo is finished by running the undo again
      const r = await runMoves(ctx, j, opts.onMove);
      result.resumed.push(j.file);
      result.moved.push(...r.moved);
      result.failed.push(...r.failed);
    }
    const plan = await planMigration(ctx, opts.template);
    result.unchanged = plan.unchanged;
    if (!plan.moves.length) return result;
    const started = new Date();
    const file = path.join(journalDir(ctx), `${started.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${process.pid}.journal`);
    const header: JournalHeader = { kind: JOURNAL_KIND, version: 1, template: opts.template.source, started: started.toISOString() };
    await writeFileAtomic(file, [header, ...plan.moves.map((move) => ({ move }))].map((r) => JSON.stringify(r)).join('\n') + '\n');
    result.journal = file;
    const r = await runMoves(ctx, { file, header, moves: plan.moves, done: new Set(), undone: new Set() }, opts.onMove);
    result.moved.push(...r.moved);
    result.failed.push(...r.failed);
    return result;
  } finally {
    release();
  }
}

/** Put every original a journal moved back where it was, newest move first. */
export async function undoMigration(ctx: Context, journalFile: string): Promise<UndoResult> {
  const release = acquireLock(path.join(journalDir(ctx), '.lock'), 'immich storage migrate --undo');
  try {
    const j = readJournal(journalFile);
    const restored: UndoResult['restored'] = [];
    const failed: UndoResult['failed'] = [];
    for (let i = j.moves.length - 1; i >= 0; i--) {
      if (j.undone.has(i)) continue;
      const m = j.moves[i]!;
      // A move the killed run never started has nothing to undo; one it half-did is undone all the same.
      const now = await rowPath(ctx, m.assetId);
      if (now === m.from && !(await exists(ctx.library.resolve(m.to)))) continue;
      try {
        await moveOne(ctx, m, m.to, m.from, m.sidecarTo, m.sidecarFrom);
        await appendLine(j.file, { undone: i });
        restored.push({ assetId: m.assetId, from: m.to, to: m.from });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw err;
        failed.push({ assetId: m.assetId, path: m.to, reason: errorMessage(err) });
      }
    }
    if (!failed.length) await appendLine(j.file, { end: 'undo' });
    return { journal: j.file, restored, failed };
  } finally {
    release();
  }
}
