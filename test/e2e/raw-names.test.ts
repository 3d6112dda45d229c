// File names that are not valid UTF-8 (issue 13, "Files silently left out"): a Latin-1 `caf\xe9.jpg`,
// names with broken UTF-8 sequences, and hostile names (newline, ESC, two names that differ only by
// an invalid byte, a UTF-8 name equal to the escaped form of another) are imported by copy, --move and
// in place, with their bytes intact; re-runs are silent no-ops; verify, export, backup and restore
// keep the bytes. --json carries the lossless text form (U+FFFD + two hex digits per raw byte).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, tmpDir } from '../helpers/env.js';
import { makeImage, withLibraryDb } from './import-helpers.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const join = (dir: string, name: Buffer) => Buffer.concat([Buffer.from(dir + '/'), name]);

/** The bytes a --json path stands for (the documented text form, decoded here without our code). */
function bytesOf(text: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(/\uFFFD([0-9A-F]{2})/g)) {
    parts.push(Buffer.from(text.slice(last, m.index), 'utf8'), Buffer.from([parseInt(m[1]!, 16)]));
    last = m.index! + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

const sha1 = (data: Buffer) => crypto.createHash('sha1').update(data).digest('hex');

/** The names of the suite: each must come back byte for byte. */
const NAMES: Buffer[] = [
  b('caf\xe9.jpg'), // Latin-1
  b('caf\xe8.jpg'), // differs from the first only by an invalid byte
  Buffer.from('caf\uFFFDE9.jpg'), // valid UTF-8, equal to the text form of the first
  Buffer.from('caf%E9.jpg'), // valid UTF-8, equal to the library name of the first
  Buffer.concat([Buffer.from('bad-'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('-'), Buffer.from([0xc3]), Buffer.from('.jpg')]), // a surrogate, a truncated sequence
  Buffer.from('x\nimmich: all done\u001b[2J.jpg'), // newline and ESC
];
const SUB = b('d\xff'); // a folder whose name is not UTF-8

/** Source folder `dir` with one photo per name (distinct content per `seed`), one in SUB, and a sidecar. */
async function makeSource(dir: string, seed: number): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>(); // sha1 → path bytes
  const all = [...NAMES.map((n) => join(dir, n)), join(dir, Buffer.concat([SUB, Buffer.from('/inner\xe9.jpg', 'latin1')]))];
  fs.mkdirSync(join(dir, SUB));
  for (const [i, target] of all.entries()) {
    const tmp = path.join(dir, `plain-${i}.jpg`);
    await makeImage(tmp, { color: `#${(40 + i * 30).toString(16)}6080`, seed: seed * 100 + i });
    const data = fs.readFileSync(tmp);
    fs.renameSync(tmp, target);
    files.set(sha1(data), target);
  }
  fs.writeFileSync(
    join(dir, b('caf\xe9.jpg.xmp')),
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">latin caption</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>',
  );
  return files;
}

/** bin/immich with byte-exact stdin/stdout (search -0 | info --ids-from -). */
function runBytes(args: string[], env: Record<string, string>, input?: Buffer): { code: number; stdout: Buffer; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k) || k.startsWith('IMMICH_TEST_')));
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...clean, CI: 'true', IMMICH_MODELS_AUTO_DOWNLOAD: '0', ...env }, input });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Every file under dir as path bytes → sha1, read by bytes. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (d: Buffer) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true, encoding: 'buffer' })) {
      const p = Buffer.concat([d, Buffer.from('/'), e.name]);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) out.set(p.toString('hex'), sha1(fs.readFileSync(p)));
    }
  };
  visit(Buffer.from(dir));
  return out;
}

const isUtf8 = (name: Buffer) => Buffer.from(name.toString('utf8'), 'utf8').equals(name) && !name.toString('utf8').includes('\uFFFD');

describe('file names that are not UTF-8, and hostile ones', () => {
  const base = tmpDir('immich-rawnames-');
  const lib = path.join(base, 'lib');
  const env = { UPLOAD_LOCATION: lib };
  const copySrc = path.join(base, 'copy');
  const moveSrc = path.join(base, 'move');
  const placeSrc = path.join(base, 'inplace');
  let copyFiles: Map<string, Buffer>;
  let moveFiles: Map<string, Buffer>;
  let placeFiles: Map<string, Buffer>;

  beforeAll(async () => {
    for (const d of [copySrc, moveSrc, placeSrc]) fs.mkdirSync(d);
    copyFiles = await makeSource(copySrc, 1);
    moveFiles = await makeSource(moveSrc, 2);
    placeFiles = await makeSource(placeSrc, 3);
  });

  it('import (copy) takes every name, with its bytes; --json is lossless; human lines escape; a re-run is silent', async () => {
    const r = await runCli(['--json', 'import', '--skip-ml', copySrc], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.counts).toMatchObject({ found: 7, imported: 7, failed: 0 });
    expect(s.failures).toEqual([]);
    // Each reported path is the text form of exactly one source file's bytes.
    const reported = s.imported.map((i: { path: string }) => bytesOf(i.path).toString('hex')).sort();
    expect(reported).toEqual([...copyFiles.values()].map((p) => p.toString('hex')).sort());
    // The library holds each content once, under a UTF-8 name without U+FFFD or control characters.
    const uploads = tree(path.join(lib, 'uploads'));
    for (const sum of copyFiles.keys()) expect([...uploads.values()]).toContain(sum);
    for (const hex of uploads.keys()) expect(isUtf8(Buffer.from(hex, 'hex')), Buffer.from(hex, 'hex').toString()).toBe(true);
    // caf\xe9.jpg and the real caf%E9.jpg: one of them is numbered; the sidecar follows its photo.
    const libNames = [...uploads.keys()].map((h) => path.basename(Buffer.from(h, 'hex').toString()));
    expect(libNames).toEqual(expect.arrayContaining(['caf%E9.jpg', 'caf%E9+1.jpg', 'caf%E8.jpg', 'caf%EF%BF%BDE9.jpg', 'bad-%ED%A0%80-%C3.jpg', 'inner%E9.jpg']));
    expect(libNames.filter((n) => n.endsWith('.xmp'))).toHaveLength(1);
    // The sidecar of the Latin-1 name was found beside it and read.
    const captions = await withLibraryDb(lib, async (db) => (await db.selectFrom('exif').select('description').where('description', 'is not', null).execute()).map((e) => e.description));
    expect(captions).toEqual(['latin caption']);
    // The stored names are the lossless text form: original_path gives the bytes back.
    const stored = await withLibraryDb(lib, async (db) => (await db.selectFrom('assets').select(['original_path', 'checksum']).execute()));
    for (const a of stored) expect(bytesOf(a.original_path).equals(copyFiles.get(a.checksum)!), a.original_path).toBe(true);

    // A dry run into another library reports the same files.
    const dry = await runCli(['--json', 'import', '--skip-ml', '--dry-run', copySrc], { UPLOAD_LOCATION: path.join(base, 'nolib') });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).counts).toMatchObject({ imported: 7, failed: 0 });

    const quiet = await runCli(['-q', 'import', '--skip-ml', copySrc], env);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
  }, 300_000);

  it('import --move takes the files and their sidecar out of the source; a re-run is silent', async () => {
    const r = await runCli(['--json', 'import', '--skip-ml', '--move', moveSrc], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).counts).toMatchObject({ imported: 7, failed: 0 });
    expect([...tree(moveSrc).keys()]).toEqual([]);
    const uploads = [...tree(path.join(lib, 'uploads')).values()];
    for (const sum of moveFiles.keys()) expect(uploads).toContain(sum);
    const quiet = await runCli(['-q', 'import', '--skip-ml', '--move', moveSrc], env);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
  }, 300_000);

  it('import --in-place keeps the names; index finds them online; search -0 gives the bytes back to info --ids-from -', async () => {
    const r = await runCli(['--json', 'import', '--skip-ml', '--in-place', placeSrc], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.counts).toMatchObject({ imported: 7, failed: 0 });
    expect(s.imported.map((i: { target: string }) => bytesOf(i.target).toString('hex')).sort()).toEqual([...placeFiles.values()].map((p) => p.toString('hex')).sort());
    // Every stage ran on the files by their bytes (metadata and thumbnails through a UTF-8 link).
    expect(s.stages.metadata).toMatchObject({ done: 7, failed: 0 });
    expect(s.stages.thumbnails).toMatchObject({ done: 7, failed: 0 });
    const quiet = await runCli(['-q', 'import', '--skip-ml', '--in-place', placeSrc], env);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const index = await runCli(['--json', 'index'], env);
    expect(index.code, index.stderr).toBe(0);
    expect(JSON.parse(index.stdout).inPlace).toMatchObject({ offline: 0 });

    const found = runBytes(['search', '-0', '--path', `${placeSrc}/**`], env);
    expect(found.code, found.stderr).toBe(0);
    const listed = found.stdout.toString('latin1').split('\0').filter(Boolean).map((p) => b(p).toString('hex')).sort();
    expect(listed).toEqual([...placeFiles.values()].map((p) => p.toString('hex')).sort());
    const info = runBytes(['--json', 'info', '--ids-from', '-'], env, found.stdout);
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout.toString()).count).toBe(7);
    // An edit reaches the sidecar beside the in-place original, named by its bytes.
    const edit = runBytes(['edit', '--ids-from', '-', '--description', 'edited latin'], env, Buffer.concat([join(placeSrc, b('caf\xe8.jpg')), Buffer.from('\n')]));
    expect(edit.code, edit.stderr).toBe(0);
    expect(fs.readFileSync(join(placeSrc, b('caf\xe8.jpg.xmp')), 'utf8')).toContain('edited latin');
    // A name given on the command line as bytes (Node decodes argv lossily; the kernel's copy is used).
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)));
    const named = spawnSync('/bin/sh', ['-c', 'exec "$0" "$1" --json info "$(printf "%s/caf\\351.jpg" "$2")"', process.execPath, BIN, placeSrc], { env: { ...clean, ...env, IMMICH_MODELS_AUTO_DOWNLOAD: '0' } });
    expect(named.status, named.stderr.toString()).toBe(0);
    expect(bytesOf(JSON.parse(named.stdout.toString()).assets[0].originalPath).equals(join(placeSrc, b('caf\xe9.jpg')))).toBe(true);
    // Human lines: \xHH for a raw byte (as \x1b for ESC), never a raw ESC or a line of its own.
    const human = runBytes(['info', '--ids-from', '-'], env, found.stdout);
    expect(human.code, human.stderr).toBe(0);
    const text = human.stdout.toString();
    expect(text).toContain('caf\\xe9.jpg');
    expect(text).toContain('caf\\xe8.jpg');
    expect(text).toContain('x\\nimmich: all done\\x1b[2J.jpg');
    expect(text).not.toContain('\u001b[2J');
    expect(text.split('\n').filter((l) => l.startsWith('immich: all done'))).toEqual([]);
  }, 300_000);

  it('verify passes; export --original-names writes the original names\' bytes', async () => {
    const v = await runCli(['--json', 'verify'], env);
    const checks = JSON.parse(v.stdout).checks as Array<{ name: string; status: string }>;
    for (const name of ['originals present', 'original checksums', 'untracked files']) expect(checks.find((c) => c.name === name)?.status, name).toBe('ok');

    const dest = path.join(base, 'export');
    const e = await runCli(['--json', 'export', '--all', '--original-names', dest], env);
    expect(e.code, e.stderr).toBe(0);
    const names = [...tree(dest).keys()].map((h) => Buffer.from(h, 'hex')).map((p) => p.subarray(p.lastIndexOf(0x2f) + 1));
    // 3 photos of each name (copy, move, in place): one keeps the name, the others are numbered.
    expect(names.filter((n) => !n.toString().endsWith('.xmp') && !n.toString().startsWith('.immich'))).toHaveLength(21);
    // (Export file names never hold control characters: the newline name is the one exception.)
    for (const n of NAMES.filter((x) => !x.includes(0x0a))) expect(names.some((x) => x.equals(n)), n.toString('latin1')).toBe(true);
    const update = await runCli(['--json', 'export', '--all', '--original-names', '--update', dest], env);
    expect(JSON.parse(update.stdout).exported).toBe(0);
  }, 300_000);

  it('backup and restore bring in-place originals back with their bytes', async () => {
    const repo = path.join(base, 'repo');
    const bk = await runCli(['backup', repo], env);
    expect(bk.code, bk.stderr).toBe(0);
    // Another machine: the in-place folder is not there.
    fs.renameSync(placeSrc, `${placeSrc}.away`);
    try {
      const target = path.join(base, 'restored');
      const r = await runCli(['restore', repo], { UPLOAD_LOCATION: target });
      expect(r.code, r.stderr).toBe(0);
      const external = tree(path.join(target, 'external'));
      for (const [sum, p] of placeFiles) expect(external.get(Buffer.concat([Buffer.from(path.join(target, 'external')), p]).toString('hex')), p.toString('latin1')).toBe(sum);
      const v = await runCli(['--json', 'verify'], { UPLOAD_LOCATION: target });
      const checks = JSON.parse(v.stdout).checks as Array<{ name: string; status: string }>;
      for (const name of ['originals present', 'original checksums']) expect(checks.find((c) => c.name === name)?.status, name).toBe('ok');
    } finally {
      fs.renameSync(`${placeSrc}.away`, placeSrc);
    }
  }, 300_000);
});

describe('folders that cannot be read', () => {
  it('are listed as failures (exit 1), also when the tests run as root (the import then runs as nobody)', async () => {
    const src = tmpDir('immich-rawnames-locked-');
    fs.chmodSync(src, 0o755);
    await makeImage(path.join(src, 'ok.jpg'), { color: '#336699', seed: 41 });
    await makeImage(path.join(src, 'locked', 'inside.jpg'), { color: '#993366', seed: 42 });
    fs.chmodSync(path.join(src, 'locked'), 0o000);
    const asRoot = process.getuid?.() === 0;
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DB_|REDIS_|UPLOAD_LOCATION|IMMICH_)/.test(k)));
    const cmd = [process.execPath, BIN, '--json', 'import', '--dry-run', '--skip-ml', src];
    try {
      const r = spawnSync(asRoot ? 'setpriv' : cmd[0]!, asRoot ? ['--reuid=65534', '--regid=65534', '--clear-groups', ...cmd] : cmd.slice(1), {
        env: { ...clean, HOME: src, CI: 'true', IMMICH_MODELS_AUTO_DOWNLOAD: '0', UPLOAD_LOCATION: path.join(src, 'no-library') },
      });
      expect(r.status, r.stderr.toString()).toBe(1);
      const s = JSON.parse(r.stdout.toString());
      expect(s.failures).toEqual([{ path: path.join(src, 'locked'), stage: 'walk', reason: 'cannot read: EACCES' }]);
      expect(s.imported.map((i: { path: string }) => path.basename(i.path))).toEqual(['ok.jpg']);
      expect(r.stderr.toString()).toContain(`${path.join(src, 'locked')}: walk: cannot read: EACCES`);
    } finally {
      fs.chmodSync(path.join(src, 'locked'), 0o755);
    }
  }, 120_000);
});
