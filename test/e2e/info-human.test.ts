// `immich info` human output: a field with several values (files) prints one per line under the first,
// while a control character inside a value (a newline in a file name) is still shown escaped.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tmpDir } from '../helpers/env.js';
import { makeImage } from './import-helpers.js';

describe('immich info (human)', () => {
  const root = tmpDir('immich-info-human-');
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists an asset\'s files one per line; a newline in a name stays \\n', async () => {
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    await makeImage(path.join(src, 'x\nimmich: fake.jpg'), { color: '#c04020' });
    const env = { UPLOAD_LOCATION: path.join(root, 'lib'), IMMICH_MODELS_AUTO_DOWNLOAD: '0' };
    const imp = await runCli(['import', '--skip-ml', src], env);
    expect(imp.code, imp.stderr).toBe(0);
    const r = await runCli(['info', '--all'], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('files '));
    expect(at, r.stdout).toBeGreaterThan(0);
    const files = [lines[at]!.slice(14)];
    for (let i = at + 1; lines[i]?.startsWith(' '.repeat(14)); i++) files.push(lines[i]!.slice(14));
    expect(files.map((f) => f.split(' ')[0]).sort()).toEqual(['preview', 'thumbnail']);
    expect(r.stdout).not.toContain('\\n   ');
    expect(lines).toContain('name          x\\nimmich: fake.jpg');
    expect(lines.filter((l) => l.startsWith('immich: fake'))).toEqual([]);
  }, 120_000);
});
