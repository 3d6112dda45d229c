// The asset viewer: preview (zoom to the original), video with range requests (the browser's own
// player), the info panel (EXIF, place, people, albums), prev/next with the arrow keys, Esc closes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { escapeControl } from '../storage/display-name.js';
import { api, originalUrl, previewUrl, videoUrl, type Asset, type AssetDetails } from './api.js';
import { describe } from './tiles.js';

export interface ViewerProps {
  list: Asset[];
  index: number;
  onIndex: (i: number) => void;
  onClose: () => void;
  onAction: (ids: string[], action: 'favorite' | 'unfavorite' | 'archive' | 'unarchive' | 'trash' | 'restore') => Promise<void>;
}

const LABELS: Record<string, string> = {
  make: 'Make', model: 'Camera', lens: 'Lens', iso: 'ISO', fNumber: 'Aperture', exposureTime: 'Exposure', focalLength: 'Focal length',
  timeZone: 'Time zone', description: 'Description', videoCodec: 'Video codec', fps: 'Frame rate',
};
const UNITS: Record<string, (v: string | number) => string> = {
  fNumber: (v) => `ƒ/${v}`, focalLength: (v) => `${v} mm`, fps: (v) => `${Math.round(Number(v) * 100) / 100} fps`,
};

function bytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1e3))} KB`;
}

export function Viewer({ list, index, onIndex, onClose, onAction }: ViewerProps) {
  const asset = list[index]!;
  const [details, setDetails] = useState<AssetDetails | null>(null);
  const [zoom, setZoom] = useState(false);
  const dialog = useRef<HTMLDivElement>(null);
  const returnFocus = useRef<Element | null>(document.activeElement);

  useEffect(() => {
    setZoom(false);
    setDetails(null);
    api<AssetDetails>(`/assets/${asset.id}`).then(setDetails, () => undefined);
  }, [asset.id]);

  useEffect(() => {
    dialog.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).tagName === 'INPUT') return;
      if (e.key === 'Escape') onClose();
      else if (e.key === 'ArrowRight' && index < list.length - 1) onIndex(index + 1);
      else if (e.key === 'ArrowLeft' && index > 0) onIndex(index - 1);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [index, list.length]);
  useEffect(() => () => (returnFocus.current as HTMLElement | null)?.focus?.(), []);

  const place = details && [details.place.city, details.place.state, details.place.country].filter(Boolean).join(', ');
  const exif = details ? Object.entries(details.exif).filter(([k, v]) => LABELS[k] && v !== null && v !== '') : [];
  const fav = details?.isFavorite ?? asset.isFavorite;
  return (
    <div class="viewer" role="dialog" aria-modal="true" aria-label={describe(asset)} tabIndex={-1} ref={dialog}>
      <div class="viewer-bar">
        <button onClick={onClose} aria-label="Close (Esc)">✕</button>
        <button onClick={() => onIndex(index - 1)} disabled={index === 0} aria-label="Previous (←)">‹</button>
        <button onClick={() => onIndex(index + 1)} disabled={index >= list.length - 1} aria-label="Next (→)">›</button>
        <span class="spacer">{details ? escapeControl(details.originalName) : ''}</span>
        {asset.type === 'image' && (
          <button onClick={() => setZoom(!zoom)} aria-pressed={zoom}>{zoom ? 'Fit' : 'Zoom to original'}</button>
        )}
        <button onClick={() => onAction([asset.id], fav ? 'unfavorite' : 'favorite').then(() => setDetails(details && { ...details, isFavorite: !fav }))} aria-pressed={fav}>
          {fav ? '♥ Favorite' : '♡ Favorite'}
        </button>
        <button onClick={() => onAction([asset.id], asset.isArchived ? 'unarchive' : 'archive')}>{asset.isArchived ? 'Unarchive' : 'Archive'}</button>
        <button onClick={() => onAction([asset.id], asset.isTrashed ? 'restore' : 'trash').then(onClose)}>{asset.isTrashed ? 'Restore' : 'Trash'}</button>
        <a href={originalUrl(asset.id)} download>Download</a>
      </div>
      <div class="viewer-body">
        <div class={`stage${zoom ? ' zoom' : ''}`}>
          {asset.type === 'video' ? (
            <video key={asset.id} src={videoUrl(asset.id)} controls autoPlay playsInline preload="metadata" aria-label="Video" />
          ) : (
            <img key={`${asset.id}-${zoom}`} src={zoom ? originalUrl(asset.id) : previewUrl(asset.id)} alt={describe(asset)} onDblClick={() => setZoom(!zoom)} />
          )}
        </div>
        <aside class="info" aria-label="Details">
          {details ? (
            <dl>
              <dt>Taken</dt>
              <dd>{new Date(details.takenAt).toLocaleString()}</dd>
              {place && [<dt key="p">Place</dt>, <dd key="pv">{place}</dd>]}
              {details.place.latitude !== null && [
                <dt key="g">GPS</dt>,
                <dd key="gv">{details.place.latitude!.toFixed(5)}, {details.place.longitude!.toFixed(5)}</dd>,
              ]}
              {details.width && [<dt key="s">Size</dt>, <dd key="sv">{details.width} × {details.height}, {bytes(details.fileSize)}</dd>]}
              {exif.map(([k, v]) => [<dt key={k}>{LABELS[k]}</dt>, <dd key={`${k}v`}>{UNITS[k]?.(v!) ?? String(v)}</dd>])}
              {details.people.length > 0 && [<dt key="pe">People</dt>, <dd key="pev">{details.people.map((p) => p.name || 'Unnamed').join(', ')}</dd>]}
              {details.albums.length > 0 && [<dt key="al">Albums</dt>, <dd key="alv">{details.albums.map((a) => a.name).join(', ')}</dd>]}
            </dl>
          ) : (
            <p role="status">Loading…</p>
          )}
        </aside>
      </div>
    </div>
  );
}
