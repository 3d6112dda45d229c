// Stack rules (src/services/stack-rules.ts): which files are one stack, and which one is shown.
import { describe, expect, it } from 'vitest';
import { burstName, editedOf, proposeStacks, type StackCandidate, type StackRule } from '../../src/services/stack-rules.js';

const T0 = Date.parse('2024-05-01T10:00:00Z');
let n = 0;
function c(originalPath: string, extra: Partial<StackCandidate> = {}): StackCandidate {
  return { id: `id${++n}:${originalPath.split('/').pop()}`, originalPath, type: 'image', takenAt: null, make: null, model: null, burstId: null, ...extra };
}
const names = (ids: string[]) => ids.map((id) => id.split(':')[1]);
function run(cands: StackCandidate[], rules?: StackRule[]) {
  return proposeStacks(cands, rules ? new Set(rules) : undefined).map((s) => ({ names: names(s.ids), rules: s.rules, joins: s.joins }));
}

describe('stack rules', () => {
  it('pairs RAW+JPEG and HEIC+JPEG by base name: same folder or same instant; the displayable one leads', () => {
    const stacks = run([
      c('/dcim/IMG_0001.CR3'), c('/dcim/IMG_0001.JPG'),
      // Other folders, same instant (a camera writing RAW and JPEG to two cards).
      c('/card1/DSC_0042.NEF', { takenAt: T0 }), c('/card2/DSC_0042.jpg', { takenAt: T0 + 500 }),
      // Same name, other folder, a year apart: two different photos.
      c('/2019/IMG_0007.dng', { takenAt: T0 - 365 * 86400e3 }), c('/2024/IMG_0007.jpg', { takenAt: T0 }),
      c('/iphone/IMG_5000.HEIC'), c('/iphone/IMG_5000.JPG'),
      c('/alone/IMG_9.jpg'),
    ]);
    expect(stacks).toEqual(expect.arrayContaining([
      { names: ['IMG_0001.JPG', 'IMG_0001.CR3'], rules: ['raw-jpeg'], joins: undefined },
      { names: ['DSC_0042.jpg', 'DSC_0042.NEF'], rules: ['raw-jpeg'], joins: undefined },
      { names: ['IMG_5000.HEIC', 'IMG_5000.JPG'], rules: ['heic-jpeg'], joins: undefined },
    ]));
    expect(stacks).toHaveLength(3);
    // Rules that are off propose nothing.
    expect(run([c('/a/X.CR2'), c('/a/X.jpg'), c('/a/Y.heic'), c('/a/Y.jpg')], ['heic-jpeg']).map((s) => s.names)).toEqual([['Y.heic', 'Y.jpg']]);
  });

  it('reads vendor burst names and keeps the cover first', () => {
    expect(burstName('PXL_20230330_184138390.RAW-01.MP.COVER.jpg')).toEqual({ key: 'pixel:pxl_20230330_184138390', cover: true, seq: 1 });
    expect(burstName('PXL_20230330_184138390.RAW-02.ORIGINAL.dng')).toEqual({ key: 'pixel:pxl_20230330_184138390', cover: false, seq: 2 });
    expect(burstName('20231207_101605_012_COVER.jpg')).toEqual({ key: 'samsung:20231207_101605', cover: true, seq: 12 });
    expect(burstName('IMG_20231014_183246_BURST002.jpg')).toEqual({ key: 'huawei:img_20231014_183246', cover: false, seq: 2 });
    expect(burstName('DSC_0002_BURST20230709220242446_COVER.JPG')).toEqual({ key: 'sony:20230709220242446', cover: true, seq: 2 });
    expect(burstName('DSC00003_BURST20230709220242446.JPG')?.key).toBe('sony:20230709220242446');
    expect(burstName('IMG_1234.jpg')).toBeUndefined();
    expect(burstName('20231207_101605.jpg')).toBeUndefined();

    const stacks = run([
      c('/p/PXL_20230330_184138390.RAW-02.ORIGINAL.dng'), c('/p/PXL_20230330_184138390.RAW-01.MP.COVER.jpg'),
      c('/s/20231207_101605_001.jpg'), c('/s/20231207_101605_002_COVER.jpg'), c('/s/20231207_101605_003.jpg'),
      c('/h/IMG_20231014_183246_BURST001_COVER.jpg'), c('/h/IMG_20231014_183246_BURST002.jpg'),
      c('/x/DSC_0001_BURST20230709220242446.JPG'), c('/x/DSC_0002_BURST20230709220242446_COVER.JPG'),
      c('/i/IMG_1.HEIC', { burstId: 'B1', takenAt: T0 }), c('/i/IMG_2.HEIC', { burstId: 'B1', takenAt: T0 + 5000 }),
      c('/i/IMG_3.HEIC', { burstId: 'B2' }),
    ], ['burst']);
    expect(stacks.map((s) => s.names[0])).toEqual(expect.arrayContaining([
      'PXL_20230330_184138390.RAW-01.MP.COVER.jpg', '20231207_101605_002_COVER.jpg', 'IMG_20231014_183246_BURST001_COVER.jpg',
      'DSC_0002_BURST20230709220242446_COVER.JPG', 'IMG_1.HEIC',
    ]));
    expect(stacks.map((s) => s.names.length).sort()).toEqual([2, 2, 2, 2, 3]);
  });

  it('joins shots of one camera less than 1 s apart, not other cameras, and not a RAW with its own JPEG', () => {
    const cam = { make: 'Canon', model: 'EOS R5' };
    const stacks = run([
      c('/b/A1.jpg', { ...cam, takenAt: T0 }), c('/b/A2.jpg', { ...cam, takenAt: T0 + 300 }), c('/b/A3.jpg', { ...cam, takenAt: T0 + 900 }),
      c('/b/A4.jpg', { ...cam, takenAt: T0 + 2000 }),
      c('/b/OTHER.jpg', { make: 'Sony', model: 'A7', takenAt: T0 + 100 }),
      c('/r/B1.CR3', { ...cam, takenAt: T0 + 60_000 }), c('/r/B1.jpg', { ...cam, takenAt: T0 + 60_000 }),
      c('/v/clip.jpg', { ...cam, takenAt: null }),
    ]);
    expect(stacks).toEqual(expect.arrayContaining([
      { names: ['A1.jpg', 'A2.jpg', 'A3.jpg'], rules: ['burst'], joins: undefined },
      { names: ['B1.jpg', 'B1.CR3'], rules: ['raw-jpeg'], joins: undefined },
    ]));
    expect(stacks).toHaveLength(2);
  });

  it('stacks edited copies with their original, the edit first, in any of the suffix languages', () => {
    for (const s of ['-edited', '-modifié', '-bearbeitet', '-modificato', '-editado', '-edited(1)']) expect(editedOf(`IMG_1${s}.jpg`), s).toBe('img_1');
    // macOS writes names decomposed (NFD).
    expect(editedOf('IMG_1-modifié.jpg'.normalize('NFD'))).toBe('img_1');
    expect(editedOf('IMG_1.jpg')).toBeUndefined();
    expect(editedOf('edited.jpg')).toBeUndefined();
    const stacks = run([
      c('/t/IMG_1.jpg'), c('/t/IMG_1-edited.jpg'),
      c('/t/IMG_2.jpg'), c('/t/IMG_2-bearbeitet.jpg'), c('/t/IMG_2-modifié.jpg'),
      // Two originals named IMG_3 elsewhere, none beside the edit: ambiguous, left alone.
      c('/u/IMG_3.jpg'), c('/w/IMG_3.jpg'), c('/t/IMG_3-edited.jpg'),
      c('/t/IMG_4-edited.jpg'),
    ], ['edit']);
    expect(stacks).toHaveLength(2);
    expect(stacks.find((s) => s.names.includes('IMG_1.jpg'))).toEqual({ names: ['IMG_1-edited.jpg', 'IMG_1.jpg'], rules: ['edit'], joins: undefined });
    expect(stacks.find((s) => s.names.includes('IMG_2.jpg'))!.names.at(-1)).toBe('IMG_2.jpg');
  });

  it('new members join the one existing stack; complete or user-made stacks are left alone', () => {
    const a = c('/d/X.jpg', { stackId: 'S1' });
    const b = c('/d/X.CR2', { stackId: 'S1' });
    expect(run([a, b])).toEqual([]);
    const e = c('/d/X-edited.jpg');
    expect(run([a, b, e])).toEqual([{ names: ['X-edited.jpg', 'X.jpg', 'X.CR2'], rules: ['raw-jpeg', 'edit'], joins: 'S1' }]);
    expect(run([a, c('/d/X.CR2', { stackId: 'S2' })])).toEqual([]);
  });

});
