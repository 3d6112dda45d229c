// `immich stack auto` and `import --stack auto` on vendor burst names, an edited copy, shots less than
// 1 s apart and the corpus' RAW with a JPEG of the same name: search shows primaries only unless
// --expand-stacks; a second run finds nothing new; stack primary/show/remove work on the result.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS, noteSkip, runCli, tmpDir, type CliResult } from '../helpers/env.js';
import { makeImage } from './import-helpers.js';

const json = (r: CliResult) => JSON.parse(r.stdout);
function ok(r: CliResult, code = 0): CliResult {
  expect(r.code, `exit ${r.code}\n${r.stderr}\n${r.stdout}`).toBe(code);
  return r;
}

describe('stacks', () => {
  it('stack auto groups bursts, edits, close shots and RAW+JPEG; primaries lead; idempotent', async () => {
    const src = tmpDir('immich-stack-src-');
    const names = [
      'PXL_20230330_184138390.RAW-02.ORIGINAL.jpg', 'PXL_20230330_184138390.RAW-01.MP.COVER.jpg',
      '20231207_101605_001.jpg', '20231207_101605_002_COVER.jpg', '20231207_101605_003.jpg',
      'IMG_20231014_183246_BURST001_COVER.jpg', 'IMG_20231014_183246_BURST002.jpg',
      'IMG_7000.jpg', 'IMG_7000-modifié.jpg',
      'SOLO.jpg',
    ];
    let seed = 1;
    for (const n of names) await makeImage(path.join(src, n), { color: '#3366aa', seed: seed++, width: 96, height: 64 });
    // One camera, the same second (EXIF has whole seconds): a burst; the third is a minute later.
    await makeImage(path.join(src, 'cam', 'T1.jpg'), { color: '#aa6633', seed: 50, date: '2023:01:01 10:00:00' });
    await makeImage(path.join(src, 'cam', 'T2.jpg'), { color: '#aa6634', seed: 51, date: '2023:01:01 10:00:00' });
    await makeImage(path.join(src, 'cam', 'T3.jpg'), { color: '#aa6635', seed: 52, date: '2023:01:01 10:01:00' });
    const withRaw = Boolean(CORPUS);
    if (CORPUS) {
      // The corpus' RAW (a metadata stub) and a JPEG saved beside it under the same base name.
      fs.mkdirSync(path.join(src, 'raw'));
      fs.copyFileSync(path.join(CORPUS, 'formats/raw/exiftool-stub_Nikon-D70.nef'), path.join(src, 'raw', 'DSC_0001.NEF'));
      fs.copyFileSync(path.join(CORPUS, 'exif/nikon-d70_no-gps.jpg'), path.join(src, 'raw', 'DSC_0001.JPG'));
    } else noteSkip('stack auto RAW+JPEG', 'corpus');

    const lib = tmpDir('immich-stack-lib-');
    const env = { UPLOAD_LOCATION: lib };
    const cli = (...args: string[]) => runCli(args, env);
    const paths = async (...args: string[]) => ok(await cli('search', '--paths', ...args)).stdout.split('\n').filter(Boolean).map((p) => path.basename(p)).sort();
    const imported = json(await cli('--json', 'import', '--skip-ml', src));
    const total = names.length + 3 + (withRaw ? 2 : 0);
    expect(imported.counts.imported, JSON.stringify(imported.failures)).toBe(total);

    const dry = json(ok(await cli('--json', 'stack', 'auto', '--dry-run')));
    expect(dry.dryRun).toBe(true);
    expect(json(ok(await cli('--json', 'stack', 'list'))).count).toBe(0);
    const auto = json(ok(await cli('--json', 'stack', 'auto')));
    expect(auto.created).toBe(withRaw ? 6 : 5);
    expect(auto.stacks.map((s: { rules: string[] }) => s.rules.join('+')).sort()).toEqual(
      (withRaw ? ['burst', 'burst', 'burst', 'burst', 'edit', 'raw-jpeg'] : ['burst', 'burst', 'burst', 'burst', 'edit']),
    );
    // Search shows one per stack: the cover, the edit, the JPEG, the first of the close shots.
    const shown = await paths();
    expect(shown).toEqual(
      [
        'PXL_20230330_184138390.RAW-01.MP.COVER.jpg', '20231207_101605_002_COVER.jpg', 'IMG_20231014_183246_BURST001_COVER.jpg',
        'IMG_7000-modifié.jpg', 'SOLO.jpg', 'T1.jpg', 'T3.jpg', ...(withRaw ? ['DSC_0001.JPG'] : []),
      ].sort(),
    );
    expect(await paths('--expand-stacks')).toHaveLength(total);
    // Nothing new the second time.
    expect(json(ok(await cli('--json', 'stack', 'auto'))).created).toBe(0);

    // primary / show / remove on the Samsung burst.
    ok(await cli('stack', 'primary', path.join(src, '20231207_101605_003.jpg')));
    expect(await paths('--path', '20231207_*')).toEqual(['20231207_101605_003.jpg']);
    const show = json(ok(await cli('--json', 'stack', 'show', '--path', '20231207_*')));
    expect(show.stacks).toHaveLength(1);
    expect(show.stacks[0].count).toBe(3);
    expect(path.basename(show.stacks[0].members[0].path)).toBe('20231207_101605_003.jpg');
    ok(await cli('stack', 'remove', '--path', '20231207_*'));
    expect(await paths('--path', '20231207_*')).toHaveLength(3);

    // import --stack auto: a new edited copy joins the existing IMG_7000 stack, a new pair stacks.
    const more = tmpDir('immich-stack-more-');
    await makeImage(path.join(more, 'IMG_7000-edited.jpg'), { color: '#3366ab', seed: 77, width: 96, height: 64 });
    await makeImage(path.join(more, 'NEW_1.jpg'), { color: '#3366ac', seed: 78, width: 96, height: 64 });
    await makeImage(path.join(more, 'NEW_1-bearbeitet.jpg'), { color: '#3366ad', seed: 79, width: 96, height: 64 });
    const second = json(ok(await cli('--json', 'import', '--skip-ml', '--stack', 'auto', more)));
    expect(second.stacks).toEqual({ created: 1, joined: 1, assets: 5 });
    expect(await paths('--path', 'IMG_7000*')).toEqual(['IMG_7000-modifié.jpg']);
    expect(await paths('--path', 'NEW_1*')).toEqual(['NEW_1-bearbeitet.jpg']);
    expect((await cli('import', '--stack', 'sometimes', more)).code).toBe(2);
  }, 600_000);
});
