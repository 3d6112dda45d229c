// One file over HTTP(S) into a `.part` file that survives a cut connection: a later attempt (the same
// command retrying, or the next run) asks for the rest with `Range: bytes=<have>-` and appends. A server
// that ignores the range (200) is read from the start again; a 206 that starts elsewhere is refused.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
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

/** Fetch `url` into `partFile` (resuming what it holds); resolves once the server's whole body is there. */
export async function fetchToPart(url: string, partFile: string, opts: FetchOptions = {}): Promise<{ size: number; resumedFrom: number }> {
  const attempts = opts.attempts ?? 3;
  let firstResume = -1;
  let lastCause = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const have = await sizeOf(partFile);
    if (firstResume < 0) firstResume = have;
    const ac = new AbortController();
    const headerTimer = setTimeout(() => ac.abort(new Error(`no answer in ${Math.round((opts.headerTimeoutMs ?? 30_000) / 1000)} s`)), opts.headerTimeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, redirect: 'follow', signal: ac.signal });
    } catch (err) {
      clearTimeout(headerTimer);
      lastCause = ac.signal.aborted ? String((ac.signal.reason as Error)?.message ?? 'timed out') : causeOf(err);
      if (PERMANENT.test(lastCause)) break;
      continue;
    } finally {
      clearTimeout(headerTimer);
    }
    let append: boolean;
    let total: number | undefined;
    if (res.status === 416 && have > 0) {
      // Nothing left to send: the part may already be whole.
      const whole = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
      await res.body?.cancel().catch(() => undefined);
      if (whole === have) return { size: have, resumedFrom: firstResume };
      await fsp.truncate(partFile, 0);
      continue;
    } else if (res.status === 206 && have > 0) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== have) {
        await res.body?.cancel().catch(() => undefined);
        await fsp.truncate(partFile, 0);
        lastCause = `the server answered the range request with bytes ${m?.[1] ?? '?'}- instead of ${have}-`;
        continue;
      }
      append = true;
      total = m[3] === '*' ? undefined : Number(m[3]);
    } else if (res.ok) {
      append = false; // a full body: the server ignored the range, or there was nothing to resume
      const len = Number(res.headers.get('content-length'));
      total = Number.isFinite(len) && len >= 0 && res.headers.get('content-length') !== null ? len : undefined;
    } else {
      await res.body?.cancel().catch(() => undefined);
      throw new DownloadError(url, `HTTP ${res.status} ${res.statusText}`.trim(), res.status);
    }
    if (!res.body) throw new DownloadError(url, 'empty response');
    let done = append ? have : 0;
    const fh = await fsp.open(partFile, append ? 'a' : 'w', 0o644);
    let stallTimer: NodeJS.Timeout | undefined;
    const reader = res.body.getReader();
    const stall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => void reader.cancel(new Error(`no data for ${Math.round((opts.stallMs ?? 60_000) / 1000)} s`)), opts.stallMs ?? 60_000);
    };
    try {
      stall();
      opts.onBytes?.(done, total);
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        stall();
        await fh.write(value);
        done += value.byteLength;
        opts.onBytes?.(done, total);
      }
      await fh.sync();
    } catch (err) {
      lastCause = `connection cut after ${done} bytes${total ? ` of ${total}` : ''} (${causeOf(err)})`;
      continue;
    } finally {
      clearTimeout(stallTimer);
      await fh.close();
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
