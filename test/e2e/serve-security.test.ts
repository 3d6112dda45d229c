// `immich serve` on PostgreSQL + Redis, attacked: no credentials, a wrong or revoked key, a key
// without the permission, path traversal in every path parameter and in upload file names, an
// upload over the limit, password guessing (rate limit), session cookies (flags, logout, Redis, a
// new password ends them), and no secret in the log.
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, pgEnv, REDIS_HOST, REDIS_PORT, runCli, tmpDir } from '../helpers/env.js';
import { startServe, type Served } from '../helpers/serve.js';

const PASSWORD = 'correct horse battery staple';
let root: string;
let env: Record<string, string>;
let db: { name: string; drop: () => Promise<void> };
let served: Served;
let secret: string;
let readOnly: string;
let assetId: string;
const prefix = `serve-sec-${process.pid}`;

async function keyFor(name: string, ...perms: string[]): Promise<{ id: string; secret: string }> {
  const r = await runCli(['--json', 'keys', 'create', '--name', name, ...perms.flatMap((p) => ['--permission', p])], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function call(p: string, init: RequestInit & { key?: string; cookie?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (init.key) headers['x-api-key'] = init.key;
  if (init.cookie) headers.cookie = init.cookie;
  return fetch(`${served.url}${p}`, { ...init, headers, redirect: 'manual' });
}

async function uploadForm(name: string, bytes: Buffer): Promise<FormData> {
  const form = new FormData();
  form.append('fileCreatedAt', new Date().toISOString());
  form.append('fileModifiedAt', new Date().toISOString());
  form.append('assetData', new Blob([bytes]), name);
  return form;
}

const noise = (w: number, h: number, seed: number) => {
  const b = Buffer.alloc(w * h * 3);
  let x = seed;
  for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return sharp(b, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
};

beforeAll(async () => {
  root = tmpDir('immich-serve-sec-');
  db = await createPgDatabase('serve_sec');
  env = {
    UPLOAD_LOCATION: path.join(root, 'lib'), HOME: root, ...pgEnv(db.name),
    REDIS_HOSTNAME: REDIS_HOST, REDIS_PORT: String(REDIS_PORT), IMMICH_REDIS_PREFIX: prefix,
    IMMICH_UPLOAD_STAGING: path.join(root, 'staging'),
  };
  secret = (await keyFor('admin')).secret;
  readOnly = (await keyFor('viewer', 'asset.read', 'asset.view')).secret;
  const pw = await runCli(['user', 'set-password'], env, { input: `${PASSWORD}\n` });
  expect(pw.code, pw.stderr).toBe(0);
  served = await startServe(env, ['--upload-limit', '300k']);
  const up = await call('/api/assets', { method: 'POST', key: secret, body: await uploadForm('ok.jpg', await noise(64, 64, 1)) });
  expect(up.status).toBe(201);
  assetId = ((await up.json()) as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await served?.stop();
  const redis = new Redis({ host: REDIS_HOST, port: REDIS_PORT });
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db?.drop();
  fs.rmSync(root, { recursive: true, force: true });
});

const ROUTES: Array<[string, string]> = [
  ['GET', '/api/users/me'], ['GET', '/api/api-keys/me'], ['GET', '/api/server/media-types'], ['POST', '/api/assets/bulk-upload-check'],
  ['POST', '/api/assets'], ['GET', '/api/assets/statistics'], ['GET', '/api/albums'], ['POST', '/api/albums'],
  ['PUT', '/api/albums/00000000-0000-4000-8000-000000000000/assets'], ['GET', '/api/timeline/buckets'], ['GET', '/api/search?q=x'],
  ['GET', '/api/people'], ['PUT', '/api/assets'], ['DELETE', '/api/assets'],
  ['GET', '/api/assets/00000000-0000-4000-8000-000000000000'], ['GET', '/api/assets/00000000-0000-4000-8000-000000000000/original'],
  ['POST', '/api/auth/logout'], ['GET', '/api/no-such-route'],
];

describe('immich serve: access control', () => {
  it('every /api route but ping and version answers 401 without credentials and with a wrong key', async () => {
    expect((await call('/api/server/ping')).status).toBe(200);
    expect(await (await call('/api/server/version')).json()).toMatchObject({ major: expect.any(Number) });
    for (const [method, p] of ROUTES) {
      for (const key of [undefined, 'wrong-key', `${secret}x`]) {
        const r = await call(p, { method, key, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
        expect([method, p, key && 'key', r.status]).toEqual([method, p, key && 'key', 401]);
        expect(await r.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      }
    }
  });

  it('a key without the permission gets 403; a revoked key 401 at once', async () => {
    expect((await call('/api/timeline/buckets', { key: readOnly })).status).toBe(200);
    const up = await call('/api/assets', { method: 'POST', key: readOnly, body: await uploadForm('x.jpg', await noise(8, 8, 2)) });
    expect(up.status).toBe(403);
    expect((await up.json()).message).toContain('asset.upload');
    const temp = await keyFor('temporary');
    expect((await call('/api/users/me', { key: temp.secret })).status).toBe(200);
    const revoked = await runCli(['keys', 'revoke', 'temporary'], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await call('/api/users/me', { key: temp.secret })).status).toBe(401);
    const list = await runCli(['--json', 'keys', 'list'], env);
    expect(list.stdout).not.toContain(secret);
    expect(JSON.parse(list.stdout).map((k: { name: string }) => k.name).sort()).toEqual(['admin', 'viewer']);
  });
});

describe('immich serve: nothing outside the library', () => {
  const evil = ['..%2F..%2F..%2Fetc%2Fpasswd', '..%252F..%252Fetc%252Fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '....//....//etc/passwd', '/etc/passwd', `${'00000000-0000-4000-8000-000000000000'}%2F..%2F..`];
  const templates = [
    '/api/assets/{id}', '/api/assets/{id}/thumbnail', '/api/assets/{id}/thumbnail?size=preview', '/api/assets/{id}/original',
    '/api/assets/{id}/video/playback', '/api/albums/{id}', '/api/people/{id}/assets',
  ];

  it('path traversal in every path parameter is refused, and never returns a file from elsewhere', async () => {
    for (const t of templates) {
      for (const e of evil) {
        const r = await call(t.replace('{id}', e), { key: secret });
        const body = await r.text();
        expect([t, e, r.status >= 400 && r.status < 500]).toEqual([t, e, true]);
        expect(body).not.toContain('root:');
      }
    }
    for (const t of ['/api/albums/{id}/assets']) {
      for (const e of evil) {
        const r = await call(t.replace('{id}', e), { key: secret, method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: [assetId] }) });
        expect(r.status).toBeGreaterThanOrEqual(400);
      }
    }
    // The web app's files are looked up by name: anything else is index.html.
    for (const p of ['/..%2F..%2F..%2Fetc%2Fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/app.js/../../../../etc/passwd', '/static/..%5c..%5cpackage.json']) {
      const r = await call(p);
      const body = await r.text();
      expect(body).not.toContain('root:');
      expect(body).not.toContain('"dependencies"');
    }
    // The asset's own files are served (the control).
    expect((await call(`/api/assets/${assetId}/original`, { key: secret })).status).toBe(200);
  });

  it('an upload named with a path lands inside the library under its base name', async () => {
    const bytes = await noise(32, 32, 3);
    const r = await call('/api/assets', { method: 'POST', key: secret, body: await uploadForm('../../../../tmp/evil-serve.jpg', bytes) });
    expect(r.status).toBe(201);
    const { id } = (await r.json()) as { id: string };
    const details = (await (await call(`/api/assets/${id}`, { key: secret })).json()) as { originalName: string };
    expect(details.originalName).toBe('evil-serve.jpg');
    const inLibrary = fs.readdirSync(path.join(root, 'lib', 'uploads'), { recursive: true }).map(String);
    expect(inLibrary.some((f) => f.endsWith('evil-serve.jpg'))).toBe(true);
    expect(fs.readdirSync(path.join(root, 'staging'), { recursive: true })).toHaveLength(1); // the process's empty staging folder
  });

  it('an upload over --upload-limit is refused with 413 and leaves nothing behind', async () => {
    const big = await noise(600, 600, 4);
    expect(big.length).toBeGreaterThan(300 * 1024);
    const before = (await (await call('/api/assets/statistics', { key: secret })).json()) as { total: number };
    const r = await call('/api/assets', { method: 'POST', key: secret, body: await uploadForm('big.jpg', big) });
    expect(r.status).toBe(413);
    const after = (await (await call('/api/assets/statistics', { key: secret })).json()) as { total: number };
    expect(after.total).toBe(before.total);
    expect(fs.readdirSync(path.join(root, 'staging'), { recursive: true })).toHaveLength(1);
  });
});

describe('immich serve: web login', () => {
  let cookie = '';

  it('the owner password gives an HttpOnly, SameSite=Strict session cookie kept in Redis; Secure behind TLS', async () => {
    const r = await call('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
    expect(r.status).toBe(200);
    const set = r.headers.get('set-cookie')!;
    expect(set).toMatch(/^immich_session=[\w-]{40,};/);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).not.toMatch(/Secure/);
    cookie = set.split(';')[0]!;
    expect((await call('/api/users/me', { cookie })).status).toBe(200);
    const redis = new Redis({ host: REDIS_HOST, port: REDIS_PORT });
    expect(await redis.keys(`${prefix}:session:*`)).toHaveLength(1);
    redis.disconnect();

    const tls = await call('/api/auth/login', {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' }, body: JSON.stringify({ password: PASSWORD }),
    });
    expect(tls.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('logout ends the session; a new password ends every session', async () => {
    const other = (await call('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) }))
      .headers.get('set-cookie')!.split(';')[0]!;
    expect((await call('/api/auth/logout', { method: 'POST', cookie })).status).toBe(200);
    expect((await call('/api/users/me', { cookie })).status).toBe(401);
    expect((await call('/api/users/me', { cookie: other })).status).toBe(200);
    const pw = await runCli(['user', 'set-password'], env, { input: `${PASSWORD}\n` });
    expect(pw.code, pw.stderr).toBe(0);
    expect((await call('/api/users/me', { cookie: other })).status).toBe(401);
  });

  it('failed logins are rate-limited: after 5 failures even the right password waits', async () => {
    const login = (password: string) =>
      call('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
    for (let i = 0; i < 5; i++) expect((await login(`guess-${i}`)).status).toBe(401);
    const blocked = await login(PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(60);
  });

  it('the web app is served with a strict CSP; its first page needs far less than 200 KB of gzipped JavaScript', async () => {
    const index = await call('/some/client/route');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await index.text()).toContain('<script type="module" src="/app.js">');
    const js = await call('/app.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(js.headers.get('content-encoding')).toBe('gzip');
    const gz = Number(js.headers.get('content-length'));
    expect(gz).toBeGreaterThan(1000);
    expect(gz).toBeLessThan(200 * 1024);
  });

  it('the log names requests and failed logins but never a key, a password or a session token', () => {
    const log = served.log();
    expect(log).toMatch(/POST \/api\/auth\/login 429/);
    expect(log).toMatch(/failed login from/);
    for (const s of [secret, readOnly, PASSWORD, 'guess-1']) expect(log).not.toContain(s);
    expect(log).not.toMatch(/immich_session=/);
  });
});
