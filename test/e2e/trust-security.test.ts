// What a hostile or unlucky source cannot do to a library: a sidecar that is a link to a root-only
// file (or not XMP) is skipped with one warning, private photos stay private, file names cannot
// fake output lines, secrets stay out of `config` and connection errors, and total failures (a full
// disk, a database that goes away mid-import) are exit 3 with one line.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/storage/atomic.js';
import { createPgDatabase, noteSkip, PG_HOST, PG_PORT, pgEnv, runCli, tmpDir } from '../helpers/env.js';
import { expectCode, json } from './backup-helpers.js';
import { listFiles, makeImage, withLibraryDb } from './import-helpers.js';

const XMP = (title: string) =>
  `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
  `<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">${title}</rdf:li></rdf:Alt></dc:description></rdf:Description>` +
  `</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>`;

/** A small tmpfs (root only); undefined when it cannot be mounted here. */
function mountTmpfs(dir: string, size: string): (() => void) | undefined {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (r.status !== 0) return undefined;
  return () => void spawnSync('umount', ['-l', dir]);
}

describe('sources, names and secrets', () => {
  let base: string;
  beforeAll(() => {
    base = tmpDir('immich-trust-security-');
  });

  it('a linked or non-XMP sidecar is skipped with one line; a private photo and its sidecar stay private', async () => {
    const src = path.join(base, 'src');
    const lib = path.join(base, 'lib');
    const secret = path.join(base, 'root-only.xmp'); // outside the source, like /etc/shadow
    fs.writeFileSync(secret, XMP('TOP-SECRET-CONTENT'), { mode: 0o600 });
    await makeImage(path.join(src, 'linked.jpg'), { color: '#c03030', seed: 1 });
    fs.symlinkSync(secret, path.join(src, 'linked.jpg.xmp'));
    await makeImage(path.join(src, 'notxmp.jpg'), { color: '#30a040', seed: 2 });
    fs.writeFileSync(path.join(src, 'notxmp.jpg.xmp'), 'root:$6$hash:19000:0:99999:7:::\n');
    await makeImage(path.join(src, 'private.jpg'), { color: '#3050d0', seed: 3 });
    fs.chmodSync(path.join(src, 'private.jpg'), 0o600);
    fs.writeFileSync(path.join(src, 'private.jpg.xmp'), XMP('a private caption'), { mode: 0o600 });

    const r = await runCli(['--json', 'import', src, '--skip-ml'], { UPLOAD_LOCATION: lib });
    // The walk lists the link out of the source as left out (exit 1); the photos are imported.
    expectCode(r, 1);
    expect(json(r).counts.imported).toBe(3);
    expect(json(r).skippedByReason['link-outside']).toBe(1);
    const warnings = r.stderr.split('\n').filter((l) => /sidecar .* skipped/.test(l));
    expect(warnings).toHaveLength(2);
    expect(warnings.find((l) => l.includes('linked.jpg.xmp'))).toMatch(/a symbolic link/);
    expect(warnings.find((l) => l.includes('notxmp.jpg.xmp'))).toMatch(/not an XMP file/);

    // Nothing of the linked file reached the library (files or database).
    const files = listFiles(lib, 'uploads');
    expect(files.filter((f) => f.endsWith('.xmp')).map((f) => path.basename(f))).toEqual(['private.jpg.xmp']);
    for (const f of files) expect(fs.readFileSync(path.join(lib, 'uploads', f)).includes('TOP-SECRET')).toBe(false);
    const descriptions = await withLibraryDb(lib, async (db) => (await db.selectFrom('exif').select('description').execute()).map((e) => e.description));
    expect(descriptions).toContain('a private caption');
    expect(descriptions.join(' ')).not.toContain('TOP-SECRET');

    // 0600 stays 0600 (original and sidecar); a 0644 photo stays 0644.
    const mode = (name: string) => fs.statSync(path.join(lib, 'uploads', files.find((f) => path.basename(f) === name)!)).mode & 0o777;
    expect(mode('private.jpg')).toBe(0o600);
    expect(mode('private.jpg.xmp')).toBe(0o600);
    expect(mode('linked.jpg')).toBe(0o644);
  });

  it('file names with newlines and escape codes are escaped in every human line', async () => {
    const src = path.join(base, 'names');
    const lib = path.join(base, 'names-lib');
    const evil = 'x\nimmich: all 3 files imported, 0 failures\u001b[2J.jpg';
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, evil), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300, 7)]));
    const r = await runCli(['import', src, '--skip-ml'], { UPLOAD_LOCATION: lib });
    expectCode(r, 1);
    expect(r.stderr + r.stdout).not.toContain('\u001b[2J');
    const lines = r.stderr.split('\n');
    expect(lines.filter((l) => l.startsWith('immich: all 3'))).toEqual([]);
    expect(lines.filter((l) => l.includes('x\\nimmich: all 3 files imported, 0 failures\\x1b[2J.jpg'))).toHaveLength(1);
  });

  it('passwords holding "/" or "@" and Redis credentials never appear in config output or errors', async () => {
    const password = 'p@ss/w0rd@x';
    const env = { DB_URL: `postgresql://bob:${password}@127.0.0.1:1/db`, REDIS_HOSTNAME: 'redis://:r3dis-s3cret@127.0.0.1', REDIS_PORT: '1', REDIS_PASSWORD: 'an0ther-s3cret', UPLOAD_LOCATION: path.join(base, 'cfg') };
    for (const args of [['config'], ['--json', 'config'], ['import', base, '--skip-ml'], ['stats']]) {
      const r = await runCli(args, env, { timeoutMs: 60_000 });
      const all = r.stdout + r.stderr;
      for (const part of ['p@ss', 'ss/w0rd', 'w0rd@x', 'r3dis-s3cret', 'an0ther-s3cret']) expect(all, `${args.join(' ')}: ${all}`).not.toContain(part);
      if (args.includes('config')) expect(all).toContain('bob:********@127.0.0.1:1/db');
      else expect(r.code).toBe(3);
    }
  });
});

describe('total failures are exit 3 with one line', () => {
  let base: string;
  const cleanups: Array<() => void | Promise<void>> = [];
  beforeAll(() => {
    base = tmpDir('immich-trust-env-');
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a full disk: backup, restore and opening the embedded database; writeFileAtomic leaves no temp file', { timeout: 300_000 }, async () => {
    const full = path.join(base, 'full');
    const unmount = mountTmpfs(full, '1m');
    if (!unmount) return noteSkip('full disk', 'permission to mount a tmpfs');
    cleanups.push(unmount);
    const lib = path.join(base, 'lib');
    const src = path.join(base, 'src');
    fs.mkdirSync(src, { recursive: true });
    const sharp = (await import('sharp')).default;
    for (let i = 0; i < 4; i++) {
      // incompressible pixels: ~480 KB each, 4 of them do not fit in 1 MB
      const file = path.join(src, `big-${i}.png`);
      const raw = Buffer.alloc(400 * 400 * 3);
      for (let k = 0; k < raw.length; k++) raw[k] = (k * 2654435761 + i * 97) >>> 24;
      await sharp(raw, { raw: { width: 400, height: 400, channels: 3 } }).png({ compressionLevel: 0 }).toFile(file);
    }
    expectCode(await runCli(['import', src, '--skip-ml', '-q'], { UPLOAD_LOCATION: lib }), 0);

    const backup = await runCli(['backup', path.join(full, 'repo'), '-q'], { UPLOAD_LOCATION: lib });
    expectCode(backup, 3);
    expect(backup.stderr.trim().split('\n')).toHaveLength(1);
    expect(backup.stderr).toMatch(/^immich: backup repository .*: no space left on device \(ENOSPC\)/);
    expect(fs.readdirSync(path.join(full, 'repo', 'snapshots'))).toEqual([]); // no snapshot missing files
    expect(fs.readdirSync(path.join(full, 'repo', 'tmp'))).toEqual([]);
    fs.rmSync(path.join(full, 'repo'), { recursive: true });

    const repo = path.join(base, 'repo');
    expectCode(await runCli(['backup', repo, '-q'], { UPLOAD_LOCATION: lib }), 0);
    const restore = await runCli(['restore', repo, '--to', path.join(full, 'restored'), '-q']);
    expectCode(restore, 3);
    expect(restore.stderr.trim().split('\n').filter((l) => l.startsWith('immich:'))).toHaveLength(1);
    expect(restore.stderr).toMatch(/no space left on device \(ENOSPC\)/);
    expect(restore.stderr).not.toMatch(/unexpected|undefined|\[object Object\]/);
    fs.rmSync(path.join(full, 'restored'), { recursive: true, force: true });

    // Fill the disk, then open a library there.
    fs.writeFileSync(path.join(full, 'fill'), Buffer.alloc(1024 * 1024 - 8192));
    const empty = path.join(base, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    const stats = await runCli(['import', empty, '--skip-ml', '-q'], { UPLOAD_LOCATION: path.join(full, 'lib') });
    expectCode(stats, 3);
    expect(stats.stderr.trim().split('\n')).toHaveLength(1);
    expect(stats.stderr).toMatch(/no space left on device|ENOSPC/);
    expect(stats.stderr).not.toMatch(/unexpected|undefined/);

    const target = path.join(full, 'atomic', 'file.bin');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.rmSync(path.join(full, 'fill'));
    await expect(writeFileAtomic(target, Buffer.alloc(2 * 1024 * 1024, 1))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(fs.readdirSync(path.dirname(target))).toEqual([]);
  });

  it('PostgreSQL refusing connections mid-import: exit 3 naming the database, not one failure per file', { timeout: 300_000 }, async () => {
    const database = await createPgDatabase('trust_security_refuse');
    cleanups.push(() => database.drop());
    // A proxy to the server that is shut (port closed, connections cut) once the import is writing.
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(PG_PORT, PG_HOST);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const port = (proxy.address() as net.AddressInfo).port;
    const src = path.join(base, 'many');
    for (let i = 0; i < 40; i++) await makeImage(path.join(src, `p-${i}.jpg`), { color: '#405060', seed: i + 10 });
    const env = { ...pgEnv(database.name), DB_PORT: String(port), UPLOAD_LOCATION: path.join(base, 'pg-lib') };
    const running = runCli(['import', src, '--skip-ml', '-q'], env, { timeoutMs: 120_000 });
    const pg = (await import('pg')).default;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const c = new pg.Client({ host: PG_HOST, port: PG_PORT, user: 'postgres', database: database.name });
      await c.connect();
      const n = await c.query("select count(*)::int as n from information_schema.tables where table_name = 'assets'").then(async (r) =>
        r.rows[0].n ? (await c.query('select count(*)::int as n from assets')).rows[0].n : 0,
      );
      await c.end();
      if (n > 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    proxy.close();
    for (const s of sockets) s.destroy();
    const r = await running;
    expectCode(r, 3);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('immich:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/connection refused|connection lost|connection reset/i);
    expect(lines[0]).not.toMatch(/unexpected error/);
  });

  it('Redis: an outage is waited out for IMMICH_REDIS_OUTAGE_MS then exit 3; jobs a restart lost are queued again', { timeout: 300_000 }, async () => {
    // A Redis of our own without persistence, so it can be killed and restarted empty.
    const port = 20000 + (process.pid % 20000);
    const start = (): ChildProcess => spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const up = async () => {
      for (let i = 0; i < 100; i++) {
        if (spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() === 'PONG') return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('redis-server did not start');
    };
    let redis = start();
    cleanups.push(() => void redis.kill('SIGKILL'));
    await up();
    const src = path.join(base, 'redis-src');
    // Large enough that one thumbnail worker is still busy with the first when Redis restarts.
    for (let i = 0; i < 12; i++) await makeImage(path.join(src, `r-${i}.jpg`), { color: '#705030', seed: i + 60, width: 3000, height: 2000 });
    const lib = path.join(base, 'redis-lib');
    const env = { UPLOAD_LOCATION: lib, REDIS_HOSTNAME: '127.0.0.1', REDIS_PORT: String(port), IMMICH_REDIS_PREFIX: `trust-security-${process.pid}`, IMMICH_REDIS_OUTAGE_MS: '3000', IMMICH_QUEUE_CONCURRENCY_THUMBNAILS: '1' };
    const runs = () => new Set(spawnSync('redis-cli', ['-p', String(port), '--scan', '--pattern', `trust-security-${process.pid}:run:*:stats`]).stdout?.toString().split('\n').filter(Boolean));
    /** Wait until an import run that is not in `before` has queued jobs. */
    const queued = async (before = new Set<string>()) => {
      for (let i = 0; i < 1200; i++) {
        if ([...runs()].some((k) => !before.has(k))) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the import queued nothing');
    };

    // Restarted empty mid-import: every photo still gets its stages.
    const restarted = runCli(['--json', 'import', src, '--skip-ml'], env, { timeoutMs: 240_000 });
    // Every file's thumbnail job is queued (and most still wait behind the one worker): restart now.
    for (let i = 0; i < 2400; i++) {
      const [key] = [...runs()];
      const total = key ? Number(spawnSync('redis-cli', ['-p', String(port), 'hget', key, 'thumbnails.total']).stdout?.toString().trim() || 0) : 0;
      if (total >= 12) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    redis = start();
    await up();
    const r1 = await restarted;
    expectCode(r1, 0);
    const stages = json(r1).stages as Record<string, { done: number; pending: number; failed: number }>;
    for (const [name, c] of Object.entries(stages)) expect(c.pending, `${name}: ${JSON.stringify(stages)}`).toBe(0);
    expect(stages.thumbnails?.done).toBe(12);
  });

  // Was a known bug (seen in a full-suite run on 2026-12-06): the import slept for ever with no
  // socket open. Two waits ignored the outage watchdog: drain() closed its local workers gracefully
  // after the watchdog fired (a BullMQ close waits for the in-flight jobs' Redis writes and its QUIT),
  // and drain's periodic sweep of the pending set was not bounded by the watchdog.
  it('Redis gone for good during an import: exit 3 with one line naming Redis, in bounded time', { timeout: 900_000 }, async () => {
    const port = 20000 + ((process.pid + 7919) % 20000);
    const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    cleanups.push(() => void redis.kill('SIGKILL'));
    for (let i = 0; ; i++) {
      if (spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() === 'PONG') break;
      if (i > 100) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const prefix = `trust-gone-${process.pid}`;
    const src = path.join(base, 'redis-gone-src');
    // Big enough that the thumbnail jobs are still running (and the drain sweeping) when Redis dies.
    for (let i = 0; i < 12; i++) await makeImage(path.join(src, `s-${i}.jpg`), { color: '#307050', seed: i + 90, width: 2400, height: 1600 });
    const env = { UPLOAD_LOCATION: path.join(base, 'redis-gone-lib'), REDIS_HOSTNAME: '127.0.0.1', REDIS_PORT: String(port), IMMICH_REDIS_PREFIX: prefix, IMMICH_REDIS_OUTAGE_MS: '3000', IMMICH_QUEUE_CONCURRENCY_THUMBNAILS: '1' };
    const gone = runCli(['import', src, '--skip-ml', '-q'], env, { timeoutMs: 240_000 });
    for (let i = 0; ; i++) {
      const keys = spawnSync('redis-cli', ['-p', String(port), '--scan', '--pattern', `${prefix}:run:*:stats`]).stdout?.toString().trim();
      if (keys) break;
      if (i > 4000) throw new Error('the import queued nothing');
      await new Promise((r) => setTimeout(r, 50));
    }
    redis.kill('SIGKILL');
    const started = Date.now();
    const r = await gone;
    expectCode(r, 3);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('immich:'));
    expect(lines.at(-1)).toMatch(/^immich: Redis at 127\.0\.0\.1:\d+: unreachable for \d+ s .*giving up/);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
