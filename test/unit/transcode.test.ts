// The exact ffmpeg arguments for every acceleration × codec combination (explicit expectations,
// checked against Immich's server/src/utils/media.ts), the transcode policy, and the settings parser.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  buildTranscodeArgs,
  DEFAULT_TRANSCODE,
  describeTranscode,
  loadTranscodeSettings,
  softwareFallback,
  transcodeDecision,
  transcodeWithFallback,
  type HwAccel,
  type TranscodeSettings,
  type VideoCodec,
  type VideoProbe,
} from '../../src/media/transcode.js';

const HD: VideoProbe = {
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec: 1,
  videoStreams: [{ index: 0, codec: 'h264', width: 1920, height: 1080, fps: 30, pixFmt: 'yuv420p' }],
  audioStreams: [{ index: 1, codec: 'aac' }],
};
const HEAD = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];
const settings = (over: Partial<TranscodeSettings>): TranscodeSettings => ({ ...DEFAULT_TRANSCODE, preferredHwDevice: '/dev/dri/renderD128', ...over });
const words = (s: string) => s.split(' ');

const OUT_AUDIO = '-c:a aac -movflags faststart -fps_mode passthrough -map 0:0 -map_metadata -1 -map 0:1';
const NV_TUNE = '-tune hq -qmin 0 -rc-lookahead 20 -i_qfactor 0.75';
const QSV_IN = '-init_hw_device qsv=hw,child_device=/dev/dri/renderD128 -filter_hw_device hw';
const QSV_HW_IN = '-hwaccel qsv -hwaccel_output_format qsv -async_depth 4 -noautorotate -qsv_device /dev/dri/renderD128 -threads 1';
const VA_IN = '-init_hw_device vaapi=accel:/dev/dri/renderD128 -filter_hw_device accel';
const VA_HW_IN = '-hwaccel vaapi -hwaccel_output_format vaapi -noautorotate -hwaccel_device /dev/dri/renderD128 -threads 1';
const VA_SCALE = 'hwupload=extra_hw_frames=64,scale_vaapi=-2:720:mode=hq:out_range=pc:format=nv12';
const VA_RC = '-compression_level 7 -qp:v 23 -global_quality:v 23 -rc_mode 1';

// [accel, hardware decoding, codec, the arguments between the common head and `-f mp4 out.mp4`]
const DEFAULT_CASES: Array<[HwAccel, boolean, VideoCodec, string]> = [
  ['disabled', false, 'h264', `-i in.mov -c:v libx264 ${OUT_AUDIO} -vf scale=-2:720 -preset ultrafast -crf 23`],
  ['disabled', false, 'hevc', `-i in.mov -c:v libx265 ${OUT_AUDIO} -tag:v hvc1 -vf scale=-2:720 -preset ultrafast -crf 23`],
  ['disabled', false, 'vp9', `-i in.mov -c:v libvpx-vp9 ${OUT_AUDIO} -vf scale=-2:720 -cpu-used 5 -row-mt 1 -crf 23 -b:v 0k`],
  ['disabled', false, 'av1', `-i in.mov -c:v libsvtav1 ${OUT_AUDIO} -vf scale=-2:720 -preset 12 -crf 23`],
  ['nvenc', false, 'h264', `-init_hw_device cuda=cuda:0 -filter_hw_device cuda -i in.mov ${NV_TUNE} -c:v h264_nvenc ${OUT_AUDIO} -g 256 -vf hwupload_cuda,scale_cuda=-2:720:format=nv12 -preset p1 -cq:v 23`],
  ['nvenc', false, 'hevc', `-init_hw_device cuda=cuda:0 -filter_hw_device cuda -i in.mov ${NV_TUNE} -c:v hevc_nvenc ${OUT_AUDIO} -g 256 -tag:v hvc1 -vf hwupload_cuda,scale_cuda=-2:720:format=nv12 -preset p1 -cq:v 23`],
  ['nvenc', false, 'av1', `-init_hw_device cuda=cuda:0 -filter_hw_device cuda -i in.mov ${NV_TUNE} -c:v av1_nvenc ${OUT_AUDIO} -g 256 -vf hwupload_cuda,scale_cuda=-2:720:format=nv12 -preset p1 -cq:v 23`],
  ['nvenc', true, 'h264', `-hwaccel cuda -hwaccel_output_format cuda -noautorotate -threads 1 -i in.mov ${NV_TUNE} -c:v h264_nvenc ${OUT_AUDIO} -g 256 -vf scale_cuda=-2:720:format=nv12 -preset p1 -cq:v 23`],
  ['nvenc', true, 'hevc', `-hwaccel cuda -hwaccel_output_format cuda -noautorotate -threads 1 -i in.mov ${NV_TUNE} -c:v hevc_nvenc ${OUT_AUDIO} -g 256 -tag:v hvc1 -vf scale_cuda=-2:720:format=nv12 -preset p1 -cq:v 23`],
  ['nvenc', true, 'av1', `-hwaccel cuda -hwaccel_output_format cuda -noautorotate -threads 1 -i in.mov ${NV_TUNE} -c:v av1_nvenc ${OUT_AUDIO} -g 256 -vf scale_cuda=-2:720:format=nv12 -preset p1 -cq:v 23`],
  ['qsv', false, 'h264', `${QSV_IN} -i in.mov -c:v h264_qsv ${OUT_AUDIO} -bf 7 -refs 5 -g 256 -vf hwupload=extra_hw_frames=64,scale_qsv=-1:720:mode=hq:format=nv12 -preset 7 -global_quality:v 23`],
  ['qsv', false, 'hevc', `${QSV_IN} -i in.mov -c:v hevc_qsv ${OUT_AUDIO} -bf 7 -refs 5 -g 256 -tag:v hvc1 -vf hwupload=extra_hw_frames=64,scale_qsv=-1:720:mode=hq:format=nv12 -preset 7 -global_quality:v 23`],
  ['qsv', false, 'vp9', `${QSV_IN} -i in.mov -c:v vp9_qsv ${OUT_AUDIO} -bf 7 -refs 5 -g 256 -low_power 1 -vf hwupload=extra_hw_frames=64,scale_qsv=-1:720:mode=hq:format=nv12 -preset 7 -q:v 23`],
  ['qsv', false, 'av1', `${QSV_IN} -i in.mov -c:v av1_qsv ${OUT_AUDIO} -bf 7 -refs 5 -g 256 -vf hwupload=extra_hw_frames=64,scale_qsv=-1:720:mode=hq:format=nv12 -preset 7 -global_quality:v 23`],
  ['qsv', true, 'h264', `${QSV_HW_IN} -i in.mov -c:v h264_qsv ${OUT_AUDIO} -bf 7 -refs 5 -g 256 -vf scale_qsv=-1:720:async_depth=4:mode=hq -preset 7 -global_quality:v 23`],
  ['qsv', true, 'hevc', `${QSV_HW_IN} -i in.mov -c:v hevc_qsv ${OUT_AUDIO} -bf 7 -refs 5 -g 256 -tag:v hvc1 -vf scale_qsv=-1:720:async_depth=4:mode=hq -preset 7 -global_quality:v 23`],
  ['qsv', true, 'vp9', `${QSV_HW_IN} -i in.mov -c:v vp9_qsv ${OUT_AUDIO} -bf 7 -refs 5 -g 256 -low_power 1 -vf scale_qsv=-1:720:async_depth=4:mode=hq -preset 7 -q:v 23`],
  ['qsv', true, 'av1', `${QSV_HW_IN} -i in.mov -c:v av1_qsv ${OUT_AUDIO} -bf 7 -refs 5 -g 256 -vf scale_qsv=-1:720:async_depth=4:mode=hq -preset 7 -global_quality:v 23`],
  ['vaapi', false, 'h264', `${VA_IN} -i in.mov -c:v h264_vaapi ${OUT_AUDIO} -g 256 -vf ${VA_SCALE} ${VA_RC}`],
  ['vaapi', false, 'hevc', `${VA_IN} -i in.mov -c:v hevc_vaapi ${OUT_AUDIO} -g 256 -tag:v hvc1 -vf ${VA_SCALE} ${VA_RC}`],
  ['vaapi', false, 'vp9', `${VA_IN} -i in.mov -c:v vp9_vaapi ${OUT_AUDIO} -g 256 -vf ${VA_SCALE} -compression_level 7 -bsf:v vp9_raw_reorder,vp9_superframe -qp:v 23 -global_quality:v 23 -rc_mode 1`],
  ['vaapi', false, 'av1', `${VA_IN} -i in.mov -c:v av1_vaapi ${OUT_AUDIO} -g 256 -vf ${VA_SCALE} ${VA_RC}`],
  ['vaapi', true, 'h264', `${VA_HW_IN} -i in.mov -c:v h264_vaapi ${OUT_AUDIO} -g 256 -vf scale_vaapi=-2:720:mode=hq:out_range=pc ${VA_RC}`],
  ['vaapi', true, 'hevc', `${VA_HW_IN} -i in.mov -c:v hevc_vaapi ${OUT_AUDIO} -g 256 -tag:v hvc1 -vf scale_vaapi=-2:720:mode=hq:out_range=pc ${VA_RC}`],
  ['vaapi', true, 'vp9', `${VA_HW_IN} -i in.mov -c:v vp9_vaapi ${OUT_AUDIO} -g 256 -vf scale_vaapi=-2:720:mode=hq:out_range=pc -compression_level 7 -bsf:v vp9_raw_reorder,vp9_superframe -qp:v 23 -global_quality:v 23 -rc_mode 1`],
  ['vaapi', true, 'av1', `${VA_HW_IN} -i in.mov -c:v av1_vaapi ${OUT_AUDIO} -g 256 -vf scale_vaapi=-2:720:mode=hq:out_range=pc ${VA_RC}`],
  ['rkmpp', false, 'h264', `-i in.mov -c:v h264_rkmpp ${OUT_AUDIO} -g 256 -vf scale=-2:720 -level 51 -rc_mode CQP -qp_init 23`],
  ['rkmpp', false, 'hevc', `-i in.mov -c:v hevc_rkmpp ${OUT_AUDIO} -g 256 -tag:v hvc1 -vf scale=-2:720 -level 153 -rc_mode CQP -qp_init 23`],
  ['rkmpp', true, 'h264', `-hwaccel rkmpp -hwaccel_output_format drm_prime -afbc rga -noautorotate -i in.mov -c:v h264_rkmpp ${OUT_AUDIO} -g 256 -vf scale_rkrga=-2:720:format=nv12:afbc=1:async_depth=4 -level 51 -rc_mode CQP -qp_init 23`],
  ['rkmpp', true, 'hevc', `-hwaccel rkmpp -hwaccel_output_format drm_prime -afbc rga -noautorotate -i in.mov -c:v hevc_rkmpp ${OUT_AUDIO} -g 256 -tag:v hvc1 -vf scale_rkrga=-2:720:format=nv12:afbc=1:async_depth=4 -level 153 -rc_mode CQP -qp_init 23`],
];

describe('buildTranscodeArgs: every accel × decode × codec with default settings (1080p → 720p)', () => {
  it.each(DEFAULT_CASES)('%s (hw decode %s) → %s', (accel, accelDecode, codec, expected) => {
    const passes = buildTranscodeArgs('in.mov', 'out.mp4', HD, settings({ accel, accelDecode, targetVideoCodec: codec }), 'all');
    expect(passes).toEqual([[...HEAD, ...words(expected), '-f', 'mp4', 'out.mp4']]);
  });

  it.each([
    ['nvenc', 'vp9'],
    ['rkmpp', 'vp9'],
    ['rkmpp', 'av1'],
  ] as Array<[HwAccel, VideoCodec]>)('%s cannot encode %s: a usage error naming the variables', (accel, codec) => {
    for (const accelDecode of [false, true]) {
      expect(() => buildTranscodeArgs('in.mov', 'out.mp4', HD, settings({ accel, accelDecode, targetVideoCodec: codec }), 'all')).toThrow(
        /acceleration does not support codec .*IMMICH_FFMPEG_ACCEL/,
      );
    }
  });
});

// Max bitrate 4500k, two-pass requested, one thread: rate control and threading per encoder family.
const BITRATE_CASES: Array<[HwAccel, VideoCodec, string[]]> = [
  ['disabled', 'h264', [
    '-preset ultrafast -threads 1 -x264-params frame-threads=1:pools=none -b:v 3104k -minrate 1552k -maxrate 4500k -pass 1 -passlogfile out.mp4.pass -f null /dev/null',
    '-preset ultrafast -threads 1 -x264-params frame-threads=1:pools=none -b:v 3104k -minrate 1552k -maxrate 4500k -pass 2 -passlogfile out.mp4.pass -f mp4 out.mp4',
  ]],
  ['disabled', 'hevc', [
    '-preset ultrafast -threads 1 -x265-params frame-threads=1:pools=none -b:v 3104k -minrate 1552k -maxrate 4500k -pass 1 -passlogfile out.mp4.pass -f null /dev/null',
    '-preset ultrafast -threads 1 -x265-params frame-threads=1:pools=none -b:v 3104k -minrate 1552k -maxrate 4500k -pass 2 -passlogfile out.mp4.pass -f mp4 out.mp4',
  ]],
  ['disabled', 'vp9', [
    '-cpu-used 5 -row-mt 1 -threads 1 -b:v 3104k -minrate 1552k -maxrate 4500k -pass 1 -passlogfile out.mp4.pass -f null /dev/null',
    '-cpu-used 5 -row-mt 1 -threads 1 -b:v 3104k -minrate 1552k -maxrate 4500k -pass 2 -passlogfile out.mp4.pass -f mp4 out.mp4',
  ]],
  ['disabled', 'av1', [
    '-preset 12 -crf 23 -svtav1-params lp=1:mbr=4500k -pass 1 -passlogfile out.mp4.pass -f null /dev/null',
    '-preset 12 -crf 23 -svtav1-params lp=1:mbr=4500k -pass 2 -passlogfile out.mp4.pass -f mp4 out.mp4',
  ]],
  // Hardware encoders never run two ffmpeg passes (NVENC does its own with -multipass).
  ['nvenc', 'h264', ['-preset p1 -threads 1 -b:v 3104k -maxrate 4500k -bufsize 3104k -multipass 2 -f mp4 out.mp4']],
  ['nvenc', 'hevc', ['-preset p1 -threads 1 -b:v 3104k -maxrate 4500k -bufsize 3104k -multipass 2 -f mp4 out.mp4']],
  ['nvenc', 'av1', ['-preset p1 -threads 1 -b:v 3104k -maxrate 4500k -bufsize 3104k -multipass 2 -f mp4 out.mp4']],
  ['qsv', 'h264', ['-preset 7 -threads 1 -global_quality:v 23 -maxrate 4500k -bufsize 9000k -f mp4 out.mp4']],
  ['qsv', 'hevc', ['-preset 7 -threads 1 -global_quality:v 23 -maxrate 4500k -bufsize 9000k -f mp4 out.mp4']],
  ['qsv', 'vp9', ['-preset 7 -threads 1 -q:v 23 -maxrate 4500k -bufsize 9000k -f mp4 out.mp4']],
  ['qsv', 'av1', ['-preset 7 -threads 1 -global_quality:v 23 -maxrate 4500k -bufsize 9000k -f mp4 out.mp4']],
  ['vaapi', 'h264', ['-compression_level 7 -threads 1 -b:v 3104k -maxrate 4500k -minrate 1552k -rc_mode 3 -f mp4 out.mp4']],
  ['vaapi', 'hevc', ['-compression_level 7 -threads 1 -b:v 3104k -maxrate 4500k -minrate 1552k -rc_mode 3 -f mp4 out.mp4']],
  ['vaapi', 'vp9', ['-compression_level 7 -threads 1 -bsf:v vp9_raw_reorder,vp9_superframe -b:v 3104k -maxrate 4500k -minrate 1552k -rc_mode 3 -f mp4 out.mp4']],
  ['vaapi', 'av1', ['-compression_level 7 -threads 1 -b:v 3104k -maxrate 4500k -minrate 1552k -rc_mode 3 -f mp4 out.mp4']],
  ['rkmpp', 'h264', ['-level 51 -threads 1 -rc_mode AVBR -b:v 4500k -f mp4 out.mp4']],
  ['rkmpp', 'hevc', ['-level 153 -threads 1 -rc_mode AVBR -b:v 4500k -f mp4 out.mp4']],
];

describe('buildTranscodeArgs: max bitrate, two-pass and threads', () => {
  it.each(BITRATE_CASES)('%s %s', (accel, codec, expected) => {
    const passes = buildTranscodeArgs('in.mov', 'out.mp4', HD, settings({ accel, targetVideoCodec: codec, maxBitrate: '4500k', twoPass: true, threads: 1 }), 'all');
    expect(passes.map((p) => p.slice(p.indexOf('-vf') + 2).join(' '))).toEqual(expected);
  });

  it('a max bitrate without two-pass keeps CRF and adds -maxrate/-bufsize (software)', () => {
    const [args] = buildTranscodeArgs('in.mov', 'out.mp4', HD, settings({ maxBitrate: '5M' }), 'all');
    expect(args!.slice(-11)).toEqual(words('-preset ultrafast -crf 23 -maxrate 5M -bufsize 10M -f mp4 out.mp4'));
  });

  it('two-pass without a max bitrate is one pass for H.264 (nothing to aim at), two for VP9', () => {
    expect(buildTranscodeArgs('in.mov', 'out.mp4', HD, settings({ twoPass: true }), 'all')).toHaveLength(1);
    expect(buildTranscodeArgs('in.mov', 'out.mp4', HD, settings({ twoPass: true, targetVideoCodec: 'vp9' }), 'all')).toHaveLength(2);
  });

  it('NVENC with B-frames adds b_ref_mode, temporal AQ, and drops refs below 3', () => {
    const [args] = buildTranscodeArgs('in.mov', 'out.mp4', HD, settings({ accel: 'nvenc', bframes: 2, refs: 2, temporalAQ: true, gopSize: 60 }), 'all');
    const s = args!.join(' ');
    expect(s).toContain('-map 0:1 -bf 2 -g 60 -b_ref_mode middle -b_qfactor 1.1 -temporal-aq 1 -vf');
    expect(s).not.toContain('-refs');
  });

  it('cq mode: QSV cqp → -q:v, VAAPI icq → -global_quality:v with rc_mode 4', () => {
    expect(buildTranscodeArgs('in.mov', 'out.mp4', HD, settings({ accel: 'qsv', cqMode: 'cqp' }), 'all')[0]!.join(' ')).toContain('-preset 7 -q:v 23 -f mp4');
    expect(buildTranscodeArgs('in.mov', 'out.mp4', HD, settings({ accel: 'vaapi', cqMode: 'icq' }), 'all')[0]!.join(' ')).toContain('-compression_level 7 -global_quality:v 23 -rc_mode 4 -f mp4');
  });
});

describe('buildTranscodeArgs: scaling, pixel formats and stream selection', () => {
  const probe = (w: number, h: number, extra: Partial<VideoProbe['videoStreams'][0]> = {}, audio = true): VideoProbe => ({
    formatName: 'matroska,webm',
    durationSec: 1,
    videoStreams: [{ index: 1, codec: 'hevc', width: w, height: h, fps: 30, pixFmt: 'yuv420p', ...extra }],
    audioStreams: audio ? [{ index: 0, codec: 'opus' }] : [],
  });
  const vf = (p: string[][]) => p[0]![p[0]!.indexOf('-vf') + 1];

  it('portrait and rotated video scale the width', () => {
    expect(vf(buildTranscodeArgs('a', 'b', probe(1080, 1920), settings({}), 'all'))).toBe('scale=720:-2');
    expect(vf(buildTranscodeArgs('a', 'b', probe(1920, 1080, { rotation: -90 }), settings({}), 'all'))).toBe('scale=720:-2');
    expect(vf(buildTranscodeArgs('a', 'b', probe(1920, 1080, { rotation: 270 }), settings({}), 'all'))).toBe('scale=720:-2');
    expect(vf(buildTranscodeArgs('a', 'b', probe(1920, 1080, { rotation: 180 }), settings({}), 'all'))).toBe('scale=-2:720');
  });

  it('no scaling below the target; odd sizes are made even; original keeps the size', () => {
    expect(buildTranscodeArgs('a', 'b', probe(640, 480), settings({}), 'all')[0]).not.toContain('-vf');
    expect(vf(buildTranscodeArgs('a', 'b', probe(641, 481), settings({}), 'all'))).toBe('scale=-2:480');
    expect(vf(buildTranscodeArgs('a', 'b', probe(1921, 1081), settings({ targetResolution: 'original' }), 'all'))).toBe('scale=-2:1080');
  });

  it('10-bit or RGB input gets format=yuv420p in software and format=nv12 in hardware decoding', () => {
    expect(vf(buildTranscodeArgs('a', 'b', probe(640, 480, { pixFmt: 'yuv420p10le' }), settings({}), 'all'))).toBe('format=yuv420p');
    expect(vf(buildTranscodeArgs('a', 'b', probe(640, 480, { pixFmt: 'yuv420p10le' }), settings({ accel: 'nvenc', accelDecode: true }), 'all'))).toBe('scale_cuda=-2:480:format=nv12');
    expect(vf(buildTranscodeArgs('a', 'b', probe(640, 480, { pixFmt: 'yuv422p' }), settings({ accel: 'vaapi', accelDecode: true }), 'all'))).toBe(
      'scale_vaapi=-2:480:mode=hq:out_range=pc:format=nv12',
    );
  });

  it('maps the chosen streams by index; no audio map without audio', () => {
    const [withAudio] = buildTranscodeArgs('a', 'b', probe(640, 480), settings({}), 'all');
    expect(withAudio!.join(' ')).toContain('-map 0:1 -map_metadata -1 -map 0:0');
    const [silent] = buildTranscodeArgs('a', 'b', probe(640, 480, {}, false), settings({}), 'all');
    expect(silent!.filter((a) => a === '-map')).toHaveLength(1);
  });

  it('audio-only target copies video and leaves out hardware input options and filters', () => {
    const [args] = buildTranscodeArgs('in.webm', 'out.mp4', probe(1920, 1080), settings({ accel: 'nvenc', targetVideoCodec: 'hevc' }), 'audio');
    expect(args).toEqual([...HEAD, ...words('-i in.webm -tune hq -qmin 0 -rc-lookahead 20 -i_qfactor 0.75 -c:v copy -c:a aac -movflags faststart -fps_mode passthrough -map 0:1 -map_metadata -1 -map 0:0 -g 256 -tag:v hvc1 -f mp4 out.mp4')]);
  });

  it('remux (target none) copies both streams', () => {
    const [args] = buildTranscodeArgs('in.webm', 'out.mp4', probe(640, 480), settings({}), 'none');
    expect(args).toEqual([...HEAD, ...words('-i in.webm -c:v copy -c:a copy -movflags faststart -fps_mode passthrough -map 0:1 -map_metadata -1 -map 0:0 -f mp4 out.mp4')]);
  });
});

describe('HDR tone mapping', () => {
  const hdr: VideoProbe = {
    ...HD,
    videoStreams: [{ index: 0, codec: 'hevc', width: 3840, height: 2160, fps: 30, pixFmt: 'yuv420p10le', colorTransfer: 'smpte2084' }],
  };
  const vf = (over: Partial<TranscodeSettings>, probe = hdr) => {
    const args = buildTranscodeArgs('in.mov', 'out.mp4', probe, settings(over), 'all')[0]!;
    return args[args.indexOf('-vf') + 1];
  };
  const CPU = 'zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p';
  const CUDA = 'desat=0:matrix=bt709:primaries=bt709:range=pc:tonemap=hable:tonemap_mode=lum:transfer=bt709:peak=100';
  const OPENCL = 'desat=0:format=nv12:matrix=bt709:primaries=bt709:transfer=bt709:range=pc:tonemap=hable:tonemap_mode=lum:peak=100';

  it.each([
    ['disabled', false, `scale=-2:720,${CPU}`],
    ['nvenc', false, `${CPU},hwupload_cuda,scale_cuda=-2:720:format=nv12`],
    ['nvenc', true, `scale_cuda=-2:720,tonemap_cuda=${CUDA}:format=nv12`],
    ['qsv', false, `${CPU},hwupload=extra_hw_frames=64,scale_qsv=-1:720:mode=hq:format=nv12`],
    ['qsv', true, `scale_qsv=-1:720:async_depth=4:mode=hq,hwmap=derive_device=opencl,tonemap_opencl=${OPENCL},hwmap=derive_device=qsv:reverse=1,format=qsv`],
    ['vaapi', false, `${CPU},hwupload=extra_hw_frames=64,scale_vaapi=-2:720:mode=hq:out_range=pc:format=nv12`],
    ['vaapi', true, `scale_vaapi=-2:720:mode=hq:out_range=pc,hwmap=derive_device=opencl,tonemap_opencl=${OPENCL},hwmap=derive_device=vaapi:reverse=1,format=vaapi`],
    ['rkmpp', false, `scale=-2:720,${CPU}`],
    ['rkmpp', true, `scale_rkrga=-2:720:format=p010:afbc=1:async_depth=4,hwdownload,format=p010,${CPU},hwupload`],
  ] as Array<[HwAccel, boolean, string]>)('%s (hw decode %s)', (accel, accelDecode, expected) => {
    expect(vf({ accel, accelDecode })).toBe(expected);
  });

  it('HLG is HDR too; tonemap disabled leaves the colours alone; SDR is not tone-mapped', () => {
    const hlg = { ...hdr, videoStreams: [{ ...hdr.videoStreams[0]!, colorTransfer: 'arib-std-b67' }] };
    expect(vf({ tonemap: 'reinhard' }, hlg)).toBe(`scale=-2:720,${CPU.replace('hable', 'reinhard')}`);
    expect(vf({ tonemap: 'disabled' })).toBe('scale=-2:720,format=yuv420p');
    const sdr = { ...hdr, videoStreams: [{ ...hdr.videoStreams[0]!, colorTransfer: 'bt709' }] };
    expect(vf({}, sdr)).toBe('scale=-2:720,format=yuv420p');
  });
});

describe('transcodeDecision (Immich policies)', () => {
  const p = (codec: string, w: number, h: number, opts: { audio?: string; format?: string; bitrate?: number; pixFmt?: string } = {}): VideoProbe => ({
    formatName: opts.format ?? 'mov,mp4,m4a,3gp,3g2,mj2',
    durationSec: 1,
    videoStreams: [{ index: 0, codec, width: w, height: h, fps: 30, pixFmt: opts.pixFmt ?? 'yuv420p', bitrate: opts.bitrate }],
    audioStreams: opts.audio === undefined ? [{ index: 1, codec: 'aac' }] : opts.audio ? [{ index: 1, codec: opts.audio }] : [],
  });
  const d = (probe: VideoProbe, over: Partial<TranscodeSettings> = {}) => transcodeDecision(probe, settings(over));

  it('required: only what browsers cannot play', () => {
    expect(d(p('h264', 1920, 1080))).toMatchObject({ transcode: false, target: 'none' });
    expect(d(p('hevc', 640, 480))).toMatchObject({ transcode: true, target: 'video', reason: 'video codec hevc not accepted' });
    expect(d(p('h264', 640, 480, { audio: 'pcm_s16le' }))).toMatchObject({ transcode: true, target: 'audio' });
    expect(d(p('hevc', 640, 480, { audio: 'pcm_s16le' }))).toMatchObject({ target: 'all' });
    expect(d(p('h264', 640, 480, { pixFmt: 'yuv420p10le' }))).toMatchObject({ transcode: true, target: 'video' });
    expect(d(p('h264', 640, 480, { format: 'avi' }))).toMatchObject({ transcode: true, target: 'none' });
    expect(d(p('h264', 640, 480, { format: 'matroska,webm' }))).toMatchObject({ transcode: false });
    expect(d(p('h264', 640, 480, { audio: 'opus' }))).toMatchObject({ transcode: false });
  });

  it('optimal: also when larger than the target resolution', () => {
    expect(d(p('h264', 1920, 1080), { policy: 'optimal' })).toMatchObject({ transcode: true, target: 'video', reason: 'resolution above 720p' });
    expect(d(p('h264', 1280, 720), { policy: 'optimal' })).toMatchObject({ transcode: false });
    expect(d(p('h264', 3840, 2160), { policy: 'optimal', targetResolution: 'original' })).toMatchObject({ transcode: false });
  });

  it('bitrate: also when above the max bitrate', () => {
    expect(d(p('h264', 640, 480, { bitrate: 8_000_000 }), { policy: 'bitrate', maxBitrate: '4500k' })).toMatchObject({ transcode: true, target: 'video' });
    expect(d(p('h264', 640, 480, { bitrate: 3_000_000 }), { policy: 'bitrate', maxBitrate: '4500k' })).toMatchObject({ transcode: false });
  });

  it('all and disabled', () => {
    expect(d(p('h264', 640, 480), { policy: 'all' })).toMatchObject({ transcode: true, target: 'all' });
    expect(d(p('h264', 640, 480, { audio: '' }), { policy: 'all' })).toMatchObject({ transcode: true, target: 'video' });
    expect(d(p('hevc', 640, 480, { format: 'avi' }), { policy: 'disabled' })).toMatchObject({ transcode: false });
  });

  it('buildTranscodeArgs follows the decision when no target is given', () => {
    const [args] = buildTranscodeArgs('in.mp4', 'out.mp4', p('h264', 640, 480, { audio: 'pcm_s16le' }), settings({}));
    expect(args!.join(' ')).toContain('-c:v copy -c:a aac');
  });
});

describe('loadTranscodeSettings', () => {
  it('defaults are Immich defaults', () => {
    const s = loadTranscodeSettings({}, { driEntries: [] });
    expect(s).toEqual(DEFAULT_TRANSCODE);
    expect(describeTranscode(s)).toBe('required: libx264 crf 23 preset ultrafast, 720p, audio aac; software');
  });

  it('parses every variable', () => {
    const s = loadTranscodeSettings(
      {
        IMMICH_FFMPEG_TRANSCODE: 'optimal',
        IMMICH_FFMPEG_TARGET_VIDEO_CODEC: 'HEVC',
        IMMICH_FFMPEG_TARGET_AUDIO_CODEC: 'libopus',
        IMMICH_FFMPEG_ACCEPTED_VIDEO_CODECS: 'h264, vp9',
        IMMICH_FFMPEG_ACCEPTED_AUDIO_CODECS: 'aac',
        IMMICH_FFMPEG_ACCEPTED_CONTAINERS: 'mov,webm',
        IMMICH_FFMPEG_TARGET_RESOLUTION: '1080p',
        IMMICH_FFMPEG_CRF: '28',
        IMMICH_FFMPEG_PRESET: 'fast',
        IMMICH_FFMPEG_MAX_BITRATE: '4500k',
        IMMICH_FFMPEG_TWO_PASS: 'true',
        IMMICH_FFMPEG_ACCEL: 'vaapi',
        IMMICH_FFMPEG_ACCEL_DECODE: '1',
        IMMICH_FFMPEG_THREADS: '4',
        IMMICH_FFMPEG_GOP_SIZE: '120',
        IMMICH_FFMPEG_BFRAMES: '3',
        IMMICH_FFMPEG_REFS: '2',
        IMMICH_FFMPEG_CQ_MODE: 'icq',
        IMMICH_FFMPEG_TEMPORAL_AQ: 'no',
        IMMICH_FFMPEG_TONEMAP: 'Mobius',
      },
      { driEntries: ['card0', 'renderD128', 'renderD129'] },
    );
    expect(s).toEqual({
      policy: 'optimal', targetVideoCodec: 'hevc', targetAudioCodec: 'libopus',
      acceptedVideoCodecs: ['hevc', 'h264', 'vp9'], acceptedAudioCodecs: ['libopus', 'aac'], acceptedContainers: ['mov', 'webm'],
      targetResolution: 1080, crf: 28, preset: 'fast', maxBitrate: '4500k', twoPass: true, accel: 'vaapi', accelDecode: true,
      threads: 4, gopSize: 120, bframes: 3, refs: 2, cqMode: 'icq', temporalAQ: false, preferredHwDevice: '/dev/dri/renderD129', tonemap: 'mobius',
    });
    expect(describeTranscode(s)).toBe('optimal: hevc_vaapi crf 28 preset fast, 1080p, max 4500k, two-pass, audio libopus; vaapi (hardware decoding), software fallback');
  });

  it.each([
    ['IMMICH_FFMPEG_TRANSCODE', 'sometimes'],
    ['IMMICH_FFMPEG_TARGET_VIDEO_CODEC', 'mpeg2'],
    ['IMMICH_FFMPEG_TARGET_AUDIO_CODEC', 'flac'],
    ['IMMICH_FFMPEG_ACCEPTED_VIDEO_CODECS', 'h264,theora'],
    ['IMMICH_FFMPEG_ACCEPTED_CONTAINERS', 'flv'],
    ['IMMICH_FFMPEG_TARGET_RESOLUTION', 'big'],
    ['IMMICH_FFMPEG_CRF', '70'],
    ['IMMICH_FFMPEG_CRF', '2.5'],
    ['IMMICH_FFMPEG_PRESET', 'ludicrous'],
    ['IMMICH_FFMPEG_MAX_BITRATE', 'fast'],
    ['IMMICH_FFMPEG_TWO_PASS', 'maybe'],
    ['IMMICH_FFMPEG_ACCEL', 'cuda'],
    ['IMMICH_FFMPEG_ACCEL_DECODE', 'hw'],
    ['IMMICH_FFMPEG_THREADS', '-1'],
    ['IMMICH_FFMPEG_BFRAMES', '17'],
    ['IMMICH_FFMPEG_CQ_MODE', 'vbr'],
    ['IMMICH_FFMPEG_PREFERRED_HW_DEVICE', '/dev/sda'],
    ['IMMICH_FFMPEG_TONEMAP', 'aces'],
  ])('%s=%s is a usage error naming the variable', (name, value) => {
    let err: unknown;
    try {
      loadTranscodeSettings({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(name);
  });

  it('an accel that cannot encode the target codec is refused up front', () => {
    expect(() => loadTranscodeSettings({ IMMICH_FFMPEG_ACCEL: 'nvenc', IMMICH_FFMPEG_TARGET_VIDEO_CODEC: 'vp9' })).toThrow(UsageError);
  });
});

describe('software fallback', () => {
  it('softwareFallback turns acceleration and hardware decoding off, keeping the rest', () => {
    const hw = settings({ accel: 'qsv', accelDecode: true, crf: 30 });
    expect(softwareFallback(hw)).toEqual({ ...hw, accel: 'disabled', accelDecode: false });
  });

  it('transcodeWithFallback retries once in software and reports why', async () => {
    const runs: string[][][] = [];
    const warnings: string[] = [];
    const build = (s: TranscodeSettings) => buildTranscodeArgs('in.mov', 'out.mp4', HD, s, 'all');
    const result = await transcodeWithFallback(
      settings({ accel: 'nvenc', accelDecode: true }),
      build,
      async (passes) => {
        runs.push(passes);
        if (passes[0]!.includes('h264_nvenc')) throw new Error('ffmpeg exited with code 1: Cannot load libcuda.so.1');
      },
      (msg) => warnings.push(msg),
    );
    expect(result).toEqual({ accel: 'disabled', fellBack: true, hardwareError: 'ffmpeg exited with code 1: Cannot load libcuda.so.1' });
    expect(runs).toHaveLength(2);
    expect(runs[1]![0]).toContain('libx264');
    expect(runs[1]![0]).not.toContain('-hwaccel');
    expect(warnings).toEqual(['NVENC transcoding failed (ffmpeg exited with code 1: Cannot load libcuda.so.1); retrying with software encoding']);
  });

  it('a software failure is not retried', async () => {
    let n = 0;
    await expect(transcodeWithFallback(settings({}), (s) => buildTranscodeArgs('a', 'b', HD, s, 'all'), async () => { n++; throw new Error('boom'); })).rejects.toThrow('boom');
    expect(n).toBe(1);
  });
});

describe('hwaccel.transcoding.yml', () => {
  it('has Immich\'s backends, each setting a valid IMMICH_FFMPEG_ACCEL, with the devices it needs', async () => {
    const { parse } = await import('yaml');
    const fs = await import('node:fs');
    const { ROOT } = await import('../helpers/env.js');
    const doc = parse(fs.readFileSync(`${ROOT}/hwaccel.transcoding.yml`, 'utf8'));
    expect(Object.keys(doc.services).sort()).toEqual(['cpu', 'nvenc', 'quicksync', 'rkmpp', 'vaapi', 'vaapi-wsl']);
    for (const svc of Object.values(doc.services) as any[]) {
      expect(() => loadTranscodeSettings({ IMMICH_FFMPEG_ACCEL: svc.environment.IMMICH_FFMPEG_ACCEL }, { driEntries: [] })).not.toThrow();
    }
    expect(doc.services.nvenc.deploy.resources.reservations.devices[0]).toMatchObject({ driver: 'nvidia', capabilities: ['gpu', 'compute', 'video'] });
    for (const name of ['quicksync', 'vaapi', 'rkmpp']) expect(doc.services[name].devices).toContain('/dev/dri:/dev/dri');
  });
});
