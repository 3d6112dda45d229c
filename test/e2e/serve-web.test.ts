// The web gallery in Debian's Chromium (headless, driven by playwright-core): sign in with the
// owner's password, the timeline shows every thumbnail, the search box finds a photo by name, the
// viewer opens it (preview, details, keyboard), a video plays (range requests), an album is made
// from a selection. Screenshots go to test/artifacts/ (kept for a person to look at).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSkip, ROOT, runCli, tmpDir } from '../helpers/env.js';
import { startServe, type Served } from '../helpers/serve.js';
import { makeImage } from './import-helpers.js';

const CHROMIUM = process.env.IMMICH_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'test/artifacts');
const PASSWORD = 'gallery password';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) noteSkip('serve-web', `Chromium (${CHROMIUM})`);

let root: string;
let served: Served | undefined;
let browser: Browser | undefined;
let page: Page;
const ranges: number[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `serve-${name}.png`) });
/** Thumbnails on screen that have loaded (decoded with a size). */
const loadedThumbs = () =>
  page.$$eval('.tile img', (imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0).length);

beforeAll(async () => {
  if (!haveChromium) return;
  root = tmpDir('immich-serve-web-');
  const env = { UPLOAD_LOCATION: path.join(root, 'lib'), HOME: root };
  const src = path.join(root, 'src');
  await makeImage(path.join(src, 'harbour-boats.jpg'), { color: '#2f6fb0', date: '2024:05:03 09:30:00', width: 640, height: 480, seed: 1 });
  await makeImage(path.join(src, 'mountain.jpg'), { color: '#6f8f4f', date: '2024:05:20 16:00:00', width: 480, height: 640, seed: 2 });
  await makeImage(path.join(src, 'city.jpg'), { color: '#b05f2f', date: '2024:03:11 12:00:00', width: 640, height: 480, seed: 3 });
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=3', '-pix_fmt', 'yuv420p',
    '-c:v', 'libx264', '-movflags', '+faststart', '-metadata', 'creation_time=2024-04-02T10:00:00Z', path.join(src, 'clip.mp4')]);
  const imported = await runCli(['import', '--skip-ml', src], env);
  expect(imported.code, imported.stderr).toBe(0);
  const pw = await runCli(['user', 'set-password'], env, { input: `${PASSWORD}\n` });
  expect(pw.code, pw.stderr).toBe(0);
  served = await startServe(env);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('response', (r) => {
    if (r.url().includes('/video/playback')) ranges.push(r.status());
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await served?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!haveChromium)('immich serve: the web gallery in Chromium', () => {
  it('signs in with the owner password (a wrong one is refused) and shows the timeline with every thumbnail', async () => {
    await page.goto(served!.url);
    await page.getByLabel('Password').fill('not it');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Incorrect password');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('region', { name: 'Timeline' }).waitFor();
    await expect.poll(loadedThumbs, { timeout: 20_000 }).toBe(4);
    const months = await page.$$eval('.month', (hs) => hs.map((h) => h.textContent));
    expect(months).toHaveLength(3); // May, April, March 2024
    expect(months[0]).toMatch(/2024/);
    // Tiles are buttons named for screen readers.
    expect(await page.getByRole('button', { name: /^Video, / }).count()).toBe(1);
    await shot('timeline');
  });

  it('the search box finds a photo by its name', async () => {
    await page.getByRole('searchbox', { name: 'Search' }).fill('harbour');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Results for/ }).waitFor();
    await expect.poll(loadedThumbs).toBe(1);
    await shot('search');
  });

  it('the viewer opens the photo with its details; Escape closes it', async () => {
    await page.locator('.tile .open').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await expect.poll(() => dialog.locator('.stage img').evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await expect.poll(() => dialog.locator('.info').textContent()).toContain('ImmichTest');
    expect(await dialog.locator('.viewer-bar').textContent()).toContain('harbour-boats.jpg');
    await shot('viewer');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('prev/next by keyboard, and a video plays through range requests', async () => {
    await page.getByRole('link', { name: 'Photos' }).click();
    await expect.poll(loadedThumbs).toBe(4);
    await page.locator('.tile .open').first().click();
    const bar = page.locator('.viewer-bar');
    await expect.poll(() => bar.textContent()).toContain('mountain.jpg');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => bar.textContent()).toContain('harbour-boats.jpg');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => bar.textContent()).toContain('clip.mp4');
    const video = page.locator('.stage video');
    await expect.poll(() => video.evaluate((v) => (v as HTMLVideoElement).currentTime), { timeout: 20_000 }).toBeGreaterThan(0.3);
    expect(ranges).toContain(206);
    await shot('video');
    await page.keyboard.press('Escape');
  });

  it('an album is made from a selection', async () => {
    await page.getByRole('checkbox', { name: /^Select Photo, / }).nth(0).check();
    await page.getByRole('checkbox', { name: /^Select Photo, / }).nth(1).check();
    const bar = page.getByRole('toolbar', { name: '2 selected' });
    await bar.getByLabel('New album name').fill('Holiday');
    await bar.getByRole('button', { name: 'Add' }).click();
    await bar.waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Albums' }).click();
    const card = page.getByRole('link', { name: /Holiday/ });
    await expect.poll(() => card.textContent()).toContain('2 items');
    await card.click();
    await expect.poll(loadedThumbs).toBe(2);
    await shot('album');
  });

  it('trash hides a photo from the timeline (its month count too) and restore brings it back', async () => {
    await page.getByRole('link', { name: 'Photos' }).click();
    await expect.poll(loadedThumbs).toBe(4);
    await page.getByRole('checkbox', { name: /^Select Photo, / }).last().check(); // city.jpg, alone in March
    await page.getByRole('toolbar', { name: '1 selected' }).getByRole('button', { name: 'Trash' }).click();
    await expect.poll(loadedThumbs).toBe(3);
    expect(await page.$$eval('.month', (hs) => hs.length)).toBe(2);
    await page.getByRole('link', { name: 'Trash' }).click();
    await expect.poll(loadedThumbs).toBe(1);
    await shot('trash');
    await page.getByRole('checkbox', { name: /^Select Photo, / }).first().check();
    await page.getByRole('toolbar', { name: '1 selected' }).getByRole('button', { name: 'Restore' }).click();
    await page.getByText('Nothing here.').waitFor();
    await page.getByRole('link', { name: 'Photos' }).click();
    await expect.poll(loadedThumbs).toBe(4);
  });
});
