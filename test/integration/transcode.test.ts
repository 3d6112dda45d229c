// The software transcoding path for real: Debian's ffmpeg runs the argument lists that
// buildTranscodeArgs builds on tiny lavfi clips, and ffprobe checks what a player would see.
// A hardware path that cannot run here (no GPU, no /dev/dri) falls back to software.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTranscodeArgs,
  DEFAULT_TRANSCODE,
  passLogFiles,
  transcodeDecision,
  transcodeWithFallback,
  type TranscodeSettings,
  type VideoCodec,
  type VideoProbe,
} from '../../src/media/transcode.js';
import { tmpDir } from '../helpers/env.js';

const run = promisify(execFile);
let dir: string;

async function ffmpeg(args: string[]): Promise<void> {
  try {
    await run('ffmpeg', args, { cwd: dir });
  } catch (err) {
    const e = err as { stderr?: string; code?: number };
    throw new Error(`ffmpeg exited with code ${e.code}: ${(e.stderr ?? '').trim().split('\n').at(-1)}`);
  }
}

/** The probe fields buildTranscodeArgs needs, from ffprobe. */
async function probe(file: string): Promise<VideoProbe & { streams: any[] }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file]);
  const j = JSON.parse(stdout);
  const streams = j.streams as any[];
  return {
    streams,
    formatName: j.format.format_name,
    durationSec: Number(j.format.duration),
    bitrate: Number(j.format.bit_rate),
    videoStreams: streams.filter((s) => s.codec_type === 'video').map((s) => ({
      index: s.index, codec: s.codec_name, width: s.width, height: s.height, fps: 15, pixFmt: s.pix_fmt, bitrate: Number(s.bit_rate) || undefined,
      colorTransfer: s.color_transfer,
    })),
    audioStreams: streams.filter((s) => s.codec_type === 'audio').map((s) => ({ index: s.index, codec: s.codec_name })),
  };
}

const SRC = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15:duration=1', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1'];

beforeAll(async () => {
  dir = tmpDir('immich-transcode-');
  // A web-playable MP4, an AVI (MPEG-4 part 2 + PCM) that needs everything re-encoded, and a 4:4:4 H.264.
  await ffmpeg(['-y', ...SRC, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', 'web.mp4']);
  await ffmpeg(['-y', ...SRC, '-c:v', 'mpeg4', '-c:a', 'pcm_s16le', '-shortest', 'old.avi']);
  await ffmpeg(['-y', ...SRC, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p', '-c:a', 'aac', '-shortest', 'rgbish.mkv']);
  // HDR10-tagged 10-bit HEVC (PQ transfer, BT.2020), as phones record.
  await ffmpeg(['-y', SRC[0]!, SRC[1]!, SRC[2]!, SRC[3]!, '-c:v', 'libx265', '-x265-params', 'log-level=error', '-pix_fmt', 'yuv420p10le',
    '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', 'hdr.mp4']);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const s = (over: Partial<TranscodeSettings>): TranscodeSettings => ({ ...DEFAULT_TRANSCODE, targetResolution: 160, ...over });

describe('software transcoding with Debian ffmpeg', () => {
  it('a web-playable MP4 is left alone under the default policy', async () => {
    expect(transcodeDecision(await probe(path.join(dir, 'web.mp4')), DEFAULT_TRANSCODE)).toMatchObject({ transcode: false });
  });

  it.each([
    ['h264', 'h264', undefined],
    ['hevc', 'hevc', 'hvc1'],
    ['vp9', 'vp9', undefined],
    ['av1', 'av1', undefined],
  ] as Array<[VideoCodec, string, string | undefined]>)('AVI → %s in MP4, scaled to 160p, AAC audio', async (codec, expected, tag) => {
    const input = path.join(dir, 'old.avi');
    const output = path.join(dir, `old-${codec}.mp4`);
    const p = await probe(input);
    const settings = s({ targetVideoCodec: codec, policy: 'optimal' });
    expect(transcodeDecision(p, settings)).toMatchObject({ transcode: true, target: 'all' });
    for (const args of buildTranscodeArgs(input, output, p, settings)) await ffmpeg(args);
    const out = await probe(output);
    expect(out.formatName).toContain('mp4');
    const v = out.streams.find((x) => x.codec_type === 'video');
    expect(v).toMatchObject({ codec_name: expected, width: 214, height: 160, pix_fmt: 'yuv420p' });
    if (tag) expect(v.codec_tag_string).toBe(tag);
    expect(out.streams.find((x) => x.codec_type === 'audio')?.codec_name).toBe('aac');
    expect(out.durationSec).toBeGreaterThan(0.8);
    expect(out.durationSec).toBeLessThan(1.3);
  });

  it('4:4:4 H.264 is re-encoded to 4:2:0 and audio is copied', async () => {
    const input = path.join(dir, 'rgbish.mkv');
    const output = path.join(dir, 'rgbish.mp4');
    const p = await probe(input);
    expect(transcodeDecision(p, DEFAULT_TRANSCODE)).toMatchObject({ transcode: true, target: 'video' });
    for (const args of buildTranscodeArgs(input, output, p, DEFAULT_TRANSCODE)) await ffmpeg(args);
    const out = await probe(output);
    expect(out.streams.find((x) => x.codec_type === 'video')).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 320, height: 240 });
  });

  it('HDR10 HEVC is tone-mapped to 8-bit BT.709 H.264', async () => {
    const input = path.join(dir, 'hdr.mp4');
    const output = path.join(dir, 'hdr-sdr.mp4');
    const p = await probe(input);
    expect(p.videoStreams[0]).toMatchObject({ pixFmt: 'yuv420p10le', colorTransfer: 'smpte2084' });
    for (const args of buildTranscodeArgs(input, output, p, DEFAULT_TRANSCODE)) await ffmpeg(args);
    const v = (await probe(output)).streams.find((x) => x.codec_type === 'video');
    expect(v).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', color_transfer: 'bt709', color_primaries: 'bt709', color_space: 'bt709' });
  });

  it.each(['h264', 'vp9'] as VideoCodec[])('two-pass %s with a max bitrate runs both passes and leaves the stats file for cleanup', async (codec) => {
    const input = path.join(dir, 'old.avi');
    const output = path.join(dir, `twopass-${codec}.mp4`);
    const p = await probe(input);
    const passes = buildTranscodeArgs(input, output, p, s({ targetVideoCodec: codec, twoPass: true, maxBitrate: '300k' }), 'all');
    expect(passes).toHaveLength(2);
    for (const args of passes) await ffmpeg(args);
    expect((await probe(output)).streams.find((x) => x.codec_type === 'video')?.codec_name).toBe(codec);
    const leftovers = passLogFiles(output).filter((f) => fs.existsSync(f));
    expect(leftovers.length).toBeGreaterThan(0);
    for (const f of leftovers) fs.rmSync(f);
  });

  it.each(['nvenc', 'vaapi', 'qsv'] as const)('%s without its hardware fails and falls back to software', async (accel) => {
    const input = path.join(dir, 'old.avi');
    const output = path.join(dir, `fallback-${accel}.mp4`);
    const p = await probe(input);
    const warnings: string[] = [];
    const result = await transcodeWithFallback(
      s({ accel, accelDecode: true, preferredHwDevice: '/dev/dri/renderD199' }),
      (settings) => buildTranscodeArgs(input, output, p, settings),
      async (passes) => { for (const args of passes) await ffmpeg(args); },
      (msg) => warnings.push(msg),
    );
    expect(result.fellBack).toBe(true);
    expect(result.accel).toBe('disabled');
    expect(warnings[0]).toMatch(new RegExp(`^${accel.toUpperCase()} transcoding failed \\(ffmpeg exited with code`));
    expect((await probe(output)).streams.find((x) => x.codec_type === 'video')).toMatchObject({ codec_name: 'h264', height: 160 });
  });
});
