#!/usr/bin/env node
// bench/takeout: `immich import` of a generated Google Takeout (two zip parts, JSON sidecars in
// Google's structure, album copies) against `immich import` of the same media unpacked into a plain
// folder, in one run, with the peak RSS of each import process (GNU time's maximum resident size).
//
//   node bench/takeout/run.mjs [--items 5000] [--rounds 1] [--concurrency <cores>] [--keep] [--work <dir>]
//
// --work: generate into (or reuse the Takeout already generated in) this folder; it is kept.
//
// ratio = plain seconds / Takeout seconds (target >= 0.8); RSS target < 600 MB.
// Both imports use --skip-ml (ML models are not what is measured) into a library whose embedded
// database already exists; rounds alternate the two (the machine is shared), the best of each counts.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const N = Number(opt('--items', '5000'));
const ROUNDS = Number(opt('--rounds', '1'));
const CONC = Number(opt('--concurrency', String(os.availableParallelism())));
const KEEP = args.includes('--keep');

const WORK = opt('--work', undefined);
const work = WORK ? (fs.mkdirSync(WORK, { recursive: true }), WORK) : fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-takeout-'));
const PRODUCT = 'Takeout/Google Photos';

function sidecar(title, takenSec, i) {
  const t = (s) => ({ timestamp: String(s), formatted: new Date(s * 1000).toUTCString() });
  return JSON.stringify({
    title, description: i % 7 === 0 ? `photo ${i}` : '', imageViews: '1',
    creationTime: t(1700000000), photoTakenTime: t(takenSec),
    geoData: { latitude: 0, longitude: 0, altitude: 0, latitudeSpan: 0, longitudeSpan: 0 },
    geoDataExif: i % 3 === 0 ? { latitude: 38.7 + i / 1e5, longitude: -9.1, altitude: 10, latitudeSpan: 0, longitudeSpan: 0 } : { latitude: 0, longitude: 0, altitude: 0, latitudeSpan: 0, longitudeSpan: 0 },
    ...(i % 11 === 0 ? { favorited: true } : {}),
    ...(i % 13 === 0 ? { people: [{ name: `Person ${i % 5}` }] } : {}),
  }, null, 2);
}

async function generate() {
  const done = path.join(work, 'generated.json');
  if (fs.existsSync(done)) return JSON.parse(fs.readFileSync(done, 'utf8'));
  // A few hundred distinct base images (640x480 JPEG, ~40 KB), each item made unique by bytes after EOI.
  const bases = [];
  for (let b = 0; b < 64; b++) {
    const noise = Buffer.alloc(640 * 480 * 3);
    let x = (b + 1) * 2654435761;
    for (let k = 0; k < noise.length; k++) {
      x = (x * 1103515245 + 12345) >>> 0;
      noise[k] = (x >>> 24) & 0x7f;
    }
    let img = sharp(noise, { raw: { width: 640, height: 480, channels: 3 } });
    if (b % 2 === 0) img = img.withExif({ IFD0: { Make: 'Bench', Model: 'Takeout' }, IFD2: { DateTimeOriginal: `2019:0${1 + (b % 9)}:1${b % 10} 12:00:00` } });
    bases.push(await img.jpeg({ quality: 70 }).toBuffer());
  }
  const parts = [path.join(work, 'p1'), path.join(work, 'p2')];
  const plain = path.join(work, 'plain');
  const write = (file, data) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  };
  let media = 0;
  for (let i = 0; i < N; i++) {
    const year = 2010 + (i % 12);
    const name = `IMG_${String(i).padStart(5, '0')}.jpg`;
    const data = Buffer.concat([bases[i % bases.length], Buffer.from(`takeout-bench-${i}`)]);
    const taken = Date.UTC(year, i % 12, 1 + (i % 28), 12) / 1000;
    // The media in one part, its JSON in the other for every third item (as real exports split them).
    const mp = parts[i % 2];
    const jp = i % 3 === 0 ? parts[(i + 1) % 2] : mp;
    write(path.join(mp, PRODUCT, `Photos from ${year}`, name), data);
    write(path.join(jp, PRODUCT, `Photos from ${year}`, `${name}.supplemental-metadata.json`), sidecar(name, taken, i));
    write(path.join(plain, `Photos from ${year}`, name), data);
    media++;
    // One in ten also in an album: the same bytes, imported once, put in the album.
    if (i % 10 === 0) {
      const album = `Album ${i % 40}`;
      write(path.join(mp, PRODUCT, album, name), data);
      write(path.join(mp, PRODUCT, album, `${name}.supplemental-metadata.json`), sidecar(name, taken, i));
      write(path.join(mp, PRODUCT, album, 'metadata.json'), JSON.stringify({ title: album, description: '', access: 'protected' }));
    }
  }
  const zips = parts.map((p, k) => path.join(work, `takeout-20240101T000000Z-00${k + 1}.zip`));
  for (let k = 0; k < 2; k++) execFileSync('zip', ['-q', '-r', zips[k], 'Takeout'], { cwd: parts[k] });
  for (const p of parts) fs.rmSync(p, { recursive: true, force: true });
  fs.writeFileSync(done, JSON.stringify({ zips, plain, media }));
  return { zips, plain, media };
}

const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k))), CI: 'true' };

/** One import into a fresh library (its database made beforehand); seconds and peak RSS in MB. */
function importRun(label, paths) {
  const lib = fs.mkdtempSync(path.join(work, 'lib-'));
  const empty = fs.mkdtempSync(path.join(work, 'empty-'));
  // Creating the embedded database is a one-off cost of a new library, not part of either import.
  spawnSync(process.execPath, [path.join(ROOT, 'bin/immich'), '-q', 'import', empty], { env: { ...env, UPLOAD_LOCATION: lib } });
  // The summary (MBs for thousands of files) goes to a file, not a pipe.
  const outFile = path.join(lib, 'summary.json');
  const fd = fs.openSync(outFile, 'w');
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(ROOT, 'bin/immich'), '--json', 'import', '--skip-ml', '-j', String(CONC), ...paths], {
    env: { ...env, UPLOAD_LOCATION: lib }, stdio: ['ignore', fd, 'pipe'], maxBuffer: 1 << 30, encoding: 'utf8',
  });
  const seconds = (performance.now() - t0) / 1000;
  fs.closeSync(fd);
  if (r.status !== 0) throw new Error(`${label}: exit ${r.status}: ${r.stderr.slice(-2000)}`);
  const rssMb = Number(r.stderr.trim().split('\n').pop()) / 1024;
  const summary = JSON.parse(fs.readFileSync(outFile, 'utf8'));
  if (!KEEP) fs.rmSync(lib, { recursive: true, force: true });
  return { label, seconds, rssMb, imported: summary.counts.imported, duplicates: summary.counts.duplicates, albums: summary.takeout?.albums.length ?? 0 };
}

const g = await generate();
const zipBytes = g.zips.reduce((s, z) => s + fs.statSync(z).size, 0);
console.error(`generated ${g.media} items, 2 parts, ${(zipBytes / 1e6).toFixed(0)} MB of zip in ${work}`);
const best = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, paths] of [['plain folder', [g.plain]], ['takeout zips', g.zips]]) {
    const r = importRun(label, paths);
    console.error(`round ${round + 1}: ${label}: ${r.seconds.toFixed(1)} s, peak RSS ${r.rssMb.toFixed(0)} MB, ${r.imported} imported, ${r.duplicates} duplicates`);
    if (!best[label] || r.seconds < best[label].seconds) best[label] = r;
  }
}
const plain = best['plain folder'];
const takeout = best['takeout zips'];
const out = {
  items: g.media,
  concurrency: CONC,
  plain: { seconds: +plain.seconds.toFixed(2), peakRssMb: Math.round(plain.rssMb), imported: plain.imported },
  takeout: { seconds: +takeout.seconds.toFixed(2), peakRssMb: Math.round(takeout.rssMb), imported: takeout.imported, duplicates: takeout.duplicates, albums: takeout.albums },
  ratio: +(plain.seconds / takeout.seconds).toFixed(3),
  load: os.loadavg().map((l) => +l.toFixed(1)),
};
console.log(JSON.stringify(out, null, 2));
if (!KEEP && !WORK) fs.rmSync(work, { recursive: true, force: true });
