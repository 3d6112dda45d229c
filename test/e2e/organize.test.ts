// Organizing end to end on the embedded database and on PostgreSQL: import into albums by folder,
// nested albums, the selection grammar (--album, --tag hierarchy, --ids-from - pipelines, --id
// prefixes, scope), `immich edit` with XMP sidecars read back by exiftool (merged into an existing
// sidecar), `immich info --json` and search --json keys, bad input (exit 2, nothing changed), an
// unwritable sidecar (exit 1, database kept, finished by metadata sync), and sidecars edited outside.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { exiftool, jpeg, readXmp } from './organize-helpers.js';

let src = '';
beforeAll(async () => {
  src = tmpDir('organize-src-');
  await jpeg(path.join(src, 'Lisbon/tram.jpg'), [200, 30, 30], '2019:05:01 10:00:00');
  await jpeg(path.join(src, 'Lisbon/river.jpg'), [30, 30, 200], '2019:05:02 11:00:00');
  await jpeg(path.join(src, 'Rome/forum.jpg'), [30, 200, 30], '2018:03:03 09:00:00');
  await jpeg(path.join(src, 'Rome/pantheon.jpg'), [220, 200, 30], '2018:03:04 12:00:00');
  // A sidecar that came with the photo, with a field immich does not know (xmp:Label).
  execFileSync(exiftool, ['-q', '-o', path.join(src, 'Rome/forum.jpg.xmp'), '-XMP-xmp:Label=Keep me', '-XMP-dc:Description=From the camera', '-XMP-digiKam:TagsList=Places/Italy/Rome']);
});
afterAll(() => fs.rmSync(src, { recursive: true, force: true }));

const backends: Array<[string, () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>]> = [
  ['embedded', async () => ({ env: {}, cleanup: async () => {} })],
  ['postgres', async () => {
    const db = await createPgDatabase('organize');
    return { env: pgEnv(db.name), cleanup: db.drop };
  }],
];

// Every command opens the database: the embedded one costs seconds per run, so there only the
// core path runs (import into albums, a pipeline, edit with sidecars, info); PostgreSQL runs all.
describe.each(backends)('organize (%s)', (name, setup) => {
  const full = name === 'postgres';
  let lib = '';
  let env: Record<string, string> = {};
  let cleanup = async () => {};
  const cli = (args: string[], input?: string) => runCli(args, env, input === undefined ? {} : { input });
  const json = async (args: string[], input?: string) => {
    const r = await cli(['--json', ...args], input);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout);
  };
  const paths = async (args: string[]) => (await cli([...args, '--paths'])).stdout.split('\n').filter(Boolean).map((p) => path.basename(p)).sort();

  beforeAll(async () => {
    lib = tmpDir('organize-lib-');
    const s = await setup();
    env = { ...s.env, UPLOAD_LOCATION: lib };
    cleanup = s.cleanup;
    const r = await cli(['import', '--skip-ml', '--album-from-folder', src]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await cleanup();
    fs.rmSync(lib, { recursive: true, force: true });
  });

  it('albums: from folders, nested by path, filled from a pipeline, shown recursively', async () => {
    const list = await json(['album', 'list']);
    expect(list.albums.map((a: { path: string; assetCount: number }) => [a.path, a.assetCount])).toEqual([['Lisbon', 2], ['Rome', 2]]);

    expect((await cli(['album', 'create', 'Trips/2024/Lisbon', '--description', 'May'])).code).toBe(0);
    // search … --paths | album add --ids-from -
    const lisbon = (await cli(['search', '--album', 'lisbon', '--paths'])).stdout;
    const add = await json(['album', 'add', 'Trips/2024/Lisbon', '--ids-from', '-'], lisbon);
    expect(add).toMatchObject({ selected: 2, added: 2 });
    const deep = await json(['album', 'show', 'Trips', '--recursive']);
    expect(deep.assets.map((a: { originalName: string }) => a.originalName).sort()).toEqual(['river.jpg', 'tram.jpg']);
    if (!full) return;
    expect((await json(['album', 'add', 'Trips/2024/Lisbon', '--ids-from', '-'], lisbon)).added).toBe(0);
    const flat = await json(['album', 'show', 'Trips']);
    expect(flat.count).toBe(0);
    expect(flat.children.map((c: { path: string }) => c.path)).toEqual(['Trips/2024']);
    expect((await json(['album', 'list', 'Trips', '--recursive'])).albums.map((a: { path: string }) => a.path)).toEqual(['Trips/2024', 'Trips/2024/Lisbon']);

    // --album repeats as AND; --not-in-album
    expect(await paths(['search', '--album', 'Lisbon', '--album', 'Trips/2024/Lisbon'])).toEqual(['river.jpg', 'tram.jpg']);
    expect(await paths(['search', '--album', 'Rome', '--album', 'Trips/2024/Lisbon'])).toEqual([]);
    expect((await cli(['album', 'rename', 'Trips/2024', '2023'])).code).toBe(0);
    expect((await json(['album', 'list', 'Trips', '--recursive'])).albums.map((a: { path: string }) => a.path)).toEqual(['Trips/2023', 'Trips/2023/Lisbon']);
    expect((await cli(['album', 'delete', 'Trips'])).code).toBe(2);
    expect((await cli(['album', 'delete', 'Trips', '--recursive'])).code).toBe(0);
    expect((await json(['album', 'list'])).albums.length).toBe(2);
  });

  it('edit writes the database in one go and every sidecar; info and search --json show it', async () => {
    const r = await json([
      'edit', '--album', 'Lisbon', '--tag', 'Trips/2024/Lisbon', '--rating', '4', '--description', 'Tram 28',
      '--location', 'Lisbon, Portugal', '--date', '2024-05-01T10:00:00+01:00',
    ]);
    expect(r).toMatchObject({ selected: 2, changed: 2, sidecarsWritten: 2, sidecarFailures: [] });
    expect(new Set(r.changes.map((c: { field: string }) => c.field))).toEqual(new Set(['rating', 'description', 'location', 'takenAt', 'tag']));

    const info = await json(['info', '--tag', 'trips']);
    expect(info.count).toBe(2);
    const tram = info.assets.find((a: { originalName: string }) => a.originalName === 'tram.jpg');
    expect(tram).toMatchObject({
      takenAt: '2024-05-01T09:00:00.000Z', localTakenAt: '2024-05-01T10:00:00', timeZone: '+01:00', dateSource: 'edit',
      city: 'Lisbon', country: 'Portugal', description: 'Tram 28', rating: 4, favorite: false, archived: false, trashedAt: null,
      tags: [{ name: 'Trips/2024/Lisbon', source: 'user' }], albums: expect.arrayContaining([expect.objectContaining({ path: 'Lisbon' })]),
      make: 'Canon', model: 'Canon EOS 7D', sidecar: expect.objectContaining({ state: 'synced' }),
    });
    expect(tram.latitude).toBeCloseTo(38.725, 2);
    for (const k of ['id', 'checksum', 'originalName', 'originalPath', 'libraryPath', 'type', 'state', 'people']) expect(tram).toHaveProperty(k);

    // the XMP sidecar, read back with exiftool
    const x = readXmp(`${tram.libraryPath}.xmp`);
    expect(x).toMatchObject({
      'XMP-dc:Description': 'Tram 28', 'XMP-xmp:Rating': 4,
      'XMP-exif:DateTimeOriginal': '2024:05:01 10:00:00+01:00', 'XMP-photoshop:DateCreated': '2024:05:01 10:00:00+01:00',
      'XMP-digiKam:TagsList': 'Trips/2024/Lisbon', 'XMP-lr:HierarchicalSubject': 'Trips|2024|Lisbon', 'XMP-dc:Subject': 'Lisbon',
    });
    expect(x['XMP-exif:GPSLatitude']).toBeCloseTo(38.725, 2);
    expect(x['XMP-exif:GPSLongitude']).toBeCloseTo(-9.15, 1);
    // the original is untouched
    expect(readXmp(tram.libraryPath)['XMP-dc:Description']).toBeUndefined();

    // search --json results carry info's keys; the hierarchy matches from the top
    if (!full) return;
    const s = await json(['search', '--tag', 'Trips/2024', '--min-rating', '4']);
    expect(s.count).toBe(2);
    expect(Object.keys(s.results[0])).toEqual(expect.arrayContaining(Object.keys(tram)));
    expect(await paths(['search', '--tag', 'Trips/2025'])).toEqual([]);

    // merged into the sidecar that came with the photo: our fields replace, unknown ones stay
    const forum = await json(['edit', '--path', 'forum.jpg', '--tag', 'Rome', '--description', 'Forum']);
    expect(forum.sidecarsWritten).toBe(1);
    const fi = (await json(['info', '--path', 'forum.jpg'])).assets[0];
    // the sidecar's hierarchical tags came in at import (source xmp) and stay in it
    expect(fi.tags).toEqual(expect.arrayContaining([{ name: 'Places/Italy/Rome', source: 'xmp' }, { name: 'Rome', source: 'user' }]));
    const fx = readXmp(fi.sidecar.path);
    expect(fx).toMatchObject({ 'XMP-xmp:Label': 'Keep me', 'XMP-dc:Description': 'Forum', 'XMP-digiKam:TagsList': ['Places/Italy/Rome', 'Rome'] });
    expect(await paths(['search', '--tag', 'places/italy'])).toEqual(['forum.jpg']);
  });

  it.runIf(full)('selection: --id prefixes, --ids-from paths, archive and scope, --shift and --tz', async () => {
    const all = (await json(['info', '--all'])).assets as Array<{ id: string; originalName: string; libraryPath: string; originalPath: string }>;
    const pantheon = all.find((a) => a.originalName === 'pantheon.jpg')!;
    expect((await json(['edit', '--id', pantheon.id.slice(0, 8), '--archive', '--favorite'])).changed).toBe(1);
    expect(await paths(['search', '--path', '*.jpg', '-n', '50'])).toEqual(['forum.jpg', 'river.jpg', 'tram.jpg']);
    expect(await paths(['search', '--archived'])).toEqual(['pantheon.jpg']);
    expect(await paths(['search', '--all', '--favorite'])).toEqual(['pantheon.jpg']);
    // named assets are found wherever they are; original paths work as well as library paths
    const named = await json(['info', '--ids-from', '-'], `${pantheon.originalPath}\n${all[0]!.libraryPath}\n`);
    expect(named.count).toBe(2);

    const before = (await json(['info', '--id', pantheon.id])).assets[0];
    await json(['edit', '--id', pantheon.id, '--shift', '+1h30m']);
    await json(['edit', '--id', pantheon.id, '--tz', 'Asia/Tokyo', '--keep-instant']);
    const after = (await json(['info', '--id', pantheon.id])).assets[0];
    expect(Date.parse(after.takenAt) - Date.parse(before.takenAt)).toBe(90 * 60_000);
    expect(after.timeZone).toBe('Asia/Tokyo');
    expect(Date.parse(after.localTakenAt + 'Z') - Date.parse(after.takenAt)).toBe(9 * 3600_000);
    await json(['edit', '--id', pantheon.id, '--tz', '+02:00', '--keep-wall-clock']);
    const wall = (await json(['info', '--id', pantheon.id])).assets[0];
    expect(wall.localTakenAt).toBe(after.localTakenAt);
    expect(Date.parse(wall.localTakenAt + 'Z') - Date.parse(wall.takenAt)).toBe(2 * 3600_000);
  });

  it.runIf(full)('bad input: one line naming the value, exit 2, nothing changed', async () => {
    const snapshot = async () => JSON.stringify((await json(['info', '--all'])).assets.map((a: { editedAt: string; rating: number }) => [a.editedAt, a.rating]));
    const before = await snapshot();
    const bad: Array<[string[], RegExp]> = [
      [['edit', '--all', '--rating', '9'], /--rating 9/],
      [['edit', '--all', '--location', '95,10'], /latitude 95/],
      [['edit', '--album', 'Nowhere', '--favorite'], /--album Nowhere/],
      [['edit', '--all', '--has-tag', 'Unheard', '--favorite'], /--tag Unheard/],
      [['edit', '--all', '--person', 'Nobody', '--favorite'], /--person Nobody/],
      [['edit', '--all', '--date', '2024-05-01T10:00:00'], /offset/],
      [['edit', '--all', '--tz', 'Mars/Olympus', '--keep-instant'], /Mars\/Olympus/],
      [['edit', '--all', '--location', 'Paris'], /Paris, Île-de-France, France/],
      [['edit', '--id', 'ffffffff', '--favorite'], /--id ffffffff/],
      [['edit', '--ids-from', '-', '--favorite'], /no-such\.jpg/],
      [['edit', '--favorite'], /nothing selected/],
    ];
    for (const [args, re] of bad) {
      const r = await cli(args, args.includes('--ids-from') ? '/nowhere/no-such.jpg\n' : undefined);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
    }
    expect(await snapshot()).toBe(before);
  });

  it.runIf(full)('an unwritable sidecar keeps the database change (exit 1) and metadata sync finishes it; outside edits are read back', async () => {
    const river = (await json(['info', '--path', 'river.jpg'])).assets[0];
    const target = `${river.libraryPath}.xmp`;
    // a folder where the sidecar should go: the write fails even for root
    fs.rmSync(target, { force: true });
    fs.mkdirSync(target);
    const r = await cli(['edit', '--path', 'river.jpg', '--description', 'Sunset']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(target);
    const kept = (await json(['info', '--path', 'river.jpg'])).assets[0];
    expect(kept).toMatchObject({ description: 'Sunset', sidecar: expect.objectContaining({ state: 'pending' }) });
    fs.rmdirSync(target);
    expect((await json(['metadata', 'sync', '--to-files'])).written).toBe(1);
    expect(readXmp(target)['XMP-dc:Description']).toBe('Sunset');

    // edited in another program: metadata sync --from-files (and immich index) read it back
    execFileSync(exiftool, ['-q', '-overwrite_original', '-XMP-xmp:Rating=2', '-XMP-digiKam:TagsList+=Family', target]);
    const read = await json(['metadata', 'sync', '--from-files']);
    expect(read.read.map((x: { file: string; changed: string[] }) => [x.file, x.changed.sort()])).toEqual([[target, ['rating', 'tags']]]);
    const back = (await json(['info', '--path', 'river.jpg'])).assets[0];
    expect(back.rating).toBe(2);
    expect(back.tags.map((t: { name: string }) => t.name).sort()).toEqual(['Family', 'Trips/2024/Lisbon']);
    expect((await json(['metadata', 'sync', '--from-files'])).read).toEqual([]);
    // immich index notices an outside edit too
    execFileSync(exiftool, ['-q', '-overwrite_original', '-XMP-xmp:Rating=1', target]);
    expect((await json(['index', '--jobs', 'thumbnails'])).sidecarsRead).toBe(1);
    expect((await json(['info', '--path', 'river.jpg'])).assets[0].rating).toBe(1);
    // sidecars that edits wrote are the library's files, not untracked ones
    const v = await cli(['--json', 'verify', '--no-models']);
    const checks = JSON.parse(v.stdout).checks as Array<{ name: string; status: string }>;
    expect(checks.find((c) => c.name === 'untracked files')?.status).toBe('ok');
  });
});
