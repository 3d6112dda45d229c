// `immich rm`, `trash list|restore|empty` and the heal by re-import, on the embedded database and on
// PostgreSQL: trashed assets leave search and stats, come back on restore, and a purge deletes library
// copies with their derived files (in-place originals stay on disk) and leaves a library verify passes.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgDatabase, pgEnv, runCli, tmpDir, type CliResult } from '../helpers/env.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

const json = (r: CliResult) => JSON.parse(r.stdout);
function ok(r: CliResult, code = 0): CliResult {
  expect(r.code, `exit ${r.code}\n${r.stderr}\n${r.stdout}`).toBe(code);
  return r;
}

async function fixtures(): Promise<{ src: string; inplace: string }> {
  const src = tmpDir('immich-trash-src-');
  const colors = ['#aa2222', '#22aa22', '#2222aa', '#aaaa22', '#22aaaa'];
  for (let i = 0; i < 5; i++) {
    await makeImage(path.join(src, `IMG_${i}.jpg`), { color: colors[i]!, seed: i + 1, width: 320, height: 240, date: `2021:03:0${i + 1} 10:00:00` });
  }
  const inplace = tmpDir('immich-trash-inplace-');
  await makeImage(path.join(inplace, 'KEEP_ME.jpg'), { color: '#884422', seed: 9, width: 320, height: 240, date: '2021:04:01 10:00:00' });
  return { src, inplace };
}

const drops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const d of drops) await d().catch(() => undefined);
});

describe.each(['embedded', 'postgres'] as const)('trash on %s', (backend) => {
  it('rm hides, restore brings back, a trashed primary hands over its stack, empty purges, re-import heals', async () => {
    const { src, inplace } = await fixtures();
    const lib = tmpDir('immich-trash-lib-');
    let env: Record<string, string> = { UPLOAD_LOCATION: lib };
    if (backend === 'postgres') {
      const pg = await createPgDatabase('trash_e2e');
      drops.push(pg.drop);
      env = { ...env, ...pgEnv(pg.name) };
    }
    const cli = (...args: string[]) => runCli(args, env);
    const paths = async (...args: string[]) => ok(await cli('search', '--paths', ...args)).stdout.split('\n').filter(Boolean).map((p) => path.basename(p)).sort();

    ok(await cli('import', '--skip-ml', src));
    ok(await cli('import', '--skip-ml', '--in-place', inplace));
    expect(await paths()).toEqual(['IMG_0.jpg', 'IMG_1.jpg', 'IMG_2.jpg', 'IMG_3.jpg', 'IMG_4.jpg', 'KEEP_ME.jpg']);

    // A selection is required: a bare rm changes nothing.
    expect((await cli('rm')).code).toBe(2);
    const dry = ok(await cli('rm', '--path', 'IMG_0.jpg', '--dry-run'));
    expect(dry.stdout).toContain('dry run: 1 asset(s) would be moved to the trash');
    expect(await paths()).toHaveLength(6);

    const rm = json(ok(await cli('--json', 'rm', path.join(src, 'IMG_0.jpg'), path.join(inplace, 'KEEP_ME.jpg'))));
    expect(rm).toMatchObject({ dryRun: false, trashed: 2, alreadyTrashed: 0, trashDays: 30 });
    expect(await paths()).toEqual(['IMG_1.jpg', 'IMG_2.jpg', 'IMG_3.jpg', 'IMG_4.jpg']);
    expect(await paths('--trashed')).toEqual(['IMG_0.jpg', 'KEEP_ME.jpg']);
    expect(json(ok(await cli('--json', 'stats'))).counts.photos).toBe(4);
    const list = json(ok(await cli('--json', 'trash', 'list')));
    expect(list.count).toBe(2);
    const deletedAt = Date.parse(list.assets[0].deletedAt);
    expect(Date.parse(list.assets[0].purgeAt) - deletedAt).toBe(30 * 86_400_000);
    // Files are kept while in the trash.
    expect(fs.existsSync(list.assets.find((a: { originalName: string }) => a.originalName === 'IMG_0.jpg').path)).toBe(true);

    // Restore by filter among the trashed.
    expect(json(ok(await cli('--json', 'trash', 'restore', '--path', 'IMG_0.jpg'))).restored).toBe(1);
    expect(await paths()).toEqual(['IMG_0.jpg', 'IMG_1.jpg', 'IMG_2.jpg', 'IMG_3.jpg', 'IMG_4.jpg']);

    // A stack of IMG_1 (primary) and IMG_2: search shows the primary; trashing it alone (no terminal)
    // hands the stack to IMG_2, which search shows then.
    ok(await cli('stack', 'create', '--path', 'IMG_[12].jpg', '--primary', path.join(src, 'IMG_1.jpg')));
    expect(await paths()).toEqual(['IMG_0.jpg', 'IMG_1.jpg', 'IMG_3.jpg', 'IMG_4.jpg']);
    const rmPrimary = ok(await cli('rm', path.join(src, 'IMG_1.jpg'), path.join(src, 'IMG_0.jpg')));
    expect(rmPrimary.stderr).toContain('lead a stack with 1 other member(s): trashing the primaries only');
    expect(await paths()).toEqual(['IMG_2.jpg', 'IMG_3.jpg', 'IMG_4.jpg']);

    // Empty: library copies and their thumbnails go; the in-place original stays on disk.
    const thumbsBefore = listFiles(lib, 'thumbs').length;
    const emptyDry = ok(await cli('trash', 'empty', '--dry-run'));
    expect(emptyDry.stdout).toContain('dry run: 3 asset(s) would be purged');
    expect(listFiles(lib, 'thumbs')).toHaveLength(thumbsBefore);
    const purged = json(ok(await cli('--json', 'trash', 'empty')));
    expect(purged).toMatchObject({ purged: 3, originalsDeleted: 2, originalsKept: 1, failures: [] });
    expect(listFiles(lib, 'uploads').map((p) => path.basename(p)).sort()).toEqual(['IMG_2.jpg', 'IMG_3.jpg', 'IMG_4.jpg']);
    expect(listFiles(lib, 'thumbs')).toHaveLength(thumbsBefore - 6);
    expect(fs.existsSync(path.join(inplace, 'KEEP_ME.jpg'))).toBe(true);
    expect(await paths('--all')).toEqual(['IMG_2.jpg', 'IMG_3.jpg', 'IMG_4.jpg']);
    // The stack lost its other member: no stack is left.
    expect(json(ok(await cli('--json', 'stack', 'list'))).count).toBe(0);
    const verify = json(ok(await cli('--json', 'verify', '--no-models')));
    for (const name of ['originals present', 'untracked files', 'thumbnails/previews/encoded']) {
      expect(verify.checks.find((c: { name: string }) => c.name === name).status, name).toBe('ok');
    }

    // An original deleted by hand: verify names it once with the choice; importing the file puts it back.
    const lost = path.join(lib, 'uploads', listFiles(lib, 'uploads').find((p) => p.endsWith('IMG_3.jpg'))!);
    fs.rmSync(lost);
    const broken = json(ok(await cli('--json', 'verify', '--no-models'), 1));
    const missing = broken.checks.find((c: { name: string }) => c.name === 'originals present');
    expect(missing.items).toHaveLength(1);
    expect(missing.items[0]).toMatch(/IMG_3\.jpg: missing \(asset [0-9a-f-]{36}; `immich rm [0-9a-f-]{36}` to trash the asset, or import the file again to put it back\)/);
    const heal = json(ok(await cli('--json', 'import', '--skip-ml', path.join(src, 'IMG_3.jpg'))));
    expect(heal.counts).toMatchObject({ imported: 0, duplicates: 0, healed: 1 });
    expect(fs.readFileSync(lost).equals(fs.readFileSync(path.join(src, 'IMG_3.jpg')))).toBe(true);
    const healed = json(ok(await cli('--json', 'verify', '--no-models')));
    expect(healed.checks.find((c: { name: string }) => c.name === 'originals present').status).toBe('ok');
    // No rows or marks of purged assets remain.
    const rows = await withLibraryDb(lib, async (db) => ({
      assets: (await db.selectFrom('assets').select('id').execute()).length,
      marks: (await db.selectFrom('asset_purge').select('asset_id').execute()).length,
    }), env);
    expect(rows).toEqual({ assets: 3, marks: 0 });
  }, 600_000);

  it('a restored former primary leads its stack again; a primary the user picked meanwhile stands', async () => {
    const { src } = await fixtures();
    const lib = tmpDir('immich-trash-primary-');
    let env: Record<string, string> = { UPLOAD_LOCATION: lib };
    if (backend === 'postgres') {
      const pg = await createPgDatabase('trash_e2e');
      drops.push(pg.drop);
      env = { ...env, ...pgEnv(pg.name) };
    }
    const cli = (...args: string[]) => runCli(args, env);
    const file = (n: number) => path.join(src, `IMG_${n}.jpg`);
    const primary = async () => {
      const stacks = json(ok(await cli('--json', 'stack', 'list'))).stacks as Array<{ count: number; members: Array<{ path: string; primary: boolean }> }>;
      expect(stacks).toHaveLength(1);
      expect(stacks[0]!.count).toBe(3);
      return path.basename(stacks[0]!.members.find((m) => m.primary)!.path);
    };
    ok(await cli('import', '--skip-ml', src));
    ok(await cli('stack', 'create', file(1), file(2), file(3), '--primary', file(1)));
    expect(await primary()).toBe('IMG_1.jpg');
    // Trashing the primary hands the stack over; trashing the one promoted hands it on.
    ok(await cli('rm', '--primary-only', file(1)));
    expect(await primary()).toBe('IMG_2.jpg');
    ok(await cli('rm', '--primary-only', file(2)));
    expect(await primary()).toBe('IMG_3.jpg');
    // The promoted member was never chosen: restoring it changes nothing; the former primary takes the role back.
    ok(await cli('trash', 'restore', file(2)));
    expect(await primary()).toBe('IMG_3.jpg');
    ok(await cli('trash', 'restore', file(1)));
    expect(await primary()).toBe('IMG_1.jpg');
    // A primary picked by the user while the former one is in the trash stands after the restore.
    ok(await cli('rm', '--primary-only', file(1)));
    ok(await cli('stack', 'primary', file(3)));
    ok(await cli('trash', 'restore', file(1)));
    expect(await primary()).toBe('IMG_3.jpg');
    // Search shows the stack once, by its primary.
    const shown = ok(await cli('search', '--paths')).stdout.split('\n').filter(Boolean).map((p) => path.basename(p)).sort();
    expect(shown).toEqual(['IMG_0.jpg', 'IMG_3.jpg', 'IMG_4.jpg']);
  }, 600_000);
});
