// `immich duplicates resolve` on the corpus' near-duplicates (perceptual hash, no CLIP model): the best
// copy is kept with the reason given, the others' favorite, rating, description, albums, tags and
// location are merged into it (and its XMP sidecar), the others go to the trash; --stack-instead
// stacks them; a second run finds nothing to resolve.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS, noteSkip, runCli, tmpDir, type CliResult } from '../helpers/env.js';
import { withLibraryDb } from './import-helpers.js';

const json = (r: CliResult) => JSON.parse(r.stdout);
function ok(r: CliResult, code = 0): CliResult {
  expect(r.code, `exit ${r.code}\n${r.stderr}\n${r.stdout}`).toBe(code);
  return r;
}

describe.skipIf(!CORPUS)('duplicates resolve (corpus)', () => {
  it('keeps the best copy, merges every chosen field, trashes or stacks the rest', async () => {
    const lib = tmpDir('immich-dupres-');
    const env = { UPLOAD_LOCATION: lib };
    const cli = (...args: string[]) => runCli(args, env);
    ok(await cli('import', '--skip-ml', path.join(CORPUS!, 'duplicates')));
    const near = ['DSCN0010.jpg', 'DSCN0010_recompressed_q35.jpg', 'DSCN0010_resized_50pct.jpg', 'DSCN0010_stripped.webp'];

    // The decision first, without changes.
    const dry = json(ok(await cli('--json', 'duplicates', 'resolve', '--method', 'phash', '--dry-run')));
    expect(dry).toMatchObject({ dryRun: true, method: 'phash', keep: 'best', action: 'trash', trashed: 0 });
    expect(dry.groups).toHaveLength(1);
    const g = dry.groups[0];
    expect([g.keepPath, ...g.otherPaths].map((p: string) => path.basename(p)).sort()).toEqual(near);
    // Full size with camera and GPS wins over the half-size copy and the stripped WebP.
    expect(['DSCN0010.jpg', 'DSCN0010_recompressed_q35.jpg']).toContain(path.basename(g.keepPath));
    expect(g.reason).toMatch(/^best: (import|id|all equal)/);

    // Metadata on the copies that go: favorite, ratings, descriptions, albums, a user tag. The two
    // full-size copies (the kept one and its twin, tied but for the import order) lose their position,
    // so the resized copy's is merged back; the choice between them stays the same.
    const idOf = await withLibraryDb(lib, async (db) => {
      const rows = await db.selectFrom('assets').select(['id', 'original_name']).execute();
      return new Map(rows.map((r) => [r.original_name, r.id]));
    });
    const keepId = g.keep as string;
    const [resized, webp] = [idOf.get('DSCN0010_resized_50pct.jpg')!, idOf.get('DSCN0010_stripped.webp')!];
    await withLibraryDb(lib, async (db) => {
      await db.updateTable('assets').set({ is_favorite: true, rating: 4, description: 'Resized copy' }).where('id', '=', resized).execute();
      await db.updateTable('assets').set({ rating: 2, description: 'Stripped' }).where('id', '=', webp).execute();
      const a1 = await db.insertInto('albums').values({ name: 'Trip' }).returning('id').executeTakeFirstOrThrow();
      const a2 = await db.insertInto('albums').values({ name: 'Best' }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('album_assets').values([{ album_id: a1.id, asset_id: resized }, { album_id: a2.id, asset_id: webp }]).execute();
      const tag = await db.insertInto('user_tags').values({ value: 'Places/Coast' }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('asset_user_tags').values({ asset_id: webp, tag_id: tag.id, source: 'user' }).execute();
      const twin = ['DSCN0010.jpg', 'DSCN0010_recompressed_q35.jpg'].map((n) => idOf.get(n)!);
      await db.updateTable('exif').set({ latitude: null, longitude: null }).where('asset_id', 'in', twin).execute();
    });

    const r = json(ok(await cli('--json', 'duplicates', 'resolve', '--method', 'phash', '--keep', 'best', '--merge', 'albums,favorite,rating,description,tags,location,people')));
    expect(r).toMatchObject({ dryRun: false, trashed: 3, sidecarFailures: [] });
    expect(r.groups[0].keep).toBe(keepId);
    const kept = await withLibraryDb(lib, async (db) => ({
      asset: await db.selectFrom('assets').select(['is_favorite', 'rating', 'description', 'deleted_at', 'library_path']).where('id', '=', keepId).executeTakeFirstOrThrow(),
      albums: (await db.selectFrom('album_assets as aa').innerJoin('albums as al', 'al.id', 'aa.album_id').select('al.name').where('aa.asset_id', '=', keepId).execute()).map((x) => x.name).sort(),
      tags: (await db.selectFrom('asset_user_tags as t').innerJoin('user_tags as u', 'u.id', 't.tag_id').select('u.value').where('t.asset_id', '=', keepId).execute()).map((x) => x.value),
      exif: await db.selectFrom('exif').select(['latitude', 'longitude']).where('asset_id', '=', keepId).executeTakeFirstOrThrow(),
    }));
    expect(kept.asset).toMatchObject({ is_favorite: true, rating: 4, deleted_at: null });
    expect(kept.asset.description!.split('\n').sort()).toEqual(['Resized copy', 'Stripped']);
    expect(kept.albums).toEqual(['Best', 'Trip']);
    expect(kept.tags).toEqual(['Places/Coast']);
    expect(kept.exif.latitude).toBeCloseTo(43.467, 2);
    expect(kept.exif.longitude).toBeCloseTo(11.885, 2);
    // The edit reached the kept copy's XMP sidecar.
    const sidecar = fs.readFileSync(path.join(lib, `${kept.asset.library_path}.xmp`), 'utf8');
    expect(sidecar).toContain('Places/Coast');
    expect(sidecar).toContain('Resized copy');
    const trashed = ok(await cli('search', '--trashed', '--paths')).stdout.split('\n').filter(Boolean).map((p) => path.basename(p)).sort();
    expect(trashed).toEqual(near.filter((n) => n !== path.basename(g.keepPath)).sort());
    expect(json(ok(await cli('--json', 'duplicates', 'resolve', '--method', 'phash'))).groups).toEqual([]);

    // Back from the trash, then stacked instead: one shown, the kept copy leads.
    ok(await cli('trash', 'restore', '--trashed'));
    const s = json(ok(await cli('--json', 'duplicates', 'resolve', '--method', 'phash', '--stack-instead', '--merge', 'none')));
    expect(s).toMatchObject({ action: 'stack', stacked: 3, trashed: 0 });
    const shown = ok(await cli('search', '--paths', '--path', 'DSCN0010*')).stdout.split('\n').filter(Boolean);
    expect(shown.map((p) => path.basename(p))).toEqual([path.basename(g.keepPath)]);
    expect(json(ok(await cli('--json', 'duplicates', 'resolve', '--method', 'phash'))).groups).toEqual([]);
    expect((await cli('duplicates', 'resolve', '--keep', 'prettiest')).code).toBe(2);
    expect((await cli('duplicates', 'resolve', '--merge', 'albums,colour')).code).toBe(2);
  }, 600_000);
});

if (!CORPUS) noteSkip('duplicates resolve', 'corpus');
