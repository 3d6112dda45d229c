// The map view, loaded only when #/map is opened (its own chunk: Leaflet is not in the first page's
// JavaScript). Fully offline: no tile server; the land is Natural Earth's country outlines from the
// world-atlas package (served by `immich serve` as /countries-110m.json, /countries-50m.json once
// zoomed in) drawn as a vector layer. Markers come from GET /api/map/markers and are clustered on a
// screen grid at each zoom (one pass over typed arrays: 100k markers stay quick); a cluster zooms in,
// a single photo (or a cluster that cannot split further) opens the viewer. Every marker is a
// button with a name, reachable with Tab and opened with Enter.
import L from 'leaflet';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Asset, type AssetDetails } from './api.js';
import type { MapMarker } from '../services/map.js';

// The server's marker type (a type import: nothing of the server lands in the bundle).
type Marker = MapMarker;

export interface MapPageProps {
  onOpen: (a: Asset, list: Asset[]) => void;
}

/** Pixels of a clustering cell: markers closer than this on screen become one. */
const CELL = 64;
const MAX_ZOOM = 18;
/** From this zoom on, the 50m outlines (more detail, ~0.2 MB gzipped) replace the 110m ones. */
const DETAIL_ZOOM = 4;

/** Leaflet's CSS and ours; the map is made only once it applies (Leaflet measures its container). */
let styles: Promise<void> | undefined;
function loadStyles(): Promise<void> {
  styles ??= new Promise((resolve, reject) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = '/map.css';
    link.onload = () => resolve();
    link.onerror = () => ((styles = undefined), link.remove(), reject(new Error('map.css did not load')));
    document.head.append(link);
  });
  return styles;
}

async function countries(scale: '110m' | '50m'): Promise<GeoJSON.FeatureCollection> {
  const res = await fetch(`/countries-${scale}.json`);
  if (!res.ok) throw new Error(`country outlines: ${res.status}`);
  const topo = (await res.json()) as Topology<{ countries: GeometryCollection }>;
  return feature(topo, topo.objects.countries) as GeoJSON.FeatureCollection;
}

function placeOf(m: Marker): string {
  return [m.city, m.state, m.country].filter(Boolean).join(', ');
}

/** The assets of these markers for the viewer (its list), in marker order. */
async function assetsOf(ids: string[]): Promise<Asset[]> {
  return Promise.all(ids.slice(0, 500).map((id) => api<AssetDetails>(`/assets/${id}`)));
}

export default function MapPage({ onOpen }: MapPageProps) {
  const el = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState('Loading the map…');

  useEffect(() => {
    let stop = () => {};
    let cancelled = false;
    loadStyles().then(() => {
      if (!cancelled) stop = start();
    }, (err) => setStatus((err as Error).message));
    return () => {
      cancelled = true;
      stop();
    };
  }, []);

  // Make the map and its layers; returns what removes them.
  function start(): () => void {
    const map = L.map(el.current!, {
      worldCopyJump: true,
      minZoom: 1,
      maxZoom: MAX_ZOOM,
      zoomSnap: 1,
      attributionControl: false,
      keyboard: true,
      maxBounds: [[-85, -Infinity], [85, Infinity]],
    }).setView([20, 0], 2);
    L.control.attribution({ prefix: false }).addAttribution('Outlines: Natural Earth').addTo(map);
    const land = L.geoJSON(undefined, { interactive: false, style: { className: 'land', weight: 0.6 } }).addTo(map);
    const clusters = L.layerGroup().addTo(map);
    let detail: 'none' | 'loading' | 'done' = 'none';
    let markers: Marker[] = [];
    let lat = new Float64Array(0);
    let lon = new Float64Array(0);
    let cancelled = false;

    const open = async (idx: number[]) => {
      const list = await assetsOf(idx.map((i) => markers[i]!.id));
      if (!cancelled && list.length) onOpen(list[0]!, list);
    };

    // Cluster the markers in view (plus a margin) on a CELL-pixel grid of the current zoom.
    const draw = () => {
      clusters.clearLayers();
      if (!markers.length) return;
      const zoom = map.getZoom();
      const bounds = map.getBounds().pad(0.25);
      const scale = 256 * 2 ** zoom;
      const cells = new Map<string, number[]>();
      for (let i = 0; i < markers.length; i++) {
        // Markers sit at their own longitude, or one world over if the view crossed the antimeridian.
        let x = lon[i]!;
        const west = bounds.getWest();
        while (x < west) x += 360;
        if (x > bounds.getEast() || lat[i]! < bounds.getSouth() || lat[i]! > bounds.getNorth()) continue;
        const px = ((x + 180) / 360) * scale;
        const s = Math.sin((lat[i]! * Math.PI) / 180);
        const py = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale;
        const key = `${Math.floor(px / CELL)},${Math.floor(py / CELL)},${Math.round((x - lon[i]!) / 360)}`;
        const cell = cells.get(key);
        if (cell) cell.push(i);
        else cells.set(key, [i]);
      }
      for (const [key, idx] of cells) {
        const shift = Number(key.split(',')[2]) * 360;
        let sLat = 0;
        let sLon = 0;
        for (const i of idx) (sLat += lat[i]!), (sLon += lon[i]! + shift);
        const at = L.latLng(sLat / idx.length, sLon / idx.length);
        const first = markers[idx[0]!]!;
        const place = placeOf(first);
        const single = idx.length === 1;
        const size = single ? 28 : Math.min(56, 30 + Math.round(Math.log10(idx.length) * 10));
        const name = single ? `Photo${place ? ` in ${place}` : ''}` : `${idx.length} photos${place ? ` around ${place}` : ''}`;
        const icon = L.divIcon({
          className: single ? 'map-pin' : 'map-cluster',
          html: single ? '' : `<span>${idx.length >= 1000 ? `${Math.round(idx.length / 100) / 10}k` : idx.length}</span>`,
          iconSize: [size, size],
        });
        // Leaflet's own marker keyboard handling (keypress) is not relied on: a button answers Enter and Space.
        const m = L.marker(at, { icon, title: name, keyboard: false, riseOnHover: true });
        const activate = () => {
          // A cluster splits by zooming in; one that stays together at the last zoom (same spot) opens.
          if (!single && zoom < MAX_ZOOM) map.setView(at, Math.min(MAX_ZOOM, zoom + 2));
          else void open(idx);
        };
        m.on('add', () => {
          const node = m.getElement();
          if (!node) return;
          node.tabIndex = 0;
          node.setAttribute('role', 'button');
          node.setAttribute('aria-label', name);
          L.DomEvent.on(node, 'keydown', (e) => {
            const key = (e as KeyboardEvent).key;
            if (key !== 'Enter' && key !== ' ') return;
            L.DomEvent.stop(e);
            activate();
          });
        });
        m.on('click', activate);
        clusters.addLayer(m);
      }
    };

    map.on('moveend', draw);
    map.on('zoomend', () => {
      if (map.getZoom() < DETAIL_ZOOM || detail !== 'none') return;
      detail = 'loading';
      countries('50m').then((fc) => {
        if (cancelled) return;
        land.clearLayers();
        land.addData(fc);
        detail = 'done';
      }, () => (detail = 'none'));
    });

    countries('110m').then((fc) => {
      if (!cancelled && detail !== 'done') land.addData(fc);
    }, (err) => setStatus((err as Error).message));

    api<Marker[]>('/map/markers').then((list) => {
      if (cancelled) return;
      markers = list;
      lat = Float64Array.from(list, (m) => m.lat);
      lon = Float64Array.from(list, (m) => m.lon);
      setStatus(list.length ? `${list.length} ${list.length === 1 ? 'photo' : 'photos'} with a place` : 'No photo has a GPS position yet (immich edit --location sets one).');
      if (list.length) {
        const b = L.latLngBounds(list.map((m) => [m.lat, m.lon] as [number, number]));
        map.fitBounds(b.pad(0.2), { maxZoom: 10 });
      }
      draw();
    }, (err) => setStatus((err as Error).message));

    return () => {
      cancelled = true;
      map.remove();
    };
  }

  return (
    <section class="map-page" aria-labelledby="map-title">
      <h1 id="map-title" class="sr-only">Map</h1>
      <p class="map-status" role="status">{status}</p>
      <div ref={el} class="map" role="region" aria-label="Map of photos with a place (arrow keys pan, + and − zoom, Tab reaches the markers)" />
    </section>
  );
}
