// The pure parts of organizing: the selection grammar's parsing and globs, edit's value parsing
// and the date arithmetic of --date / --shift / --tz, XMP field mapping. No I/O.
import { describe, expect, it } from 'vitest';
import { newDate, parseEditDate, parseEditFlags, parseLocation, parseShift, parseZone } from '../../src/services/edit.js';
import { globToRegex, isSelective, parseSelection } from '../../src/services/selection.js';
import { xmpTags } from '../../src/media/xmp.js';

describe('selection grammar', () => {
  it('parses every option and rejects bad values with the flag named', async () => {
    const sel = await parseSelection(
      { album: ['Trips / 2024 '], tag: ['Trips/'.slice(0, 5)], rating: '0', minRating: '4', id: ['3FA8'], path: ['*.jpg'], archived: true, limit: '5' },
      { words: ['dog', 'beach'] },
    );
    expect(sel).toMatchObject({ query: 'dog beach', albums: ['Trips/2024'], tags: ['Trips'], rating: 0, minRating: 4, ids: ['3fa8'], scope: 'archived', limit: 5 });
    expect(isSelective(sel)).toBe(true);
    expect(isSelective(await parseSelection({}))).toBe(false);
    await expect(parseSelection({ archived: true, all: true })).rejects.toThrow(/--archived --all/);
    await expect(parseSelection({ rating: '6' })).rejects.toThrow(/--rating/);
    await expect(parseSelection({ minRating: '0' })).rejects.toThrow(/--min-rating/);
    await expect(parseSelection({ album: ['a//b'] })).rejects.toThrow(/--album/);
    await expect(parseSelection({ id: ['xyz'] })).rejects.toThrow(/--id xyz/);
    await expect(parseSelection({ album: ['A'], notInAlbum: true })).rejects.toThrow(/exclude/);
  });

  it('globs: * within a folder, ** across, ? one character', () => {
    const m = (g: string, p: string) => new RegExp(globToRegex(g)).test(p);
    expect(m('/p/*.jpg', '/p/a.jpg')).toBe(true);
    expect(m('/p/*.jpg', '/p/x/a.jpg')).toBe(false);
    expect(m('/p/**/a.jpg', '/p/a.jpg')).toBe(true);
    expect(m('/p/**/a.jpg', '/p/x/y/a.jpg')).toBe(true);
    expect(m('IMG_?.JPG', 'IMG_1.JPG')).toBe(true);
    expect(m('a.jpg', 'axjpg')).toBe(false);
  });
});

describe('edit values', () => {
  it('dates need an offset; shifts and zones are validated', () => {
    expect(parseEditDate('2024-05-01T10:00:00+01:00')).toEqual({ local: '2024-05-01T10:00:00', offset: '+01:00' });
    expect(parseEditDate('2024-05-01 10:00Z')).toEqual({ local: '2024-05-01T10:00:00', offset: '+00:00' });
    expect(() => parseEditDate('2024-05-01T10:00:00')).toThrow(/offset/);
    expect(() => parseEditDate('2024-02-30T10:00:00+01:00')).toThrow(/no such date/);
    expect(parseShift('+1h30m')).toBe(90 * 60_000);
    expect(parseShift('-2d')).toBe(-2 * 86_400_000);
    expect(() => parseShift('1y')).toThrow(/--shift/);
    expect(parseZone('Europe/Lisbon')).toBe('Europe/Lisbon');
    expect(parseZone('+0530')).toBe('+05:30');
    expect(() => parseZone('Mars/Olympus')).toThrow(/Mars/);
    expect(parseLocation('38.7,-9.1')).toEqual({ lat: 38.7, lon: -9.1 });
    expect(parseLocation('Lisbon, Portugal')).toEqual({ name: 'Lisbon, Portugal' });
    expect(() => parseLocation('91,0')).toThrow(/latitude 91/);
    expect(() => parseEditFlags({ tz: 'UTC' })).toThrow(/--keep-wall-clock/);
    expect(() => parseEditFlags({})).toThrow(/nothing to change/);
  });

  it('--date, then --shift, then --tz keeping the wall clock or the instant (DST-aware)', () => {
    const cur = { takenAt: new Date('2024-07-01T12:00:00Z'), local: '2024-07-01T14:00:00', zone: 'Europe/Paris' };
    expect(newDate(cur, { shiftMs: 3_600_000 })).toEqual({ takenAt: new Date('2024-07-01T13:00:00Z'), local: '2024-07-01T15:00:00', zone: 'Europe/Paris' });
    expect(newDate(cur, { tz: { zone: 'Europe/Lisbon', keep: 'instant' } })).toEqual({ takenAt: cur.takenAt, local: '2024-07-01T13:00:00', zone: 'Europe/Lisbon' });
    expect(newDate(cur, { tz: { zone: 'Europe/Lisbon', keep: 'wall-clock' } })).toEqual({ takenAt: new Date('2024-07-01T13:00:00Z'), local: '2024-07-01T14:00:00', zone: 'Europe/Lisbon' });
    // winter: Lisbon is UTC+0
    const winter = { takenAt: new Date('2024-01-10T08:00:00Z'), local: '2024-01-10T09:00:00', zone: '+01:00' };
    expect(newDate(winter, { tz: { zone: 'Europe/Lisbon', keep: 'wall-clock' } }).takenAt).toEqual(new Date('2024-01-10T09:00:00Z'));
    expect(newDate(cur, { date: { local: '2020-02-02T02:02:02', offset: '-05:00' } })).toEqual({ takenAt: new Date('2020-02-02T07:02:02Z'), local: '2020-02-02T02:02:02', zone: '-05:00' });
  });

  it('XMP fields: the date with its offset, hierarchical tags three ways, null deletes', () => {
    const t = xmpTags({ description: null, rating: 3, localTakenAt: '2024-05-01T10:00:00', offset: '+01:00', latitude: 1.5, longitude: -2, tags: ['Trips/2024', 'Family'] });
    expect(t).toEqual({
      'XMP-dc:Description': null, 'XMP-xmp:Rating': 3,
      'XMP-exif:DateTimeOriginal': '2024:05:01 10:00:00+01:00', 'XMP-photoshop:DateCreated': '2024:05:01 10:00:00+01:00',
      'XMP-exif:GPSLatitude': 1.5, 'XMP-exif:GPSLongitude': -2,
      'XMP-digiKam:TagsList': ['Trips/2024', 'Family'], 'XMP-lr:HierarchicalSubject': ['Trips|2024', 'Family'], 'XMP-dc:Subject': ['2024', 'Family'],
    });
  });
});
