// The web gallery's files (built by `npm run build` into dist/web/): read once at start into memory,
// looked up by exact name (no path from a request ever reaches the filesystem), gzipped once when
// first asked for (the map's country outlines are large and most sessions never open the map).
// Every other path that is not under /api gets index.html (the app routes in the browser).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { httpError, type Services } from './server.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json',
};

interface WebFile {
  type: string;
  body: Buffer;
  gzip?: Buffer;
}

function loadWebFiles(root: string | undefined): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  if (!root || !fs.existsSync(root)) return files;
  for (const name of fs.readdirSync(root)) {
    const type = TYPES[path.extname(name)];
    const abs = path.join(root, name);
    if (!type || !fs.statSync(abs).isFile()) continue;
    const body = fs.readFileSync(abs);
    files.set(`/${name}`, { type, body });
  }
  return files;
}

export async function routes(app: FastifyInstance, { options, ctx }: Services): Promise<void> {
  const files = loadWebFiles(options.webRoot);
  if (!files.has('/index.html')) ctx.logger.warn(`the web gallery is not built (${options.webRoot ?? 'no folder'}): run npm run build; the API works without it`);

  app.get('/*', { config: { permission: null } }, async (req, reply) => {
    const p = req.url.split('?')[0]!;
    if (p === '/api' || p.startsWith('/api/')) return httpError(reply, 404, `Cannot GET ${p}`);
    const file = files.get(p) ?? files.get('/index.html');
    if (!file) return httpError(reply, 404, 'the web gallery is not built');
    const isIndex = file === files.get('/index.html');
    reply
      .header('content-type', file.type)
      .header('cache-control', isIndex ? 'no-cache' : 'public, max-age=3600')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    if (isIndex) {
      reply.header('content-security-policy', "default-src 'self'; img-src 'self' data: blob:; media-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    }
    reply.header('vary', 'accept-encoding');
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      file.gzip ??= zlib.gzipSync(file.body, { level: 9 });
      return reply.header('content-encoding', 'gzip').send(file.gzip);
    }
    return reply.send(file.body);
  });
}
