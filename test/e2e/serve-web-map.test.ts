// The web gallery's map and people pages in Debian's Chromium (headless, playwright-core), on a
// library whose people come from the real face pipeline (corpus photos, shared models) and whose
// places from `immich edit --location`: the map loads only when opened (its own chunk), fetches
// nothing from outside the server, shows a marker per geotagged photo (clustered when close), opens
// the viewer from a marker by mouse and by keyboard; a person is renamed and two are merged.
// Screenshots go to test/artifacts/ (kept for a person to look at).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, noteSkip, ROOT, runCli, SHARED_MODELS, tmpDir } from '../helpers/env.js';
import { startServe, type Served } from '../helpers/serve.js';
import { makeImage } from './import-helpers.js';

const CHROMIUM = process.env.IMMICH_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test/artifacts');
const PASSWORD = 'map password';
const ready = fs.existsSync(CHROMIUM) && CORPUS && SHARED_MODELS;
if (!fs.existsSync(CHROMIUM)) noteSkip('serve-web-map', `Chromium (${CHROMIUM})`);

let root: string;
let served: Served | undefined;
let browser: Browser | undefined;
let page: Page;
/** Every URL the page asked for, in order. */
const requests: string[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `serve-${name}.png`) });
const ok = (r: { code: number; stderr: string }) => expect(r.code, r.stderr).toBe(0);

beforeAll(async () => {
  if (!ready) return;
  root = tmpDir('immich-serve-map-');
  const env = { UPLOAD_LOCATION: path.join(root, 'lib'), HOME: root, IMMICH_MODELS_DIR: path.join(root, 'models'), IMMICH_FACE_MIN_FACES: '1' };
  const src = path.join(root, 'src');
  // Two photos 25 km apart near Lisbon (one cluster until zoomed in), one in Zermatt, one without a place.
  await makeImage(path.join(src, 'lisbon-tram.jpg'), { color: '#c0392b', date: '2024:06:01 10:00:00', width: 640, height: 480, seed: 11 });
  await makeImage(path.join(src, 'cascais-beach.jpg'), { color: '#2980b9', date: '2024:06:02 10:00:00', width: 640, height: 480, seed: 12 });
  await makeImage(path.join(src, 'zermatt.jpg'), { color: '#27ae60', date: '2024:02:10 10:00:00', width: 480, height: 640, seed: 13 });
  await makeImage(path.join(src, 'no-place.jpg'), { color: '#7f8c8d', date: '2024:01:10 10:00:00', seed: 14 });
  // Faces: Marie and Pierre Curie (named by the photo's own face regions) and Jack Dorsey twice (unnamed).
  fs.copyFileSync(path.join(CORPUS!, 'faces/curie/portrait.jpg'), path.join(src, 'curie.jpg'));
  fs.copyFileSync(path.join(CORPUS!, 'faces/jack_dorsey/img16.jpg'), path.join(src, 'dorsey-1.jpg'));
  fs.copyFileSync(path.join(CORPUS!, 'faces/jack_dorsey/img17.jpg'), path.join(src, 'dorsey-2.jpg'));
  ok(await runCli(['import', '--skip-ml', src], env));
  ok(await runCli(['models', 'pull', 'scrfd_2.5g-mobilefacenet', '--from', SHARED_MODELS!], env));
  ok(await runCli(['faces', 'detect'], env));
  ok(await runCli(['edit', '--path', '*lisbon-tram*', '--location', '38.7139,-9.1394', '-y'], env));
  ok(await runCli(['edit', '--path', '*cascais-beach*', '--location', '38.6979,-9.4215', '-y'], env));
  ok(await runCli(['edit', '--path', '*zermatt*', '--location', '46.0207,7.7491', '-y'], env));
  ok(await runCli(['user', 'set-password'], env, { input: `${PASSWORD}\n` }));
  served = await startServe(env);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(served.url);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('region', { name: 'Timeline' }).waitFor();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const jsFiles = () => [...new Set(requests.filter((u) => u.endsWith('.js')).map((u) => new URL(u).pathname))];
const gzSize = (files: string[]) => files.reduce((n, f) => n + zlib.gzipSync(fs.readFileSync(path.join(ROOT, 'dist/web', f))).length, 0);

describe.skipIf(!ready)('immich serve: the map and people pages in Chromium', () => {
  it('the first page does not load the map; its JavaScript is under 200 KB gzipped', async () => {
    const first = jsFiles();
    expect(first).toContain('/app.js');
    expect(gzSize(first)).toBeLessThan(200_000);
    expect(requests.some((u) => /map\.css|countries-/.test(u))).toBe(false);
    expect(await page.evaluate(() => 'L' in window)).toBe(false);
  });

  it('the map shows a marker per geotagged photo, clustered when close, from the server alone', async () => {
    const before = jsFiles();
    await page.getByRole('link', { name: 'Map' }).click();
    const map = page.getByRole('region', { name: /^Map of photos/ });
    await map.waitFor();
    await expect.poll(() => page.locator('.map-page [role=status]').textContent(), { timeout: 30_000 }).toBe('3 photos with a place');
    // Land outlines drawn (a vector layer, no tiles), one cluster of the two Lisbon photos, one pin for Zermatt.
    await expect.poll(() => page.locator('.map path.land').count(), { timeout: 30_000 }).toBeGreaterThan(100);
    await expect.poll(() => page.getByRole('button', { name: /^2 photos/ }).count()).toBe(1);
    expect(await page.locator('.map-pin').count()).toBe(1);
    expect(jsFiles().length).toBeGreaterThan(before.length); // the map's chunk came now
    expect(requests.filter((u) => !u.startsWith(served!.url))).toEqual([]);
    await shot('map');
  });

  it('a cluster zooms in until it splits; a marker opens the viewer (mouse and Enter)', async () => {
    for (let i = 0; i < 10 && (await page.locator('.map-cluster').count()) > 0; i++) {
      await page.locator('.map-cluster').first().click();
      await page.waitForTimeout(600); // the zoom animation
    }
    await expect.poll(() => page.locator('.map-pin').count()).toBeGreaterThanOrEqual(2);
    await shot('map-zoomed');
    await page.locator('.map-pin').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await expect.poll(() => dialog.locator('.viewer-bar').textContent()).toMatch(/lisbon-tram\.jpg|cascais-beach\.jpg/);
    await expect.poll(() => dialog.locator('.info').textContent()).toContain('GPS');
    await shot('map-viewer');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // Keyboard: a marker is a named button that Enter opens.
    const pin = page.locator('.map-pin').first();
    expect(await pin.getAttribute('role')).toBe('button');
    expect(await pin.getAttribute('aria-label')).toMatch(/^Photo/);
    await pin.focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    expect(requests.filter((u) => !u.startsWith(served!.url))).toEqual([]);
  });

  it('people: a person is renamed, and two are merged', async () => {
    await page.getByRole('link', { name: 'People' }).click();
    await page.getByRole('heading', { name: 'People' }).waitFor();
    const people = async () => page.evaluate(async () => ((await (await fetch('/api/people')).json()) as { people: Array<{ name: string; faces: number }> }).people);
    expect((await people()).map((p) => p.name).sort()).toEqual(['', 'Marie Curie', 'Pierre Curie']);
    const unnamed = page.getByRole('textbox', { name: /^Name of unnamed person/ });
    await unnamed.fill('Jack Dorsey');
    await unnamed.press('Enter');
    await expect.poll(async () => (await people()).map((p) => p.name).sort()).toEqual(['Jack Dorsey', 'Marie Curie', 'Pierre Curie']);
    await page.getByRole('textbox', { name: 'Name of Jack Dorsey' }).waitFor();
    await page.getByRole('checkbox', { name: /^Select Marie Curie/ }).check();
    await page.getByRole('checkbox', { name: /^Select Pierre Curie/ }).check();
    await page.getByRole('button', { name: 'Merge 1 into Marie Curie' }).click();
    await expect.poll(async () => (await people()).map((p) => `${p.name}:${p.faces}`).sort()).toEqual(['Jack Dorsey:2', 'Marie Curie:2']);
    await expect.poll(() => page.getByRole('checkbox', { name: /^Select / }).count()).toBe(2);
    expect(await page.getByText('Merged 1 into Marie Curie').count()).toBe(1);
    await shot('people');
  });
});
