// The web gallery: login, timeline, search, albums, people, favorites/archive/trash; hash routes
// (#/photos, #/search?q=…, #/albums/<id>, #/people/<id>) so the server needs no routing of its own.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, HttpError, setOnUnauthorized, thumbUrl, type Album, type Asset, type Filter, type Person } from './api.js';
import { Grid } from './tiles.js';
import { Timeline } from './timeline.js';
import { Viewer } from './viewer.js';

type Action = 'favorite' | 'unfavorite' | 'archive' | 'unarchive' | 'trash' | 'restore';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/photos');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/photos');
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Login({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const password = (form.elements.namedItem('password') as HTMLInputElement).value;
    try {
      await api('/auth/login', { method: 'POST', body: { password } });
      onDone();
    } catch (err) {
      setError(err instanceof HttpError ? err.message : String(err));
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">immich</h1>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required autoFocus />
        <button type="submit">Sign in</button>
        {error && <p role="alert" class="error">{error}</p>}
        <p class="hint">Set the password with <code>immich user set-password</code>.</p>
      </form>
    </main>
  );
}

async function applyAction(ids: string[], action: Action): Promise<void> {
  if (action === 'trash') await api('/assets', { method: 'DELETE', body: { ids } });
  else if (action === 'restore') await api('/trash/restore/assets', { method: 'POST', body: { ids } });
  else await api('/assets', { method: 'PUT', body: action.endsWith('favorite') ? { ids, isFavorite: action === 'favorite' } : { ids, isArchived: action === 'archive' } });
}

function App() {
  const [authed, setAuthed] = useState<boolean | null>(null);
  const hash = useHash();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [viewer, setViewer] = useState<{ list: Asset[]; index: number } | null>(null);
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState('');

  useEffect(() => {
    setOnUnauthorized(() => setAuthed(false));
    api('/users/me').then(() => setAuthed(true), () => setAuthed(false));
  }, []);
  useEffect(() => setSelected(new Set()), [hash]);

  if (authed === null) return <p role="status">Loading…</p>;
  if (!authed) return <Login onDone={() => setAuthed(true)} />;

  const onSelect = (a: Asset, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(a.id);
    else next.delete(a.id);
    setSelected(next);
  };
  const onOpen = (a: Asset, list: Asset[]) => setViewer({ list, index: Math.max(0, list.findIndex((x) => x.id === a.id)) });
  const act = async (ids: string[], action: Action) => {
    await applyAction(ids, action);
    setStatus(`${ids.length} ${ids.length === 1 ? 'item' : 'items'}: ${action} done`);
    setSelected(new Set());
    setVersion((v) => v + 1);
  };

  const [route, query] = hash.slice(1).split('?');
  const parts = route!.split('/').filter(Boolean);
  const params = new URLSearchParams(query ?? '');
  const filters: Record<string, Filter> = { photos: 'timeline', favorites: 'favorites', archive: 'archive', trash: 'trash' };
  let page;
  if (parts[0] === 'search') page = <SearchPage q={params.get('q') ?? ''} selected={selected} onOpen={onOpen} onSelect={onSelect} version={version} />;
  else if (parts[0] === 'albums' && parts[1]) page = <AlbumPage id={parts[1]} selected={selected} onOpen={onOpen} onSelect={onSelect} version={version} />;
  else if (parts[0] === 'albums') page = <AlbumsPage version={version} />;
  else if (parts[0] === 'people' && parts[1]) page = <PersonPage id={parts[1]} selected={selected} onOpen={onOpen} onSelect={onSelect} />;
  else if (parts[0] === 'people') page = <PeoplePage />;
  else if (parts[0] === 'map') page = <MapRoute onOpen={onOpen} />;
  else page = <Timeline filter={filters[parts[0] ?? 'photos'] ?? 'timeline'} selected={selected} onOpen={onOpen} onSelect={onSelect} version={version} />;

  const nav = [['#/photos', 'Photos'], ['#/albums', 'Albums'], ['#/people', 'People'], ['#/map', 'Map'], ['#/favorites', 'Favorites'], ['#/archive', 'Archive'], ['#/trash', 'Trash']];
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header>
        <nav aria-label="Sections">
          {nav.map(([href, label]) => (
            <a href={href} aria-current={hash.startsWith(href!) ? 'page' : undefined}>{label}</a>
          ))}
        </nav>
        <form role="search" onSubmit={(e) => {
          e.preventDefault();
          const q = ((e.currentTarget as HTMLFormElement).elements.namedItem('q') as HTMLInputElement).value.trim();
          if (q) location.hash = `#/search?q=${encodeURIComponent(q)}`;
        }}>
          <input key={hash} name="q" type="search" placeholder="Search photos, people, places, text…" aria-label="Search" defaultValue={params.get('q') ?? ''} />
        </form>
        <button onClick={() => api('/auth/logout', { method: 'POST' }).finally(() => setAuthed(false))}>Sign out</button>
      </header>
      {selected.size > 0 && <SelectionBar ids={[...selected]} inTrash={parts[0] === 'trash'} albumId={parts[0] === 'albums' ? parts[1] : undefined} act={act} onDone={() => { setSelected(new Set()); setVersion((v) => v + 1); }} />}
      <p class="sr-only" role="status" aria-live="polite">{status}</p>
      <main id="main" tabIndex={-1}>{page}</main>
      {viewer && (
        <Viewer
          list={viewer.list}
          index={viewer.index}
          onIndex={(index) => setViewer({ ...viewer, index })}
          onClose={() => setViewer(null)}
          onAction={(ids, a) => act(ids, a)}
        />
      )}
    </>
  );
}

/** The map's chunk (Leaflet, outlines) is fetched the first time the map is opened, never with the first page. */
let mapModule: Promise<typeof import('./map.js')> | undefined;
function MapRoute({ onOpen }: { onOpen: (a: Asset, list: Asset[]) => void }) {
  const [mod, setMod] = useState<typeof import('./map.js') | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    mapModule ??= import('./map.js');
    mapModule.then(setMod, (err) => ((mapModule = undefined), setError(`The map could not be loaded: ${(err as Error).message}`)));
  }, []);
  if (error) return <p role="alert">{error}</p>;
  if (!mod) return <p role="status">Loading the map…</p>;
  return <mod.default onOpen={onOpen} />;
}

function SelectionBar({ ids, inTrash, albumId, act, onDone }: { ids: string[]; inTrash: boolean; albumId?: string; act: (ids: string[], a: Action) => Promise<void>; onDone: () => void }) {
  const [albums, setAlbums] = useState<Album[]>([]);
  const [msg, setMsg] = useState('');
  useEffect(() => void api<Album[]>('/albums').then(setAlbums), []);
  const addTo = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const target = (form.elements.namedItem('album') as HTMLSelectElement).value;
    const name = (form.elements.namedItem('newAlbum') as HTMLInputElement).value.trim();
    try {
      if (target === '__new') {
        if (!name) return setMsg('Name the new album');
        await api('/albums', { method: 'POST', body: { albumName: name, assetIds: ids } });
      } else await api(`/albums/${target}/assets`, { method: 'PUT', body: { ids } });
      setMsg('');
      onDone();
    } catch (err) {
      setMsg((err as Error).message);
    }
  };
  return (
    <div class="selection" role="toolbar" aria-label={`${ids.length} selected`}>
      <strong>{ids.length} selected</strong>
      {inTrash ? (
        <button onClick={() => act(ids, 'restore')}>Restore</button>
      ) : (
        <>
          <button onClick={() => act(ids, 'favorite')}>Favorite</button>
          <button onClick={() => act(ids, 'archive')}>Archive</button>
          <button onClick={() => act(ids, 'trash')}>Trash</button>
          {albumId && <button onClick={() => api(`/albums/${albumId}/assets`, { method: 'DELETE', body: { ids } }).then(onDone)}>Remove from album</button>}
          <form class="add-album" onSubmit={addTo}>
            <label for="album">Add to album</label>
            <select id="album" name="album">
              <option value="__new">New album…</option>
              {albums.map((a) => <option value={a.id}>{a.albumName}</option>)}
            </select>
            <input name="newAlbum" aria-label="New album name" placeholder="New album name" />
            <button type="submit">Add</button>
          </form>
        </>
      )}
      {msg && <span role="alert">{msg}</span>}
    </div>
  );
}

interface ListProps {
  selected: Set<string>;
  onOpen: (a: Asset, list: Asset[]) => void;
  onSelect: (a: Asset, on: boolean) => void;
}

function SearchPage({ q, version, ...p }: ListProps & { q: string; version: number }) {
  const [result, setResult] = useState<{ assets: Asset[]; notes: string[]; error?: string } | null>(null);
  useEffect(() => {
    setResult(null);
    if (!q) return;
    api<{ assets: Array<Pick<Asset, 'id' | 'type'> & { takenAt: string | null; originalName: string }>; notes: string[] }>(`/search?q=${encodeURIComponent(q)}`).then(
      (r) => setResult({ assets: r.assets.map((a) => ({ width: null, height: null, thumbhash: null, isFavorite: false, isArchived: false, isTrashed: false, duration: null, ...a, takenAt: a.takenAt ?? '' })), notes: r.notes }),
      (err) => setResult({ assets: [], notes: [], error: (err as Error).message }),
    );
  }, [q, version]);
  if (!result) return <p role="status">Searching…</p>;
  return (
    <section aria-labelledby="search-title">
      <h1 id="search-title">Results for “{q}” <small>{result.assets.length}</small></h1>
      {result.error && <p role="alert">{result.error}</p>}
      {result.notes.map((n) => <p class="note">{n}</p>)}
      {!result.assets.length && !result.error && <p role="status">Nothing found.</p>}
      <Grid assets={result.assets} label="Search results" selected={p.selected} onSelect={p.onSelect} onOpen={(a) => p.onOpen(a, result.assets)} />
    </section>
  );
}

function AlbumsPage({ version }: { version: number }) {
  const [albums, setAlbums] = useState<Album[] | null>(null);
  const [msg, setMsg] = useState('');
  const load = () => api<Album[]>('/albums').then(setAlbums);
  useEffect(() => void load(), [version]);
  const create = async (e: Event) => {
    e.preventDefault();
    const input = (e.currentTarget as HTMLFormElement).elements.namedItem('name') as HTMLInputElement;
    try {
      await api('/albums', { method: 'POST', body: { albumName: input.value } });
      input.value = '';
      setMsg('');
      await load();
    } catch (err) {
      setMsg((err as Error).message);
    }
  };
  return (
    <section aria-labelledby="albums-title">
      <h1 id="albums-title">Albums</h1>
      <form class="inline" onSubmit={create}>
        <label for="new-album">New album</label>
        <input id="new-album" name="name" required />
        <button type="submit">Create</button>
        {msg && <span role="alert">{msg}</span>}
      </form>
      {albums === null ? <p role="status">Loading…</p> : (
        <ul class="cards">
          {albums.map((a) => (
            <li>
              <a href={`#/albums/${a.id}`}>
                {a.albumThumbnailAssetId ? <img src={thumbUrl(a.albumThumbnailAssetId)} alt="" loading="lazy" /> : <span class="empty" aria-hidden="true" />}
                <span>{a.albumName}</span> <small>{a.assetCount} items</small>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function AlbumPage({ id, version, ...p }: ListProps & { id: string; version: number }) {
  const [album, setAlbum] = useState<Album | null>(null);
  useEffect(() => void api<Album>(`/albums/${id}`).then(setAlbum), [id, version]);
  if (!album) return <p role="status">Loading…</p>;
  return (
    <section aria-labelledby="album-title">
      <h1 id="album-title">{album.albumName} <small>{album.assetCount} items</small></h1>
      <Grid assets={album.assets} label={album.albumName} selected={p.selected} onSelect={p.onSelect} onOpen={(a) => p.onOpen(a, album.assets)} />
    </section>
  );
}

function PeoplePage() {
  const [people, setPeople] = useState<Person[] | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const load = () => api<{ people: Person[] }>('/people').then((r) => setPeople(r.people));
  useEffect(() => void load(), []);
  const [msg, setMsg] = useState('');
  const rename = async (id: string, name: string) => {
    if (name.trim()) {
      await api(`/people/${id}`, { method: 'PUT', body: { name } });
      setMsg(`Named ${name.trim()}`);
    }
    await load();
  };
  const merge = async () => {
    const [into, ...from] = picked;
    const target = nameOf(into!);
    await api(`/people/${into}/merge`, { method: 'POST', body: { ids: from } });
    setPicked([]);
    setMsg(`Merged ${from.length} into ${target}`);
    await load();
  };
  const nameOf = (id: string) => people?.find((x) => x.id === id)?.name || 'the first selected';
  if (!people) return <p role="status">Loading…</p>;
  return (
    <section aria-labelledby="people-title">
      <h1 id="people-title">People</h1>
      <p class="sr-only" role="status">{msg}</p>
      {picked.length > 1 && <button onClick={merge}>Merge {picked.length - 1} into {nameOf(picked[0]!)}</button>}
      {!people.length && <p>No people yet: face recognition finds them (immich faces detect).</p>}
      <ul class="cards">
        {people.map((x, i) => (
          <li key={x.id}>
            <a href={`#/people/${x.id}`} aria-label={`Photos of ${x.name || `unnamed person ${i + 1}`}`}>{x.thumbnailAssetId ? <img src={thumbUrl(x.thumbnailAssetId)} alt="" loading="lazy" /> : <span class="empty" />}</a>
            <input aria-label={`Name of ${x.name || `unnamed person ${i + 1}`}`} defaultValue={x.name} placeholder="Add a name" onKeyDown={(e) => e.key === 'Enter' && rename(x.id, (e.currentTarget as HTMLInputElement).value)} onBlur={(e) => (e.currentTarget as HTMLInputElement).value !== x.name && rename(x.id, (e.currentTarget as HTMLInputElement).value)} />
            <label><input type="checkbox" checked={picked.includes(x.id)} onChange={(e) => setPicked((e.currentTarget as HTMLInputElement).checked ? [...picked, x.id] : picked.filter((i) => i !== x.id))} /> Select {x.name || `unnamed person ${i + 1}`} ({x.assets} {x.assets === 1 ? 'photo' : 'photos'})</label>
          </li>
        ))}
      </ul>
    </section>
  );
}

function PersonPage({ id, ...p }: ListProps & { id: string }) {
  const [assets, setAssets] = useState<Asset[] | null>(null);
  useEffect(() => {
    api<string[]>(`/people/${id}/assets`).then((ids) => Promise.all(ids.slice(0, 500).map((i) => api<Asset>(`/assets/${i}`))).then(setAssets));
  }, [id]);
  if (!assets) return <p role="status">Loading…</p>;
  return (
    <section aria-label="Person">
      <Grid assets={assets} label="Photos of this person" selected={p.selected} onSelect={p.onSelect} onOpen={(a) => p.onOpen(a, assets)} />
    </section>
  );
}

render(<App />, document.getElementById('app')!);
