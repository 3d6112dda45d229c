// `immich import` of folders other managers left behind: XMP sidecars with face regions (MWG-RS
// from Lightroom/digiKam, MP from Windows) and hierarchical keywords, a Picasa folder with its
// .picasa.ini, and an iCloud Photos export with its CSVs. Without a face model every named region
// becomes a face of its own, named; a re-run adds nothing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli, tmpDir } from '../helpers/env.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

const XMP = (body: string) => `<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:MP="http://ns.microsoft.com/photo/1.2/"
    xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
    xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#">
${body}
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
`;

const MWG = `   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="64" stDim:h="48" stDim:unit="pixel"/>
    <mwg-rs:RegionList><rdf:Bag><rdf:li><rdf:Description mwg-rs:Name="Ada Lovelace" mwg-rs:Type="Face">
     <mwg-rs:Area stArea:x="0.5" stArea:y="0.5" stArea:w="0.25" stArea:h="0.5" stArea:unit="normalized"/>
    </rdf:Description></rdf:li></rdf:Bag></mwg-rs:RegionList>
   </mwg-rs:Regions>
   <digiKam:TagsList><rdf:Seq><rdf:li>People/Ada Lovelace</rdf:li></rdf:Seq></digiKam:TagsList>`;

const MPR = `   <MP:RegionInfo rdf:parseType="Resource"><MPRI:Regions><rdf:Bag><rdf:li rdf:parseType="Resource">
     <MPReg:Rectangle>0.1, 0.2, 0.3, 0.4</MPReg:Rectangle><MPReg:PersonDisplayName>Grace Hopper</MPReg:PersonDisplayName>
   </rdf:li></rdf:Bag></MPRI:Regions></MP:RegionInfo>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Lisbon</rdf:li></rdf:Bag></lr:hierarchicalSubject>`;

describe('immich import (XMP people and keywords, Picasa, iCloud)', () => {
  it('named faces, user tags, albums, flags and dates from the other managers; a re-run adds nothing', async () => {
    const src = tmpDir('immich-sources-');
    await makeImage(path.join(src, 'lightroom/a.jpg'), { color: '#aa3333', seed: 1, date: '2019:01:01 10:00:00' });
    fs.writeFileSync(path.join(src, 'lightroom/a.jpg.xmp'), XMP(MWG));
    await makeImage(path.join(src, 'windows/b.jpg'), { color: '#33aa33', seed: 2, date: '2019:01:02 10:00:00' });
    fs.writeFileSync(path.join(src, 'windows/b.xmp'), XMP(MPR));
    await makeImage(path.join(src, 'picasa/c.jpg'), { color: '#3333aa', seed: 3, date: '2009:07:01 10:00:00' });
    await makeImage(path.join(src, 'picasa/d.jpg'), { color: '#aaaa33', seed: 4, date: '2009:07:02 10:00:00' });
    fs.writeFileSync(path.join(src, 'picasa/.picasa.ini'), [
      '[Picasa]', 'name=Summer 2009', 'description=At the lake',
      '[c.jpg]', 'faces=rect64(4000400080008000),8e62398cc4c2f9d8', 'star=yes',
      '[Contacts2]', '8e62398cc4c2f9d8=Alan Turing;;',
    ].join('\r\n'));
    // iCloud Photos export: Photos/ with its CSV, Albums/ beside it. e.jpg has no date of its own.
    await makeImage(path.join(src, 'iCloud Photos/Photos/e.jpg'), { color: '#33aaaa', seed: 5 });
    await makeImage(path.join(src, 'iCloud Photos/Photos/f.jpg'), { color: '#aa33aa', seed: 6, date: '2021:01:03 09:00:00' });
    fs.writeFileSync(path.join(src, 'iCloud Photos/Photos/Photo Details.csv'),
      'imgName,fileChecksum,favorite,hidden,deleted,originalCreationDate,viewCount,importDate\n' +
      'e.jpg,abc=,yes,no,no,"Saturday January 2,2021 3:04 PM GMT",3,"Saturday January 2,2021 3:05 PM GMT"\n' +
      'f.jpg,def=,no,yes,yes,"Sunday January 3,2021 9:00 AM GMT",0,\n');
    fs.mkdirSync(path.join(src, 'iCloud Photos/Albums'));
    fs.writeFileSync(path.join(src, 'iCloud Photos/Albums/Holiday.csv'), 'Images\ne.jpg\nf.jpg\n');

    const lib = path.join(tmpDir(), 'library');
    const r = await runCli(['--json', 'import', '--skip-ml', src], { UPLOAD_LOCATION: lib });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.counts).toMatchObject({ imported: 6, failed: 0 });
    expect(s.fromSidecars).toEqual({ albumAdditions: 4, namedFaces: 3 });

    const read = () => withLibraryDb(lib, async (db) => ({
      faces: await db.selectFrom('asset_faces').innerJoin('assets', 'assets.id', 'asset_faces.asset_id').innerJoin('people', 'people.id', 'asset_faces.person_id')
        .select(['assets.original_name', 'people.name', 'asset_faces.model', 'asset_faces.assigned_by', 'asset_faces.box_x1', 'asset_faces.box_y1', 'asset_faces.box_x2', 'asset_faces.box_y2'])
        .orderBy('assets.original_name').execute(),
      people: (await db.selectFrom('people').select('name').orderBy('name').execute()).map((p) => p.name),
      tags: (await db.selectFrom('asset_user_tags').innerJoin('user_tags', 'user_tags.id', 'asset_user_tags.tag_id').innerJoin('assets', 'assets.id', 'asset_user_tags.asset_id')
        .select(['assets.original_name', 'user_tags.value', 'asset_user_tags.source']).orderBy('user_tags.value').execute()).map((t) => `${t.original_name}:${t.value}:${t.source}`),
      albums: (await db.selectFrom('album_assets').innerJoin('albums', 'albums.id', 'album_assets.album_id').innerJoin('assets', 'assets.id', 'album_assets.asset_id')
        .select(['albums.name', 'albums.description', 'assets.original_name']).orderBy('albums.name').orderBy('assets.original_name').execute()),
      assets: new Map((await db.selectFrom('assets').select(['original_name', 'taken_at', 'is_favorite', 'is_archived', 'deleted_at', 'date_source']).execute()).map((a) => [a.original_name, a])),
    }));
    const got = await read();
    const box = (f: { box_x1: number; box_y1: number; box_x2: number; box_y2: number }) => [f.box_x1, f.box_y1, f.box_x2, f.box_y2].map((v) => Math.round(v * 1000) / 1000);
    expect(got.faces.map((f) => [f.original_name, f.name, f.model, f.assigned_by, box(f)])).toEqual([
      ['a.jpg', 'Ada Lovelace', 'metadata', 'manual', [0.375, 0.25, 0.625, 0.75]], // MWG: centre 0.5,0.5, size 0.25x0.5
      ['b.jpg', 'Grace Hopper', 'metadata', 'manual', [0.1, 0.2, 0.4, 0.6]], // MP: top-left 0.1,0.2, size 0.3x0.4
      ['c.jpg', 'Alan Turing', 'metadata', 'manual', [0.25, 0.25, 0.5, 0.5]], // rect64 0x4000/0xffff...
    ]);
    expect(got.people).toEqual(['Ada Lovelace', 'Alan Turing', 'Grace Hopper']);
    expect(got.tags).toEqual(['a.jpg:People/Ada Lovelace:xmp', 'b.jpg:Places/Lisbon:xmp']);
    expect(got.albums).toEqual([
      { name: 'Holiday', description: null, original_name: 'e.jpg' },
      { name: 'Holiday', description: null, original_name: 'f.jpg' },
      { name: 'Summer 2009', description: 'At the lake', original_name: 'c.jpg' },
      { name: 'Summer 2009', description: 'At the lake', original_name: 'd.jpg' },
    ]);
    expect(got.assets.get('c.jpg')).toMatchObject({ is_favorite: true });
    const e = got.assets.get('e.jpg')!;
    expect([new Date(e.taken_at!).toISOString(), e.is_favorite, e.date_source]).toEqual(['2021-01-02T15:04:00.000Z', true, 'icloud']);
    // f.jpg's own date wins; hidden → archived, deleted → the trash.
    const f = got.assets.get('f.jpg')!;
    expect(new Date(f.taken_at!).toISOString().slice(0, 10)).toBe('2021-01-03');
    expect(f.is_archived).toBe(true);
    expect(f.deleted_at).not.toBeNull();

    const again = await runCli(['--json', 'import', '--skip-ml', src], { UPLOAD_LOCATION: lib });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).counts.imported).toBe(0);
    const after = await read();
    expect(after.faces).toEqual(got.faces);
    expect(after.albums).toEqual(got.albums);
    expect(after.tags).toEqual(got.tags);
  }, 240_000);

  it('kill -9 during the import: the re-run names the XMP faces of the files the killed run imported', async () => {
    const src = tmpDir('immich-sources-kill-');
    const N = 10;
    const colors = ['#aa3333', '#33aa33', '#3333aa', '#aaaa33', '#33aaaa', '#aa33aa', '#884422', '#228844', '#442288', '#888888'];
    for (let i = 0; i < N; i++) {
      await makeImage(path.join(src, `p${i}.jpg`), { color: colors[i]!, seed: i + 1, date: `2019:01:0${(i % 9) + 1} 10:00:00` });
      fs.writeFileSync(path.join(src, `p${i}.jpg.xmp`), XMP(MWG.replace('Ada Lovelace', `Person ${i}`)));
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)) env[k] = v;
    // Killed once a few originals are placed: their rows are in, the run's region pass is not done.
    // On a busy machine the kill can land before the first batch of rows is committed (files placed,
    // no row yet): that run proves nothing about pending regions, so kill a fresh library later.
    const killRun = (lib: string, threshold: number) =>
      new Promise<boolean>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'import', '--skip-ml', '-j', '1', src], { env: { ...env, UPLOAD_LOCATION: lib, CI: 'true' }, cwd: os.tmpdir() });
        child.stdout.resume();
        child.stderr.resume();
        let done = false;
        const timer = setInterval(() => {
          const placed = listFiles(lib, 'uploads').filter((f) => f.endsWith('.jpg') && !path.basename(f).startsWith('.immich-tmp-')).length;
          if (placed >= threshold && !done) {
            done = true;
            child.kill('SIGKILL');
          }
        }, 5);
        child.on('close', (_code, signal) => {
          clearInterval(timer);
          resolve(signal === 'SIGKILL');
        });
      });
    let lib = '';
    let before = 0;
    for (const threshold of [3, 5, 7, 8]) {
      lib = path.join(tmpDir(), 'library');
      expect(await killRun(lib, threshold)).toBe(true);
      before = await withLibraryDb(lib, async (db) => (await db.selectFrom('assets').select('id').execute()).length);
      if (before > 0) break;
    }
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(N);
    const r = await runCli(['--json', 'import', '--skip-ml', src], { UPLOAD_LOCATION: lib });
    expect(r.code, r.stderr).toBe(0);
    const faces = await withLibraryDb(lib, async (db) => db.selectFrom('asset_faces').innerJoin('assets', 'assets.id', 'asset_faces.asset_id')
      .innerJoin('people', 'people.id', 'asset_faces.person_id').select(['assets.original_name', 'people.name']).orderBy('assets.original_name').execute());
    expect(faces).toEqual(Array.from({ length: N }, (_, i) => ({ original_name: `p${i}.jpg`, name: `Person ${i}` })));
    // Nothing waits any more, and a third run adds no face.
    expect(await withLibraryDb(lib, async (db) => (await db.selectFrom('asset_face_regions_pending').select('asset_id').execute()).length)).toBe(0);
    expect((await runCli(['import', '--skip-ml', src], { UPLOAD_LOCATION: lib })).code).toBe(0);
    expect(await withLibraryDb(lib, async (db) => (await db.selectFrom('asset_faces').select('id').execute()).length)).toBe(N);
  }, 300_000);
});
