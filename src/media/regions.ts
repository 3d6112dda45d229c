// Named faces other photo managers leave in a file's metadata: face regions (MWG-RS from
// Lightroom/digiKam/Picasa, MP from Windows Photo Gallery) and Picasa's rect64 in .picasa.ini.
// Pure parsing. (Hierarchical keywords are organize's: src/media/metadata.ts, user tags 'xmp'.)

/** A named face rectangle, normalised to the stored image (0..1, top-left origin). */
export interface FaceRegion {
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v]);
const clamp = (r: FaceRegion): FaceRegion | undefined => {
  const x = Math.max(0, r.x);
  const y = Math.max(0, r.y);
  const w = Math.min(1, r.x + r.w) - x;
  const h = Math.min(1, r.y + r.h) - y;
  return r.name && w > 0 && h > 0 ? { name: r.name, x, y, w, h } : undefined;
};

/** MWG-RS regions: Area X/Y are the centre, W/H the size, all normalised ('normalized' unit). */
function mwgRegions(t: Record<string, unknown>): FaceRegion[] {
  const out: FaceRegion[] = [];
  const info = t.RegionInfo as { RegionList?: unknown } | undefined;
  for (const r of list(info?.RegionList) as Array<Record<string, unknown>>) {
    const area = (r?.Area ?? {}) as Record<string, unknown>;
    if (r?.Type !== undefined && String(r.Type).toLowerCase() !== 'face') continue;
    if (area.Unit !== undefined && String(area.Unit).toLowerCase() !== 'normalized') continue;
    const [x, y, w, h] = [num(area.X), num(area.Y), num(area.W), num(area.H)];
    const name = typeof r.Name === 'string' ? r.Name.trim() : '';
    if (x === undefined || y === undefined || w === undefined || h === undefined) continue;
    const c = clamp({ name, x: x - w / 2, y: y - h / 2, w, h });
    if (c) out.push(c);
  }
  return out;
}

/** Microsoft Photo regions: Rectangle 'x, y, w, h' (top-left, normalised), PersonDisplayName. */
function mpRegions(t: Record<string, unknown>): FaceRegion[] {
  const out: FaceRegion[] = [];
  const info = t.RegionInfoMP as { Regions?: unknown } | undefined;
  for (const r of list(info?.Regions) as Array<Record<string, unknown>>) {
    const rect = String(r?.Rectangle ?? '').split(',').map((s) => num(s));
    const name = typeof r?.PersonDisplayName === 'string' ? r.PersonDisplayName.trim() : '';
    if (rect.length !== 4 || rect.some((v) => v === undefined)) continue;
    const c = clamp({ name, x: rect[0]!, y: rect[1]!, w: rect[2]!, h: rect[3]! });
    if (c) out.push(c);
  }
  return out;
}

/** Named face regions of a file's tags (exiftool with structs); MWG first, MP when there is no MWG. */
export function faceRegions(tags: Record<string, unknown>): FaceRegion[] {
  const mwg = mwgRegions(tags);
  return mwg.length ? mwg : mpRegions(tags);
}

/** Picasa's rect64(hex): four 16-bit numbers left, top, right, bottom over 65535. */
export function parseRect64(hex: string): Omit<FaceRegion, 'name'> | undefined {
  const m = /^rect64\(([0-9a-f]{1,16})\)$/i.exec(hex.trim());
  if (!m) return undefined;
  const v = BigInt(`0x${m[1]}`);
  const part = (shift: bigint) => Number((v >> shift) & 0xffffn) / 65535;
  const [l, t, r, b] = [part(48n), part(32n), part(16n), part(0n)];
  return r > l && b > t ? { x: l, y: t, w: r - l, h: b - t } : undefined;
}

/** Intersection over union of two normalised rectangles. */
export function iou(a: Omit<FaceRegion, 'name'>, b: Omit<FaceRegion, 'name'>): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}
