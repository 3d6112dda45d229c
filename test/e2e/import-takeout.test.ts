// `immich import` of a Google Takeout made here: two zip parts (a media file and its JSON often in
// different parts), localised folder names with a non-ASCII space, JSONs in Google's structure, and
// the same tree unpacked. Checks what a user sees: rows (dates, GPS, flags, names, albums, tags),
// the report, a re-run that adds nothing, --include-trashed, --from google-takeout, refused zip
// entries, and a kill -9 in the middle finished by a re-run.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findFfmpeg } from '../../src/media/video.js';
import { BIN, runCli, tmpDir } from '../helpers/env.js';
import { writeZip, type ZipFixtureEntry } from '../helpers/zip.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

const ROOT = 'Takeout/Google\u00a0Fotos'; // a localised product folder with a no-break space
const YEAR = `${ROOT}/Photos from 2019`;
const ALBUM = `${ROOT}/Lisboa ☀`;
const ALBUM2 = `${ROOT}/Urlaub`;
const EMOJI = '😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋';
const LONG_TITLE = 'Sunset over the harbour in Lisbon with friends and family.jpg';
const LONG_CUT = 'Sunset over the harbour in Lisbon with friends.jpg'; // the archive's cut name

const ts = (iso: string) => String(Date.parse(iso) / 1000);
/** A sidecar in Google's structure; creationTime (the upload) is always 2024 and must never be used. */
function sidecar(title: string, taken: string, extra: Record<string, unknown> = {}): string {
  const t = (iso: string) => ({ timestamp: ts(iso), formatted: new Date(iso).toUTCString() });
  return JSON.stringify({
    title,
    description: '',
    imageViews: '3',
    creationTime: t('2024-02-02T02:02:02Z'),
    photoTakenTime: t(taken),
    geoData: { latitude: 0.0, longitude: 0.0, altitude: 0.0, latitudeSpan: 0.0, longitudeSpan: 0.0 },
    geoDataExif: { latitude: 0.0, longitude: 0.0, altitude: 0.0, latitudeSpan: 0.0, longitudeSpan: 0.0 },
    url: 'https://photos.google.com/photo/AF1Qip',
    googlePhotosOrigin: { mobileUpload: { deviceType: 'ANDROID_PHONE' } },
    ...extra,
  }, null, 2);
}

interface Fixture {
  part1: string;
  part2: string;
  unpacked: string;
  /** Media of the export that are imported (trashed excluded), by checksum-distinct content. */
  unique: number;
}

async function buildTakeout(): Promise<Fixture> {
  const dir = tmpDir('immich-takeout-');
  const media = path.join(dir, 'media');
  const img = async (color: string, seed: number, date?: string) => {
    const f = path.join(media, `${seed}.jpg`);
    await makeImage(f, { color, seed, ...(date ? { date } : {}) });
    return fs.readFileSync(f);
  };
  const ff = findFfmpeg();
  const video = (seed: number) => {
    const f = path.join(media, `${seed}.mp4`);
    execFileSync(ff.ffmpeg, ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=64x48:rate=10:duration=0.3,hue=h=${seed * 40}`,
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', f]);
    return fs.readFileSync(f);
  };
  const p1 = await img('#c03030', 1); // no date of its own
  const p2 = await img('#30c030', 2, '2019:05:05 12:00:00');
  const p3 = await img('#3030c0', 3);
  const p4 = await img('#c0c030', 4);
  const p4e = await img('#c0c031', 5);
  const pLong = await img('#30c0c0', 6);
  const pEmoji = await img('#c030c0', 7);
  const pLive = await img('#803030', 8);
  const pLive1 = await img('#308030', 9);
  const pPxl = await img('#303080', 10);
  const pTrash = await img('#808080', 11);
  const pSupp = await img('#a0a0a0', 12);
  const vLive = video(1);
  const vLive1 = video(2);

  // 2024+ naming; geoDataExif wins over geoData; a favourite with a description and a person. An
  // album's copy of a photo has the same JSON as the year folder's.
  const IMG1_JSON = sidecar('IMG_0001.jpg', '2019-03-01T10:00:00Z', {
    description: 'Tram 28', favorited: true, people: [{ name: 'Ada Lovelace' }],
    geoData: { latitude: 38.7, longitude: -9.1, altitude: 0, latitudeSpan: 0, longitudeSpan: 0 },
    geoDataExif: { latitude: 38.7139, longitude: -9.1334, altitude: 80, latitudeSpan: 0, longitudeSpan: 0 },
  });
  const p1Entries: ZipFixtureEntry[] = [
    { name: `${ROOT}/archive_browser.html`, data: '<html></html>' },
    // A zip re-packed on a Mac: resource forks named like photos are not imported.
    { name: `__MACOSX/${YEAR}/._IMG_0001.jpg`, data: 'AppleDouble' },
    { name: `${YEAR}/._IMG_0002.jpg`, data: 'AppleDouble' },
    { name: `${YEAR}/IMG_0001.jpg`, data: p1 },
    { name: `${YEAR}/IMG_0002.jpg`, data: p2 },
    { name: `${YEAR}/IMG_0003(1).jpg`, data: p3 },
    { name: `${YEAR}/IMG_0004.jpg`, data: p4 },
    { name: `${YEAR}/IMG_0004-bearbeitet.jpg`, data: p4e },
    { name: `${YEAR}/${LONG_CUT}`, data: pLong },
    { name: `${YEAR}/${EMOJI}😛.jpg`, data: pEmoji },
    { name: `${YEAR}/IMG_0005.jpg`, data: pLive },
    { name: `${YEAR}/IMG_0005.MP4`, data: vLive },
    { name: `${YEAR}/IMG_0005(1).jpg`, data: pLive1 },
    { name: `${YEAR}/IMG_0005(1).MP4`, data: vLive1 },
    { name: `${YEAR}/PXL_20211013_220651958.jpg`, data: pPxl },
    { name: `${YEAR}/IMG_0009.jpg`, data: pTrash },
    { name: `${YEAR}/Screenshot_20190707-101010_Maps_with_a_very_long.jpg`, data: pSupp },
    // The album copies: the same bytes as in the year folder.
    { name: `${ALBUM}/IMG_0001.jpg`, data: p1 },
    { name: `${ALBUM}/IMG_0001.jpg.supplemental-metadata.json`, data: IMG1_JSON },
    { name: `${ALBUM2}/IMG_0002.jpg`, data: p2 },
  ];
  const p2Entries: ZipFixtureEntry[] = [
    { name: `${YEAR}/IMG_0001.jpg.supplemental-metadata.json`, data: IMG1_JSON },
    // The file has its own date: kept, the 5-day difference reported. 0,0 is no position. Archived.
    { name: `${YEAR}/IMG_0002.jpg.json`, data: sidecar('IMG_0002.jpg', '2019-05-10T12:00:00Z', { archived: true }) },
    // The duplicate index moved behind the extension.
    { name: `${YEAR}/IMG_0003.jpg(1).json`, data: sidecar('IMG_0003.jpg', '2018-01-02T03:04:05Z', { people: [{ name: 'Grace Hopper' }],
      geoData: { latitude: 41.15, longitude: -8.61, altitude: 0, latitudeSpan: 0, longitudeSpan: 0 } }) },
    // The edited copy shares the original's.
    { name: `${YEAR}/IMG_0004.jpg.json`, data: sidecar('IMG_0004.jpg', '2017-06-07T08:00:00Z') },
    { name: `${YEAR}/${LONG_CUT.slice(0, 46)}.json`, data: sidecar(LONG_TITLE, '2016-01-01T00:00:00Z') },
    { name: `${YEAR}/${EMOJI}.json`, data: sidecar(`${EMOJI}😛.jpg`, '2015-05-05T05:05:05Z') },
    // Live Photos: the videos share their still's JSON, with and without an index.
    { name: `${YEAR}/IMG_0005.jpg.json`, data: sidecar('IMG_0005.jpg', '2014-04-04T04:04:04Z') },
    { name: `${YEAR}/IMG_0005.jpg(1).json`, data: sidecar('IMG_0005.jpg', '2013-03-03T03:03:03Z') },
    // A look-alike (another millisecond): neither matches the other.
    { name: `${YEAR}/PXL_20211013_220651983.jpg.json`, data: sidecar('PXL_20211013_220651983.jpg', '2021-10-13T22:06:51Z') },
    { name: `${YEAR}/IMG_0009.jpg.json`, data: sidecar('IMG_0009.jpg', '2012-02-02T02:02:02Z', { trashed: true }) },
    // A cut .supplemental-metadata suffix: 46 units before .json.
    { name: `${YEAR}/${'Screenshot_20190707-101010_Maps_with_a_very_long.jpg.supplemental-metadata'.slice(0, 46)}.json`,
      data: sidecar('Screenshot_20190707-101010_Maps_with_a_very_long.jpg', '2019-07-07T10:10:10Z') },
    // Album metadata files under localised names (the content says what they are).
    { name: `${ALBUM}/métadonnées.json`, data: JSON.stringify({ title: 'Lisboa ☀', description: 'Trip with Ada', access: 'protected', date: { timestamp: ts('2019-03-05T00:00:00Z'), formatted: '' } }) },
    { name: `${ALBUM2}/Metadaten.json`, data: JSON.stringify({ title: 'Urlaub 2019', description: '', access: 'protected' }) },
    { name: `${ALBUM2}/IMG_0002.jpg.json`, data: sidecar('IMG_0002.jpg', '2019-05-10T12:00:00Z', { archived: true }) },
    // Entries that could escape the folder, and a link: refused, never read.
    { name: 'Takeout/../../evil.jpg', data: p1 },
    { name: `${YEAR}/link.jpg`, data: '/etc/passwd', symlink: true },
  ];
  const part1 = path.join(dir, 'takeout-20240101T000000Z-001.zip');
  const part2 = path.join(dir, 'takeout-20240101T000000Z-002.zip');
  writeZip(part1, p1Entries);
  writeZip(part2, p2Entries);
  // The same export unpacked into one folder (what unzipping both parts gives), without the refused entries.
  const unpacked = path.join(dir, 'unpacked');
  for (const e of [...p1Entries, ...p2Entries]) {
    if (e.symlink || e.name.includes('..')) continue;
    fs.mkdirSync(path.join(unpacked, path.dirname(e.name)), { recursive: true });
    fs.writeFileSync(path.join(unpacked, e.name), e.data);
    // As unzip leaves them: with the entry's time.
    const when = new Date(2024, 0, 15, 12, 0, 0);
    fs.utimesSync(path.join(unpacked, e.name), when, when);
  }
  // 14 media in the year folder, 1 trashed: 13, plus album copies that are duplicates.
  return { part1, part2, unpacked, unique: 13 };
}

type Row = Record<string, any>;
async function libraryRows(lib: string) {
  return withLibraryDb(lib, async (db) => {
    const assets: Row[] = await db
      .selectFrom('assets')
      .leftJoin('exif', 'exif.asset_id', 'assets.id')
      .select(['assets.id', 'assets.original_name', 'assets.original_path', 'assets.library_path', 'assets.taken_at', 'assets.date_source', 'assets.is_favorite', 'assets.is_archived',
        'assets.deleted_at', 'assets.description', 'assets.checksum', 'exif.latitude', 'exif.longitude'])
      .execute();
    const albums: Row[] = await db
      .selectFrom('albums')
      .leftJoin('album_assets', 'album_assets.album_id', 'albums.id')
      .leftJoin('assets', 'assets.id', 'album_assets.asset_id')
      .select(['albums.name', 'albums.description', 'assets.original_name'])
      .orderBy('albums.name')
      .orderBy('assets.original_name')
      .execute();
    const tags: Row[] = await db
      .selectFrom('asset_user_tags')
      .innerJoin('user_tags', 'user_tags.id', 'asset_user_tags.tag_id')
      .innerJoin('assets', 'assets.id', 'asset_user_tags.asset_id')
      .select(['user_tags.value as name', 'assets.original_name', 'asset_user_tags.source'])
      .orderBy('user_tags.value')
      .execute();
    return { assets, albums, tags, byName: new Map(assets.map((a) => [a.original_name as string, a])) };
  });
}

const day = (d: unknown) => new Date(d as string).toISOString().slice(0, 10);

/** Every stack: its primary's and its members' original names. */
async function editStacks(lib: string) {
  return withLibraryDb(lib, async (db) => {
    const stacks = await db.selectFrom('stacks').innerJoin('assets', 'assets.id', 'stacks.primary_asset_id').select(['stacks.id', 'assets.original_name']).execute();
    const members = await db.selectFrom('stack_assets').innerJoin('assets', 'assets.id', 'stack_assets.asset_id').select(['stack_assets.stack_id', 'assets.original_name']).execute();
    return stacks.map((s) => ({ primary: s.original_name, members: members.filter((m) => m.stack_id === s.id).map((m) => m.original_name).sort() }));
  });
}

describe('immich import (Google Takeout)', () => {
  let fx: Fixture;
  /** The library the zips gave, as the first test saw it: the unpacked folder must give the same. */
  let fromZips: Awaited<ReturnType<typeof libraryRows>> | undefined;
  beforeAll(async () => {
    fx = await buildTakeout();
  }, 120_000);

  it('imports both zip parts: sidecar rules, flags, albums, tags, report; a re-run adds nothing; --include-trashed', async () => {
    const lib = path.join(tmpDir(), 'library');
    const r = await runCli(['--json', 'import', '--skip-ml', fx.part1, fx.part2], { UPLOAD_LOCATION: lib });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.counts).toMatchObject({ imported: fx.unique, duplicates: 2, failed: 0 });
    const t = s.takeout;
    const inZip = (part: string, name: string) => `${part}/${name}`;
    expect(t.mediaWithoutSidecar).toEqual([inZip(fx.part1, `${YEAR}/PXL_20211013_220651958.jpg`)]);
    expect(t.sidecarsWithoutMedia).toEqual([inZip(fx.part2, `${YEAR}/PXL_20211013_220651983.jpg.json`)]);
    expect(t.skippedTrashed).toEqual([inZip(fx.part1, `${YEAR}/IMG_0009.jpg`)]);
    // Reported once, for the copy imported (the album's copy is a duplicate of it).
    expect(t.dateConflicts).toEqual([
      { path: inZip(fx.part1, `${YEAR}/IMG_0002.jpg`), media: '2019-05-05T12:00:00.000Z', sidecar: '2019-05-10T12:00:00.000Z' },
    ]);
    expect(t.refused.map((x: Row) => x.reason).sort()).toEqual(["'..' in path", 'symbolic link']);
    expect(t.albums).toEqual(expect.arrayContaining([{ name: 'Lisboa ☀', assets: 1, added: 1 }, { name: 'Urlaub 2019', assets: 1, added: 1 }]));

    fromZips = await libraryRows(lib);
    const { assets, albums, tags, byName } = fromZips;
    expect(assets).toHaveLength(fx.unique);
    // photoTakenTime, never creationTime; geoDataExif before geoData; favourite, description.
    const a1 = byName.get('IMG_0001.jpg')!;
    expect(new Date(a1.taken_at).toISOString()).toBe('2019-03-01T10:00:00.000Z');
    expect(a1.library_path).toContain(path.join('2019', '2019-03-01'));
    expect([a1.latitude, a1.longitude]).toEqual([38.7139, -9.1334]);
    expect(a1).toMatchObject({ is_favorite: true, is_archived: false, description: 'Tram 28', deleted_at: null, date_source: 'takeout' });
    // Paths in order: the album's copy ('Lisboa') comes before the year folder's and is the one imported.
    expect(a1.original_path).toBe(inZip(fx.part1, `${ALBUM}/IMG_0001.jpg`));
    // The file's own date wins; 0,0 is no position; archived.
    const a2 = byName.get('IMG_0002.jpg')!;
    expect(day(a2.taken_at)).toBe('2019-05-05');
    expect(a2).toMatchObject({ is_archived: true, latitude: null, date_source: null });
    // Moved index; geoData when there is no geoDataExif.
    const a3 = byName.get('IMG_0003(1).jpg')!;
    expect(new Date(a3.taken_at).toISOString()).toBe('2018-01-02T03:04:05.000Z');
    expect([a3.latitude, a3.longitude]).toEqual([41.15, -8.61]);
    // The edited copy takes the original's date.
    expect(day(byName.get('IMG_0004.jpg')!.taken_at)).toBe('2017-06-07');
    expect(day(byName.get('IMG_0004-bearbeitet.jpg')!.taken_at)).toBe('2017-06-07');
    // ...and is stacked under it without --stack auto, the original as the primary.
    expect(t.editsStacked).toBe(1);
    expect(await editStacks(lib)).toEqual([{ primary: 'IMG_0004.jpg', members: ['IMG_0004-bearbeitet.jpg', 'IMG_0004.jpg'] }]);
    // A cut archive name is replaced by the title; names cut at 46 units, emoji included.
    expect(day(byName.get(LONG_TITLE)!.taken_at)).toBe('2016-01-01');
    expect(byName.get(LONG_TITLE)!.library_path).toMatch(/Sunset over the harbour in Lisbon with friends and family\.jpg$/);
    expect(byName.has(LONG_CUT)).toBe(false);
    expect(day(byName.get(`${EMOJI}😛.jpg`)!.taken_at)).toBe('2015-05-05');
    expect(day(byName.get('Screenshot_20190707-101010_Maps_with_a_very_long.jpg')!.taken_at)).toBe('2019-07-07');
    // Live Photos: still and video from one JSON, the (1) pair from the (1) JSON.
    expect(day(byName.get('IMG_0005.jpg')!.taken_at)).toBe('2014-04-04');
    expect(day(byName.get('IMG_0005.MP4')!.taken_at)).toBe('2014-04-04');
    expect(day(byName.get('IMG_0005(1).jpg')!.taken_at)).toBe('2013-03-03');
    expect(day(byName.get('IMG_0005(1).MP4')!.taken_at)).toBe('2013-03-03');
    // The look-alike keeps no date from the other's JSON (the zip entry's time instead).
    expect(day(byName.get('PXL_20211013_220651958.jpg')!.taken_at)).toBe('2024-01-15');
    expect(byName.has('IMG_0009.jpg')).toBe(false);

    expect(albums).toEqual([
      { name: 'Lisboa ☀', description: 'Trip with Ada', original_name: 'IMG_0001.jpg' },
      { name: 'Urlaub 2019', description: null, original_name: 'IMG_0002.jpg' },
    ]);
    expect(tags.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'People/Ada Lovelace', original_name: 'IMG_0001.jpg', source: 'takeout' },
      { name: 'People/Grace Hopper', original_name: 'IMG_0003(1).jpg', source: 'takeout' },
    ]);
    expect(listFiles(lib, 'tmp')).toEqual([]);

    // Re-reading every file's metadata keeps what the JSONs gave where the files say nothing:
    // position (exif.gps_source), capture date (date_source), description, flags.
    const reindex = await runCli(['index', '--force', '--jobs', 'metadata'], { UPLOAD_LOCATION: lib });
    expect(reindex.code, reindex.stderr).toBe(0);
    const reread = (await libraryRows(lib)).byName;
    for (const name of ['IMG_0001.jpg', 'IMG_0002.jpg', 'IMG_0003(1).jpg', 'IMG_0004-bearbeitet.jpg', LONG_TITLE]) {
      const [was, now] = [byName.get(name)!, reread.get(name)!];
      expect([now.latitude, now.longitude, new Date(now.taken_at).toISOString(), now.description, now.date_source, now.is_favorite], name)
        .toEqual([was.latitude, was.longitude, new Date(was.taken_at).toISOString(), was.description, was.date_source, was.is_favorite]);
    }
    expect([reread.get('IMG_0003(1).jpg')!.latitude, reread.get('IMG_0003(1).jpg')!.longitude]).toEqual([41.15, -8.61]);

    // One detected face and one name: the face is named on the next run (faces come from the ML
    // stages, here inserted as a detector would); a face the user put with a named person stays.
    await withLibraryDb(lib, async (db) => {
      const face = (asset_id: string, person_id: string | null) => ({ asset_id, person_id, model: 'buffalo_s', image_width: 64, image_height: 48,
        box_x1: 0.2, box_y1: 0.2, box_x2: 0.5, box_y2: 0.6, score: 0.9, landmarks: Array(10).fill(0.4), crop_path: null });
      const user = await db.insertInto('people').values({ name: 'Admiral Hopper' }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('asset_faces').values([face(a1.id, null), face(byName.get('IMG_0003(1).jpg')!.id, user.id)]).execute();
    });

    // Human report: the paths inside the zips.
    const again = await runCli(['import', '--skip-ml', fx.part1, fx.part2], { UPLOAD_LOCATION: lib });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 imported, 15 duplicate\(s\), 0 failure\(s\)/);
    expect(again.stdout).toContain(`no sidecar: ${fx.part1}/${YEAR}/PXL_20211013_220651958.jpg`);
    expect(again.stdout).toContain(`trashed, skipped: ${fx.part1}/${YEAR}/IMG_0009.jpg`);
    const after = await libraryRows(lib);
    expect(after.assets).toHaveLength(fx.unique);
    expect(after.albums).toEqual(albums);
    expect(after.tags.sort((a, b) => a.name.localeCompare(b.name))).toEqual(tags);
    expect(await editStacks(lib)).toEqual([{ primary: 'IMG_0004.jpg', members: ['IMG_0004-bearbeitet.jpg', 'IMG_0004.jpg'] }]);
    const faces = await withLibraryDb(lib, (db) => db.selectFrom('asset_faces').innerJoin('people', 'people.id', 'asset_faces.person_id')
      .innerJoin('assets', 'assets.id', 'asset_faces.asset_id').select(['assets.original_name', 'people.name']).orderBy('assets.original_name').execute());
    expect(faces).toEqual([{ original_name: 'IMG_0001.jpg', name: 'Ada Lovelace' }, { original_name: 'IMG_0003(1).jpg', name: 'Admiral Hopper' }]);

    // --include-trashed: the trashed item goes into the trash, nothing else changes.
    const trashed = await runCli(['--json', 'import', '--skip-ml', '--include-trashed', fx.part1, fx.part2], { UPLOAD_LOCATION: lib });
    expect(trashed.code, trashed.stderr).toBe(0);
    expect(JSON.parse(trashed.stdout).counts.imported).toBe(1);
    const withTrash = await libraryRows(lib);
    expect(withTrash.assets).toHaveLength(fx.unique + 1);
    expect(withTrash.byName.get('IMG_0009.jpg')!.deleted_at).not.toBeNull();
    expect(day(withTrash.byName.get('IMG_0009.jpg')!.taken_at)).toBe('2012-02-02');
  }, 600_000);

  it('the unpacked folder gives the same library; --from google-takeout reads a zip without the layout; bad zips are usage errors', async () => {
    const unzipped = path.join(tmpDir(), 'library');
    const b = await runCli(['--json', 'import', '--skip-ml', fx.unpacked], { UPLOAD_LOCATION: unzipped });
    expect(b.code, b.stderr).toBe(0);
    expect(fromZips, 'the first test ran').toBeDefined();
    const ra = fromZips!;
    const rb = await libraryRows(unzipped);
    const key = (rows: Row[]) => rows.map((r) => [r.checksum, r.original_name, new Date(r.taken_at).toISOString(), r.library_path, r.is_favorite, r.is_archived, r.description, r.latitude].join('|')).sort();
    expect(key(rb.assets)).toEqual(key(ra.assets));
    expect(rb.albums).toEqual(ra.albums);
    expect(rb.tags).toEqual(ra.tags);
    expect(JSON.parse(b.stdout).takeout.mediaWithoutSidecar).toEqual([path.join(fx.unpacked, YEAR, 'PXL_20211013_220651958.jpg')]);

    // A zip of plain photos: not a Takeout unless forced.
    const plainZip = path.join(tmpDir(), 'photos.zip');
    writeZip(plainZip, [{ name: 'a/IMG_1.jpg', data: fs.readFileSync(path.join(path.dirname(fx.part1), 'media', '1.jpg')) }]);
    const lib = path.join(tmpDir(), 'library');
    const refused = await runCli(['import', plainZip], { UPLOAD_LOCATION: lib });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${plainZip}: not a Google Takeout`);
    const forced = await runCli(['--json', 'import', '--skip-ml', '--from', 'google-takeout', plainZip], { UPLOAD_LOCATION: lib });
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout).takeout.mediaWithoutSidecar).toEqual([`${plainZip}/a/IMG_1.jpg`]);
    const notZip = path.join(tmpDir(), 'broken.zip');
    fs.writeFileSync(notZip, 'not a zip');
    const bad = await runCli(['import', notZip], { UPLOAD_LOCATION: lib });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${notZip}: not a readable zip archive`);
    const move = await runCli(['import', '--move', fx.part1, fx.part2], { UPLOAD_LOCATION: lib });
    expect(move.code).toBe(2);
  }, 300_000);

  it('kill -9 in the middle, then the same import: no duplicates, albums and tags complete, no temp files', async () => {
    const lib = path.join(tmpDir(), 'library');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)) env[k] = v;
    const killed = await new Promise<boolean>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'import', '--skip-ml', '-j', '1', fx.part1, fx.part2], { env: { ...env, UPLOAD_LOCATION: lib, CI: 'true' }, cwd: os.tmpdir() });
      child.stdout.resume();
      child.stderr.resume();
      let done = false;
      const timer = setInterval(() => {
        const placed = listFiles(lib, 'uploads').filter((f) => !path.basename(f).startsWith('.immich-tmp-')).length;
        if (placed >= 4 && !done) {
          done = true;
          child.kill('SIGKILL');
        }
      }, 5);
      child.on('close', (_code, signal) => {
        clearInterval(timer);
        resolve(signal === 'SIGKILL');
      });
    });
    expect(killed).toBe(true);
    const r = await runCli(['--json', 'import', '--skip-ml', fx.part1, fx.part2], { UPLOAD_LOCATION: lib });
    expect(r.code, r.stderr).toBe(0);
    const { assets, albums, tags } = await libraryRows(lib);
    expect(assets).toHaveLength(fx.unique);
    expect(new Set(assets.map((a) => a.checksum)).size).toBe(fx.unique);
    expect(albums.map((a) => `${a.name}:${a.original_name}`)).toEqual(['Lisboa ☀:IMG_0001.jpg', 'Urlaub 2019:IMG_0002.jpg']);
    expect(tags).toHaveLength(2);
    expect(await editStacks(lib)).toEqual([{ primary: 'IMG_0004.jpg', members: ['IMG_0004-bearbeitet.jpg', 'IMG_0004.jpg'] }]);
    expect(listFiles(lib, 'uploads')).toHaveLength(fx.unique);
    expect(listFiles(lib, 'tmp')).toEqual([]);
  }, 300_000);

  it('zip64 with more than 65535 entries imports; --ignore applies inside the zips, relative to the Takeout root', async () => {
    const dir = tmpDir('immich-takeout-zip64-');
    const img = async (color: string, seed: number) => {
      const f = path.join(dir, `${seed}.jpg`);
      await makeImage(f, { color, seed });
      return fs.readFileSync(f);
    };
    const [a, b, c] = [await img('#a05050', 21), await img('#50a050', 22), await img('#5050a0', 23)];
    const filler: ZipFixtureEntry[] = Array.from({ length: 70_000 }, (_, i) => ({ name: `Takeout/Google Photos/print-orders/order-${i}.txt`, data: `${i}`, store: true }));
    const zip = path.join(dir, 'takeout-20240101T000000Z-001.zip');
    // The media come after entry 65535: found only through the zip64 end record's count.
    writeZip(zip, [
      ...filler,
      { name: 'Takeout/Google Photos/Photos from 2020/A.jpg', data: a },
      { name: 'Takeout/Google Photos/Photos from 2020/A.jpg.json', data: sidecar('A.jpg', '2020-02-02T10:00:00Z') },
      { name: 'Takeout/Google Photos/Photos from 2020/B.jpg', data: b },
      { name: 'Takeout/Google Photos/Photos from 2020/B.jpg.json', data: sidecar('B.jpg', '2020-02-03T10:00:00Z') },
      { name: 'Takeout/Google Photos/Screenshots/C.jpg', data: c },
      { name: 'Takeout/Google Photos/Screenshots/C.jpg.json', data: sidecar('C.jpg', '2020-02-04T10:00:00Z') },
    ]);
    expect(fs.readFileSync(zip).includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true);
    const lib = path.join(dir, 'library');
    const r = await runCli(['--json', 'import', '--skip-ml', '--ignore', 'Google Photos/Screenshots/*', zip], { UPLOAD_LOCATION: lib });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.counts).toMatchObject({ imported: 2, failed: 0 });
    expect(s.takeout.ignored).toBe(2);
    const { byName } = await libraryRows(lib);
    expect([...byName.keys()].sort()).toEqual(['A.jpg', 'B.jpg']);
    expect(day(byName.get('B.jpg')!.taken_at)).toBe('2020-02-03');
    // With the Takeout/ folder in the glob too; a name glob matches anywhere inside the zip.
    const lib2 = path.join(dir, 'library2');
    const r2 = await runCli(['--json', 'import', '--skip-ml', '--ignore', 'Takeout/Google Photos/Photos from 2020/*', '--ignore', 'B.jpg', zip], { UPLOAD_LOCATION: lib2 });
    expect(r2.code, r2.stderr).toBe(0);
    expect([...(await libraryRows(lib2)).byName.keys()]).toEqual(['C.jpg']);

    // A part over 4 GiB (a sparse 4.5 GiB video first): the media's sizes and offsets are zip64 fields.
    const big = path.join(dir, 'takeout-20240101T000000Z-002.zip');
    writeZip(big, [
      { name: 'Takeout/Google Photos/Photos from 2020/huge.bin', data: '', sparse: 4.5 * 2 ** 30 },
      { name: 'Takeout/Google Photos/Photos from 2020/D.jpg', data: a },
      { name: 'Takeout/Google Photos/Photos from 2020/D.jpg.json', data: sidecar('D.jpg', '2020-03-03T10:00:00Z') },
    ]);
    expect(fs.statSync(big).size).toBeGreaterThan(2 ** 32);
    const lib3 = path.join(dir, 'library3');
    const r3 = await runCli(['--json', 'import', '--skip-ml', big], { UPLOAD_LOCATION: lib3 });
    expect(r3.code, r3.stderr).toBe(0);
    const d = (await libraryRows(lib3)).byName.get('D.jpg')!;
    expect(day(d.taken_at)).toBe('2020-03-03');
    fs.rmSync(big);
  }, 600_000);
});
