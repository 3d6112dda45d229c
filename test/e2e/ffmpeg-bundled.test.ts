// Video without apt: npm's static ffmpeg/ffprobe (@ffmpeg-installer, @ffprobe-installer) are found when
// no system ffmpeg is, and are good enough for the pipeline: probe, poster frame, H.264/AAC transcode
// of a source that is not web-playable (MPEG-4 part 2 + MP2 in AVI), Opus copied into MP4.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFfmpeg } from '../../src/media/video.js';
import { runCli, tmpDir } from '../helpers/env.js';
import { listFiles } from './import-helpers.js';

const req = createRequire(import.meta.url);
const bundled = {
  ffmpeg: (req('@ffmpeg-installer/ffmpeg') as { path: string }).path,
  ffprobe: (req('@ffprobe-installer/ffprobe') as { path: string }).path,
};

const codecs = (file: string): string[] =>
  execFileSync(bundled.ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file]).toString().trim().split('\n').sort();

describe('npm static ffmpeg', () => {
  it('is the fallback after FFMPEG_PATH, /usr/bin and PATH', () => {
    expect(findFfmpeg({}, { systemDirs: [tmpDir('immich-no-ffmpeg-')] })).toEqual(bundled);
    const sys = tmpDir('immich-sys-ffmpeg-');
    for (const n of ['ffmpeg', 'ffprobe']) {
      fs.writeFileSync(path.join(sys, n), '#!/bin/sh\n', { mode: 0o755 });
    }
    expect(findFfmpeg({}, { systemDirs: [sys] })).toEqual({ ffmpeg: path.join(sys, 'ffmpeg'), ffprobe: path.join(sys, 'ffprobe') });
    expect(findFfmpeg({ FFMPEG_PATH: bundled.ffmpeg }, { systemDirs: [sys] }).ffmpeg).toBe(bundled.ffmpeg);
  });

  it('imports, probes and transcodes videos to H.264/AAC MP4', { timeout: 180_000 }, async () => {
    const src = tmpDir('immich-ffbundled-src-');
    const lavfi = ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=160x120:rate=10', '-f', 'lavfi', '-i', 'sine=duration=1'];
    execFileSync(bundled.ffmpeg, [...lavfi, '-c:v', 'mpeg4', '-c:a', 'mp2', path.join(src, 'old.avi')]);
    execFileSync(bundled.ffmpeg, [...lavfi, '-c:v', 'libvpx-vp9', '-c:a', 'libopus', '-t', '1', path.join(src, 'phone.webm')]);
    const lib = tmpDir('immich-ffbundled-lib-');
    const r = await runCli(['import', src, '--skip-ml', '--json'], {
      UPLOAD_LOCATION: lib, FFMPEG_PATH: bundled.ffmpeg, FFPROBE_PATH: bundled.ffprobe, IMMICH_MODELS_DIR: tmpDir(),
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.counts).toMatchObject({ imported: 2, failed: 0 });
    expect(out.stages.video).toMatchObject({ done: 2, failed: 0 });
    const encoded = listFiles(lib, 'encoded').map((f) => path.join(lib, 'encoded', f));
    expect(encoded).toHaveLength(2);
    const got = encoded.map(codecs).map((c) => c.join('+')).sort();
    // MPEG-4/MP2 become H.264/AAC; VP9 is re-encoded, Opus (an accepted audio codec) is copied
    expect(got).toEqual(['aac+h264', 'h264+opus']);
    expect(listFiles(lib, 'thumbs').filter((f) => /thumbnail/.test(f))).toHaveLength(2);
  });
});
