// Free-text search without CLIP (issue 21): people's names, albums, user tags and both kinds of
// description are sources; words match whole ("cat" is not in "truncated.jpg"); --person must name
// exactly one person. On the embedded database and on the machine's PostgreSQL.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, withLibraryDb } from './import-helpers.js';
import { createPgDatabase, runCli, tmpDir } from '../helpers/env.js';

const FILES = ['truncated.jpg', 'cat.jpg', 'my_cats.jpg', 'sign.jpg', 'ada1.jpg', 'ada2.jpg', 'album.jpg', 'tagged.jpg', 'party.jpg', 'sunset.jpg'];

interface Hit {
  originalName: string;
  matched: string[];
}

describe.each(['embedded', 'postgres'] as const)('free-text search on the %s database', (backend) => {
  let lib: string;
  let src: string;
  let env: Record<string, string>;
  let dbEnv: Record<string, string> = {};
  let dropDb: (() => Promise<void>) | undefined;
  let sams: string[] = [];
  const search = async (...args: string[]): Promise<Hit[]> => {
    const r = await runCli(['--json', 'search', ...args], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { mode: string; results: Hit[] };
    expect(out.mode).toBe(args[0]!.startsWith('--') ? 'filters' : 'text');
    return out.results;
  };
  const names = (hits: Hit[]) => hits.map((h) => h.originalName).sort();

  beforeAll(async () => {
    src = tmpDir('searchtext-src-');
    lib = tmpDir('searchtext-lib-');
    for (const [i, f] of FILES.entries()) await makeImage(path.join(src, f), { color: `#${(0x203040 + i * 0x151515).toString(16)}`, seed: i + 1 });
    if (backend === 'postgres') {
      const db = await createPgDatabase('searchtext');
      dbEnv = db.env;
      dropDb = db.drop;
    }
    env = { UPLOAD_LOCATION: lib, IMMICH_MODELS_AUTO_DOWNLOAD: '0', ...dbEnv };
    const imp = await runCli(['import', '--skip-ml', src], env);
    expect(imp.code, imp.stderr + imp.stdout).toBe(0);
    // OCR text, a person, an album, a user tag and descriptions, recorded directly on known assets.
    sams = await withLibraryDb(lib, async (db) => {
      const ids = Object.fromEntries((await db.selectFrom('assets').select(['id', 'original_name']).execute()).map((r) => [r.original_name, r.id]));
      await db.insertInto('asset_ocr').values({ asset_id: ids['sign.jpg'], engine: 'paddle', text: 'CONCATENATE THE STRINGS' }).execute();
      const [ada, ...twins] = await db.insertInto('people').values([{ name: 'Ada Lovelace' }, { name: 'Sam' }, { name: 'sam' }]).returning('id').execute();
      const face = (assetId: string) => ({
        asset_id: assetId, person_id: ada!.id, model: 'test', image_width: 64, image_height: 48,
        box_x1: 1, box_y1: 1, box_x2: 20, box_y2: 20, score: 0.9, landmarks: [],
      });
      await db.insertInto('asset_faces').values([face(ids['ada1.jpg']), face(ids['ada2.jpg'])]).execute();
      const album = await db.insertInto('albums').values({ name: 'Lisbon Holiday' }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('album_assets').values({ album_id: album.id, asset_id: ids['album.jpg'] }).execute();
      const trips = await db.insertInto('user_tags').values({ value: 'Trips' }).returning('id').executeTakeFirstOrThrow();
      const porto = await db.insertInto('user_tags').values({ value: 'Trips/Porto', parent_id: trips.id }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('asset_user_tags').values({ asset_id: ids['tagged.jpg'], tag_id: porto.id }).execute();
      await db.updateTable('assets').set({ description: 'Our Cat at the birthday party' }).where('id', '=', ids['party.jpg']).execute();
      const exif = await db.updateTable('exif').set({ description: 'Sunset over Èze' }).where('asset_id', '=', ids['sunset.jpg']).executeTakeFirst();
      expect(Number(exif.numUpdatedRows)).toBe(1);
      return twins.map((t) => t.id);
    }, dbEnv);
  });
  afterAll(async () => {
    await dropDb?.();
    fs.rmSync(lib, { recursive: true, force: true });
    fs.rmSync(src, { recursive: true, force: true });
  });

  it('matches whole words, any case, with an optional plural, in names, OCR text and descriptions', async () => {
    const cat = await search('cat');
    // not truncated.jpg (file name) nor sign.jpg ("CONCATENATE" in its OCR text)
    expect(names(cat)).toEqual(['cat.jpg', 'my_cats.jpg', 'party.jpg']);
    expect(cat.find((h) => h.originalName === 'party.jpg')!.matched).toEqual(['description']);
    expect(names(await search('cats'))).toEqual(['cat.jpg', 'my_cats.jpg', 'party.jpg']);
    expect(names(await search('truncated'))).toEqual(['truncated.jpg']);
    expect(names(await search('concatenate'))).toEqual(['sign.jpg']);
    // the description embedded in the file, accents folded
    expect(await search('eze')).toMatchObject([{ originalName: 'sunset.jpg', matched: ['description'] }]);
  });

  it("finds a person's photos by name, and assets by album name and user tag", async () => {
    const ada = await search('Ada');
    expect(names(ada)).toEqual(['ada1.jpg', 'ada2.jpg']);
    expect(ada[0]!.matched).toEqual(['person:Ada Lovelace']);
    expect(names(await search('ada', 'lovelace'))).toEqual(['ada1.jpg', 'ada2.jpg']);
    expect(await search('lisbon')).toMatchObject([{ originalName: 'album.jpg', matched: ['album:Lisbon Holiday'] }]);
    // a tag's parents are words of it too
    expect(await search('porto')).toMatchObject([{ originalName: 'tagged.jpg', matched: ['tag:Trips/Porto'] }]);
    expect(names(await search('trips'))).toEqual(['tagged.jpg']);
    expect(names(await search('birthday'))).toEqual(['party.jpg']);
  });

  it('--person must name exactly one person (exit 2 otherwise)', async () => {
    expect(names(await search('--person', 'ada lovelace'))).toEqual(['ada1.jpg', 'ada2.jpg']);
    const unknown = await runCli(['search', '--person', 'Nobody'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--person Nobody: no such person/);
    const twins = await runCli(['search', '--person', 'SAM'], env);
    expect(twins.code).toBe(2);
    expect(twins.stderr).toMatch(/ambiguous/);
    for (const id of sams) expect(twins.stderr).toContain(id);
    // an id picks one of them
    expect(await search('--person', sams[0]!)).toEqual([]);
  });
});
