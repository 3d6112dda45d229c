// `immich verify` and `immich cache clean` on a real library: damaged and missing originals are
// named, untracked files and missing thumbnails are reported and repaired, unreachable services
// exit 3.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tmpDir } from '../helpers/env.js';
import { buildLibrary, expectCode, json } from './backup-helpers.js';
import { withLibraryDb } from './import-helpers.js';

type Check = { name: string; status: string; detail: string; items?: string[] };
const check = (out: { checks: Check[] }, name: string) => out.checks.find((c) => c.name === name)!;

describe('immich verify', () => {
  let lib: string;
  const env = () => ({ UPLOAD_LOCATION: lib });
  beforeAll(async () => {
    const base = tmpDir('immich-verify-');
    lib = path.join(base, 'library');
    await buildLibrary(lib, path.join(base, 'src'), {}, 3);
  });

  it('a clean library passes; problems are named and exit 1; warnings do not fail', async () => {
    const clean = await runCli(['--json', 'verify', '--no-models'], env());
    expectCode(clean, 0);
    expect(json(clean).checks.every((c: Check) => c.status === 'ok')).toBe(true);

    const assets = await withLibraryDb(lib, async (db) => db.selectFrom('assets').select(['id', 'library_path']).orderBy('library_path').execute());
    const files = await withLibraryDb(lib, async (db) => db.selectFrom('asset_files').select(['asset_id', 'kind', 'path']).execute());
    // one original damaged, one thumbnail deleted, one stray file, one orphaned thumbnail, one dead temp file
    const damaged = path.join(lib, assets[0]!.library_path);
    const bytes = fs.readFileSync(damaged);
    bytes[bytes.length >> 1] ^= 0x40;
    fs.writeFileSync(damaged, bytes);
    const thumb = files.find((f) => f.kind === 'thumbnail' && f.asset_id !== assets[0]!.id)!; // not the damaged one
    fs.rmSync(path.join(lib, thumb.path));
    fs.writeFileSync(path.join(lib, 'uploads', 'stray.jpg'), 'not imported');
    const orphan = path.join(lib, 'thumbs', '00', '11', '00112233-4455-6677-8899-aabbccddeeff-thumbnail.webp');
    fs.mkdirSync(path.dirname(orphan), { recursive: true });
    fs.writeFileSync(orphan, 'orphan');
    const temp = path.join(lib, 'uploads', '.immich-tmp-999999-abcd-photo.jpg');
    fs.writeFileSync(temp, 'half written');

    const r = await runCli(['--json', 'verify', '--no-models'], env());
    expectCode(r, 1);
    const out = json(r);
    expect(check(out, 'original checksums').status).toBe('error');
    expect(check(out, 'original checksums').items).toHaveLength(1);
    expect(check(out, 'original checksums').items![0]).toContain(assets[0]!.library_path);
    expect(check(out, 'originals present').status).toBe('ok');
    expect(check(out, 'untracked files').items).toEqual(['uploads/stray.jpg']);
    expect(check(out, 'thumbnails/previews/encoded').status).toBe('warning');
    expect(check(out, 'thumbnails/previews/encoded').items![0]).toContain(thumb.path);
    expect(check(out, 'temporary files').items).toEqual(['uploads/.immich-tmp-999999-abcd-photo.jpg']);

    // Human output names the file too.
    const human = await runCli(['verify', '--no-models', '--sample', '100%'], env());
    expectCode(human, 1);
    expect(human.stdout).toContain(assets[0]!.library_path);

    // --repair regenerates the missing thumbnail through the thumbnails stage.
    const repaired = await runCli(['--json', 'verify', '--no-models', '--repair'], env());
    expect(fs.existsSync(path.join(lib, thumb.path))).toBe(true);
    expect(check(json(repaired), 'thumbnails/previews/encoded').status).toBe('ok');

    // cache clean: dry run lists, the real run removes exactly the orphan and the temp file.
    const dry = await runCli(['--json', 'cache', 'clean', '--dry-run'], env());
    expectCode(dry, 0);
    expect(json(dry).removed.map((x: { path: string }) => x.path).sort()).toEqual(
      ['thumbs/00/11/00112233-4455-6677-8899-aabbccddeeff-thumbnail.webp', 'uploads/.immich-tmp-999999-abcd-photo.jpg'],
    );
    expect(fs.existsSync(orphan)).toBe(true);
    expectCode(await runCli(['cache', 'clean'], env()), 0);
    expect(fs.existsSync(orphan)).toBe(false);
    expect(fs.existsSync(temp)).toBe(false);
    for (const f of files) expect(fs.existsSync(path.join(lib, f.path))).toBe(true);

    fs.writeFileSync(damaged, Buffer.from(bytes.map((b, i) => (i === bytes.length >> 1 ? b ^ 0x40 : b))));
    fs.rmSync(path.join(lib, 'uploads', 'stray.jpg'));
    fs.rmSync(path.join(lib, assets[1]!.library_path));
    const missing = await runCli(['--json', 'verify', '--no-models', '--sample', '100'], env());
    expectCode(missing, 1);
    expect(check(json(missing), 'originals present').items![0]).toContain(assets[1]!.library_path);
    expect(check(json(missing), 'original checksums').status).toBe('ok');
  });

  it('unreachable database or Redis: exit 3 naming the service', async () => {
    const noDb = await runCli(['--json', 'verify', '--no-models'], { UPLOAD_LOCATION: lib, DB_HOSTNAME: '127.0.0.1', DB_PORT: '1' });
    expectCode(noDb, 3);
    expect(check(json(noDb), 'database').status).toBe('unavailable');
    expect(check(json(noDb), 'database').detail).toMatch(/127\.0\.0\.1:1/);
    expect(check(json(noDb), 'storage').status).toBe('ok');

    const noRedis = await runCli(['--json', 'verify', '--no-models', '--sample', '10%'], { UPLOAD_LOCATION: lib, REDIS_HOSTNAME: '127.0.0.1', REDIS_PORT: '1' });
    expectCode(noRedis, 3);
    expect(check(json(noRedis), 'redis').status).toBe('unavailable');
    expect(check(json(noRedis), 'database').status).toBe('ok');

    const usage = await runCli(['verify', '--sample', '150%'], { UPLOAD_LOCATION: lib });
    expectCode(usage, 2);
  });
});
