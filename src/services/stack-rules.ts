// Which assets belong in one stack: pure rules, no I/O (tested in test/unit/stack-rules.test.ts).
// - raw-jpeg / heic-jpeg: one shot saved twice, same base name (same folder, or taken within 2 s);
// - bursts: vendor burst names (Pixel .RAW-01.COVER / .RAW-02.ORIGINAL, Samsung _001.._COVER, Huawei
//   _BURST001_COVER, Sony _BURST<time>), the iPhone's BurstUUID, and shots of one camera less than 1 s
//   apart;
// - edits: `IMG_1.jpg` and its edited copy `IMG_1-edited.jpg` (and the localised suffixes Google
//   Photos and Takeout write).
// Rules give edges; connected components are the stacks (a burst of RAW+JPEG pairs is one stack).
import path from 'node:path';

export type StackRule = 'raw-jpeg' | 'heic-jpeg' | 'burst' | 'edit';
export const STACK_RULES: readonly StackRule[] = ['raw-jpeg', 'heic-jpeg', 'burst', 'edit'];

export interface StackCandidate {
  id: string;
  /** The file's path where it was imported from (its folder and name as the camera wrote them). */
  originalPath: string;
  type: 'image' | 'video';
  /** Capture time in ms since the epoch (null when unknown). */
  takenAt: number | null;
  make: string | null;
  model: string | null;
  /** Apple BurstUUID (EXIF maker note). */
  burstId: string | null;
  /** The stack the asset is in already. */
  stackId?: string | null;
}

export interface ProposedStack {
  /** Members, the primary first. */
  ids: string[];
  primary: string;
  rules: StackRule[];
  /** Existing stack the new members join (one member was stacked already). */
  joins?: string;
}

export const RAW_EXTENSIONS = new Set([
  '3fr', 'ari', 'arw', 'cr2', 'cr3', 'crw', 'dcr', 'dng', 'erf', 'fff', 'iiq', 'k25', 'kdc', 'mef', 'mos', 'mrw',
  'nef', 'nrw', 'orf', 'pef', 'raf', 'raw', 'rw2', 'rwl', 'sr2', 'srf', 'srw', 'x3f',
]);
const JPEG_EXTENSIONS = new Set(['jpg', 'jpeg', 'jpe']);
const HEIC_EXTENSIONS = new Set(['heic', 'heif', 'hif']);

/** Suffixes of edited copies: Google Photos / Takeout in its languages, Immich, Apple exports. */
export const EDIT_SUFFIXES = [
  'edited', 'modifié', 'modifie', 'bearbeitet', 'modificato', 'editado', 'editada', 'bewerkt', 'edytowane',
  'redigeret', 'redigerad', 'redigert', 'muokattu', 'upraveno', 'szerkesztett', 'düzenlendi', 'изменено',
  '編集済み', '已编辑', '編集', 'effect', 'edit',
];
const EDIT_RE = new RegExp(`^(.+?)[-_ ](?:${EDIT_SUFFIXES.map((s) => s.normalize('NFC')).join('|')})(?:\\(\\d+\\))?$`, 'iu');

/** Max time between a RAW and its JPEG/HEIC when they come from different folders. */
const PAIR_MAX_MS = 2000;
/** Shots of one camera closer than this are one burst. */
export const BURST_MAX_GAP_MS = 1000;

export function extOf(file: string): string {
  return path.extname(file).slice(1).toLowerCase();
}

/** Name without its extension, NFC-normalised (macOS writes NFD), lower case. */
function stemOf(file: string): string {
  const base = path.basename(file).normalize('NFC');
  const ext = path.extname(base);
  return base.slice(0, base.length - ext.length).toLowerCase();
}

/** A candidate with its name parts, split once (100k assets: not once per rule), and its index. */
interface Item {
  c: StackCandidate;
  idx: number;
  stem: string;
  ext: string;
  dir: string;
}

export interface BurstName {
  /** Key shared by the shots of one burst (folder-independent). */
  key: string;
  /** This shot is the burst's cover (the one the phone shows). */
  cover: boolean;
  /** Position in the burst when the name says it. */
  seq: number;
}

/**
 * The burst a file name belongs to, by vendor convention:
 * Pixel    PXL_20230330_184138390.RAW-01.MP.COVER.jpg, PXL_20230330_184138390.RAW-02.ORIGINAL.dng
 * Samsung  20231207_101605_001.jpg … 20231207_101605_012_COVER.jpg
 * Huawei   IMG_20231014_183246_BURST001_COVER.jpg, IMG_20231014_183246_BURST002.jpg
 * Sony     DSC_0001_BURST20230709220242446.JPG, DSC_0002_BURST20230709220242446_COVER.JPG
 */
export function burstName(file: string): BurstName | undefined {
  const base = path.basename(file);
  let m = /^(.+?)\.RAW-(\d+)\.(?:MP\.)?(COVER|ORIGINAL)?/i.exec(base);
  if (m) return { key: `pixel:${m[1]!.toLowerCase()}`, cover: /cover/i.test(m[3] ?? ''), seq: Number(m[2]) };
  m = /^(.*?)_BURST(\d{3})(_COVER)?\.[^.]+$/i.exec(base);
  if (m) return { key: `huawei:${m[1]!.toLowerCase()}`, cover: Boolean(m[3]), seq: Number(m[2]) };
  m = /^(.*?)_BURST(\d{14,17})(_COVER)?\.[^.]+$/i.exec(base);
  if (m) return { key: `sony:${m[2]}`, cover: Boolean(m[3]), seq: Number(/(\d+)$/.exec(m[1]!)?.[1] ?? 0) };
  m = /^(\d{8}_\d{6})_(\d{3})(_COVER)?\.[^.]+$/i.exec(base);
  if (m) return { key: `samsung:${m[1]}`, cover: Boolean(m[3]), seq: Number(m[2]) };
  return undefined;
}

/** The original's base name of an edited copy ('img_1' for 'IMG_1-edited.jpg'), else undefined. */
export function editedOf(file: string): string | undefined {
  return editedStem(stemOf(file));
}

function editedStem(stem: string): string | undefined {
  // Cheap pre-check: the regex only for names with a separator.
  if (!/[-_ ]/.test(stem)) return undefined;
  const m = EDIT_RE.exec(stem);
  return m ? m[1]! : undefined;
}

/**
 * Union-find over candidate indices (typed arrays: at 100k candidates a Map of uuid strings cost
 * most of the rules' CPU time in lookups and garbage).
 */
function unionFind(n: number): { find: (x: number) => number; union: (a: number, b: number) => void } {
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!; // path halving
      x = parent[x]!;
    }
    return x;
  };
  return {
    find,
    union: (a, b) => {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent[rb] = ra;
    },
  };
}

const RULE_BIT: Record<StackRule, number> = { 'raw-jpeg': 1, 'heic-jpeg': 2, burst: 4, edit: 8 };

function groupBy<T>(items: T[], key: (t: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    if (k === undefined) continue;
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

/** Pairs RAW+display format within one base name: same folder, or both dated within 2 s. */
function pairByName(items: Item[], isOther: (ext: string) => boolean, edge: (a: number, b: number) => void): void {
  for (const group of groupBy(items, (i) => i.stem).values()) {
    if (group.length < 2) continue;
    const left = group.filter((i) => isOther(i.ext));
    const right = group.filter((i) => !isOther(i.ext));
    for (const a of left) {
      for (const b of right) {
        const close = a.c.takenAt !== null && b.c.takenAt !== null && Math.abs(a.c.takenAt - b.c.takenAt) <= PAIR_MAX_MS;
        if (a.dir === b.dir || close) edge(a.idx, b.idx);
      }
    }
  }
}

/**
 * The stacks the enabled rules propose. Candidates already in one stack with everything the rules
 * would add are left out; new members of a component with exactly one existing stack join it; a
 * component spanning two existing stacks is left as it is (stacks the user made are not merged).
 */
export function proposeStacks(candidates: StackCandidate[], enabled: ReadonlySet<StackRule> = new Set(STACK_RULES)): ProposedStack[] {
  const uf = unionFind(candidates.length);
  // Per candidate: the rules that gave it an edge (bits of RULE_BIT); 0 = in no stack.
  const ruleBits = new Uint8Array(candidates.length);
  const edgeFor = (rule: StackRule) => {
    const bit = RULE_BIT[rule];
    return (a: number, b: number) => {
      uf.union(a, b);
      ruleBits[a] |= bit;
      ruleBits[b] |= bit;
    };
  };
  const all: Item[] = candidates.map((c, idx) => ({ c, idx, stem: stemOf(c.originalPath), ext: extOf(c.originalPath), dir: path.dirname(c.originalPath) }));
  const images = all.filter((i) => i.c.type === 'image');

  if (enabled.has('raw-jpeg')) {
    const pool = images.filter((i) => RAW_EXTENSIONS.has(i.ext) || JPEG_EXTENSIONS.has(i.ext));
    pairByName(pool, (e) => RAW_EXTENSIONS.has(e), edgeFor('raw-jpeg'));
  }
  if (enabled.has('heic-jpeg')) {
    const pool = images.filter((i) => HEIC_EXTENSIONS.has(i.ext) || JPEG_EXTENSIONS.has(i.ext));
    pairByName(pool, (e) => HEIC_EXTENSIONS.has(e), edgeFor('heic-jpeg'));
  }
  const covers = new Uint8Array(candidates.length);
  if (enabled.has('burst')) {
    const edge = edgeFor('burst');
    const named = new Map<number, BurstName>();
    for (const i of images) {
      const b = burstName(i.c.originalPath);
      if (b) {
        named.set(i.idx, b);
        if (b.cover) covers[i.idx] = 1;
      }
    }
    const chain = (group: Item[]) => { for (let k = 1; k < group.length; k++) edge(group[0]!.idx, group[k]!.idx); };
    for (const group of groupBy(images, (i) => named.get(i.idx)?.key).values()) chain(group);
    for (const group of groupBy(images, (i) => i.c.burstId ?? undefined).values()) chain(group);
    // One camera, consecutive shots less than BURST_MAX_GAP_MS apart.
    const timed = images.filter((i) => i.c.takenAt !== null && i.c.make && i.c.model);
    for (const group of groupBy(timed, (i) => `${i.c.make}\u0000${i.c.model}`).values()) {
      group.sort((a, b) => a.c.takenAt! - b.c.takenAt!);
      for (let k = 1; k < group.length; k++) {
        const [a, b] = [group[k - 1]!, group[k]!];
        // A RAW and its JPEG share the instant: a pair of one shot, not a burst.
        if (a.stem === b.stem) continue;
        if (b.c.takenAt! - a.c.takenAt! < BURST_MAX_GAP_MS) edge(a.idx, b.idx);
      }
    }
  }
  const edited = new Uint8Array(candidates.length);
  if (enabled.has('edit')) {
    const edge = edgeFor('edit');
    const byStem = groupBy(all, (i) => i.stem);
    for (const i of all) {
      const orig = editedStem(i.stem);
      if (!orig) continue;
      const originals = (byStem.get(orig) ?? []).filter((o) => o.c.type === i.c.type);
      // Several files with the original's name: the one in the edited copy's folder.
      const same = originals.filter((o) => o.dir === i.dir);
      const pick = same.length ? same : originals.length === 1 ? originals : [];
      for (const o of pick) edge(o.idx, i.idx);
      if (pick.length) edited[i.idx] = 1;
    }
  }

  const components = new Map<number, Item[]>();
  for (const i of all) {
    if (!ruleBits[i.idx]) continue;
    const root = uf.find(i.idx);
    const list = components.get(root);
    if (list) list.push(i);
    else components.set(root, [i]);
  }
  const out: ProposedStack[] = [];
  for (const members of components.values()) {
    if (members.length < 2) continue;
    const existing = [...new Set(members.map((m) => m.c.stackId).filter((s): s is string => Boolean(s)))];
    if (existing.length > 1) continue;
    if (existing.length === 1 && members.every((m) => m.c.stackId === existing[0])) continue;
    const rank = new Map(members.map((m) => [m.c.id, primaryRank(m, covers, edited)]));
    const ordered = [...members].sort(
      (a, b) =>
        rank.get(a.c.id)! - rank.get(b.c.id)! ||
        (a.c.takenAt ?? Infinity) - (b.c.takenAt ?? Infinity) ||
        (a.c.originalPath < b.c.originalPath ? -1 : a.c.originalPath > b.c.originalPath ? 1 : 0),
    );
    let bits = 0;
    for (const m of members) bits |= ruleBits[m.idx]!;
    const rules = STACK_RULES.filter((r) => bits & RULE_BIT[r]);
    out.push({ ids: ordered.map((m) => m.c.id), primary: ordered[0]!.c.id, rules, ...(existing[0] ? { joins: existing[0] } : {}) });
  }
  return out.sort((a, b) => (a.primary < b.primary ? -1 : 1));
}

/**
 * Lower is a better primary: the burst's cover, then an edited copy (what the user made), then the
 * displayable formats (JPEG, HEIC) over RAW.
 */
function primaryRank({ idx, ext }: Item, covers: Uint8Array, edited: Uint8Array): number {
  if (covers[idx]) return 0;
  if (edited[idx]) return 1;
  if (HEIC_EXTENSIONS.has(ext)) return 2;
  if (JPEG_EXTENSIONS.has(ext)) return 3;
  if (RAW_EXTENSIONS.has(ext)) return 5;
  return 4;
}
