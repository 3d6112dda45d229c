// The storage template: IMMICH_STORAGE_TEMPLATE at import, `immich storage migrate` (dry run, moves
// with sidecars and Live Photo halves, kill -9 then re-run, --undo back to where everything was).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createPgDatabase, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

const N = 40;
const sha1 = (f: string) => crypto.createHash('sha1').update(fs.readFileSync(f)).digest('hex');

function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || (/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k) && !k.startsWith('IMMICH_TEST_'))) continue;
    env[k] = v;
  }
  return { ...env, CI: 'true', ...extra };
}

/** Rows as (checksum → library path, sidecar path), and whether every file matches its checksum. */
async function state(lib: string, env: Record<string, string>) {
  return withLibraryDb(lib, async (db) => {
    const rows = await db.selectFrom('assets').leftJoin('exif', 'exif.asset_id', 'assets.id')
      .select(['assets.checksum', 'assets.library_path', 'exif.sidecar_path']).orderBy('assets.checksum').execute();
    for (const r of rows) expect(sha1(path.join(lib, r.library_path)), r.library_path).toBe(r.checksum);
    return rows.map((r) => `${r.checksum} ${r.library_path} ${r.sidecar_path ?? '-'}`);
  }, env);
}

describe('storage template', () => {
  let src: string;
  let lib: string;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    src = tmpDir('export-storage-src-');
    for (let i = 0; i < N; i++) {
      const day = String(1 + (i % 3)).padStart(2, '0');
      await makeImage(path.join(src, `IMG_${String(i).padStart(4, '0')}.jpg`), { color: `#${(0x203040 + i * 0x030201).toString(16)}`, date: `2021:03:${day} 1${i % 10}:00:00`, seed: i + 1 });
    }
    fs.writeFileSync(path.join(src, 'IMG_0000.jpg.xmp'), '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="3"/></rdf:RDF></x:xmpmeta>');
    lib = tmpDir('export-storage-lib-');
    const db = await createPgDatabase('export_storage');
    drop = db.drop;
    env = { UPLOAD_LOCATION: lib, ...pgEnv(db.name) };
  });
  afterAll(async () => {
    await drop?.();
  });

  it('import places originals by IMMICH_STORAGE_TEMPLATE; a bad template is refused up front', async () => {
    const bad = await runCli(['import', '--skip-ml', src], { ...env, IMMICH_STORAGE_TEMPLATE: '{{y}}/{{year}}/{{filename}}' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/IMMICH_STORAGE_TEMPLATE: unknown token \{\{year\}\}/);
    expect(listFiles(lib, 'uploads')).toEqual([]);
    const r = await runCli(['import', '--skip-ml', src], { ...env, IMMICH_STORAGE_TEMPLATE: '{{y}}/{{MMM}}/{{filetype}}_{{filename}}' });
    expect(r.code, r.stderr).toBe(0);
    const files = listFiles(lib, 'uploads');
    expect(files).toContain(path.join('2021', 'Mar', 'IMG_IMG_0000.jpg'));
    expect(files).toContain(path.join('2021', 'Mar', 'IMG_IMG_0000.jpg.xmp'));
    expect(files.filter((f) => !f.endsWith('.xmp'))).toHaveLength(N);
  });

  it('migrate: --dry-run moves nothing; the real run moves files, sidecars and Live Photo halves together', async () => {
    const before = await state(lib, env);
    // IMG_0001 is the still of a Live Photo whose "video" half is IMG_0002 (pairing is set as metadata does).
    await withLibraryDb(lib, async (db) => {
      const still = await db.selectFrom('assets').select('id').where('original_name', '=', 'IMG_0001.jpg').executeTakeFirstOrThrow();
      const video = await db.selectFrom('assets').select('id').where('original_name', '=', 'IMG_0002.jpg').executeTakeFirstOrThrow();
      await db.updateTable('assets').set({ live_photo_video_id: video.id }).where('id', '=', still.id).execute();
      await db.updateTable('assets').set({ is_motion_part: true }).where('id', '=', video.id).execute();
      // organize's record of the sidecar edits are written to: it must follow the file too.
      const first = await db.selectFrom('assets').innerJoin('exif', 'exif.asset_id', 'assets.id').select(['assets.id', 'exif.sidecar_path'])
        .where('original_name', '=', 'IMG_0000.jpg').executeTakeFirstOrThrow();
      await db.insertInto('asset_sidecars').values({ asset_id: first.id, path: first.sidecar_path!, state: 'synced' }).execute();
    }, env);
    const tpl = '{{y}}/{{dd}}/{{filename}}';
    const dry = await runCli(['storage', 'migrate', '--dry-run', '--template', tpl, '--json'], env);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.dryRun).toBe(true);
    expect(plan.moved).toHaveLength(N);
    expect(await state(lib, env)).toEqual(before);

    const r = await runCli(['storage', 'migrate', '--template', tpl], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`moved ${N} original\\(s\\), 0 already in place; journal `));
    const after = await state(lib, env);
    expect(after.find((l) => l.includes('2021/01/IMG_0000.jpg '))).toMatch(/ uploads\/2021\/01\/IMG_0000\.jpg uploads\/2021\/01\/IMG_0000\.jpg\.xmp$/);
    const written = await withLibraryDb(lib, (db) => db.selectFrom('asset_sidecars').select('path').executeTakeFirstOrThrow(), env);
    expect(written.path).toBe('uploads/2021/01/IMG_0000.jpg.xmp');
    // The motion half (taken on the 3rd) sits beside its still (the 2nd), not in its own day.
    expect(after.some((l) => l.includes(' uploads/2021/02/IMG_0002.jpg'))).toBe(true);
    const files = listFiles(lib, 'uploads');
    expect(files).toHaveLength(N + 1);
    expect(files.filter((f) => f.startsWith(`2021${path.sep}Mar`))).toEqual([]);
    expect(fs.existsSync(path.join(lib, 'uploads/2021/Mar'))).toBe(false); // emptied folders go
    // Again: nothing to do.
    const again = await runCli(['storage', 'migrate', '--template', tpl], env);
    expect(again.stdout).toMatch(new RegExp(`moved 0 original\\(s\\), ${N} already in place`));
  });

  it('kill -9 during migrate: the re-run finishes it; --undo puts everything back', async () => {
    const before = await state(lib, env);
    const beforeFiles = listFiles(lib, 'uploads');
    const journals = path.join(lib, 'storage-migrate');
    const known = new Set(fs.readdirSync(journals));
    const killed = await new Promise<boolean>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'storage', 'migrate', '--template', '{{MMMM}}/{{hh}}{{a}}/{{filename}}'], { env: cleanEnv(env), cwd: os.tmpdir() });
      child.stdout.resume();
      child.stderr.resume();
      let done = false;
      const timer = setInterval(() => {
        const j = fs.readdirSync(journals).find((n) => n.endsWith('.journal') && !known.has(n));
        const lines = j ? fs.readFileSync(path.join(journals, j), 'utf8').split('\n').filter((l) => l.startsWith('{"done"')).length : 0;
        if (lines >= 5 && !done) {
          done = true;
          child.kill('SIGKILL');
        }
      }, 2);
      child.on('error', reject);
      child.on('close', (_code, signal) => {
        clearInterval(timer);
        resolve(signal === 'SIGKILL');
      });
    });
    expect(killed).toBe(true);
    const journal = path.join(journals, fs.readdirSync(journals).find((n) => n.endsWith('.journal') && !known.has(n))!);
    const mid = listFiles(lib, 'uploads');
    expect(mid.some((f) => f.startsWith('March'))).toBe(true);
    expect(mid.some((f) => f.startsWith('2021'))).toBe(true);

    const resumed = await runCli(['storage', 'migrate', '--template', '{{MMMM}}/{{hh}}{{a}}/{{filename}}', '--json'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const res = JSON.parse(resumed.stdout);
    expect(res.resumed).toEqual([journal]);
    expect(res.moved.length).toBeLessThanOrEqual(N - 5);
    const after = await state(lib, env);
    expect(after.every((l) => / uploads\/March\/\d\d[AP]M\//.test(l))).toBe(true);
    const files = listFiles(lib, 'uploads');
    expect(files).toHaveLength(N + 1); // no duplicates, no leftovers at the old paths
    expect(files.every((f) => f.startsWith('March'))).toBe(true);

    const undo = await runCli(['storage', 'migrate', '--undo', journal], env);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).toMatch(new RegExp(`restored ${N} original\\(s\\)`));
    expect(await state(lib, env)).toEqual(before);
    expect(listFiles(lib, 'uploads')).toEqual(beforeFiles);

    const usage = await runCli(['storage', 'migrate', '--template', '/abs/{{y}}'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--template: template must be a relative path/);
  });
});
