// Which copy of a near-duplicate group to keep, and what the kept copy takes over from the others:
// pure decisions, no I/O (tested in test/unit/duplicate-policy.test.ts). The merge follows Immich's
// duplicates utility: favorite if any copy is, the highest rating, the union of albums and tags,
// descriptions joined, the location only when the copies that have one agree, and people carried
// over to the kept copy's matching (unassigned) faces.
import path from 'node:path';
import { RAW_EXTENSIONS } from './stack-rules.js';

export type KeepPolicy = 'best' | 'largest' | 'oldest' | 'newest';
export const KEEP_POLICIES: readonly KeepPolicy[] = ['best', 'largest', 'oldest', 'newest'];
export type MergeField = 'albums' | 'favorite' | 'rating' | 'description' | 'tags' | 'location' | 'people';
export const MERGE_FIELDS: readonly MergeField[] = ['albums', 'favorite', 'rating', 'description', 'tags', 'location', 'people'];

export interface DupFace {
  id: string;
  personId: string | null;
  /** Box normalised to the image: [x1, y1, x2, y2] in 0..1. */
  box: [number, number, number, number];
}

export interface DupAsset {
  id: string;
  originalName: string;
  width: number | null;
  height: number | null;
  fileSize: number;
  /** Capture time (ms), null when unknown. */
  takenAt: number | null;
  /** The capture time carries its zone. */
  hasZone: boolean;
  latitude: number | null;
  longitude: number | null;
  make: string | null;
  model: string | null;
  /** Import time (ms). */
  importedAt: number;
  isFavorite: boolean;
  /** The user's rating, else the file's (null: none). */
  rating: number | null;
  description: string | null;
  albums: string[];
  /** User tags (ids). */
  tags: string[];
  faces: DupFace[];
}

export interface MergePlan {
  /** Albums the kept copy is added to. */
  albums: string[];
  favorite: boolean;
  /** New rating for the kept copy (undefined: unchanged). */
  rating?: number;
  description?: string;
  tags: string[];
  location?: { latitude: number; longitude: number };
  /** Faces of the kept copy that get the person a trashed copy's same face had. */
  faces: Array<{ faceId: string; personId: string }>;
  /** What the merge left out and why (location disagreement). */
  notes: string[];
}

export interface GroupResolution {
  keep: string;
  others: string[];
  /** Why this copy, in words (shown per group). */
  reason: string;
  merge: MergePlan;
}

/** Formats by preference for `best`: RAW > HEIC > JPEG > WebP > anything else. */
export function formatRank(name: string): number {
  const ext = path.extname(name).slice(1).toLowerCase();
  if (RAW_EXTENSIONS.has(ext)) return 0;
  if (ext === 'heic' || ext === 'heif' || ext === 'hif') return 1;
  if (ext === 'jpg' || ext === 'jpeg' || ext === 'jpe') return 2;
  if (ext === 'webp') return 3;
  return 4;
}

const pixels = (a: DupAsset) => (a.width ?? 0) * (a.height ?? 0);

/** Metadata completeness for `best`: date with zone, GPS, camera (0..3). */
export function completeness(a: DupAsset): number {
  return (a.takenAt !== null && a.hasZone ? 1 : 0) + (a.latitude !== null && a.longitude !== null ? 1 : 0) + (a.make || a.model ? 1 : 0);
}

interface Criterion {
  name: string;
  /** Higher is better. */
  score: (a: DupAsset) => number;
  describe: (a: DupAsset) => string;
}

const fmtDate = (ms: number | null) => (ms === null ? 'no date' : new Date(ms).toISOString().slice(0, 19).replace('T', ' '));

const CRITERIA: Record<string, Criterion> = {
  resolution: { name: 'resolution', score: pixels, describe: (a) => (a.width && a.height ? `${a.width}x${a.height}` : 'unknown size') },
  metadata: {
    name: 'metadata',
    score: completeness,
    describe: (a) => [a.takenAt !== null && a.hasZone ? 'date with zone' : '', a.latitude !== null ? 'GPS' : '', a.make || a.model ? 'camera' : ''].filter(Boolean).join(', ') || 'no date zone, GPS or camera',
  },
  format: { name: 'format', score: (a) => -formatRank(a.originalName), describe: (a) => path.extname(a.originalName).slice(1).toUpperCase() || 'no extension' },
  imported: { name: 'import', score: (a) => -a.importedAt, describe: (a) => `imported ${fmtDate(a.importedAt)}` },
  size: { name: 'file size', score: (a) => a.fileSize, describe: (a) => `${a.fileSize} bytes` },
  oldest: { name: 'date', score: (a) => -(a.takenAt ?? Infinity), describe: (a) => `taken ${fmtDate(a.takenAt)}` },
  newest: { name: 'date', score: (a) => a.takenAt ?? -Infinity, describe: (a) => `taken ${fmtDate(a.takenAt)}` },
  id: { name: 'id', score: () => 0, describe: (a) => a.id },
};

const ORDER: Record<KeepPolicy, string[]> = {
  best: ['resolution', 'metadata', 'format', 'imported'],
  largest: ['size', 'resolution', 'imported'],
  oldest: ['oldest', 'imported'],
  newest: ['newest', 'imported'],
};

/** Pick the copy to keep and say why: the first criterion that sets it apart from the runner-up. */
export function pickKeeper(assets: DupAsset[], policy: KeepPolicy): { keep: DupAsset; reason: string } {
  if (!assets.length) throw new Error('pickKeeper: empty group');
  const crits = ORDER[policy].map((k) => CRITERIA[k]!);
  const cmp = (a: DupAsset, b: DupAsset) => {
    for (const c of crits) {
      const d = c.score(b) - c.score(a);
      if (d !== 0 && !Number.isNaN(d)) return d;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
  const sorted = [...assets].sort(cmp);
  const keep = sorted[0]!;
  const runner = sorted[1];
  if (!runner) return { keep, reason: 'only copy' };
  const decisive = crits.find((c) => c.score(keep) !== c.score(runner));
  const reason = decisive
    ? `${policy}: ${decisive.name} (${decisive.describe(keep)} over ${decisive.describe(runner)})`
    : `${policy}: all equal, first by id`;
  return { keep, reason };
}

/** Two positions closer than this (degrees, ~50 m) are one place. */
const SAME_PLACE_DEG = 0.0005;

function iou(a: DupFace['box'], b: DupFace['box']): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const area = (x: DupFace['box']) => Math.max(0, x[2] - x[0]) * Math.max(0, x[3] - x[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** What the kept copy takes over from the others, for the chosen fields. */
export function planMerge(keep: DupAsset, others: DupAsset[], fields: ReadonlySet<MergeField>): MergePlan {
  const all = [keep, ...others];
  const plan: MergePlan = { albums: [], favorite: false, tags: [], faces: [], notes: [] };
  if (fields.has('albums')) {
    const have = new Set(keep.albums);
    plan.albums = [...new Set(others.flatMap((o) => o.albums))].filter((a) => !have.has(a)).sort();
  }
  if (fields.has('favorite')) plan.favorite = !keep.isFavorite && others.some((o) => o.isFavorite);
  if (fields.has('rating')) {
    const best = Math.max(...all.map((a) => a.rating ?? -Infinity));
    if (Number.isFinite(best) && best !== (keep.rating ?? -Infinity)) plan.rating = best;
  }
  if (fields.has('description')) {
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const a of all) {
      const d = a.description?.trim();
      if (d && !seen.has(d)) {
        seen.add(d);
        parts.push(d);
      }
    }
    const joined = parts.join('\n');
    if (joined && joined !== (keep.description?.trim() ?? '')) plan.description = joined;
  }
  if (fields.has('tags')) {
    const have = new Set(keep.tags);
    plan.tags = [...new Set(others.flatMap((o) => o.tags))].filter((t) => !have.has(t)).sort();
  }
  if (fields.has('location') && (keep.latitude === null || keep.longitude === null)) {
    const placed = others.filter((o) => o.latitude !== null && o.longitude !== null);
    if (placed.length) {
      const first = placed[0]!;
      const agree = placed.every((o) => Math.abs(o.latitude! - first.latitude!) <= SAME_PLACE_DEG && Math.abs(o.longitude! - first.longitude!) <= SAME_PLACE_DEG);
      if (agree) plan.location = { latitude: first.latitude!, longitude: first.longitude! };
      else plan.notes.push(`location not merged: the copies disagree (${placed.length} positions)`);
    }
  }
  if (fields.has('people')) {
    const taken = new Set(keep.faces.map((f) => f.personId).filter(Boolean));
    const free = keep.faces.filter((f) => !f.personId);
    for (const o of others) {
      for (const f of o.faces) {
        if (!f.personId || taken.has(f.personId)) continue;
        // The same face on the kept copy: the unassigned face whose box overlaps most (copies are one picture).
        let best: DupFace | undefined;
        let bestIou = 0.5;
        for (const k of free) {
          const v = iou(k.box, f.box);
          if (v > bestIou) [best, bestIou] = [k, v];
        }
        if (!best) continue;
        plan.faces.push({ faceId: best.id, personId: f.personId });
        taken.add(f.personId);
        free.splice(free.indexOf(best), 1);
      }
    }
  }
  return plan;
}

export function resolveGroup(assets: DupAsset[], policy: KeepPolicy, fields: ReadonlySet<MergeField>): GroupResolution {
  const { keep, reason } = pickKeeper(assets, policy);
  const others = assets.filter((a) => a.id !== keep.id);
  return { keep: keep.id, others: others.map((o) => o.id), reason, merge: planMerge(keep, others, fields) };
}

/** `--merge albums,rating` (or `all`, or `none`) → the set of fields; throws on unknown names. */
export function parseMergeFields(text: string | undefined): Set<MergeField> {
  if (text === undefined || text === 'all') return new Set(MERGE_FIELDS);
  if (text === 'none' || text === '') return new Set();
  const out = new Set<MergeField>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(MERGE_FIELDS as readonly string[]).includes(part)) throw new Error(`unknown merge field ${part} (use ${MERGE_FIELDS.join(', ')}, all or none)`);
    out.add(part as MergeField);
  }
  return out;
}
