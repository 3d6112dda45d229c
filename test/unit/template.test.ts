// The path template language of the storage template and `immich export`.
import { describe, expect, it } from 'vitest';
import {
  collisionName, parseTemplate, renderPaths, renderTemplate, storagePath, storageTemplateFrom, TemplateError, type TemplateValues,
} from '../../src/storage/template.js';

const base: TemplateValues = {
  date: new Date('2019-07-04T15:06:07Z'),
  originalName: 'IMG_0001.HEIC',
  type: 'image',
  assetId: '0d0c6a3e-1111-4222-8333-444455556666',
  make: 'Apple',
  model: 'iPhone 12',
  lens: 'iPhone 12 back camera 4.2mm f/1.6',
  city: 'Lisbon',
  country: 'Portugal',
  rating: 4,
  description: 'Tram 28',
  albums: ['Trips', 'Best of'],
  people: ['Bob', 'Ada'],
  tags: ['tram'],
};
const r = (t: string, v: Partial<TemplateValues> = {}) => renderTemplate(parseTemplate(t), { ...base, ...v });

describe('template', () => {
  it('renders every token', () => {
    expect(r('{{y}}|{{yy}}|{{M}}|{{MM}}|{{MMM}}|{{MMMM}}|{{d}}|{{dd}}|{{h}}|{{hh}}|{{H}}|{{HH}}|{{m}}|{{mm}}|{{s}}|{{ss}}|{{a}}'))
      .toEqual(['2019|19|7|07|Jul|July|4|04|3|03|15|15|6|06|7|07|PM']);
    expect(r('{{filename}}.{{ext}} {{filetype}} {{filetypefull}} {{assetId}}'))
      .toEqual([`IMG_0001.HEIC IMG IMAGE ${base.assetId}`]);
    expect(r('{{make}}/{{model}}/{{lens}}')).toEqual(['Apple/iPhone 12/iPhone 12 back camera 4.2mm f_1.6']);
    expect(r('{{city}}, {{country}} {{rating}} {{description}}')).toEqual(['Lisbon, Portugal 4 Tram 28']);
    expect(r('{{filetype}}', { type: 'video' })).toEqual(['VID']);
    expect(r('{{hh}}{{a}}', { date: new Date('2019-07-04T00:30:00Z') })).toEqual(['12AM']);
  });

  it('expands multi-valued tokens to one sorted path per value (and per combination)', () => {
    expect(r('{{album}}/{{filename}}')).toEqual(['Best of/IMG_0001', 'Trips/IMG_0001']);
    expect(r('{{person}}/{{album}}')).toEqual(['Ada/Best of', 'Ada/Trips', 'Bob/Best of', 'Bob/Trips']);
    expect(r('{{tag}}')).toEqual(['tram']);
    expect(r('{{person}}', { people: ['Ada', 'Ada', ''] })).toEqual(['Ada']);
  });

  it('{{album}} of a nested album is its path; in a file name its folders become "_"', () => {
    expect(r('{{album}}/{{filename}}', { albums: ['Trips/2024/Lisbon', 'Best of'] })).toEqual(['Best of/IMG_0001', 'Trips/2024/Lisbon/IMG_0001']);
    expect(renderPaths(undefined, parseTemplate('{{album}}-{{filename}}'), { ...base, albums: ['Trips/2024'] }, 'heic')).toEqual(['Trips_2024-IMG_0001.heic']);
  });

  it('takes defaults after a comma and drops empty segments', () => {
    expect(r('{{album,Unsorted}}/{{filename}}', { albums: [] })).toEqual(['Unsorted/IMG_0001']);
    expect(r('{{make,Unknown camera}}', { make: null })).toEqual(['Unknown camera']);
    expect(r('{{rating,0}}', { rating: null })).toEqual(['0']);
    expect(r('{{y}}/{{album}}/{{filename}}', { albums: [] })).toEqual(['2019/IMG_0001']);
    expect(r('{{city}}', { city: null })).toEqual(['IMG_0001']); // nothing left: the original's stem
  });

  it('keeps values inside their segment: no separators, no "..", no control characters', () => {
    expect(r('{{tag}}', { tags: ['../../etc'] })).toEqual(['.._.._etc']);
    // An album's path keeps its folders, and nothing else: each name stays inside its own segment.
    expect(r('{{album}}', { albums: ['../../etc'] })).toEqual(['__/__/etc']);
    expect(r('{{album}}', { albums: ['a\\b/..'] })).toEqual(['a_b/__']);
    expect(r('{{person}}', { people: ['..'] })).toEqual(['__']);
    expect(r('{{description}}', { description: 'a/b\\c\n\x07d' })).toEqual(['a_b_cd']);
    expect(r('{{album}}/{{filename}}', { albums: ['/abs'] })).toEqual(['abs/IMG_0001']);
    const long = r('{{description}}', { description: 'é'.repeat(300) })[0]!;
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    for (const p of [...r('{{album}}', { albums: ['..'] }), ...r('{{description}}', { description: '/' })]) {
      expect(p.startsWith('/')).toBe(false);
      expect(p.split('/')).not.toContain('..');
    }
  });

  it('refuses bad templates with the reason', () => {
    const bad = (t: string, msg: RegExp) => expect(() => parseTemplate(t)).toThrow(msg);
    bad('', /empty/);
    bad('{{y}/x', /unclosed/);
    bad('{{year}}', /unknown token \{\{year\}\}/);
    bad('/abs/{{y}}', /relative/);
    bad('{{y}}/../x', /\.\./);
    bad('a\\b', /"\/"/);
    bad('x}}', /without/);
    expect(() => parseTemplate('{{y}}/{{album,..}}')).not.toThrow(); // a default is a value: sanitized
    expect(r('{{album,..}}/x', { albums: [] })).toEqual(['__/x']);
  });

  it('joins directory and file templates with the extension; numbers collisions -1, -2', () => {
    const v = { ...base };
    expect(renderPaths(parseTemplate('{{y}}/{{album}}'), parseTemplate('{{filename}}'), v, 'jpg'))
      .toEqual(['2019/Best of/IMG_0001.jpg', '2019/Trips/IMG_0001.jpg']);
    expect(renderPaths(undefined, parseTemplate('{{y}}/{{filename}}'), v, '')).toEqual(['2019_IMG_0001']);
    expect(collisionName('a/b/IMG.jpg', 0)).toBe('a/b/IMG.jpg');
    expect(collisionName('a/b/IMG.jpg', 2)).toBe('a/b/IMG-2.jpg');
    expect(collisionName('noext', 1)).toBe('noext-1');
  });

  it('gives the storage template: default is Immich\'s, extension appended, bad settings refused', () => {
    const tpl = storageTemplateFrom({});
    expect(storagePath(tpl, base)).toBe('2019/2019-07-04/IMG_0001.HEIC');
    expect(storagePath(storageTemplateFrom({ IMMICH_STORAGE_TEMPLATE: '{{y}}/{{MMM}}/{{filetype}}_{{filename}}' }), base)).toBe('2019/Jul/IMG_IMG_0001.HEIC');
    expect(() => storageTemplateFrom({ IMMICH_STORAGE_TEMPLATE: '{{nope}}' })).toThrow(/IMMICH_STORAGE_TEMPLATE: unknown token/);
    expect(() => storageTemplateFrom({ IMMICH_STORAGE_TEMPLATE: '{{person}}/{{filename}}' })).toThrow(TemplateError);
  });
});
