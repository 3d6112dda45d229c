// Immich's own command-line client (@immich/cli 3.x, unmodified) against `immich serve` on the
// embedded database: login with a key from `immich keys create`, upload --recursive --album,
// --json-output, --dry-run, a second upload that finds only duplicates, --delete; the uploads went
// through the import pipeline (dated folders, sidecar, thumbnails), and `immich search` and
// `immich album show` then see exactly them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tmpDir } from '../helpers/env.js';
import { immichCli, startServe, type Served } from '../helpers/serve.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

let root: string;
let lib: string;
let env: Record<string, string>;
let secret: string;
let served: Served | undefined;
const cfg = () => path.join(root, 'cli-config');

/** The JSON object that `upload --json-output` prints among its other lines. */
function uploadJson(stdout: string): { newFiles: string[]; duplicates: Array<{ id: string; filepath: string }>; newAssets: Array<{ id: string; filepath: string }> } {
  const start = stdout.indexOf('{\n');
  const end = stdout.indexOf('\n}', start);
  return JSON.parse(stdout.slice(start, end + 2));
}

async function get<T>(p: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${served!.url}${p}`, { headers: { 'x-api-key': secret } });
  return { status: res.status, body: (await res.json().catch(() => null)) as T };
}

beforeAll(async () => {
  root = tmpDir('immich-serve-cli-');
  lib = path.join(root, 'lib');
  env = { UPLOAD_LOCATION: lib, HOME: root };
  const src = path.join(root, 'src');
  await makeImage(path.join(src, 'Summer', 'beach.jpg'), { color: '#3060c0', date: '2023:07:14 10:00:00', width: 320, height: 240 });
  await makeImage(path.join(src, 'Summer', 'dunes.jpg'), { color: '#c0a040', date: '2023:07:15 11:00:00', width: 320, height: 240, seed: 2 });
  await makeImage(path.join(src, 'Winter', 'snow.png'), { color: '#f0f0f0', format: 'png', width: 200, height: 200, seed: 3 });
  // An XMP sidecar travels with its photo (the CLI sends it as sidecarData).
  fs.writeFileSync(
    path.join(src, 'Summer', 'beach.xmp'),
    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">Low tide at noon</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>`,
  );
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10:duration=1', '-pix_fmt', 'yuv420p', path.join(src, 'Winter', 'clip.mp4')]);

  const created = await runCli(['--json', 'keys', 'create', '--name', 'immich-cli test'], env);
  expect(created.code, created.stderr).toBe(0);
  const key = JSON.parse(created.stdout);
  expect(Object.keys(key).sort()).toEqual(['id', 'name', 'permissions', 'secret']);
  secret = key.secret;
  served = await startServe(env);
}, 120_000);

afterAll(async () => {
  await served?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('@immich/cli 3.x against immich serve', () => {
  let uploaded: Array<{ id: string; filepath: string }> = [];

  it('login, then upload --dry-run changes nothing', async () => {
    const login = await immichCli(['login', served!.url, secret], cfg());
    expect(login.code, login.stdout + login.stderr).toBe(0);
    expect(login.stdout).toContain('Logged in as owner@localhost');

    const dry = await immichCli(['upload', '--recursive', '--album', '--dry-run', '--no-progress', path.join(root, 'src')], cfg());
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Would have uploaded 4 assets');
    expect((await get<{ total: number }>('/api/assets/statistics')).body.total).toBe(0);
    expect((await get<unknown[]>('/api/albums')).body).toEqual([]);
  });

  it('upload --recursive --album --json-output imports every file and makes one album per folder', async () => {
    const up = await immichCli(['upload', '--recursive', '--album', '--json-output', '--no-progress', path.join(root, 'src')], cfg());
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const json = uploadJson(up.stdout);
    expect(json.newFiles).toHaveLength(4);
    expect(json.duplicates).toEqual([]);
    uploaded = json.newAssets;
    expect(uploaded.map((a) => path.basename(a.filepath)).sort()).toEqual(['beach.jpg', 'clip.mp4', 'dunes.jpg', 'snow.png']);
    expect(up.stdout).toContain('Successfully created 2 new albums');

    const stats = await get<{ images: number; videos: number; total: number }>('/api/assets/statistics');
    expect(stats.body).toEqual({ images: 3, videos: 1, total: 4 });
    const albums = (await get<Array<{ id: string; albumName: string; assetCount: number }>>('/api/albums')).body;
    expect(albums.map((a) => [a.albumName, a.assetCount])).toEqual([['Summer', 2], ['Winter', 2]]);
    const summer = await get<{ assets: Array<{ id: string }> }>(`/api/albums/${albums[0]!.id}`);
    const byName = new Map(uploaded.map((a) => [path.basename(a.filepath), a.id]));
    expect(summer.body.assets.map((a) => a.id).sort()).toEqual([byName.get('beach.jpg'), byName.get('dunes.jpg')].sort());

    // Through the import pipeline: placed by capture date, original name kept, sidecar read.
    expect(listFiles(lib, 'uploads')).toEqual(expect.arrayContaining(['2023/2023-07-14/beach.jpg', '2023/2023-07-14/beach.jpg.xmp', '2023/2023-07-15/dunes.jpg']));
    const beach = await get<{ exif: { description: string } }>(`/api/assets/${byName.get('beach.jpg')}`);
    expect(beach.body.exif.description).toBe('Low tide at noon');

    // The stages run in the server's background: every asset gets its thumbnail.
    for (const a of uploaded) {
      let status = 0;
      for (let i = 0; i < 120 && status !== 200; i++) {
        status = (await fetch(`${served!.url}/api/assets/${a.id}/thumbnail`, { headers: { 'x-api-key': secret } })).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 500));
      }
      expect(status, path.basename(a.filepath)).toBe(200);
    }
  }, 120_000);

  it('a second upload finds only duplicates, with the same asset ids', async () => {
    const again = await immichCli(['upload', '--recursive', '--json-output', '--no-progress', path.join(root, 'src')], cfg());
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('Found 0 new files and 4 duplicates');
    const json = uploadJson(again.stdout);
    expect(json.newFiles).toEqual([]);
    expect(new Map(json.duplicates.map((d) => [d.filepath, d.id]))).toEqual(new Map(uploaded.map((u) => [u.filepath, u.id])));
  });

  it('upload --delete removes the local files once they are on the server', async () => {
    const dir = path.join(root, 'card');
    await makeImage(path.join(dir, 'DCIM', 'IMG_0001.jpg'), { color: '#20a060', date: '2024:01:02 09:00:00', seed: 9 });
    const up = await immichCli(['upload', '--recursive', '--delete', '--no-progress', dir], cfg());
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toContain('Successfully uploaded 1 new asset');
    expect(fs.existsSync(path.join(dir, 'DCIM', 'IMG_0001.jpg'))).toBe(false);
    expect((await get<{ total: number }>('/api/assets/statistics')).body.total).toBe(5);
  }, 60_000);

  it('the embedded database is held by serve: another command says so; SIGTERM ends serve cleanly', async () => {
    const other = await runCli(['search', '--type', 'image'], env);
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/in use by another immich process \(pid \d+, immich serve\)/);

    const log = served!.log();
    const code = await served!.stop();
    served = undefined;
    expect(code).toBe(0);
    // The access log went through our logger, and never shows the key.
    expect(log).toMatch(/POST \/api\/assets 201 [\d.]+ ms/);
    expect(log).toMatch(/PUT \/api\/albums\/[0-9a-f-]{36}\/assets 200/);
    expect(log).not.toContain(secret);
  });

  it('immich search then sees exactly the uploaded assets, and the album exactly its folder', async () => {
    const all = await runCli(['--json', 'search', '--all', '--limit', '100'], env);
    expect(all.code, all.stderr).toBe(0);
    const ids = JSON.parse(all.stdout).results.map((h: { id: string }) => h.id).sort();
    const card = await withLibraryDb(lib, (db) => db.selectFrom('assets').select('id').where('original_name', '=', 'IMG_0001.jpg').executeTakeFirstOrThrow());
    expect(ids).toEqual([...uploaded.map((u) => u.id), card.id].sort());
    const summer = await runCli(['--json', 'album', 'show', 'Summer'], env);
    expect(summer.code, summer.stderr).toBe(0);
    const inSummer = uploaded.filter((u) => u.filepath.includes('/Summer/')).map((u) => u.id).sort();
    expect(JSON.parse(summer.stdout).assets.map((a: { id: string }) => a.id).sort()).toEqual(inSummer);
    // Nothing left behind in the staging folder or as temporary files in the library.
    expect(listFiles(lib, 'uploads').filter((f) => !/\.(jpg|png|mp4|xmp)$/.test(f))).toEqual([]);
  });
});
