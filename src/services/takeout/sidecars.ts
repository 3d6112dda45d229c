// Which Google Takeout JSON sidecar belongs to which media file: a pure function of the names in
// one folder (all zip parts of an export merged), so every rule is tested on its own.
//
// Google derives a sidecar's name from the media's name, so the matching goes that way too: for
// each media file the names its sidecar can have are generated and looked up exactly. Nothing is
// matched by prefix, so look-alike names (PXL_20211013_220651983.jpg / ..._220651958.jpg) never
// share a sidecar. The naming rules, from real exports (immich-go, ente, GooglePhotosTakeoutHelper
// issue trackers):
// - `IMG_1.jpg.json`, and since 2024 `IMG_1.jpg.supplemental-metadata.json`;
// - the part before `.json` is cut to 46 UTF-16 units (an emoji counts 2), `.json` is kept, so
//   `.supplemental-metadata` is cut to any prefix (`.supplemen`, `.s`, `.`) or disappears with the
//   end of a long name; a few exports cut at 47;
// - a duplicate's index moves behind the cut name: `IMG_1(1).HEIC` ↔ `IMG_1.HEIC(1).json`,
//   `IMG_1.HEIC.supplemental-metadata(1).json`;
// - some sidecars lack the media's extension (`IMG_1.json` for `IMG_1.jpg`);
// - an edited copy (`IMG_1-edited.jpg`, localised suffix) has no sidecar of its own: it shares the
//   original's;
// - a Live Photo's video (`IMG_1.MP4`) shares the still's (`IMG_1.HEIC.json`), index included.
// Last resort: a sidecar nobody claimed whose `title` (the original name) is this media's name.

/** Suffixes Google Photos appends to an edited copy, by interface language. */
export const EDITED_SUFFIXES = [
  'edited', // en
  'modifié', // fr
  'bearbeitet', // de
  'modificato', // it
  'editado', // es, pt
  'bewerkt', // nl
  'redigerad', // sv
  'redigeret', // da
  'redigert', // nb
  'muokattu', // fi
  'edytowane', // pl
  'upraveno', // cs
  'upravené', // sk
  'szerkesztett', // hu
  'editat', // ro
  'düzenlendi', // tr
  'отредактировано', // ru
  '編集済み', // ja
  '已编辑', // zh-CN
  '已編輯', // zh-TW
  '편집됨', // ko
];

const SUPPLEMENTAL = '.supplemental-metadata';
const VIDEO_EXTS = new Set(['.mp4', '.mov', '.m4v', '.3gp', '.mkv', '.avi', '.webm', '.mts', '.m2ts', '.wmv', '.mpg', '.mpeg', '.flv']);

/** Cut to `units` UTF-16 code units without leaving half an emoji (a lone surrogate cannot be stored). */
export function cutUnits(s: string, units: number): string {
  if (s.length <= units) return s;
  let cut = s.slice(0, units);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut;
}

function extOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot) : '';
}

/** `IMG_1(1).HEIC` → { base: 'IMG_1.HEIC', index: '(1)' }; no index → index ''. */
export function splitIndex(name: string): { base: string; index: string } {
  const ext = extOf(name);
  const stem = name.slice(0, name.length - ext.length);
  const m = /^(.+)(\(\d+\))$/.exec(stem);
  return m ? { base: m[1]! + ext, index: m[2]! } : { base: name, index: '' };
}

/** The original's name of an edited copy (`IMG_1-bearbeitet.jpg` → `IMG_1.jpg`), else undefined. */
export function uneditedName(name: string): string | undefined {
  const ext = extOf(name);
  const stem = name.slice(0, name.length - ext.length);
  for (const suffix of EDITED_SUFFIXES) {
    const tail = `-${suffix}`;
    if (stem.length > tail.length && stem.toLowerCase().endsWith(tail.toLowerCase())) return stem.slice(0, -tail.length) + ext;
  }
  return undefined;
}

/** Sidecar names Google gives a media file named `base` (index already removed), most likely first. */
function namesFor(base: string, index: string): string[] {
  const out: string[] = [];
  const ext = extOf(base);
  const stem = ext ? base.slice(0, -ext.length) : base;
  for (const units of [46, 47]) {
    out.push(`${cutUnits(base + SUPPLEMENTAL, units)}${index}.json`, `${cutUnits(base, units)}${index}.json`);
  }
  if (ext) for (const units of [46, 47]) out.push(`${cutUnits(stem + SUPPLEMENTAL, units)}${index}.json`, `${cutUnits(stem, units)}${index}.json`);
  return [...new Set(out)];
}

export interface FolderMatch {
  /** media name → sidecar name (several media may share one sidecar). */
  sidecarOf: Map<string, string>;
  /** How each match was made: 'name', 'edited', 'live-photo', 'title'. */
  how: Map<string, 'name' | 'edited' | 'live-photo' | 'title'>;
  /** Sidecars no media file claimed. */
  unclaimed: string[];
}

/**
 * Match the media files of one folder with the sidecar JSONs of the same folder. `titles` gives a
 * sidecar's `title` field (the original file name), used only for media no name rule matched.
 */
export function matchFolder(media: readonly string[], sidecars: readonly string[], titles: ReadonlyMap<string, string> = new Map()): FolderMatch {
  // Zip names from macOS may be decomposed (NFD): compare composed names, answer with the real ones.
  const byNfc = new Map<string, string>();
  for (const s of sidecars) byNfc.set(s.normalize('NFC'), s);
  const sidecarOf = new Map<string, string>();
  const how: FolderMatch['how'] = new Map();

  const isVideo = (m: string) => VIDEO_EXTS.has(extOf(m).toLowerCase());
  // Stills first: a Live Photo's video then finds its still's sidecar.
  const ordered = [...media].sort((a, b) => Number(isVideo(a)) - Number(isVideo(b)));
  for (const m of ordered) {
    const name = m.normalize('NFC');
    const { base, index } = splitIndex(name);
    let found = namesFor(base, index).map((n) => byNfc.get(n)).find((s) => s !== undefined);
    if (found) {
      sidecarOf.set(m, found);
      how.set(m, 'name');
      continue;
    }
    const original = uneditedName(base);
    if (original) {
      found = namesFor(original, index).map((n) => byNfc.get(n)).find((s) => s !== undefined);
      if (found) {
        sidecarOf.set(m, found);
        how.set(m, 'edited');
        continue;
      }
    }
    if (isVideo(m)) {
      // The still of a Live Photo: same stem, same index, not a video, matched already.
      const stem = base.slice(0, base.length - extOf(base).length);
      const still = ordered.find((o) => {
        if (isVideo(o) || !sidecarOf.has(o)) return false;
        const s = splitIndex(o.normalize('NFC'));
        return s.index === index && s.base.slice(0, s.base.length - extOf(s.base).length) === stem;
      });
      if (still) {
        sidecarOf.set(m, sidecarOf.get(still)!);
        how.set(m, 'live-photo');
      }
    }
  }

  // Titles: only for sidecars no rule claimed, and only where exactly one such sidecar names the file.
  const claimed = new Set(sidecarOf.values());
  const byTitle = new Map<string, string[]>();
  for (const s of sidecars) {
    const t = titles.get(s);
    if (!t || claimed.has(s)) continue;
    const k = t.normalize('NFC');
    byTitle.set(k, [...(byTitle.get(k) ?? []), s]);
  }
  for (const m of ordered) {
    if (sidecarOf.has(m)) continue;
    const hits = byTitle.get(m.normalize('NFC'));
    if (hits?.length === 1 && !claimed.has(hits[0]!)) {
      sidecarOf.set(m, hits[0]!);
      how.set(m, 'title');
      claimed.add(hits[0]!);
    }
  }
  return { sidecarOf, how, unclaimed: sidecars.filter((s) => !claimed.has(s)) };
}
