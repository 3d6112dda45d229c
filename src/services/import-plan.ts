// Pure decisions of `immich import`, kept free of I/O so they can be tested on their own:
// where a file goes in the library, how name collisions are resolved, which stages of an
// already-imported asset still need to run, and which temp files belong to dead runs.
import crypto from 'node:crypto';
import path from 'node:path';
import { ASSET_STAGES, type AssetStage } from '../jobs/types.js';
import { TMP_MARK } from '../storage/atomic.js';
import { storagePath, type Template } from '../storage/template.js';
import { ENTRY_STAGES, nextStages } from './pipeline.js';

export type ImportMode = 'copy' | 'move' | 'in-place';

// The wall-clock date helpers live in storage/wall-clock.ts (export's templates use them without
// loading the import pipeline); re-exported for the importers.
import { calendarDateOf, validDate, wallClockOf, type CalendarDate } from '../storage/wall-clock.js';
export { calendarDateOf, validDate, wallClockOf, type CalendarDate };


/**
 * The library path of a copied or moved original: the storage template (IMMICH_STORAGE_TEMPLATE,
 * Immich's `{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}` by default) under uploads/. `date` is the local
 * wall-clock capture time read through its UTC fields.
 */
export function libraryTarget(tpl: Template, f: { date: Date; name: string; type: 'image' | 'video'; assetId: string; make?: string | null; model?: string | null; lens?: string | null; rating?: number | null; description?: string | null }): string {
  return path.posix.join('uploads', storagePath(tpl, { ...f, originalName: f.name }));
}

/**
 * The asset id of new content, derived from its checksum (UUID-shaped): a storage template with
 * {{assetId}} then names the same path when a killed import runs again, so the placed file is adopted.
 */
export function assetIdFor(sha1: string): string {
  const h = crypto.createHash('sha1').update(`immich-asset:${sha1}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** n-th candidate name in a folder: `IMG_1.jpg`, then `IMG_1+1.jpg`, `IMG_1+2.jpg` (Immich's suffix). */
export function candidateName(name: string, n: number): string {
  if (n === 0) return name;
  const ext = path.extname(name);
  return `${name.slice(0, name.length - ext.length)}+${n}${ext}`;
}

/** Parents of each stage in the pipeline graph for an asset type (from pipeline.nextStages). */
function parentsOf(type: 'image' | 'video'): Map<AssetStage, AssetStage[]> {
  const parents = new Map<AssetStage, AssetStage[]>();
  for (const s of ASSET_STAGES) {
    for (const child of nextStages(s, type)) parents.set(child, [...(parents.get(child) ?? []), s]);
  }
  return parents;
}

/** Stages reachable from the entry stages for this type. */
export function stagesFor(type: 'image' | 'video'): AssetStage[] {
  const out = new Set<AssetStage>();
  const todo: AssetStage[] = [...ENTRY_STAGES];
  while (todo.length) {
    const s = todo.shift()!;
    if (out.has(s)) continue;
    out.add(s);
    todo.push(...nextStages(s, type));
  }
  return [...out];
}

/**
 * The stages to queue for an asset so its pipeline finishes: every stage not 'done' whose
 * parents are all 'done' (its own follow-ups are queued by the processor when it succeeds).
 * 'failed', 'running' (a killed run), 'queued', 'skipped' and missing all count as not done;
 * 'settled' (skipped or failed in an unchanged environment) is not done and not queued either.
 */
export function pendingStages(
  type: 'image' | 'video',
  status: ReadonlyMap<string, string>,
  only?: ReadonlySet<string>,
): AssetStage[] {
  const parents = parentsOf(type);
  const out: AssetStage[] = [];
  for (const s of stagesFor(type)) {
    if (only && !only.has(s)) continue;
    // 'settled': skipped or failed in the current environment (pipeline.loadStageStatus); it would
    // only do the same again.
    if (status.get(s) === 'done' || status.get(s) === 'settled') continue;
    const ps = parents.get(s) ?? [];
    if (ps.every((p) => status.get(p) === 'done')) out.push(s);
  }
  return out;
}

export { tempFileOwner } from '../storage/atomic.js';

/**
 * The name an original gets in the library: its own, except that a name starting with the temp-file
 * mark has its last dash made an underscore (`.immich-tmp_…`), so the stale-temp cleaners can never
 * take an original for a temp file.
 */
export function libraryName(name: string): string {
  return name.startsWith(TMP_MARK) ? `${TMP_MARK.slice(0, -1)}_${name.slice(TMP_MARK.length)}` : name;
}

/** An ordered turnstile: file i passes only after file i-1 passed, so decisions follow walk order. */
export class Turnstile {
  private readonly passed: Array<{ promise: Promise<void>; resolve: () => void }> = [];
  private slot(i: number) {
    let s = this.passed[i];
    if (!s) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      s = this.passed[i] = { promise, resolve };
    }
    return s;
  }
  wait(i: number): Promise<void> {
    return i === 0 ? Promise.resolve() : this.slot(i - 1).promise;
  }
  /**
   * File i is through. A file may be done before its turn (a duplicate, a failure): its slot then
   * opens only once i-1's has, so wait(i+1) still means every earlier file has passed.
   */
  pass(i: number): void {
    const s = this.slot(i);
    if (i === 0) s.resolve();
    else void this.slot(i - 1).promise.then(s.resolve);
  }
}
