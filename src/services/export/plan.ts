// Pure decisions of `immich export`: which file each selected asset gets, which name a collision
// takes, what is written again, skipped or cleaned up. No I/O: the caller passes what is on disk.
import crypto from 'node:crypto';
import { collisionName } from '../../storage/template.js';
import { STATE_FILE, STATE_LOG, type ExportedFile, type ExportedKind, type ExportState } from './state.js';

/** The layout key stored with each file: a short hash of the options that shape paths. */
export function layoutKey(layoutJson: string): string {
  return crypto.createHash('sha1').update(layoutJson).digest('hex').slice(0, 10);
}

export interface PlanAsset {
  id: string;
  checksum: string;
  editedAt: string | null;
  /** Paths (with extension) the templates give, one per value of a multi-valued token. */
  bases: string[];
  /** The extension of its Live Photo video when --live and it has one. */
  liveExt?: string;
  /** Fingerprints of what its paths and its metadata-carrying files use (fingerprint.ts). */
  pathDeps?: string;
  contentDeps?: string;
}

export interface PlanOptions {
  update: boolean;
  cleanup: boolean;
  /** How originals are made: 'copy', 'link', 'convert:jpeg:90', with '+embed' when metadata is written in. */
  variant: string;
  liveVariant: string;
  sidecar?: 'xmp' | 'json';
}

export type WriteReason = 'new' | 'changed' | 'missing' | 'again';

export interface PlannedFile {
  path: string;
  base: string;
  assetId: string;
  kind: ExportedKind;
  variant: string;
  /** The original file this one belongs to (sidecar, live video): its path. */
  of?: string;
  action: 'write' | 'skip';
  reason?: WriteReason;
  /** What the state had at this path (set for a skipped file: the caller needs no second lookup). */
  prev?: ExportedFile;
  /** The asset it is planned for. */
  asset?: PlanAsset;
}

export interface Plan {
  files: PlannedFile[];
  /** Files this tool wrote that nothing selected maps to any more: removed with --cleanup. */
  stale: ExportedFile[];
}

/** Names a template can never take: the state files themselves. */
const RESERVED = new Set([STATE_FILE, STATE_LOG]);

function stemOf(p: string): string {
  const slash = p.lastIndexOf('/');
  const dot = p.lastIndexOf('.');
  return dot > slash + 1 ? p.slice(0, dot) : p;
}

/** The files that travel with an exported original at `p`. */
export function attachedPaths(p: string, a: Pick<PlanAsset, 'liveExt'>, sidecar: PlanOptions['sidecar']): Array<{ path: string; kind: ExportedKind }> {
  const out: Array<{ path: string; kind: ExportedKind }> = [];
  if (a.liveExt) out.push({ path: `${stemOf(p)}.${a.liveExt}`, kind: 'live' });
  if (sidecar) out.push({ path: `${p}.${sidecar}`, kind: 'sidecar' });
  return out;
}

/**
 * The bases an asset was exported under before, when neither the asset nor the path-shaping options
 * changed: `--update` then needs no template rendering (nor the metadata it would read) for it.
 */
export function unchangedBases(byAsset: Map<string, ExportedFile[]>, a: Omit<PlanAsset, 'bases'>, layout: string): string[] | undefined {
  const prev = byAsset.get(a.id);
  if (!prev) return undefined;
  let bases: string[] | undefined;
  for (const f of prev) {
    if (f.kind !== 'original' || f.layout !== layout) continue;
    if (f.checksum !== a.checksum || f.editedAt !== a.editedAt || (f.pathDeps ?? '') !== (a.pathDeps ?? '')) return undefined;
    if (!bases) bases = [f.base];
    else if (!bases.includes(f.base)) bases.push(f.base);
  }
  return bases;
}

/** The fingerprint a file's bytes depend on: sidecars' and embedded originals' metadata; '' otherwise. */
export function contentDepsOf(f: Pick<PlannedFile, 'kind' | 'variant'>, a: Pick<PlanAsset, 'contentDeps'>): string {
  return f.kind === 'sidecar' || (f.kind === 'original' && f.variant.endsWith('+embed')) ? a.contentDeps ?? '' : '';
}

export function indexByAsset(state: ExportState): Map<string, ExportedFile[]> {
  const m = new Map<string, ExportedFile[]>();
  for (const f of state.files.values()) {
    const list = m.get(f.assetId);
    if (list) list.push(f);
    else m.set(f.assetId, [f]);
  }
  return m;
}

/**
 * The plan. Assets come in a deterministic order (the caller sorts them): a new file whose name is
 * taken gets -1, -2... in that order; a file exported before keeps its name, so numbering never
 * shifts between runs. `sizeOn(path)` is the size of what is on disk there (undefined: nothing).
 */
export function planExport(
  assets: readonly PlanAsset[],
  state: ExportState,
  opts: PlanOptions,
  sizeOn: (p: string) => number | undefined,
  byAsset = indexByAsset(state),
): Plan {
  const assigned = new Set<string>();
  const files: PlannedFile[] = [];
  const free = (p: string) => !RESERVED.has(p) && !assigned.has(p) && !state.files.has(p) && sizeOn(p) === undefined;

  // f is a fresh object: completed in place (100k files: no second object each).
  const decide = (f: PlannedFile, a: PlanAsset): PlannedFile => {
    f.asset = a;
    const prev = state.files.get(f.path);
    const write = (reason: WriteReason) => Object.assign(f, { action: 'write', reason });
    if (!prev || prev.assetId !== a.id || prev.kind !== f.kind) return write('new');
    const size = sizeOn(f.path);
    if (size === undefined || size !== prev.size) return write('missing');
    if (prev.checksum !== a.checksum || prev.editedAt !== a.editedAt || prev.variant !== f.variant) return write('changed');
    if ((prev.deps ?? '') !== contentDepsOf(f, a)) return write('changed');
    if (!opts.update) return write('again');
    f.prev = prev;
    return f;
  };

  const place = (a: PlanAsset, base: string, p: string) => {
    assigned.add(p);
    files.push(decide({ path: p, base, assetId: a.id, kind: 'original', variant: opts.variant, action: 'skip' }, a));
    for (const att of attachedPaths(p, a, opts.sidecar)) {
      assigned.add(att.path);
      files.push(decide({ path: att.path, base: att.path, assetId: a.id, kind: att.kind, variant: att.kind === 'live' ? opts.liveVariant : opts.sidecar!, of: p, action: 'skip' }, a));
    }
  };

  // First the names this tool gave before (stable), then new names in order.
  const pending: Array<{ a: PlanAsset; base: string }> = [];
  for (const a of assets) {
    const prev = byAsset.get(a.id) ?? [];
    for (const base of a.bases) {
      const had = prev.find((f) => f.kind === 'original' && f.base === base && !assigned.has(f.path));
      if (had) place(a, base, had.path);
      else pending.push({ a, base });
    }
  }
  for (const { a, base } of pending) {
    for (let n = 0; ; n++) {
      const cand = collisionName(base, n);
      if (!free(cand) || attachedPaths(cand, a, opts.sidecar).some((att) => !free(att.path))) continue;
      place(a, base, cand);
      break;
    }
  }
  const stale = [...state.files.values()].filter((f) => !assigned.has(f.path));
  return { files, stale };
}
