// Video transcoding policy and ffmpeg arguments (Immich-compatible settings). Pure functions: the
// video stage (src/media/video.ts) probes, asks here what to do, and runs the commands.

export interface VideoStreamInfo {
  index: number;
  codec: string; // ffprobe codec_name, e.g. 'h264', 'hevc'
  width: number;
  height: number;
  fps: number;
  bitrate?: number;
  pixFmt?: string;
  /** Display rotation in degrees from side data / tags. */
  rotation?: number;
}

export interface AudioStreamInfo {
  index: number;
  codec: string;
  bitrate?: number;
  channels?: number;
}

export interface VideoProbe {
  /** ffprobe format_name, e.g. 'mov,mp4,m4a,3gp,3g2,mj2' or 'matroska,webm'. */
  formatName: string;
  durationSec: number;
  bitrate?: number;
  videoStreams: VideoStreamInfo[];
  audioStreams: AudioStreamInfo[];
}

export type TranscodePolicy = 'required' | 'optimal' | 'bitrate' | 'all' | 'disabled';
export type VideoCodec = 'h264' | 'hevc' | 'vp9' | 'av1';
export type HwAccel = 'disabled' | 'nvenc' | 'qsv' | 'vaapi' | 'rkmpp';

export interface TranscodeSettings {
  policy: TranscodePolicy;
  targetVideoCodec: VideoCodec;
  targetAudioCodec: 'aac' | 'mp3' | 'libopus';
  acceptedVideoCodecs: VideoCodec[];
  acceptedAudioCodecs: string[];
  acceptedContainers: string[];
  /** Target height of the shorter side, e.g. 720; 'original' keeps it. */
  targetResolution: number | 'original';
  crf: number;
  preset: string;
  /** e.g. '0' (none) or '4500k'. */
  maxBitrate: string;
  twoPass: boolean;
  accel: HwAccel;
  accelDecode: boolean;
}

export const DEFAULT_TRANSCODE: TranscodeSettings = {
  policy: 'required',
  targetVideoCodec: 'h264',
  targetAudioCodec: 'aac',
  acceptedVideoCodecs: ['h264'],
  acceptedAudioCodecs: ['aac', 'mp3', 'libopus'],
  acceptedContainers: ['mov', 'ogg', 'webm'],
  targetResolution: 720,
  crf: 23,
  preset: 'ultrafast',
  maxBitrate: '0',
  twoPass: false,
  accel: 'disabled',
  accelDecode: false,
};

export interface TranscodeDecision {
  transcode: boolean;
  reason: string;
}

const MP4_FORMATS = ['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2'];

/** Whether the source needs a web-playable copy under the policy ('required': only when not playable). */
export function transcodeDecision(probe: VideoProbe, s: TranscodeSettings): TranscodeDecision {
  const video = probe.videoStreams[0];
  if (!video) return { transcode: false, reason: 'no video stream' };
  if (s.policy === 'disabled') return { transcode: false, reason: 'transcoding disabled' };
  if (s.policy === 'all') return { transcode: true, reason: 'policy all' };
  const audio = probe.audioStreams[0];
  const containers = probe.formatName.split(',');
  const containerOk = containers.some((c) => MP4_FORMATS.includes(c) || s.acceptedContainers.includes(c));
  const videoOk = (s.acceptedVideoCodecs as string[]).includes(video.codec);
  const audioOk = !audio || s.acceptedAudioCodecs.includes(audio.codec) || (audio.codec === 'opus' && s.acceptedAudioCodecs.includes('libopus'));
  if (!videoOk) return { transcode: true, reason: `video codec ${video.codec} not accepted` };
  if (!audioOk) return { transcode: true, reason: `audio codec ${audio!.codec} not accepted` };
  if (!containerOk) return { transcode: true, reason: `container ${probe.formatName} not accepted` };
  if (s.policy === 'optimal' && s.targetResolution !== 'original' && Math.min(video.width, video.height) > s.targetResolution) {
    return { transcode: true, reason: `resolution above ${s.targetResolution}p` };
  }
  return { transcode: false, reason: 'already web-playable' };
}

/**
 * ffmpeg argument lists (one per pass) to transcode `input` into `output` (MP4). Software path only
 * for now; hardware acceleration variants are added by the operations work.
 */
export function buildTranscodeArgs(input: string, output: string, probe: VideoProbe, s: TranscodeSettings): string[][] {
  const video = probe.videoStreams[0]!;
  const audio = probe.audioStreams[0];
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', input, '-map', `0:${video.index}`];
  if (audio) args.push('-map', `0:${audio.index}`);
  args.push('-map_metadata', '-1');
  const vcodec = s.targetVideoCodec === 'h264' ? 'libx264' : s.targetVideoCodec === 'hevc' ? 'libx265' : s.targetVideoCodec === 'vp9' ? 'libvpx-vp9' : 'libsvtav1';
  args.push('-c:v', vcodec, '-crf', String(s.crf), '-preset', s.preset, '-pix_fmt', 'yuv420p');
  if (s.targetResolution !== 'original' && Math.min(video.width, video.height) > s.targetResolution) {
    const scale = video.width >= video.height ? `-2:${s.targetResolution}` : `${s.targetResolution}:-2`;
    args.push('-vf', `scale=${scale}`);
  }
  if (audio) args.push('-c:a', s.targetAudioCodec);
  args.push('-movflags', 'faststart', '-f', 'mp4', output);
  return [args];
}
