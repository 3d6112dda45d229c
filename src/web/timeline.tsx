// The timeline: months newest first, virtualised. Each month's height is known from its count
// before its assets are fetched, so the scroll height is right at once and only the months (and
// within them the rows) near the viewport are fetched and put in the page: 100k assets stay smooth.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, type Asset, type Bucket, type Filter } from './api.js';
import { Tile } from './tiles.js';

const HEADER = 52;
const GAP = 4;
const OVERSCAN = 800;

export interface TimelineProps {
  filter: Filter;
  selected: Set<string>;
  onOpen: (a: Asset, list: Asset[]) => void;
  onSelect: (a: Asset, on: boolean) => void;
  /** Bumped by the app after changes (favorite, trash...) to fetch again. */
  version: number;
}

function monthLabel(b: string): string {
  const [y, m] = b.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, 1)).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

export function Timeline({ filter, selected, onOpen, onSelect, version }: TimelineProps) {
  const [buckets, setBuckets] = useState<Bucket[] | null>(null);
  const [assets, setAssets] = useState<Map<string, Asset[]>>(new Map());
  const [width, setWidth] = useState(800);
  const [view, setView] = useState({ top: 0, bottom: 2000 });
  const root = useRef<HTMLElement>(null);
  const loading = useRef(new Set<string>());

  useEffect(() => {
    setBuckets(null);
    setAssets(new Map());
    loading.current.clear();
    api<Bucket[]>(`/timeline/buckets?filter=${filter}`).then(setBuckets, () => setBuckets([]));
  }, [filter, version]);

  useEffect(() => {
    const measure = () => {
      const el = root.current;
      if (!el) return;
      const r = el.getBoundingClientRect();
      setWidth(el.clientWidth);
      setView({ top: -r.top - OVERSCAN, bottom: -r.top + window.innerHeight + OVERSCAN });
    };
    measure();
    let frame = 0;
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), measure()));
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    window.addEventListener('resize', onScroll);
    return () => {
      window.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onScroll);
    };
  }, [buckets]);

  const cols = Math.max(2, Math.floor(width / 190));
  const size = Math.floor((width - GAP * (cols - 1)) / cols);
  const layout = useMemo(() => {
    let y = 0;
    return (buckets ?? []).map((b) => {
      const rows = Math.ceil(b.count / cols);
      const top = y;
      const height = HEADER + rows * (size + GAP);
      y += height;
      return { bucket: b, top, height, rows };
    });
  }, [buckets, cols, size]);
  const total = layout.length ? layout[layout.length - 1]!.top + layout[layout.length - 1]!.height : 0;
  const visible = layout.filter((s) => s.top + s.height > view.top && s.top < view.bottom);

  useEffect(() => {
    for (const s of visible) {
      const key = s.bucket.timeBucket;
      if (assets.has(key) || loading.current.has(key)) continue;
      loading.current.add(key);
      api<Asset[]>(`/timeline/bucket?timeBucket=${key}&filter=${filter}`).then((list) =>
        setAssets((prev) => new Map(prev).set(key, list)),
      );
    }
  });

  if (buckets === null) return <p role="status">Loading…</p>;
  if (!buckets.length) return <p role="status">{filter === 'timeline' ? 'No photos yet: import some with immich import, or upload with Immich\'s CLI.' : 'Nothing here.'}</p>;

  // Viewer order: every loaded month, newest first.
  const open = (a: Asset) => onOpen(a, layout.flatMap((s) => assets.get(s.bucket.timeBucket) ?? []));
  return (
    <section ref={root} class="timeline" style={{ height: `${total}px` }} aria-label="Timeline">
      {visible.map((s) => {
        const list = assets.get(s.bucket.timeBucket);
        const firstRow = Math.max(0, Math.floor((view.top - s.top - HEADER) / (size + GAP)));
        const lastRow = Math.min(s.rows - 1, Math.ceil((view.bottom - s.top - HEADER) / (size + GAP)));
        const tiles = [];
        for (let r = firstRow; r <= lastRow; r++) {
          for (let c = 0; c < cols; c++) {
            const i = r * cols + c;
            if (i >= s.bucket.count) break;
            const style = { position: 'absolute', top: `${s.top + HEADER + r * (size + GAP)}px`, left: `${c * (size + GAP)}px` };
            const a = list?.[i];
            tiles.push(
              a ? (
                <Tile key={a.id} asset={a} size={size} style={style} role="group" selected={selected.has(a.id)} onOpen={open} onSelect={onSelect} />
              ) : (
                <div key={`${s.bucket.timeBucket}-${i}`} class="tile loading" style={{ ...style, width: `${size}px`, height: `${size}px` }} aria-hidden="true" />
              ),
            );
          }
        }
        return [
          <h2 key={s.bucket.timeBucket} class="month" style={{ position: 'absolute', top: `${s.top}px` }}>
            {monthLabel(s.bucket.timeBucket)} <small>{s.bucket.count}</small>
          </h2>,
          ...tiles,
        ];
      })}
    </section>
  );
}
