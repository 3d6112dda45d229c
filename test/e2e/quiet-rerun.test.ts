// Issue 14: a re-run with nothing new exits 0 (unchanged failed files and stages skipped for want of
// a model are left alone until the file or the environment changes, or --retry-failed), each bad
// file is said once, -q prints nothing on success, and a command that needs a missing model exits 3
// naming it and its install command.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tmpDir } from '../helpers/env.js';
import { json } from './backup-helpers.js';
import { makeImage } from './import-helpers.js';

let base: string;
beforeAll(() => {
  base = tmpDir('immich-quiet-rerun-');
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('quiet re-runs', () => {
  let lib: string;
  let src: string;
  const env = () => ({ UPLOAD_LOCATION: lib, HOME: base });
  beforeAll(async () => {
    lib = path.join(base, 'library');
    src = path.join(base, 'src');
    await makeImage(path.join(src, 'a.jpg'), { color: '#c03030', seed: 1, date: '2024:01:02 10:00:00' });
    await makeImage(path.join(src, 'b.png'), { color: '#30a040', seed: 2, format: 'png' });
    fs.writeFileSync(path.join(src, 'corrupt.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)]));
  });

  it('a bad file is said once; a re-run with nothing new exits 0, -q prints nothing; --retry-failed tries it again; verify lists it once', { timeout: 300_000 }, async () => {
    const first = await runCli(['import', src], env());
    expect(first.code).toBe(1);
    const lines = first.stderr.split('\n').filter((l) => l.includes('corrupt.jpg'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^immich: .*corrupt\.jpg: probe: /);
    // Each ML stage without its model says so once, with the command that installs it.
    for (const [stage, model] of [['face detection', 'facial-recognition/scrfd_2.5g-mobilefacenet'], ['object detection', 'object-detection/yolox_nano'], ['smart search', 'clip/ViT-B-32__openai']]) {
      const said = first.stderr.split('\n').filter((l) => l.startsWith(`warn: ${stage} skipped: model ${model}/`));
      expect(said, stage).toHaveLength(1);
      expect(said[0]).toContain(`install it with: immich models pull ${model}`);
    }

    // Nothing new: the unchanged corrupt file and the stages skipped for want of models are left alone.
    const again = await runCli(['--json', 'import', src], env());
    expect(again.code, again.stderr).toBe(0);
    const s = json(again);
    expect(s.counts).toMatchObject({ found: 3, imported: 0, duplicates: 2, failed: 0, knownFailures: 1, resumed: 0 });
    expect(s.counts.found).toBe(s.counts.imported + s.counts.duplicates + s.counts.failed + s.counts.knownFailures);
    expect(s.knownFailures[0].path).toBe(path.join(src, 'corrupt.jpg'));
    expect(again.stderr).toBe('');

    const index = await runCli(['--json', 'index'], env());
    expect(index.code).toBe(0);
    expect(json(index).jobs).toBe(0);

    const retried = await runCli(['import', '--retry-failed', src], env());
    expect(retried.code).toBe(1);
    expect(retried.stderr.split('\n').filter((l) => l.includes('corrupt.jpg'))).toHaveLength(1);

    // A changed file is tried again.
    fs.appendFileSync(path.join(src, 'corrupt.jpg'), Buffer.alloc(10, 1));
    expect((await runCli(['import', src], env())).code).toBe(1);

    const v = await runCli(['--json', 'verify', '--no-models'], env());
    expect(v.code).toBe(0);
    const failed = json(v).checks.find((c: { name: string }) => c.name === 'failed files');
    expect(failed.status).toBe('warning');
    expect(failed.items).toHaveLength(1);
    expect(failed.items[0]).toContain(`${path.join(src, 'corrupt.jpg')}: probe: `);
    expect(failed.items[0]).toContain('--retry-failed');

    // cron: `immich -q backup` mails nothing when all went well.
    const backup = await runCli(['-q', 'backup', path.join(base, 'repo')], env());
    expect(backup).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });
  it('a stage or command that needs a missing model says which and how to install it; verify does not call that ok', { timeout: 300_000 }, async () => {
    const noModels = { ...env(), IMMICH_MODELS_DIR: path.join(base, 'no-models'), IMMICH_MODEL_CACHE: path.join(base, 'no-cache') };
    const dup = await runCli(['duplicates', '--method', 'clip'], noModels);
    expect(dup.code).toBe(3);
    expect(dup.stderr).toMatch(/^immich: model clip\/ViT-B-32__openai\/visual is not installed .*install it with: immich models pull clip\/ViT-B-32__openai/);
    const faces = await runCli(['faces', 'detect'], noModels);
    expect(faces.code).toBe(3);
    expect(faces.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(faces.stderr).toContain('facial-recognition/scrfd_2.5g-mobilefacenet/detection is not installed');
    const v = json(await runCli(['--json', 'verify'], noModels));
    const models = v.checks.find((c: { name: string }) => c.name === 'models');
    expect(models.status).toBe('warning');
    expect(models.items.filter((i: string) => / is not installed; install it with: immich models pull /.test(i)).map((i: string) => i.split(':')[0])).toEqual(['faces', 'smart search', 'objects']);
  });

});
