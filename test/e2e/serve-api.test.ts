// Immich API shapes beyond what @immich/cli uses, against `immich serve` on an embedded library:
// GET /map/markers (Immich's MapMarkerResponseDto), DELETE /assets with force (purged at once:
// files and rows, through the trash's purge), and upload visibility hidden (→ archive) / locked
// (refused with a clear message).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tmpDir } from '../helpers/env.js';
import { startServe, type Served } from '../helpers/serve.js';
import { makeImage } from './import-helpers.js';

let root: string;
let env: Record<string, string>;
let served: Served;
let key: string;
const ids = new Map<string, string>();

function call(p: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${served.url}${p}`, { ...init, headers: { 'x-api-key': key, ...(init.headers as Record<string, string>) } });
}
const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

async function upload(name: string, seed: number, visibility?: string): Promise<Response> {
  const b = Buffer.alloc(64 * 64 * 3);
  let x = seed;
  for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  const form = new FormData();
  form.append('fileCreatedAt', new Date().toISOString());
  form.append('fileModifiedAt', new Date().toISOString());
  if (visibility) form.append('visibility', visibility);
  form.append('assetData', new Blob([await sharp(b, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer()]), name);
  return call('/api/assets', { method: 'POST', body: form });
}

beforeAll(async () => {
  root = tmpDir('immich-serve-api-');
  env = { UPLOAD_LOCATION: path.join(root, 'lib'), HOME: root };
  const src = path.join(root, 'src');
  await makeImage(path.join(src, 'porto.jpg'), { color: '#aa3344', date: '2023:07:01 10:00:00', seed: 1 });
  await makeImage(path.join(src, 'archived-oslo.jpg'), { color: '#3344aa', date: '2023:08:01 10:00:00', seed: 2 });
  await makeImage(path.join(src, 'nowhere.jpg'), { color: '#33aa44', date: '2023:09:01 10:00:00', seed: 3 });
  expect((await runCli(['import', '--skip-ml', src], env)).code).toBe(0);
  expect((await runCli(['edit', '--path', '*porto*', '--location', '41.1496,-8.611', '-y'], env)).code).toBe(0);
  expect((await runCli(['edit', '--path', '*oslo*', '--location', '59.9139,10.7522', '--archive', '-y'], env)).code).toBe(0);
  const info = await runCli(['--json', 'info', '--all'], env);
  for (const a of (JSON.parse(info.stdout) as { assets: Array<{ id: string; originalName: string }> }).assets) ids.set(a.originalName, a.id);
  key = JSON.parse((await runCli(['--json', 'keys', 'create', '--name', 'api'], env)).stdout).secret;
  served = await startServe(env);
}, 600_000);

afterAll(async () => {
  await served?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('immich serve: map markers, force delete, upload visibility', () => {
  it('GET /api/map/markers: geotagged assets of the timeline in Immich\'s shape; isArchived adds the archive', async () => {
    const r = await call('/api/map/markers');
    expect(r.status).toBe(200);
    const markers = (await r.json()) as Array<Record<string, unknown>>;
    expect(markers).toHaveLength(1);
    expect(markers[0]).toMatchObject({ id: ids.get('porto.jpg'), lat: 41.1496, lon: -8.611 });
    expect(Object.keys(markers[0]!).sort()).toEqual(['city', 'country', 'id', 'lat', 'lon', 'state']);
    const all = (await (await call('/api/map/markers?isArchived=true')).json()) as Array<{ id: string }>;
    expect(all.map((m) => m.id).sort()).toEqual([ids.get('porto.jpg'), ids.get('archived-oslo.jpg')].sort());
    expect((await call('/api/map/markers?fileCreatedAfter=nonsense')).status).toBe(400);
    expect((await fetch(`${served.url}/api/map/markers`)).status).toBe(401);
  });

  it('upload visibility: hidden is kept off the timeline (archived), locked is refused with the reason, nothing half-written', async () => {
    const hidden = await upload('hidden.jpg', 7, 'hidden');
    expect(hidden.status).toBe(201);
    const { id } = (await hidden.json()) as { id: string };
    expect(((await (await call(`/api/assets/${id}`)).json()) as { isArchived: boolean }).isArchived).toBe(true);
    const locked = await upload('locked.jpg', 8, 'locked');
    expect(locked.status).toBe(400);
    expect(((await locked.json()) as { message: string }).message).toMatch(/locked .*not supported.*no locked folder/);
    const bogus = await upload('bogus.jpg', 9, 'sideways');
    expect(bogus.status).toBe(400);
    const stats = (await (await call('/api/assets/statistics')).json()) as { total: number };
    expect(stats.total).toBe(4); // 3 imported + hidden; neither refused upload landed
  });

  it('DELETE /api/assets without force trashes (restorable); with force the asset, its original and thumbnails are gone', async () => {
    const id = ids.get('nowhere.jpg')!;
    expect((await call('/api/assets', { method: 'DELETE', ...json({ ids: [id] }) })).status).toBe(204);
    expect(((await (await call(`/api/assets/${id}`)).json()) as { isTrashed: boolean }).isTrashed).toBe(true);
    expect(((await (await call('/api/trash/restore/assets', { method: 'POST', ...json({ ids: [id] }) })).json()) as { count: number }).count).toBe(1);

    const lib = env.UPLOAD_LOCATION!;
    const filesOf = () => listAll(lib).filter((f) => f.includes('nowhere') || f.includes(id));
    expect(filesOf().length).toBeGreaterThan(0);
    expect((await call('/api/assets', { method: 'DELETE', ...json({ ids: [id], force: true }) })).status).toBe(204);
    expect((await call(`/api/assets/${id}`)).status).toBe(404);
    expect(filesOf()).toEqual([]);
    // An asset already in the trash is purged by force too.
    const porto = ids.get('porto.jpg')!;
    await call('/api/assets', { method: 'DELETE', ...json({ ids: [porto] }) });
    expect((await call('/api/assets', { method: 'DELETE', ...json({ ids: [porto], force: true }) })).status).toBe(204);
    expect((await call(`/api/assets/${porto}`)).status).toBe(404);
    expect(((await (await call('/api/assets/statistics')).json()) as { total: number }).total).toBe(2);
  });
});

function listAll(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  return out;
}
