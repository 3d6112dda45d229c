// One file over HTTP(S) into a `.part` file that survives a cut connection: a later attempt (the same
// command retrying, or the next run) asks for the rest with `Range: bytes=<have>-` and appends. A server
// that ignores the range (200) is read from the start again; a 206 that starts elsewhere is refused.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { EnvironmentError } from '../errors.js';

export interface FetchOptions {
  /** Called as bytes arrive (done counts what the .part file already held). */
  onBytes?: (done: number, total: number | undefined) => void;
  /** Attempts within this call, each resuming where the last one stopped (default 3). */
  attempts?: number;
  /** No response headers after this long: give up (default 30 s). */
  headerTimeoutMs?: number;
  /** No body bytes for this long: treat the connection as cut (default 60 s). */
  stallMs?: number;
  /**
   * Called with each answer's headers before its body is read (a 200, 206 or 416); an error it throws
   * ends the download at once, the .part file kept as it was (pull.ts checks the served commit here).
   * Synchronous: a body whose connection closes while the caller awaited something would lose its end.
   */
  onHeaders?: (headers: http.IncomingHttpHeaders) => void;
}

/** A download that failed: the message names the URL and the cause; `status` is the HTTP status when there was one. */
export class DownloadError extends EnvironmentError {
  constructor(readonly url: string, readonly cause_: string, readonly status?: number) {
    super(`cannot download ${url}: ${cause_}`);
  }
}

/** Causes where trying again at once cannot help: no network, no such host, refused. */
const PERMANENT = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENETUNREACH|EHOSTUNREACH|CERT|certificate/i;

function causeOf(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  const c = e.cause;
  if (c?.code && c.message && !c.message.includes(c.code)) return `${c.code} ${c.message}`;
  return c?.message ?? e.message ?? String(err);
}

async function sizeOf(file: string): Promise<number> {
  return fsp.stat(file).then((s) => s.size, () => 0);
}

interface Answer {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/** huggingface.co's answer to every resolve URL: the commit the revision in the URL resolved to. */
export const REPO_COMMIT = 'x-repo-commit';

/**
 * One GET with node:http(s), following redirects (huggingface.co answers a resolve URL with a redirect
 * to its CDN). Not fetch(): a WHATWG body stream that errors drops the bytes it had queued, so a cut
 * connection would lose what did arrive; a Node stream delivers them before the error.
 */
function get(url: string, headers: Record<string, string>, timeoutMs: number, redirects = 5, commit?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!mod) return reject(new Error(`unsupported protocol ${u.protocol}`));
    const req = mod.get(u, { headers: { 'user-agent': 'immich-cli', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) return reject(new Error('too many redirects'));
        const served = res.headers[REPO_COMMIT];
        return resolve(get(new URL(res.headers.location, u).toString(), headers, timeoutMs, redirects - 1, typeof served === 'string' ? served : commit));
      }
      // The hub names the commit on its redirect; the CDN that serves a large file does not.
      if (commit && res.headers[REPO_COMMIT] === undefined) res.headers[REPO_COMMIT] = commit;
      resolve({ status, statusText: res.statusMessage ?? '', headers: res.headers, body: res });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${Math.round(timeoutMs / 1000)} s`)));
    req.on('error', reject);
  });
}

/**
 * Fetch `url` into `partFile` (resuming what it holds); resolves once the server's whole body is there.
 * A function is asked again before each attempt (a retry after `main` resolved goes to that commit).
 */
export async function fetchToPart(urlOf: string | (() => string), partFile: string, opts: FetchOptions = {}): Promise<{ size: number; resumedFrom: number }> {
  let url = typeof urlOf === 'string' ? urlOf : urlOf();
  const attempts = opts.attempts ?? 3;
  let firstResume = -1;
  let lastCause = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const have = await sizeOf(partFile);
    if (firstResume < 0) firstResume = have;
    if (typeof urlOf !== 'string') url = urlOf();
    let res: Answer;
    try {
      res = await get(url, have > 0 ? { range: `bytes=${have}-` } : {}, opts.headerTimeoutMs ?? 30_000);
    } catch (err) {
      lastCause = causeOf(err);
      if (PERMANENT.test(lastCause)) break;
      continue;
    }
    if (opts.onHeaders && (res.status === 416 || (res.status >= 200 && res.status < 300))) {
      try {
        opts.onHeaders(res.headers);
      } catch (err) {
        res.body.destroy();
        throw err;
      }
    }
    let append: boolean;
    let total: number | undefined;
    const header = (name: string) => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    if (res.status === 416 && have > 0) {
      // Nothing left to send: the part may already be whole.
      const whole = Number(/\/(\d+)$/.exec(header('content-range') ?? '')?.[1]);
      res.body.resume();
      if (whole === have) return { size: have, resumedFrom: firstResume };
      await fsp.truncate(partFile, 0);
      continue;
    } else if (res.status === 206 && have > 0) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header('content-range') ?? '');
      if (!m || Number(m[1]) !== have) {
        res.body.resume();
        await fsp.truncate(partFile, 0);
        lastCause = `the server answered the range request with bytes ${m?.[1] ?? '?'}- instead of ${have}-`;
        continue;
      }
      append = true;
      total = m[3] === '*' ? undefined : Number(m[3]);
    } else if (res.status >= 200 && res.status < 300) {
      append = false; // a full body: the server ignored the range, or there was nothing to resume
      const len = header('content-length');
      total = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
    } else {
      res.body.resume();
      throw new DownloadError(url, `HTTP ${res.status} ${res.statusText}`.trim(), res.status);
    }
    let done = append ? have : 0;
    const stallMs = opts.stallMs ?? 60_000;
    opts.onBytes?.(done, total);
    // 'data' events, not an async iterator: a stream destroyed by the cut would drop its buffered bytes.
    const failure = await new Promise<unknown>((resolve) => {
      const ws = fs.createWriteStream(partFile, { flags: append ? 'a' : 'w', mode: 0o644 });
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        ws.end(() => resolve(err));
      };
      ws.on('error', (err) => {
        settled = true;
        res.body.destroy();
        resolve(err);
      });
      res.body.setTimeout(stallMs, () => res.body.destroy(new Error(`no data for ${Math.round(stallMs / 1000)} s`)));
      res.body.on('data', (chunk: Buffer) => {
        done += chunk.byteLength;
        if (!ws.write(chunk)) {
          res.body.pause();
          ws.once('drain', () => res.body.resume());
        }
        opts.onBytes?.(done, total);
      });
      res.body.on('end', () => settle(res.body.complete ? undefined : new Error('connection closed early')));
      res.body.on('error', (err) => settle(err));
      res.body.on('close', () => settle(res.body.complete ? undefined : new Error('connection closed early')));
    });
    const fh = await fsp.open(partFile, 'r+');
    await fh.sync().finally(() => fh.close());
    if (failure) {
      lastCause = `connection cut after ${done} bytes${total ? ` of ${total}` : ''} (${causeOf(failure)})`;
      continue;
    }
    if (total !== undefined && done !== total) {
      lastCause = `connection cut after ${done} of ${total} bytes`;
      continue;
    }
    return { size: done, resumedFrom: firstResume };
  }
  const have = await sizeOf(partFile);
  throw new DownloadError(url, `${lastCause}${have ? `; ${have} bytes kept in ${partFile}, the next pull resumes there` : ''}`);
}

/** Copy a local file (a mirror folder) to `dest`, synced. */
export async function copyToPart(src: string, dest: string, onBytes?: FetchOptions['onBytes']): Promise<number> {
  const st = await fsp.stat(src);
  if (!st.isFile()) throw new EnvironmentError(`${src} is not a file`);
  const fh = await fsp.open(dest, 'w', 0o644);
  let done = 0;
  try {
    for await (const chunk of fs.createReadStream(src, { highWaterMark: 1 << 20 })) {
      await fh.write(chunk as Buffer);
      done += (chunk as Buffer).byteLength;
      onBytes?.(done, st.size);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return done;
}
