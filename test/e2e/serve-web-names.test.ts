// The web gallery names a photo whose file name is not UTF-8 as the CLI does: `caf\xe9.jpg`, not the
// lossless text form the API carries (`caf\uFFFDE9.jpg`, storage/raw-path.ts).
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { noteSkip, runCli, tmpDir } from '../helpers/env.js';
import { startServe, type Served } from '../helpers/serve.js';
import { makeImage } from './import-helpers.js';

const CHROMIUM = process.env.IMMICH_TEST_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) noteSkip('serve-web-names', `Chromium (${CHROMIUM})`);
const PASSWORD = 'gallery password';

describe.skipIf(!haveChromium)('immich serve: a non-UTF-8 file name in the gallery', () => {
  const root = tmpDir('immich-serve-names-');
  let served: Served | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the viewer shows caf\\xe9.jpg', async () => {
    const src = path.join(root, 'src');
    await makeImage(path.join(src, 'tmp.jpg'), { color: '#3060a0' });
    // Latin-1 bytes: 'caf' + 0xE9 + '.jpg'
    fs.renameSync(path.join(src, 'tmp.jpg'), Buffer.concat([Buffer.from(`${src}/`), Buffer.from('caf\xe9.jpg', 'latin1')]));
    const env = { UPLOAD_LOCATION: path.join(root, 'lib'), HOME: root, IMMICH_MODELS_AUTO_DOWNLOAD: '0' };
    const imported = await runCli(['import', '--skip-ml', src], env);
    expect(imported.code, imported.stderr).toBe(0);
    const pw = await runCli(['user', 'set-password'], env, { input: `${PASSWORD}\n` });
    expect(pw.code, pw.stderr).toBe(0);
    served = await startServe(env);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    await page.goto(served.url);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('region', { name: 'Timeline' }).waitFor();
    await page.locator('.tile .open').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.locator('.info dl').waitFor(); // the details have arrived
    const bar = (await dialog.locator('.viewer-bar .spacer').textContent()) ?? '';
    expect(bar).toBe('caf\\xe9.jpg');
  }, 300_000);
});
