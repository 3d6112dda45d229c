// `immich search` and `immich duplicates` end to end: real import (metadata, previews, CLIP with a
// generated model, OCR with PaddleOCR from npm, reverse geocoding), then every filter through the
// CLI, on the embedded database, on the machine's PostgreSQL with pgvector, and on one without it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLibraryDb } from './import-helpers.js';
import { createPgDatabase, pgEnv, ROOT, runCli, tmpDir } from '../helpers/env.js';
import { installTestClip } from '../unit/clip-fixture.js';

interface Fixture {
  name: string;
  color: string;
  exif?: Record<string, Record<string, string>>;
  text?: string;
  width?: number;
}

const gps = (lat: number, lon: number) => {
  const dms = (v: number) => {
    const a = Math.abs(v);
    const d = Math.floor(a);
    const m = Math.floor((a - d) * 60);
    const s = Math.round(((a - d) * 60 - m) * 60 * 100);
    return `${d}/1 ${m}/1 ${s}/100`;
  };
  return { GPSLatitudeRef: lat >= 0 ? 'N' : 'S', GPSLatitude: dms(lat), GPSLongitudeRef: lon >= 0 ? 'E' : 'W', GPSLongitude: dms(lon) };
};

const FIXTURES: Fixture[] = [
  { name: 'red.jpg', color: '#e01010', exif: { IFD0: { Make: 'Canon', Model: 'Canon EOS 7D' }, IFD2: { DateTimeOriginal: '2019:05:01 10:00:00' }, IFD3: gps(48.8566, 2.3522) } },
  { name: 'green.jpg', color: '#10c020', exif: { IFD0: { Make: 'NIKON CORPORATION', Model: 'NIKON D70' }, IFD2: { DateTimeOriginal: '2021:07:01 12:00:00' }, IFD3: gps(41.8933, 12.4829) } },
  { name: 'blue-sign.jpg', color: '#1030d0', text: 'NO PARKING', exif: { IFD0: { Make: 'Apple', Model: 'iPhone 6' }, IFD2: { DateTimeOriginal: '2023:03:03 09:00:00' } } },
  { name: 'orange.jpg', color: '#f08000' },
  // a smaller re-encoded copy of red.jpg: a near-duplicate
  { name: 'red-small.jpg', color: '#e01010', width: 200 },
];

async function makeFixture(dir: string, f: Fixture): Promise<void> {
  const width = f.width ?? 480;
  const height = Math.round((width * 3) / 4);
  // Blocks of varying brightness (seeded by colour), so each picture has its own structure and
  // red-small.jpg keeps red.jpg's.
  const rgb = [1, 3, 5].map((i) => parseInt(f.color.slice(i, i + 2), 16));
  let seed = rgb[0]! * 65536 + rgb[1]! * 256 + rgb[2]! + 1;
  const factors = Array.from({ length: 24 }, () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return 0.55 + 0.45 * ((seed >>> 16) / 65535);
  });
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = factors[Math.floor((y / height) * 4) * 6 + Math.floor((x / width) * 6)]!;
      for (let c = 0; c < 3; c++) raw[(y * width + x) * 3 + c] = Math.round(rgb[c]! * k);
    }
  }
  let img = sharp(raw, { raw: { width, height, channels: 3 } });
  if (f.text) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect x="40" y="120" width="400" height="110" fill="white"/><text x="240" y="195" font-family="DejaVu Sans" font-weight="bold" font-size="56" fill="black" text-anchor="middle">${f.text}</text></svg>`;
    img = sharp(await img.png().toBuffer()).composite([{ input: Buffer.from(svg) }]);
  }
  if (f.exif) img = img.withExif(f.exif);
  await img.jpeg({ quality: f.width ? 60 : 90 }).toFile(path.join(dir, f.name));
}

async function makeFixtures(): Promise<string> {
  const src = tmpDir('immich-search-src-');
  for (const f of FIXTURES) await makeFixture(src, f);
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=160x120:rate=10', '-pix_fmt', 'yuv420p', path.join(src, 'clip.mp4')]);
  return src;
}

interface Hit {
  id: string;
  path: string;
  originalName: string;
  score: number;
  matched: string[];
}

const names = (stdout: string): string[] => (JSON.parse(stdout) as { results: Hit[] }).results.map((h) => h.originalName);

// The vector features (CLIP kNN, --similar, duplicates, scene tags) on both backends: the embedded
// database and the machine's PostgreSQL with pgvector (scripts/install-pgvector.sh).
describe.each(['embedded', 'postgres'] as const)('immich search on the %s database with pgvector (CLIP with a generated model)', (backend) => {
  let lib: string;
  let src: string;
  let env: Record<string, string>;
  let dbEnv: Record<string, string> = {};
  let dropDb: (() => Promise<void>) | undefined;
  const search = async (...args: string[]) => {
    const r = await runCli(['--json', 'search', ...args], env);
    expect(r.code, r.stderr).toBe(0);
    return names(r.stdout);
  };

  beforeAll(async () => {
    src = await makeFixtures();
    lib = tmpDir('immich-search-lib-');
    installTestClip(path.join(lib, 'models'));
    if (backend === 'postgres') {
      const db = await createPgDatabase('immich_search_vec');
      dbEnv = db.env;
      dropDb = db.drop;
    }
    env = { UPLOAD_LOCATION: lib, ...dbEnv };
    const imp = await runCli(['import', src], env);
    expect(imp.code, imp.stderr + imp.stdout).toBe(0);
    // People come from the faces pipeline; here two are recorded directly on known assets.
    await withLibraryDb(lib, async (db) => {
      if (backend === 'postgres') {
        // the suite is about pgvector on PostgreSQL: it must really be there
        const ext = await db.selectFrom('pg_extension' as never).select('extname' as never).where('extname' as never, '=', 'vector' as never).execute();
        expect(ext).toHaveLength(1);
      }
      const ids = Object.fromEntries((await db.selectFrom('assets').select(['id', 'original_name']).execute()).map((r) => [r.original_name, r.id]));
      const [alice, bob] = await db.insertInto('people').values([{ name: 'Alice' }, { name: 'Bob' }]).returning(['id', 'name']).execute();
      const face = (assetId: string, personId: string) => ({
        asset_id: assetId, person_id: personId, model: 'test', image_width: 480, image_height: 360,
        box_x1: 10, box_y1: 10, box_x2: 60, box_y2: 60, score: 0.9, landmarks: [],
      });
      await db.insertInto('asset_faces').values([face(ids['red.jpg'], alice!.id), face(ids['green.jpg'], alice!.id), face(ids['green.jpg'], bob!.id)]).execute();
    }, dbEnv);
  });
  afterAll(async () => {
    await dropDb?.();
    fs.rmSync(lib, { recursive: true, force: true });
    fs.rmSync(src, { recursive: true, force: true });
  });

  it('free text ranks by CLIP similarity', async () => {
    expect((await search('something', 'red'))[0]).toMatch(/^red/);
    expect((await search('a', 'blue', 'picture'))[0]).toBe('blue-sign.jpg');
    const r = await runCli(['--json', 'search', 'green'], env);
    expect(JSON.parse(r.stdout).mode).toBe('clip');
  });

  it("free text in CLIP mode lists a person's photos first, then CLIP's ranking (issue 21)", async () => {
    const r = await runCli(['--json', 'search', 'Bob'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { mode: string; results: Hit[] };
    expect(out.mode).toBe('clip');
    expect(out.results[0]).toMatchObject({ originalName: 'green.jpg' });
    expect(out.results[0]!.matched).toContain('person:Bob');
    expect(out.results.length).toBeGreaterThan(1);
    expect(out.results.slice(1).every((h) => h.matched.includes('clip'))).toBe(true);
    expect((await search('alice')).slice(0, 2).sort()).toEqual(['green.jpg', 'red.jpg']);
    // a colour still ranks by CLIP alone
    expect((await search('red'))[0]).toMatch(/^red/);
  });

  it('--person (repeatable, AND) by name or id', async () => {
    expect((await search('--person', 'alice')).sort()).toEqual(['green.jpg', 'red.jpg']);
    expect(await search('--person', 'Alice', '--person', 'Bob')).toEqual(['green.jpg']);
    // an unknown person is a usage error naming them, not "no matches" (issue 21)
    const nobody = await runCli(['search', '--person', 'Nobody'], env);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain('--person Nobody: no such person');
  });

  it('--tag finds CLIP scene tags', async () => {
    expect(await search('--tag', 'sea')).toEqual(['blue-sign.jpg']);
    // the toy model's "sunset" is orange, which the red pictures are closer to than green or blue
    const sunset = await search('--tag', 'sunset');
    expect(sunset).toContain('orange.jpg');
    expect(sunset).not.toContain('green.jpg');
    expect(sunset).not.toContain('blue-sign.jpg');
  });

  it('--text searches OCR text: substring, accents and case folded, fuzzy', async () => {
    expect(await search('--text', 'parking')).toEqual(['blue-sign.jpg']);
    expect(await search('--text', 'No Pärking')).toEqual(['blue-sign.jpg']);
    expect(await search('--text', 'no parkin')).toEqual(['blue-sign.jpg']);
    expect(await search('--text', 'bicycle')).toEqual([]);
  });

  it('--after / --before use the capture date', async () => {
    expect(await search('--before', '2020')).toEqual(['red.jpg']);
    const after = await search('--after', '2021-01-01', '--before', '2024');
    expect(after.sort()).toEqual(['blue-sign.jpg', 'green.jpg']);
  });

  it('--camera, --make, --model', async () => {
    expect(await search('--camera', 'nikon d70')).toEqual(['green.jpg']);
    expect(await search('--make', 'canon')).toEqual(['red.jpg']);
    expect(await search('--model', 'IPHONE 6')).toEqual(['blue-sign.jpg']);
  });

  it('--type image|video', async () => {
    expect(await search('--type', 'video')).toEqual(['clip.mp4']);
    expect(await search('--type', 'image', '--limit', '50')).not.toContain('clip.mp4');
  });

  it('--place and --near use offline reverse geocoding', async () => {
    expect(await search('--place', 'Paris')).toEqual(['red.jpg']);
    expect(await search('--place', 'rome, italy')).toEqual(['green.jpg']);
    expect(await search('--place', 'France')).toEqual(['red.jpg']);
    expect(await search('--near', '48.85,2.35,20')).toEqual(['red.jpg']);
    expect(await search('--near', '45.0,7.0,50')).toEqual([]);
    const r = await runCli(['--json', 'search', '--place', 'paris'], env);
    // the nearest GeoNames entry may be a district ("Paris 04 Hôtel-de-Ville")
    expect(JSON.parse(r.stdout).results[0]).toMatchObject({ city: expect.stringMatching(/^Paris/), state: 'Île-de-France', country: 'France' });
  });

  it('--similar ranks by likeness to an asset or a file', async () => {
    const bySimilar = await search('--similar', path.join(src, 'red.jpg'), '--limit', '2');
    expect(bySimilar[0]).toBe('red-small.jpg');
    expect(bySimilar).not.toContain('red.jpg');
  });

  it('--limit, --paths and -0', async () => {
    expect(await search('--type', 'image', '--limit', '2')).toHaveLength(2);
    const p = await runCli(['search', '--type', 'image', '--paths'], env);
    const lines = p.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(fs.existsSync(l)).toBe(true);
    const z = await runCli(['search', '--make', 'canon', '-0'], env);
    expect(z.stdout.endsWith('\0')).toBe(true);
    expect(fs.existsSync(z.stdout.slice(0, -1))).toBe(true);
  });

  it('prints a table that fits 100 columns on a terminal-less stdout; --wide adds thumbnail paths', async () => {
    const r = await runCli(['search', '--make', 'canon'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/red\.jpg/);
    expect(r.stdout).not.toMatch(/thumbnail\.webp|thumbnail\.jpe?g/);
    for (const line of r.stdout.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    const wide = await runCli(['--wide', 'search', '--make', 'canon'], env);
    expect(wide.stdout).toMatch(/thumbnail\.webp|thumbnail\.jpe?g/);
  });

  it('--duplicates groups the near-duplicate copy by CLIP distance', async () => {
    const r = await runCli(['--json', 'duplicates'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.method).toBe('clip');
    const groups = out.groups.map((g: { assets: Array<{ originalName: string }> }) => g.assets.map((a) => a.originalName).sort());
    expect(groups).toContainEqual(['red-small.jpg', 'red.jpg']);
    const s = await runCli(['search', '--duplicates', '--paths'], env);
    expect(s.stdout).toMatch(/red-small\.jpg/);
  });

  it('a changed CLIP model is reported, and re-embeds with index --force', async () => {
    const other = { ...env, IMMICH_CLIP_MODEL: 'ViT-B-16__openai' };
    installTestClip(path.join(lib, 'models'), 'ViT-B-16__openai');
    const before = await runCli(['--json', 'search', 'red'], other);
    expect(JSON.parse(before.stdout).mode).toBe('text');
    expect(before.stderr).toMatch(/embedded with another CLIP model/);
    const idx = await runCli(['index', '--jobs', 'smart-search', '--force'], other);
    expect(idx.code, idx.stderr).toBe(0);
    const models = await withLibraryDb(lib, (db) => db.selectFrom('smart_search').select('model').distinct().execute(), dbEnv);
    expect(models.map((m) => m.model)).toEqual(['ViT-B-16__openai']);
    const after = await runCli(['--json', 'search', 'red'], other);
    expect(JSON.parse(after.stdout).mode).toBe('clip');
    expect(after.stderr).not.toMatch(/another CLIP model/);
  });

  it('bad flags are usage errors', async () => {
    for (const args of [['--type', 'photo'], ['--near', '91,0'], ['--after', 'yesterdayish'], ['--limit', '0']]) {
      const r = await runCli(['search', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/immich: /);
    }
  });
});

describe('immich search on PostgreSQL without pgvector', () => {
  let lib: string;
  let src: string;
  let env: Record<string, string>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    src = await makeFixtures();
    lib = tmpDir('immich-search-pg-');
    installTestClip(path.join(lib, 'models'));
    const db = await createPgDatabase('immich_search', { vector: false });
    drop = db.drop;
    env = { UPLOAD_LOCATION: lib, ...db.env };
    const imp = await runCli(['import', src], env);
    expect(imp.code, imp.stderr + imp.stdout).toBe(0);
  });
  afterAll(async () => {
    await drop?.();
    fs.rmSync(lib, { recursive: true, force: true });
    fs.rmSync(src, { recursive: true, force: true });
  });

  it('says once that CLIP needs pgvector, then searches OCR text, places and names', async () => {
    const r = await runCli(['--json', 'search', 'parking'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).mode).toBe('text');
    expect(names(r.stdout)).toEqual(['blue-sign.jpg']);
    expect(r.stderr.match(/needs the pgvector extension/g)).toHaveLength(1);
    const p = await runCli(['--json', 'search', 'paris'], env);
    expect(names(p.stdout)).toEqual(['red.jpg']);
  });

  it('a query of only one-letter words finds nothing instead of failing', async () => {
    const r = await runCli(['--json', 'search', 'x'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(names(r.stdout)).toEqual([]);
  });

  it('filters work without pgvector', async () => {
    const r = await runCli(['--json', 'search', '--place', 'Rome', '--camera', 'nikon'], env);
    expect(names(r.stdout)).toEqual(['green.jpg']);
    const t = await runCli(['--json', 'search', '--text', 'parking', '--after', '2023'], env);
    expect(names(t.stdout)).toEqual(['blue-sign.jpg']);
  });

  it('duplicates fall back to the perceptual hash; --similar too', async () => {
    const r = await runCli(['--json', 'duplicates'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.method).toBe('phash');
    const groups = out.groups.map((g: { assets: Array<{ originalName: string }> }) => g.assets.map((a) => a.originalName).sort());
    expect(groups).toContainEqual(['red-small.jpg', 'red.jpg']);
    const s = await runCli(['--json', 'search', '--similar', path.join(src, 'red.jpg'), '--limit', '1'], env);
    expect(names(s.stdout)).toEqual(['red-small.jpg']);
    const c = await runCli(['duplicates', '--method', 'clip'], env);
    expect(c.code).toBe(3);
    expect(c.stderr).toMatch(/pgvector/);
  });

  it('free text ranks photos matching more of the query first and says what matched', async () => {
    // red.jpg matches both words (file name and place); red-small.jpg only its name; green.jpg nothing.
    const r = await runCli(['--json', 'search', 'red', 'in', 'paris'], env);
    expect(r.code, r.stderr).toBe(0);
    const hits = JSON.parse(r.stdout).results as Array<{ originalName: string; score: number; matched: string[] }>;
    expect(hits.map((h) => h.originalName)).toEqual(['red.jpg', 'red-small.jpg']);
    expect(hits[0]!.score).toBeGreaterThan(2);
    expect(hits[1]!.score).toBeLessThan(2);
    expect(hits[0]!.matched).toEqual([expect.stringMatching(/^place:Paris/), 'name']);
    expect(hits[1]!.matched).toEqual(['name']);
    // Filters apply to the ranked candidates.
    expect(names((await runCli(['--json', 'search', 'red', 'in', 'paris', '--after', '2020'], env)).stdout)).toEqual(['red-small.jpg']);
  });

  it('a photo whose GPS position changed is geocoded again on the next search', async () => {
    expect(names((await runCli(['--json', 'search', '--place', 'Rome'], env)).stdout)).toEqual(['green.jpg']);
    // As a metadata re-run after a sidecar edit would: green.jpg (geocoded to Rome at import) moves to Helsinki.
    await withLibraryDb(lib, async (db) => {
      const a = await db.selectFrom('assets').select('id').where('original_name', '=', 'green.jpg').executeTakeFirstOrThrow();
      await db.updateTable('exif').set({ latitude: 60.1699, longitude: 24.9384 }).where('asset_id', '=', a.id).execute();
    }, env);
    expect(names((await runCli(['--json', 'search', '--place', 'Helsinki'], env)).stdout)).toEqual(['green.jpg']);
    expect(names((await runCli(['--json', 'search', 'helsinki'], env)).stdout)).toEqual(['green.jpg']);
    expect(names((await runCli(['--json', 'search', '--place', 'Rome'], env)).stdout)).toEqual([]);
  });
});

describe('start-up of the compiled CLI', () => {
  // Loading kysely's ~280 ES modules took 150-450 ms of every command's start; the build bundles
  // it, pg and commander into dist/vendor/ (scripts/bundle-deps.mjs). A wrong path there falls back
  // to the packages silently, so check that the compiled loader finds every bundle.
  it('loads kysely, pg and commander from their one-file bundles', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const { loadBundled } = await import(${JSON.stringify(path.join(ROOT, 'dist/vendor.js'))});
        console.log(JSON.stringify(['kysely', 'pg', 'commander'].map((n) => Boolean(loadBundled(n)))));`],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual([true, true, true]);
    // Each bundle's V8 code cache (made by the build with this node) is accepted, not silently
    // recompiled. Checked in a fresh node, as a command starts: V8 rejects a cache made under other
    // flags, and this worker may have opened PGlite in-process (which sets a WebAssembly flag).
    const rejected = execFileSync(
      process.execPath,
      ['-e', `const fs = require('fs'), vm = require('vm'), { Module } = require('module');
        console.log(JSON.stringify(['kysely', 'pg', 'commander'].map((n) => {
          const file = ${JSON.stringify(path.join(ROOT, 'dist/vendor'))} + '/' + n + '.cjs';
          return new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: fs.readFileSync(file.replace(/\\.cjs$/, '.cache')) }).cachedDataRejected;
        })));`],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(rejected)).toEqual([false, false, false]);
    // One static `import … from 'kysely'` anywhere loads all ~280 of its ES modules beside the bundle
    // (services/search did: ~0.2 s of every search). Runtime values come through db/kysely.ts.
    const stray: string[] = [];
    const walk = (dir: string) => {
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, d.name);
        if (d.isDirectory()) { if (!['vendor', 'web', 'embedded-template', 'embedded-template-bare'].includes(d.name)) walk(p); }
        else if (d.name.endsWith('.js') && /^import [^;]* from '(kysely|pg|commander)';/m.test(fs.readFileSync(p, 'utf8'))) stray.push(path.relative(ROOT, p));
      }
    };
    walk(path.join(ROOT, 'dist'));
    expect(stray).toEqual([]);
  });
});
