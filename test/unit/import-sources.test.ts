// Other managers' people and keywords, parsed without I/O: XMP face regions (MWG-RS, MP) as
// exiftool reads them, Picasa's .picasa.ini and rect64, iCloud CSVs.
import { describe, expect, it } from 'vitest';
import { faceRegions, iou, parseRect64 } from '../../src/media/regions.js';
import { orientBox } from '../../src/services/face-regions.js';
import { parseAlbumCsv, parseICloudDate, parsePhotoDetails, parsePicasaIni } from '../../src/services/import-sources.js';
import { applyFacts, classifyTakeoutJson } from '../../src/services/takeout/facts.js';
import type { MediaMetadata } from '../../src/media/metadata.js';

const close = (a: Record<string, number | string>, b: Record<string, number | string>) => {
  for (const [k, v] of Object.entries(b)) typeof v === 'number' ? expect(a[k], k).toBeCloseTo(v, 4) : expect(a[k], k).toBe(v);
};

describe('other managers (pure)', () => {
  it('MWG-RS regions (centre + size) win over MP regions (top-left + size); only named faces', () => {
    const mwg = { RegionInfo: { AppliedToDimensions: { H: 48, W: 64, Unit: 'pixel' }, RegionList: [
      { Area: { H: 0.5, W: 0.25, X: 0.5, Y: 0.5, Unit: 'normalized' }, Name: 'Ada Lovelace', Type: 'Face' },
      { Area: { H: 0.1, W: 0.1, X: 0.1, Y: 0.1, Unit: 'normalized' }, Name: 'Cat', Type: 'Pet' },
      { Area: { H: 0.1, W: 0.1, X: 0.9, Y: 0.9, Unit: 'normalized' }, Type: 'Face' },
    ] } };
    const mp = { RegionInfoMP: { Regions: [{ PersonDisplayName: 'Grace Hopper', Rectangle: '0.1, 0.2, 0.3, 0.4' }] } };
    const r = faceRegions(mwg);
    expect(r).toHaveLength(1);
    close(r[0] as never, { name: 'Ada Lovelace', x: 0.375, y: 0.25, w: 0.25, h: 0.5 });
    close(faceRegions(mp)[0] as never, { name: 'Grace Hopper', x: 0.1, y: 0.2, w: 0.3, h: 0.4 });
    expect(faceRegions({ ...mwg, ...mp }).map((f) => f.name)).toEqual(['Ada Lovelace']);
    // A region reaching past the border is clipped to the image.
    close(faceRegions({ RegionInfo: { RegionList: [{ Area: { X: 0.95, Y: 0.5, W: 0.2, H: 0.2 }, Name: 'Edge', Type: 'Face' }] } })[0] as never, { x: 0.85, w: 0.15 });
  });

  it("Picasa: rect64, the folder's album, contacts, stars and album tokens", () => {
    close(parseRect64('rect64(3f845bcb59418507)')! as never, { x: 0x3f84 / 65535, y: 0x5bcb / 65535, w: (0x5941 - 0x3f84) / 65535, h: (0x8507 - 0x5bcb) / 65535 });
    expect(parseRect64('rect64(0)')).toBeUndefined();
    const ini = parsePicasaIni([
      '[Picasa]', 'name=Summer 2009', 'description=At the lake', '',
      '[IMG_1.jpg]', 'faces=rect64(3f845bcb59418507),8e62398cc4c2f9d8;rect64(1000100020002000),ffffffffffffffff', 'star=yes', 'albums=a1b2',
      '[IMG_2.jpg]', 'backuphash=1234',
      '[.album:a1b2]', 'name=Best of', 'token=a1b2',
      '[Contacts2]', '8e62398cc4c2f9d8=Ada Lovelace;;',
    ].join('\r\n'));
    expect(ini.album).toEqual({ name: 'Summer 2009', description: 'At the lake' });
    const one = ini.files.get('IMG_1.jpg')!;
    expect(one.star).toBe(true);
    expect(one.albums).toEqual(['Best of']);
    // The unknown contact id names no one: that face is left out.
    expect(one.faces.map((f) => f.name)).toEqual(['Ada Lovelace']);
    expect(ini.files.get('IMG_2.jpg')).toEqual({ star: false, faces: [], albums: [] });
  });

  it('iCloud: Photo Details.csv and album CSVs', () => {
    expect(parseICloudDate('Saturday January 2,2021 3:04 PM GMT')?.toISOString()).toBe('2021-01-02T15:04:00.000Z');
    expect(parseICloudDate('Monday March 7,2022 12:30 AM GMT')?.toISOString()).toBe('2022-03-07T00:30:00.000Z');
    const details = parsePhotoDetails(
      '\uFEFFimgName,fileChecksum,favorite,hidden,deleted,originalCreationDate,viewCount,importDate\n' +
        'IMG_0001.HEIC,abc=,yes,no,no,"Saturday January 2,2021 3:04 PM GMT",3,"Saturday January 2,2021 3:05 PM GMT"\n' +
        'IMG_0002.JPG,def=,no,yes,yes,"Sunday January 3,2021 9:00 AM GMT",0,\n',
    );
    expect(details.get('IMG_0001.HEIC')).toEqual({ source: 'icloud', takenAt: new Date('2021-01-02T15:04:00Z'), favorite: true });
    expect(details.get('IMG_0002.JPG')).toEqual({ source: 'icloud', takenAt: new Date('2021-01-03T09:00:00Z'), archived: true, trashed: true });
    expect(parseAlbumCsv('Images\r\nIMG_0001.HEIC\r\nIMG_0002.JPG\r\n')).toEqual(['IMG_0001.HEIC', 'IMG_0002.JPG']);
  });

  it('orientation maps stored-image regions to the displayed image; IoU', () => {
    const b = { x: 0.1, y: 0.2, w: 0.3, h: 0.4 };
    close(orientBox(b, 1) as never, b);
    close(orientBox(b, 6) as never, { x: 0.4, y: 0.1, w: 0.4, h: 0.3 });
    close(orientBox(b, 3) as never, { x: 0.6, y: 0.4, w: 0.3, h: 0.4 });
    expect(iou(b, b)).toBeCloseTo(1);
    expect(iou(b, { x: 0.5, y: 0.7, w: 0.1, h: 0.1 })).toBe(0);
    expect(iou({ x: 0, y: 0, w: 1, h: 1 }, { x: 0, y: 0, w: 0.5, h: 1 })).toBeCloseTo(0.5);
  });

  it('Takeout JSON: sidecar vs album metadata; facts fill only what the file lacks', () => {
    const k = classifyTakeoutJson({ title: 'a.jpg', photoTakenTime: { timestamp: '1500000000' }, creationTime: { timestamp: '1700000000' },
      geoData: { latitude: 1, longitude: 2 }, geoDataExif: { latitude: 0, longitude: 0 }, people: [{ name: 'Ada' }, { name: 'Ada' }, { name: ' ' }], trashed: true });
    expect(k).toEqual({ kind: 'sidecar', sidecar: { title: 'a.jpg', facts: { takenAt: new Date(1500000000 * 1000), latitude: 1, longitude: 2, trashed: true, people: ['Ada'] } } });
    expect(classifyTakeoutJson({ title: 'Trip', description: 'x', access: 'protected' })).toEqual({ kind: 'album', title: 'Trip', description: 'x' });
    expect(classifyTakeoutJson({ something: 1 })).toEqual({ kind: 'other' });
    const meta = (dateSource: string, lat: number | null) => ({ takenAt: new Date('2020-01-01T00:00:00Z'), localTakenAt: '2020-01-01T00:00:00.000', timeZone: null, offsetTime: null, dateSource, latitude: lat, longitude: lat, altitude: null }) as unknown as MediaMetadata;
    const m1 = meta('file mtime', 0);
    expect(applyFacts(m1, { takenAt: new Date('2010-05-05T10:00:00Z'), latitude: 5, longitude: 6 })).toEqual({ dateFromSidecar: true, gpsFromSidecar: true });
    expect([m1.takenAt.toISOString(), m1.localTakenAt, m1.latitude]).toEqual(['2010-05-05T10:00:00.000Z', '2010-05-05T10:00:00.000', 5]);
    const m2 = meta('DateTimeOriginal', 1);
    expect(applyFacts(m2, { takenAt: new Date('2020-01-01T20:00:00Z'), latitude: 5, longitude: 6 })).toEqual({ dateFromSidecar: false, gpsFromSidecar: false });
    expect(applyFacts(m2, { takenAt: new Date('2020-01-03T00:00:01Z') }).dateConflict).toEqual({ media: '2020-01-01T00:00:00.000Z', sidecar: '2020-01-03T00:00:01.000Z' });
  });
});
