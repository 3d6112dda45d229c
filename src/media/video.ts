// ffprobe/ffmpeg as child processes (Debian's /usr/bin/ffmpeg, one on PATH, or npm's static build): probe a video into a
// VideoProbe, grab a poster frame, and run the transcode passes that src/media/transcode.ts builds.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';
import type { AudioStreamInfo, VideoProbe, VideoStreamInfo } from './transcode.js';
import { findExecutable } from './executables.js';

export interface FfmpegPaths {
  ffmpeg: string;
  ffprobe: string;
}

function findOnPath(name: string, envPath: string | undefined): string | undefined {
  return findExecutable(name, [envPath]);
}

/**
 * Static builds that npm installs inside @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe (the
 * binary is in the package itself, nothing downloads at install or run time): video works after
 * `npm ci` alone. They are older than a distribution's ffmpeg (ffmpeg 2018-12, ffprobe 2023-07), so a
 * system ffmpeg keeps priority; see the README for what needs a newer one.
 */
function bundledBinary(name: 'ffmpeg' | 'ffprobe'): string | undefined {
  try {
    const req = createRequire(import.meta.url);
    const { path: p } = req(name === 'ffmpeg' ? '@ffmpeg-installer/ffmpeg' : '@ffprobe-installer/ffprobe') as { path: string };
    fs.accessSync(p, fs.constants.X_OK);
    return p;
  } catch {
    return undefined; // not installed, no build for this platform, or not executable
  }
}

/**
 * Locate ffmpeg and ffprobe: FFMPEG_PATH / FFPROBE_PATH when set, else /usr/bin (Debian), else PATH,
 * else the static builds from npm. `systemDirs` replaces /usr/bin and PATH (tests).
 */
export function findFfmpeg(raw: Readonly<Record<string, string>> = {}, opts: { systemDirs?: string[] } = {}): FfmpegPaths {
  const pick = (name: 'ffmpeg' | 'ffprobe', override: string | undefined): string => {
    if (override) {
      if (!fs.existsSync(override)) throw new EnvironmentError(`${name.toUpperCase()}_PATH=${override}: no such file`);
      return override;
    }
    const found = findOnPath(name, opts.systemDirs ? opts.systemDirs.join(path.delimiter) : `/usr/bin${path.delimiter}${raw.PATH ?? process.env.PATH ?? ''}`)
      ?? bundledBinary(name);
    if (!found) {
      throw new EnvironmentError(`${name} not found: reinstall with \`npm ci\` (it brings a static ${name}), install it (Debian/Ubuntu: apt-get install ffmpeg) or set ${name.toUpperCase()}_PATH`);
    }
    return found;
  };
  return { ffmpeg: pick('ffmpeg', raw.FFMPEG_PATH), ffprobe: pick('ffprobe', raw.FFPROBE_PATH) };
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Run a command, collecting stdout as bytes; killed after timeoutMs. */
export function runCommand(cmd: string, args: string[], opts: { timeoutMs?: number; maxStdout?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let killedFor: string | undefined;
    const timer = opts.timeoutMs
      ? setTimeout(() => { killedFor = `timed out after ${opts.timeoutMs} ms`; child.kill('SIGKILL'); }, opts.timeoutMs)
      : undefined;
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (opts.maxStdout && size > opts.maxStdout) { killedFor = 'output too large'; child.kill('SIGKILL'); return; }
      chunks.push(d);
    });
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 64_000) stderr += d.toString(); });
    child.on('error', (err) => { if (timer) clearTimeout(timer); reject(err); });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (killedFor) stderr = `${killedFor}\n${stderr}`;
      resolve({ code: killedFor ? -1 : code ?? -1, stdout: Buffer.concat(chunks), stderr });
    });
  });
}

/** The useful part of ffmpeg's stderr, one line: "moov atom not found; Invalid data found ...". */
export function ffmpegCause(stderr: string, file?: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '').trim())
    .map((l) => (file && l.startsWith(`${file}: `) ? l.slice(file.length + 2) : l))
    .filter(Boolean);
  const unique = [...new Set(lines)];
  if (unique.length === 0) return 'unknown ffmpeg error';
  const picked = unique.length > 2 ? [unique[0]!, unique[unique.length - 1]!] : unique;
  return picked.join('; ').slice(0, 300);
}

function ratio(r: unknown): number {
  if (typeof r !== 'string') return 0;
  const [n, d] = r.split('/').map(Number);
  if (!n || !d) return 0;
  return n / d;
}

function numOrUndef(v: unknown): number | undefined {
  const n = Number(v);
  return v !== undefined && v !== null && v !== '' && Number.isFinite(n) ? n : undefined;
}

/** ffprobe JSON → VideoProbe. Attached pictures (cover art) are not video streams. */
export function parseProbe(json: any): VideoProbe {
  const streams: any[] = Array.isArray(json?.streams) ? json.streams : [];
  const videoStreams: VideoStreamInfo[] = streams
    .filter((s) => s.codec_type === 'video' && !s.disposition?.attached_pic)
    .map((s) => {
      const side = (s.side_data_list ?? []).find((d: any) => d.rotation !== undefined);
      const rot = numOrUndef(side?.rotation) ?? numOrUndef(s.tags?.rotate);
      // Display-matrix rotation is counter-clockwise; normalise to clockwise degrees like exiftool.
      const rotation = rot === undefined ? 0 : ((((side ? -rot : rot) % 360) + 360) % 360);
      return {
        index: Number(s.index),
        codec: String(s.codec_name ?? 'unknown'),
        width: Number(s.width ?? 0),
        height: Number(s.height ?? 0),
        fps: ratio(s.avg_frame_rate) || ratio(s.r_frame_rate),
        bitrate: numOrUndef(s.bit_rate),
        pixFmt: s.pix_fmt,
        colorTransfer: s.color_transfer,
        rotation,
      };
    });
  const audioStreams: AudioStreamInfo[] = streams
    .filter((s) => s.codec_type === 'audio')
    .map((s) => ({ index: Number(s.index), codec: String(s.codec_name ?? 'unknown'), bitrate: numOrUndef(s.bit_rate), channels: numOrUndef(s.channels) }));
  const streamDur = Math.max(0, ...streams.map((s) => numOrUndef(s.duration) ?? 0));
  return {
    formatName: String(json?.format?.format_name ?? ''),
    durationSec: numOrUndef(json?.format?.duration) ?? streamDur,
    bitrate: numOrUndef(json?.format?.bit_rate),
    videoStreams,
    audioStreams,
  };
}

/** Probe a video. Throws Error with ffprobe's one-line cause when the file cannot be read. */
export async function probeVideo(ff: FfmpegPaths, file: string, timeoutMs = 30_000): Promise<VideoProbe> {
  const r = await runCommand(ff.ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], { timeoutMs });
  if (r.code !== 0) throw new Error(ffmpegCause(r.stderr, file));
  let json: unknown;
  try {
    json = JSON.parse(r.stdout.toString('utf8'));
  } catch {
    throw new Error('ffprobe printed no readable result');
  }
  return parseProbe(json);
}

/**
 * One frame as JPEG bytes for the poster: ~10% into the video (skips black lead-in frames), the first
 * frame when that fails (very short clips). ffmpeg applies the display rotation itself.
 */
export async function posterFrame(ff: FfmpegPaths, file: string, durationSec: number, timeoutMs = 60_000): Promise<Buffer> {
  const grab = (seek: number) =>
    runCommand(
      ff.ffmpeg,
      ['-nostdin', '-hide_banner', '-loglevel', 'error', ...(seek > 0 ? ['-ss', seek.toFixed(3)] : []), '-i', file,
        '-map', '0:v:0', '-frames:v', '1', '-an', '-sn', '-dn', '-q:v', '2', '-pix_fmt', 'yuvj420p', '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1'],
      { timeoutMs, maxStdout: 256 << 20 },
    );
  const seek = durationSec > 1 ? durationSec * 0.1 : 0;
  let r = await grab(seek);
  if ((r.code !== 0 || r.stdout.length === 0) && seek > 0) r = await grab(0);
  if (r.code !== 0 || r.stdout.length === 0) {
    throw new Error(`cannot extract a frame: ${r.stderr ? ffmpegCause(r.stderr, file) : 'no frame decoded'}`);
  }
  return r.stdout;
}

/** Run ffmpeg argument lists (passes) in order; throws with ffmpeg's cause on the first failure. */
// Whether an ffmpeg binary knows -fps_mode (ffmpeg >= 5.1), asked once per binary: a fact about the file.
const fpsModeSupport = new Map<string, Promise<boolean>>();

function supportsFpsMode(ffmpeg: string): Promise<boolean> {
  let known = fpsModeSupport.get(ffmpeg);
  if (!known) {
    known = runCommand(ffmpeg, ['-hide_banner', '-h', 'long'], { timeoutMs: 15_000, maxStdout: 4 << 20 })
      .then((r) => /^-fps_mode\b/m.test(r.stdout.toString()))
      .catch(() => true);
    fpsModeSupport.set(ffmpeg, known);
  }
  return known;
}

/**
 * Older builds (npm's static ffmpeg is from 2018) spell `-fps_mode` as `-vsync`, with the same values,
 * and still call Opus in MP4 (an accepted audio codec, copied as is) experimental: the arguments are
 * written for a current ffmpeg and translated here.
 */
export async function adaptFfmpegArgs(ffmpeg: string, args: string[]): Promise<string[]> {
  if (!args.includes('-fps_mode') || (await supportsFpsMode(ffmpeg))) return args;
  const out = args.map((a) => (a === '-fps_mode' ? '-vsync' : a));
  return [...out.slice(0, -1), '-strict', '-2', ...out.slice(-1)];
}

export async function runFfmpegPasses(ff: FfmpegPaths, passes: string[][], timeoutMs: number): Promise<void> {
  for (const pass of passes) {
    const args = await adaptFfmpegArgs(ff.ffmpeg, pass);
    const r = await runCommand(ff.ffmpeg, args, { timeoutMs, maxStdout: 1 << 20 });
    if (r.code !== 0) throw new Error(ffmpegCause(r.stderr));
  }
}
