// Sidecar gaps of organize (issue 15), end to end: an edited date read back from a sidecar
// (metadata sync --from-files and index), index --force reading the sidecars written under the
// library (IMMICH_SIDECAR_LOCATION=library), backup → restore bringing back the sidecars edits
// wrote, `immich tags list [--tree]`, and a killed edit leaving its sidecars to metadata sync.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { exiftool, jpeg, readXmp } from './organize-helpers.js';

let base = '';
beforeAll(async () => {
  base = tmpDir('organize-sidecars-');
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

function cliFor(env: Record<string, string>) {
  const cli = (args: string[], input?: string) => runCli(args, env, input === undefined ? {} : { input });
  const json = async (args: string[], input?: string) => {
    const r = await cli(['--json', ...args], input);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout);
  };
  return { cli, json };
}

describe('organize sidecars (postgres)', () => {
  let env: Record<string, string> = {};
  let drop = async () => {};
  beforeAll(async () => {
    const db = await createPgDatabase('organize');
    drop = db.drop;
    env = { ...pgEnv(db.name), UPLOAD_LOCATION: path.join(base, 'pg-lib') };
  });
  afterAll(async () => drop());

  it('a date edited in the sidecar is applied by metadata sync --from-files and by index', async () => {
    const { json } = cliFor(env);
    const src = path.join(base, 'pg-src');
    await jpeg(path.join(src, 'harbour.jpg'), [30, 30, 200], '2019:05:02 11:00:00');
    await json(['import', '--skip-ml', src]);
    await json(['edit', '--path', 'harbour.jpg', '--date', '2020-01-01T12:00:00+01:00']);
    const a = (await json(['info', '--path', 'harbour.jpg'])).assets[0];
    const xmp = `${a.libraryPath}.xmp`;
    expect(readXmp(xmp)['XMP-exif:DateTimeOriginal']).toBe('2020:01:01 12:00:00+01:00');

    // another program moves the date (and the zone) in the sidecar
    execFileSync(exiftool, ['-q', '-overwrite_original', '-XMP-exif:DateTimeOriginal=2021:06:15 08:30:00+02:00', '-XMP-photoshop:DateCreated=2021:06:15 08:30:00+02:00', xmp]);
    const read = await json(['metadata', 'sync', '--from-files']);
    expect(read.read).toEqual([{ id: a.id, file: xmp, changed: ['takenAt'] }]);
    expect((await json(['info', '--id', a.id])).assets[0]).toMatchObject({ takenAt: '2021-06-15T06:30:00.000Z', localTakenAt: '2021-06-15T08:30:00', timeZone: '+02:00' });

    // and immich index notices the next one
    execFileSync(exiftool, ['-q', '-overwrite_original', '-XMP-exif:DateTimeOriginal=2022:02:02 22:00:00-05:00', xmp]);
    expect((await json(['index', '--jobs', 'thumbnails'])).sidecarsRead).toBe(1);
    expect((await json(['info', '--id', a.id])).assets[0]).toMatchObject({ takenAt: '2022-02-03T03:00:00.000Z', localTakenAt: '2022-02-02T22:00:00', timeZone: '-05:00' });
  });

  it('tags list: user tags with their counts, flat and as a tree', async () => {
    const { json, cli } = cliFor(env);
    await json(['edit', '--path', 'harbour.jpg', '--tag', 'Trips/2024/Lisbon', '--tag', 'Trips/2023', '--tag', 'Family']);
    const flat = await json(['tags', 'list']);
    expect(flat.tags.map((t: { path: string; assets: number; total: number }) => [t.path, t.assets, t.total])).toEqual([
      ['Family', 1, 1], ['Trips', 0, 1], ['Trips/2023', 1, 1], ['Trips/2024', 0, 1], ['Trips/2024/Lisbon', 1, 1],
    ]);
    const tree = await json(['tags', 'list', '--tree']);
    expect(tree.tags.map((t: { name: string }) => t.name)).toEqual(['Family', 'Trips']);
    const trips = tree.tags[1];
    expect(trips).toMatchObject({ path: 'Trips', assets: 0, total: 1 });
    expect(trips.children.map((c: { name: string }) => c.name)).toEqual(['2023', '2024']);
    expect(trips.children[1].children[0]).toMatchObject({ name: 'Lisbon', path: 'Trips/2024/Lisbon', assets: 1, total: 1, children: [] });
    const human = await cli(['tags', 'list', '--tree']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/ {4}Lisbon\b/);
    expect(human.stdout).toMatch(/ {2}2024\b/);
  });

  it('index --force reads the sidecars written under the library (IMMICH_SIDECAR_LOCATION=library)', async () => {
    const srcDir = path.join(base, 'readonly-src');
    await jpeg(path.join(srcDir, 'quay.jpg'), [200, 30, 30], '2019:05:01 10:00:00');
    const libEnv = { ...env, IMMICH_SIDECAR_LOCATION: 'library' };
    const { json } = cliFor(libEnv);
    await json(['import', '--skip-ml', '--in-place', srcDir]);
    await json(['edit', '--path', '**/quay.jpg', '--date', '2024-05-01T10:00:00+01:00', '--tag', 'Harbour']);
    const a = (await json(['info', '--path', '**/quay.jpg'])).assets[0];
    expect(fs.existsSync(path.join(srcDir, 'quay.jpg.xmp'))).toBe(false);
    expect(a.sidecar.path.startsWith(path.join(env.UPLOAD_LOCATION!, 'sidecars'))).toBe(true);
    expect(readXmp(a.sidecar.path)['XMP-exif:DateTimeOriginal']).toBe('2024:05:01 10:00:00+01:00');
    // re-reading the file's metadata must not bring back the camera's 2019 date
    await json(['index', '--force', '--jobs', 'metadata']);
    expect((await json(['info', '--id', a.id])).assets[0]).toMatchObject({ takenAt: '2024-05-01T09:00:00.000Z', localTakenAt: '2024-05-01T10:00:00' });
  });
});

describe('organize sidecars (embedded)', () => {
  it('backup → restore brings back the sidecars edits wrote, with the edits', async () => {
    const lib = path.join(base, 'emb-lib');
    const src = path.join(base, 'emb-src');
    await jpeg(path.join(src, 'tram.jpg'), [200, 30, 30], '2019:05:01 10:00:00');
    const { json } = cliFor({ UPLOAD_LOCATION: lib });
    await json(['import', '--skip-ml', src]);
    const e = await json(['edit', '--path', 'tram.jpg', '--rating', '4', '--description', 'Tram 28', '--tag', 'Trips/Lisbon']);
    expect(e.sidecarsWritten).toBe(1);
    const a = (await json(['info', '--path', 'tram.jpg'])).assets[0];
    const repo = path.join(base, 'emb-repo');
    await json(['backup', repo]);
    const restored = path.join(base, 'emb-restored');
    await json(['restore', repo, '--to', restored]);
    const x = readXmp(path.join(restored, path.relative(lib, a.sidecar.path)));
    expect(x).toMatchObject({ 'XMP-dc:Description': 'Tram 28', 'XMP-xmp:Rating': 4, 'XMP-digiKam:TagsList': 'Trips/Lisbon' });
    const back = (await cliFor({ UPLOAD_LOCATION: restored }).json(['info', '--id', a.id])).assets[0];
    expect(back.sidecar).toMatchObject({ state: 'synced' });
  }, 900_000);
});
