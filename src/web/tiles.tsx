// Thumbnails: a tile (thumbhash placeholder, lazy thumbnail, select box) and a plain grid.
import { thumbHashToDataURL } from 'thumbhash';
import type { Asset } from './api.js';
import { thumbUrl } from './api.js';

const placeholders = new Map<string, string>();

/** The thumbhash as an image (decoded once per asset and kept). */
function placeholder(a: Asset): string | undefined {
  if (!a.thumbhash) return undefined;
  let url = placeholders.get(a.id);
  if (!url) {
    try {
      const bytes = Uint8Array.from(atob(a.thumbhash), (c) => c.charCodeAt(0));
      url = thumbHashToDataURL(bytes);
    } catch {
      url = '';
    }
    placeholders.set(a.id, url);
  }
  return url || undefined;
}

export function describe(a: Asset): string {
  const when = new Date(a.takenAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return `${a.type === 'video' ? 'Video' : 'Photo'}, ${when}${a.isFavorite ? ', favorite' : ''}`;
}

function duration(s: number | null): string {
  if (!s) return '';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`;
}

export interface TileProps {
  asset: Asset;
  size: number;
  style?: Record<string, string | number>;
  /** listitem inside a Grid's list; the timeline's tiles sit among month headings. */
  role?: 'listitem' | 'group';
  selected: boolean;
  onOpen: (a: Asset) => void;
  onSelect: (a: Asset, on: boolean) => void;
}

export function Tile({ asset, size, style, role = 'listitem', selected, onOpen, onSelect }: TileProps) {
  const ph = placeholder(asset);
  return (
    <div class={`tile${selected ? ' selected' : ''}`} style={{ width: `${size}px`, height: `${size}px`, ...style }} role={role}>
      <button
        class="open"
        aria-label={describe(asset)}
        data-asset-id={asset.id}
        onClick={() => onOpen(asset)}
        style={ph ? { backgroundImage: `url(${ph})` } : undefined}
      >
        <img src={thumbUrl(asset.id)} alt="" loading="lazy" decoding="async" onError={(e) => ((e.currentTarget as HTMLImageElement).style.visibility = 'hidden')} />
        {asset.type === 'video' && <span class="badge" aria-hidden="true">▶ {duration(asset.duration)}</span>}
        {asset.isFavorite && <span class="fav" aria-hidden="true">♥</span>}
      </button>
      <input
        type="checkbox"
        class="pick"
        aria-label={`Select ${describe(asset)}`}
        checked={selected}
        onChange={(e) => onSelect(asset, (e.currentTarget as HTMLInputElement).checked)}
      />
    </div>
  );
}

export function Grid(props: { assets: Asset[]; selected: Set<string>; onOpen: (a: Asset) => void; onSelect: (a: Asset, on: boolean) => void; label: string }) {
  return (
    <div class="grid" role="list" aria-label={props.label}>
      {props.assets.map((a) => (
        <Tile key={a.id} asset={a} size={180} selected={props.selected.has(a.id)} onOpen={props.onOpen} onSelect={props.onSelect} />
      ))}
    </div>
  );
}
