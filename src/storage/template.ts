// The one path template language, shared by the library's storage template (IMMICH_STORAGE_TEMPLATE,
// `immich storage migrate`) and `immich export --directory/--filename`. Immich's tokens
// ({{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}) plus metadata tokens, a default after a comma
// ({{album,Unsorted}}), and multi-valued tokens (album, person, tag) that expand to one path per
// value. Pure: no I/O, so every rule below is unit-tested.
//
// Output is always a safe relative path: values cannot add separators (but an album's path keeps its
// folders: {{album}} of Lisbon in Trips/2024 is 'Trips/2024/Lisbon'), `..`, control characters or an
// absolute root; the template's own literal text is checked once, when it is parsed.
import { UsageError } from '../errors.js';

export const DATE_TOKENS = ['y', 'yy', 'M', 'MM', 'MMM', 'MMMM', 'd', 'dd', 'h', 'hh', 'H', 'HH', 'm', 'mm', 's', 'ss', 'a'] as const;
export const VALUE_TOKENS = [
  'filename', 'ext', 'filetype', 'filetypefull', 'assetId', 'make', 'model', 'lens', 'city', 'country', 'rating', 'description',
] as const;
export const MULTI_TOKENS = ['album', 'person', 'tag'] as const;
export const TEMPLATE_TOKENS: readonly string[] = [...DATE_TOKENS, ...VALUE_TOKENS, ...MULTI_TOKENS];

type MultiToken = (typeof MULTI_TOKENS)[number];

export type TemplatePart = { literal: string } | { token: string; fallback?: string };

export interface Template {
  source: string;
  parts: TemplatePart[];
}

/** A template that cannot be used: a usage error (exit 2), whether it came from a flag or the environment. */
export class TemplateError extends UsageError {}

/** What a template can say about one asset. Absent values render as the token's default, or nothing. */
export interface TemplateValues {
  /** Local wall-clock capture time (its UTC fields are read as the local time). */
  date: Date;
  /** The original file name, with its extension. */
  originalName: string;
  type: 'image' | 'video';
  assetId: string;
  make?: string | null;
  model?: string | null;
  lens?: string | null;
  city?: string | null;
  country?: string | null;
  rating?: number | null;
  description?: string | null;
  /** Album paths, names joined by '/' ('Trips/2024/Lisbon'). */
  albums?: readonly string[];
  people?: readonly string[];
  tags?: readonly string[];
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** Room left in a 255-byte name for an extension and a collision suffix. */
const MAX_SEGMENT_BYTES = 200;

export function parseTemplate(source: string): Template {
  if (!source.trim()) throw new TemplateError('template is empty');
  const parts: TemplatePart[] = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open < 0) {
      parts.push({ literal: source.slice(i) });
      break;
    }
    if (open > i) parts.push({ literal: source.slice(i, open) });
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError(`unclosed "{{" at position ${open + 1}`);
    const body = source.slice(open + 2, close);
    const comma = body.indexOf(',');
    const token = (comma < 0 ? body : body.slice(0, comma)).trim();
    if (!TEMPLATE_TOKENS.includes(token)) {
      throw new TemplateError(`unknown token {{${token}}} (known: ${TEMPLATE_TOKENS.map((t) => `{{${t}}}`).join(' ')})`);
    }
    parts.push(comma < 0 ? { token } : { token, fallback: body.slice(comma + 1) });
    i = close + 2;
  }
  for (const p of parts) {
    if (!('literal' in p)) continue;
    if (p.literal.includes('}}')) throw new TemplateError('"}}" without "{{"');
    if (p.literal.includes('\\')) throw new TemplateError('use "/" to separate folders, not "\\"');
    if (/[\x00-\x1f\x7f]/.test(p.literal)) throw new TemplateError('control characters are not allowed');
  }
  const first = parts[0];
  if (first && 'literal' in first && first.literal.startsWith('/')) throw new TemplateError('template must be a relative path (no leading "/")');
  // `..` in the literal text: checked on the text with every token replaced by a placeholder.
  const shape = parts.map((p) => ('literal' in p ? p.literal : 'x')).join('');
  if (shape.split('/').some((seg) => seg === '..' || seg === '.')) throw new TemplateError('"." and ".." segments are not allowed');
  return { source, parts };
}

/** A value made safe to sit inside one path segment. */
export function sanitizeValue(value: string): string {
  return value
    .normalize('NFC')
    .replace(/[\x00-\x1f\x7f]/g, '')
    .replace(/[/\\]/g, '_')
    .trim();
}

function truncateBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** The extension of a file name without its dot ('' when none). */
export function extOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1) : '';
}

function dateToken(token: string, d: Date): string {
  const h = d.getUTCHours();
  switch (token) {
    case 'y': return pad(d.getUTCFullYear(), 4);
    case 'yy': return pad(d.getUTCFullYear() % 100);
    case 'M': return String(d.getUTCMonth() + 1);
    case 'MM': return pad(d.getUTCMonth() + 1);
    case 'MMM': return MONTHS[d.getUTCMonth()]!.slice(0, 3);
    case 'MMMM': return MONTHS[d.getUTCMonth()]!;
    case 'd': return String(d.getUTCDate());
    case 'dd': return pad(d.getUTCDate());
    // Luxon's (and so Immich's) h/hh are the 12-hour clock, H/HH the 24-hour one.
    case 'h': return String(h % 12 || 12);
    case 'hh': return pad(h % 12 || 12);
    case 'H': return String(h);
    case 'HH': return pad(h);
    case 'm': return String(d.getUTCMinutes());
    case 'mm': return pad(d.getUTCMinutes());
    case 's': return String(d.getUTCSeconds());
    case 'ss': return pad(d.getUTCSeconds());
    case 'a': return h < 12 ? 'AM' : 'PM';
  }
  throw new TemplateError(`unknown date token ${token}`);
}

function singleValue(token: string, v: TemplateValues): string | undefined {
  if ((DATE_TOKENS as readonly string[]).includes(token)) return dateToken(token, v.date);
  const str = (x: string | null | undefined) => (x === null || x === undefined || x.trim() === '' ? undefined : x);
  switch (token) {
    case 'filename': return str(stemOf(v.originalName));
    case 'ext': return str(extOf(v.originalName));
    case 'filetype': return v.type === 'video' ? 'VID' : 'IMG';
    case 'filetypefull': return v.type === 'video' ? 'VIDEO' : 'IMAGE';
    case 'assetId': return v.assetId;
    case 'make': return str(v.make);
    case 'model': return str(v.model);
    case 'lens': return str(v.lens);
    case 'city': return str(v.city);
    case 'country': return str(v.country);
    case 'rating': return v.rating === null || v.rating === undefined ? undefined : String(v.rating);
    case 'description': return str(v.description);
  }
  throw new TemplateError(`unknown token ${token}`);
}

/** An album's path ('Trips/2024/Lisbon'): its folders are kept, each name made safe on its own. */
function albumPathValue(p: string): string {
  return p.split('/').map(sanitizeValue).filter(Boolean).join('/');
}

function multiValues(token: MultiToken, v: TemplateValues): string[] {
  const list = token === 'album' ? v.albums : token === 'person' ? v.people : v.tags;
  const safe = token === 'album' ? albumPathValue : sanitizeValue;
  // Sorted and unique: the expansion (and so collision numbering) does not depend on query order.
  return [...new Set((list ?? []).map(safe).filter(Boolean))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Split into segments, drop empty ones, refuse what could leave the destination. */
function normalize(rendered: string): string | undefined {
  const segs = rendered
    .split('/')
    .map((s) => truncateBytes(s.trim(), MAX_SEGMENT_BYTES))
    .filter((s) => s !== '');
  if (!segs.length) return undefined;
  // A value alone in a segment can still be "." or ".." (a person named ".."): never a path step.
  return segs.map((s) => (s === '.' || s === '..' ? s.replace(/\./g, '_') : s)).join('/');
}

/**
 * Every path the template gives for this asset, without extension, in a stable order. Multi-valued
 * tokens give one path per value (a template with two of them, one per combination); an absent value
 * takes the token's default, and a segment left empty disappears. Never returns an empty list: a
 * template that renders to nothing gives the original file name's stem.
 */
export function renderTemplate(tpl: Template, v: TemplateValues): string[] {
  let acc: string[] = [''];
  for (const part of tpl.parts) {
    if ('literal' in part) {
      acc = acc.map((a) => a + part.literal);
      continue;
    }
    const fallback = part.fallback === undefined ? undefined : sanitizeValue(part.fallback);
    let values: string[];
    if ((MULTI_TOKENS as readonly string[]).includes(part.token)) {
      values = multiValues(part.token as MultiToken, v);
      if (!values.length) values = [fallback ?? ''];
    } else {
      const one = singleValue(part.token, v);
      values = [one === undefined ? fallback ?? '' : sanitizeValue(one)];
    }
    acc = acc.flatMap((a) => values.map((x) => a + x));
  }
  const out: string[] = [];
  for (const a of acc) {
    const n = normalize(a);
    if (n !== undefined && !out.includes(n)) out.push(n);
  }
  return out.length ? out : [normalize(sanitizeValue(stemOf(v.originalName))) ?? v.assetId];
}

/**
 * Relative paths (with extension) of one asset under a directory and a file name template.
 * `ext` is without its dot; '' keeps the name as rendered.
 */
export function renderPaths(dir: Template | undefined, file: Template, v: TemplateValues, ext: string): string[] {
  const dirs = dir ? renderTemplate(dir, v) : [''];
  const names = renderTemplate(file, v).map((n) => n.split('/').join('_'));
  const out: string[] = [];
  for (const d of dirs) for (const n of names) {
    const p = (d ? `${d}/` : '') + (ext ? `${n}.${ext}` : n);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** The n-th name for a path whose first choice is taken: `a.jpg`, `a-1.jpg`, `a-2.jpg`... */
export function collisionName(rel: string, n: number): string {
  if (n === 0) return rel;
  const slash = rel.lastIndexOf('/');
  const base = rel.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  const named = dot > 0 ? `${base.slice(0, dot)}-${n}${base.slice(dot)}` : `${base}-${n}`;
  return rel.slice(0, slash + 1) + named;
}

/**
 * Immich's default storage template. The extension is not part of a template: like Immich, the
 * original's extension is appended to the rendered path.
 */
export const DEFAULT_STORAGE_TEMPLATE = '{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}';

/** A storage template's path of one original, relative to uploads/, with the original's extension. */
export function storagePath(tpl: Template, v: TemplateValues): string {
  const rel = renderTemplate(tpl, v)[0]!;
  const ext = extOf(v.originalName);
  return ext ? `${rel}.${ext}` : rel;
}

/** The storage template from IMMICH_STORAGE_TEMPLATE; a bad one is a usage error at start-up. */
export function storageTemplateFrom(raw: Readonly<Record<string, string>>): Template {
  const source = raw.IMMICH_STORAGE_TEMPLATE?.trim() || DEFAULT_STORAGE_TEMPLATE;
  let tpl: Template;
  try {
    tpl = parseTemplate(source);
  } catch (err) {
    throw new TemplateError(`IMMICH_STORAGE_TEMPLATE: ${(err as Error).message}`);
  }
  // One file has one place in the library: a token with one path per value has no single answer.
  if (tpl.parts.some((p) => 'token' in p && (MULTI_TOKENS as readonly string[]).includes(p.token) && p.token !== 'album')) {
    throw new TemplateError('IMMICH_STORAGE_TEMPLATE: {{person}} and {{tag}} have several values per photo; use them in export templates');
  }
  return tpl;
}
