// Takeout sidecar matching, one rule per case, with names from real exports (immich-go's,
// ente's and GooglePhotosTakeoutHelper's issue trackers). Each case fails without its rule.
import { describe, expect, it } from 'vitest';
import { cutUnits, matchFolder, splitIndex, uneditedName } from '../../src/services/takeout/sidecars.js';

/** The sidecar each media file gets when the folder holds exactly these names. */
function pairs(media: string[], sidecars: string[], titles: Record<string, string> = {}) {
  const m = matchFolder(media, sidecars, new Map(Object.entries(titles)));
  return Object.fromEntries(media.map((f) => [f, m.sidecarOf.get(f) ?? null]));
}

describe('takeout sidecars', () => {
  it('name.ext.json and look-alikes that must not match', () => {
    expect(pairs(['PXL_20211013_220651983.jpg'], ['PXL_20211013_220651983.jpg.json'])).toEqual({
      'PXL_20211013_220651983.jpg': 'PXL_20211013_220651983.jpg.json',
    });
    // A different millisecond in a Pixel name is another photo.
    expect(pairs(['PXL_20211013_220651958.jpg'], ['PXL_20211013_220651983.jpg.json'])).toEqual({ 'PXL_20211013_220651958.jpg': null });
    expect(pairs(['PXL_20231118_035751175.MP.jpg', 'PXL_20210102_221126856.MP~2.jpg'], ['PXL_20231118_035751175.MP.jpg.json', 'PXL_20210102_221126856.MP~2.jpg.json'])).toEqual({
      'PXL_20231118_035751175.MP.jpg': 'PXL_20231118_035751175.MP.jpg.json',
      'PXL_20210102_221126856.MP~2.jpg': 'PXL_20210102_221126856.MP~2.jpg.json',
    });
  });

  it('.supplemental-metadata.json and every truncation of it (46 UTF-16 units before .json)', () => {
    expect(pairs(['IMG_3397.JPG'], ['IMG_3397.JPG.supplemental-metadata.json'])).toEqual({ 'IMG_3397.JPG': 'IMG_3397.JPG.supplemental-metadata.json' });
    const seen = new Set<string>();
    // Media names of 21..46 units cut the suffix to every prefix: '.supplemental-metadata', ..., '.s', '.', none.
    for (let len = 21; len <= 46; len++) {
      const media = `${'P'.repeat(len - 4)}.jpg`;
      const sidecar = `${`${media}.supplemental-metadata`.slice(0, 46)}.json`;
      seen.add(sidecar.slice(media.length));
      expect(pairs([media], [sidecar]), sidecar).toEqual({ [media]: sidecar });
      // ...with a duplicate index after the cut suffix.
      const dup = `${'P'.repeat(len - 4)}(2).jpg`;
      const dupSidecar = `${`${media}.supplemental-metadata`.slice(0, 46)}(2).json`;
      expect(pairs([dup, media], [dupSidecar]), dupSidecar).toEqual({ [dup]: dupSidecar, [media]: null });
    }
    expect(seen).toEqual(new Set(['.supplemental-metadata.json', '.supplemental-metadat.json', '.supplemental-metada.json', '.supplemental-metad.json', '.supplemental-meta.json', '.supplemental-met.json', '.supplemental-me.json',
      '.supplemental-m.json', '.supplemental-.json', '.supplemental.json', '.supplementa.json', '.supplement.json', '.supplemen.json',
      '.suppleme.json', '.supplem.json', '.supple.json', '.suppl.json', '.supp.json', '.sup.json', '.su.json', '.s.json', '..json', '.json']));
  });

  it('long names cut at 46 (or 47) UTF-16 units, emoji counting two', () => {
    const long = 'Sunset over the harbour in Lisbon with friends and family.jpg';
    expect(pairs([long], [`${long.slice(0, 46)}.json`])).toEqual({ [long]: `${long.slice(0, 46)}.json` });
    expect(pairs([long], [`${long.slice(0, 47)}.json`])).toEqual({ [long]: `${long.slice(0, 47)}.json` });
    expect(pairs(['05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg'], ['05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json'])).toEqual({
      '05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jpg': '05yqt21kruxwwlhhgrwrdyb6chhwszi9bqmzu16w0 2.jp.json',
    });
    // 23 emoji are 46 units (☺️ is two code points): the 24th and the extension are cut.
    const emoji = '😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋';
    expect(pairs([`${emoji}😛.jpg`], [`${emoji}.json`])).toEqual({ [`${emoji}😛.jpg`]: `${emoji}.json` });
    // A cut through an emoji drops the whole emoji (no lone surrogate in a file name).
    expect(cutUnits(`${'a'.repeat(45)}😀b`, 46)).toBe('a'.repeat(45));
    // A long name with an index: the index goes after the cut.
    expect(pairs(['13039_327707840323_537645323_9470255_27214_n(1).jpg'], ['13039_327707840323_537645323_9470255_27214_n.j(1).json'])).toEqual({
      '13039_327707840323_537645323_9470255_27214_n(1).jpg': '13039_327707840323_537645323_9470255_27214_n.j(1).json',
    });
  });

  it('moves the duplicate index: IMG_1(1).HEIC ↔ IMG_1.HEIC(1).json, and never mixes indexes', () => {
    expect(splitIndex('IMG_2710(1).HEIC')).toEqual({ base: 'IMG_2710.HEIC', index: '(1)' });
    expect(pairs(['IMG_2710.HEIC', 'IMG_2710(1).HEIC'], ['IMG_2710.HEIC.json', 'IMG_2710.HEIC(1).json'])).toEqual({
      'IMG_2710.HEIC': 'IMG_2710.HEIC.json',
      'IMG_2710(1).HEIC': 'IMG_2710.HEIC(1).json',
    });
    expect(pairs(['DSC_0102(1).JPG'], ['DSC_0102.JPG(2).json'])).toEqual({ 'DSC_0102(1).JPG': null });
    expect(pairs(['DSC_0103.JPG'], ['DSC_0103.JPG(1).json'])).toEqual({ 'DSC_0103.JPG': null });
    expect(pairs(['DSC_0104(1).JPG'], ['DSC_0104.JPG.json'])).toEqual({ 'DSC_0104(1).JPG': null });
  });

  it('sidecars without the media extension', () => {
    expect(pairs(['IMG_0042.jpg'], ['IMG_0042.json'])).toEqual({ 'IMG_0042.jpg': 'IMG_0042.json' });
    expect(pairs(['IMG_0042(3).jpg'], ['IMG_0042(3).json'])).toEqual({ 'IMG_0042(3).jpg': 'IMG_0042(3).json' });
    // The media's own name wins over the extension-less one.
    expect(pairs(['IMG_7.jpg'], ['IMG_7.json', 'IMG_7.jpg.json'])).toEqual({ 'IMG_7.jpg': 'IMG_7.jpg.json' });
  });

  it("edited copies share the original's sidecar, in every language, composed or not", () => {
    const media = ['IMG_1.jpg', 'IMG_1-edited.jpg', 'IMG_1-modifié.jpg', 'IMG_1-modifie\u0301.jpg', 'IMG_1-bearbeitet.jpg', 'IMG_1-modificato.jpg', 'IMG_1-editado.jpg', 'IMG_1-編集済み.jpg'];
    expect(Object.values(pairs(media, ['IMG_1.jpg.json']))).toEqual(media.map(() => 'IMG_1.jpg.json'));
    expect(uneditedName('PXL_20220405_090123740.PORTRAIT-modifié.jpg')).toBe('PXL_20220405_090123740.PORTRAIT.jpg');
    expect(pairs(['PXL_20220405_090123740.PORTRAIT-modifié.jpg'], ['PXL_20220405_090123740.PORTRAIT.jpg.json'])).toEqual({
      'PXL_20220405_090123740.PORTRAIT-modifié.jpg': 'PXL_20220405_090123740.PORTRAIT.jpg.json',
    });
    expect(pairs(['PXL_20220405_090123741.PORTRAIT-modifié.jpg'], ['PXL_20220405_090123740.PORTRAIT.jpg.json'])).toEqual({
      'PXL_20220405_090123741.PORTRAIT-modifié.jpg': null,
    });
    // An edited copy of a duplicate shares the duplicate's sidecar.
    expect(pairs(['IMG_1-edited(1).jpg'], ['IMG_1.jpg(1).json', 'IMG_1.jpg.json'])).toEqual({ 'IMG_1-edited(1).jpg': 'IMG_1.jpg(1).json' });
  });

  it("a Live Photo's video shares the still's sidecar, with and without an index", () => {
    expect(pairs(['IMG_5.MP4', 'IMG_5.HEIC'], ['IMG_5.HEIC.supplemental-metadata.json'])).toEqual({
      'IMG_5.MP4': 'IMG_5.HEIC.supplemental-metadata.json',
      'IMG_5.HEIC': 'IMG_5.HEIC.supplemental-metadata.json',
    });
    expect(pairs(['IMG_5.HEIC', 'IMG_5.MOV', 'IMG_5(1).HEIC', 'IMG_5(1).MOV'], ['IMG_5.HEIC.json', 'IMG_5.HEIC(1).json'])).toEqual({
      'IMG_5.HEIC': 'IMG_5.HEIC.json',
      'IMG_5.MOV': 'IMG_5.HEIC.json',
      'IMG_5(1).HEIC': 'IMG_5.HEIC(1).json',
      'IMG_5(1).MOV': 'IMG_5.HEIC(1).json',
    });
    // A video whose still has no sidecar gets none from another still.
    expect(pairs(['IMG_6(1).MOV', 'IMG_6.HEIC'], ['IMG_6.HEIC.json'])).toEqual({ 'IMG_6(1).MOV': null, 'IMG_6.HEIC': 'IMG_6.HEIC.json' });
  });

  it('falls back to a unique unclaimed title, never to a claimed sidecar', () => {
    const titles = { 'weird.json': 'IMG_9.jpg', 'IMG_8.jpg.json': 'IMG_8.jpg' };
    expect(pairs(['IMG_9.jpg', 'IMG_8.jpg', 'IMG_8(1).jpg'], ['weird.json', 'IMG_8.jpg.json'], titles)).toEqual({
      'IMG_9.jpg': 'weird.json',
      'IMG_8.jpg': 'IMG_8.jpg.json',
      'IMG_8(1).jpg': null,
    });
    const m = matchFolder(['a.jpg'], ['a.jpg.json', 'orphan.jpg.json']);
    expect(m.unclaimed).toEqual(['orphan.jpg.json']);
  });
});
