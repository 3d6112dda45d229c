#!/usr/bin/env node
// Transcoding benchmark: the software path with the arguments buildTranscodeArgs makes, per target
// codec, on a 1080p lavfi source (scaled to the default 720p). Baseline: H.264 (libx264, preset
// ultrafast, Immich's default), measured in the same run. Also checks whether this ffmpeg has
// hardware encoders and whether a GPU is visible. Needs dist/ (npm run build).
//   node bench/transcode/run.mjs [seconds=4]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const t = await import(path.join(root, 'dist/media/transcode.js'));
const secs = Number(process.argv[2] ?? 4);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'immich-bench-transcode-'));
const src = path.join(dir, 'src.mp4');
execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${secs}`, '-f', 'lavfi', '-i', `sine=frequency=440:duration=${secs}`,
  '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', src]);
const probe = { formatName: 'mov,mp4', durationSec: secs, videoStreams: [{ index: 0, codec: 'h264', width: 1920, height: 1080, fps: 30, pixFmt: 'yuv420p' }], audioStreams: [{ index: 1, codec: 'aac' }] };

const rows = [];
for (const codec of ['h264', 'hevc', 'vp9', 'av1']) {
  const out = path.join(dir, `${codec}.mp4`);
  const started = process.hrtime.bigint();
  for (const args of t.buildTranscodeArgs(src, out, probe, { ...t.DEFAULT_TRANSCODE, targetVideoCodec: codec }, 'all')) execFileSync('ffmpeg', args, { stdio: 'pipe' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  rows.push({ codec, encoder: t.videoEncoder({ ...t.DEFAULT_TRANSCODE, targetVideoCodec: codec }), ms, realtime: (secs * 1000) / ms, bytes: fs.statSync(out).size });
}
const base = rows[0].ms;
const encoders = execFileSync('ffmpeg', ['-hide_banner', '-encoders']).toString();
const hw = ['h264_nvenc', 'hevc_nvenc', 'av1_nvenc', 'h264_qsv', 'h264_vaapi', 'hevc_vaapi', 'h264_rkmpp'].filter((e) => encoders.includes(` ${e} `));
let gpu = 'none visible';
try { gpu = execFileSync('nvidia-smi', ['-L']).toString().trim(); } catch { /* no NVIDIA driver */ }
const dri = fs.existsSync('/dev/dri') ? fs.readdirSync('/dev/dri').join(' ') : 'no /dev/dri';

console.log(`source: ${secs} s 1920x1080 30 fps testsrc2 + AAC → 720p, default settings (crf 23, preset ultrafast)`);
console.log(`machine: ${os.cpus().length} cores (nproc), node ${process.version}, ${execFileSync('ffmpeg', ['-version']).toString().split('\n')[0]}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| codec | encoder | wall | × realtime | size | vs h264 |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.codec} | ${r.encoder} | ${(r.ms / 1000).toFixed(2)} s | ${r.realtime.toFixed(2)} | ${(r.bytes / 1024).toFixed(0)} KiB | ${(r.ms / base).toFixed(2)}× |`);
console.log(`hardware encoders compiled into this ffmpeg: ${hw.join(', ') || 'none'}; GPU: ${gpu}; DRI: ${dri}`);
fs.rmSync(dir, { recursive: true, force: true });
