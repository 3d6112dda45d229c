// Video transcoding policy and ffmpeg arguments (Immich-compatible settings). Pure functions: the
// video stage (src/media/video.ts) probes, asks here what to do, and runs the commands.
// The argument logic mirrors Immich's server/src/utils/media.ts (BaseConfig, H264/HEVC/VP9/AV1 and
// the NVENC/QSV/VAAPI/RKMPP software- and hardware-decode variants), minus HDR tone mapping, which
// needs jellyfin-ffmpeg's tonemapx filter that Debian's ffmpeg does not have.
import fs from 'node:fs';
import { UsageError } from '../errors.js';
export const TRANSCODE_POLICIES = ['required', 'optimal', 'bitrate', 'all', 'disabled'];
export const VIDEO_CODECS = ['h264', 'hevc', 'vp9', 'av1'];
export const AUDIO_CODECS = ['aac', 'mp3', 'libopus'];
export const HW_ACCELS = ['disabled', 'nvenc', 'qsv', 'vaapi', 'rkmpp'];
export const CQ_MODES = ['auto', 'cqp', 'icq'];
export const TONE_MAPPINGS = ['hable', 'mobius', 'reinhard', 'disabled'];
/** x264-style presets, slowest first (Immich maps them onto each encoder's own scale). */
export const PRESETS = ['veryslow', 'slower', 'slow', 'medium', 'fast', 'faster', 'veryfast', 'superfast', 'ultrafast'];
/** Codecs each hardware encoder family can produce (Immich's getSupportedCodecs). */
export const ACCEL_CODECS = {
    nvenc: ['h264', 'hevc', 'av1'],
    qsv: ['h264', 'hevc', 'vp9', 'av1'],
    vaapi: ['h264', 'hevc', 'vp9', 'av1'],
    rkmpp: ['h264', 'hevc'],
};
export const DEFAULT_TRANSCODE = {
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
    threads: 0,
    gopSize: 0,
    bframes: -1,
    refs: 0,
    cqMode: 'auto',
    temporalAQ: false,
    preferredHwDevice: 'auto',
    tonemap: 'hable',
};
const MP4_FORMATS = ['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2'];
/** '4500k' → 4500000, '5M' → 5000000, '800000' → 800000 (Immich's parseBitrateToBps). */
export function parseBitrateToBps(value) {
    const n = Number.parseInt(value, 10);
    if (Number.isNaN(n))
        return 0;
    const v = value.trim().toLowerCase();
    if (v.endsWith('k'))
        return n * 1000;
    if (v.endsWith('m'))
        return n * 1_000_000;
    return n;
}
function audioAccepted(codec, s) {
    return s.acceptedAudioCodecs.includes(codec) || (codec === 'opus' && s.acceptedAudioCodecs.includes('libopus'));
}
/** Whether the source needs a web-playable copy under the policy (Immich's getTranscodeTarget + isRemuxRequired). */
export function transcodeDecision(probe, s) {
    const video = probe.videoStreams[0];
    if (!video)
        return { transcode: false, reason: 'no video stream', target: 'none' };
    if (s.policy === 'disabled')
        return { transcode: false, reason: 'transcoding disabled', target: 'none' };
    const audio = probe.audioStreams[0];
    const codecOk = s.acceptedVideoCodecs.includes(video.codec);
    const pixOk = !video.pixFmt || video.pixFmt.endsWith('420p');
    const larger = s.targetResolution !== 'original' && Math.min(video.width, video.height) > s.targetResolution;
    const bitrate = video.bitrate ?? probe.bitrate ?? 0;
    const overBitrate = bitrate > parseBitrateToBps(s.maxBitrate);
    let videoReason;
    if (s.policy === 'all')
        videoReason = 'policy all';
    else if (!codecOk)
        videoReason = `video codec ${video.codec} not accepted`;
    else if (!pixOk)
        videoReason = `pixel format ${video.pixFmt} is not 4:2:0`;
    else if (s.policy === 'optimal' && larger)
        videoReason = `resolution above ${s.targetResolution}p`;
    else if (s.policy === 'bitrate' && overBitrate)
        videoReason = `bitrate ${bitrate} above ${s.maxBitrate}`;
    let audioReason;
    if (audio && (s.policy === 'all' || !audioAccepted(audio.codec, s))) {
        audioReason = s.policy === 'all' ? 'policy all' : `audio codec ${audio.codec} not accepted`;
    }
    const containers = probe.formatName.split(',');
    const containerOk = containers.some((c) => MP4_FORMATS.includes(c) || s.acceptedContainers.includes(c));
    const target = videoReason && audioReason ? 'all' : videoReason ? 'video' : audioReason ? 'audio' : 'none';
    if (target !== 'none')
        return { transcode: true, reason: videoReason ?? audioReason, target };
    if (!containerOk)
        return { transcode: true, reason: `container ${probe.formatName} not accepted (remux)`, target: 'none' };
    return { transcode: false, reason: 'already web-playable', target: 'none' };
}
/** The settings the video stage retries with when the hardware path fails (Immich does the same). */
export function softwareFallback(s) {
    return { ...s, accel: 'disabled', accelDecode: false };
}
/** Throws when the hardware encoder family cannot produce the target codec (e.g. NVENC and VP9). */
export function assertAccelSupportsCodec(s) {
    if (s.accel === 'disabled')
        return;
    const supported = ACCEL_CODECS[s.accel];
    if (!supported.includes(s.targetVideoCodec)) {
        throw new UsageError(`${s.accel.toUpperCase()} acceleration does not support codec ${s.targetVideoCodec.toUpperCase()} (supported: ${supported.join(', ')}); ` +
            'change IMMICH_FFMPEG_ACCEL or IMMICH_FFMPEG_TARGET_VIDEO_CODEC');
    }
}
/** The encoder ffmpeg is asked for. Software encoders are named explicitly so a build without them fails loudly. */
export function videoEncoder(s) {
    if (s.accel !== 'disabled')
        return `${s.targetVideoCodec}_${s.accel}`;
    return { h264: 'libx264', hevc: 'libx265', vp9: 'libvpx-vp9', av1: 'libsvtav1' }[s.targetVideoCodec];
}
class BaseArgs {
    s;
    device;
    constructor(s, device) {
        this.s = s;
        this.device = device;
    }
    get threads() { return this.s.threads ?? 0; }
    get presetIndex() { return PRESETS.indexOf(this.s.preset); }
    get cqMode() { return this.s.cqMode ?? 'auto'; }
    inputOptions() { return this.inputThreadOptions(); }
    inputThreadOptions() { return []; }
    outputOptions(target, video, audio) {
        const vcodec = target === 'all' || target === 'video' ? videoEncoder(this.s) : 'copy';
        const acodec = target === 'all' || target === 'audio' ? this.s.targetAudioCodec : 'copy';
        const o = ['-c:v', vcodec, '-c:a', acodec, '-movflags', 'faststart', '-fps_mode', 'passthrough', '-map', `0:${video.index}`, '-map_metadata', '-1'];
        if (audio)
            o.push('-map', `0:${audio.index}`);
        if (this.bframes() > -1)
            o.push('-bf', String(this.bframes()));
        if (this.refs() > 0)
            o.push('-refs', String(this.refs()));
        if (this.gopSize() > 0)
            o.push('-g', String(this.gopSize()));
        // Apple players only play HEVC in MP4 tagged hvc1.
        if (this.s.targetVideoCodec === 'hevc' && (vcodec !== 'copy' || video.codec === 'hevc'))
            o.push('-tag:v', 'hvc1');
        return o;
    }
    filters(video) {
        const f = [];
        if (this.shouldScale(video))
            f.push(`scale=${this.scaling(video)}`);
        const tonemap = this.toneMapping(video);
        if (tonemap.length)
            f.push(...tonemap);
        // An unknown pixel format is converted too: a 4:4:4 H.264 stream does not play in browsers.
        else if (!video.pixFmt || !video.pixFmt.endsWith('420p'))
            f.push('format=yuv420p');
        return f;
    }
    shouldToneMap(video) {
        return isHdr(video) && (this.s.tonemap ?? 'hable') !== 'disabled';
    }
    /**
     * CPU tone mapping to BT.709 SDR. Immich uses jellyfin-ffmpeg's tonemapx; Debian's ffmpeg has
     * zscale (zimg) and tonemap, the classic chain: linearise, convert primaries, map, re-encode.
     */
    toneMapping(video) {
        if (!this.shouldToneMap(video))
            return [];
        return ['zscale=t=linear:npl=100', 'format=gbrpf32le', 'zscale=p=bt709', `tonemap=tonemap=${this.s.tonemap ?? 'hable'}:desat=0`, 'zscale=t=bt709:m=bt709:r=tv', 'format=yuv420p'];
    }
    /** Tone-mapping options for GPU filters (tonemap_cuda / tonemap_opencl), as in Immich. */
    gpuToneMapOptions(order) {
        const tm = this.s.tonemap ?? 'hable';
        return order === 'cuda'
            ? ['desat=0', 'matrix=bt709', 'primaries=bt709', 'range=pc', `tonemap=${tm}`, 'tonemap_mode=lum', 'transfer=bt709', 'peak=100'].join(':')
            : ['desat=0', 'format=nv12', 'matrix=bt709', 'primaries=bt709', 'transfer=bt709', 'range=pc', `tonemap=${tm}`, 'tonemap_mode=lum', 'peak=100'].join(':');
    }
    presetOptions() { return ['-preset', this.s.preset]; }
    outputThreadOptions() { return this.threads > 0 ? ['-threads', String(this.threads)] : []; }
    bitrateOptions() {
        const b = this.bitrates();
        const q = this.useCQP() ? '-q:v' : '-crf';
        if (this.eligibleForTwoPass())
            return ['-b:v', `${b.target}${b.unit}`, '-minrate', `${b.min}${b.unit}`, '-maxrate', `${b.max}${b.unit}`];
        // -bufsize is the peak bitrate at any moment, -maxrate the rolling average.
        if (b.max > 0)
            return [q, String(this.s.crf), '-maxrate', `${b.max}${b.unit}`, '-bufsize', `${b.max * 2}${b.unit}`];
        return [q, String(this.s.crf)];
    }
    eligibleForTwoPass() {
        return this.s.twoPass && this.s.accel === 'disabled' && this.maxBitrate() > 0;
    }
    maxBitrate() { return Number.parseInt(this.s.maxBitrate, 10) || 0; }
    bitrateUnit() { return this.s.maxBitrate.trim().slice(String(this.maxBitrate()).length) || 'k'; }
    bitrates() {
        const max = this.maxBitrate();
        const target = Math.ceil(max / 1.45); // Google's VP9 VOD recommendation, used by Immich for all codecs
        return { max, target, min: target / 2, unit: this.bitrateUnit() };
    }
    targetResolution(video) {
        // Unlike Immich, never upscale: an odd-sized 481p source is scaled to 480p, not to the 720p target.
        const shorter = Math.min(video.width, video.height);
        let t = this.s.targetResolution === 'original' ? shorter : Math.min(shorter, this.s.targetResolution);
        if (t % 2 !== 0)
            t -= 1;
        return t;
    }
    shouldScale(video) {
        const odd = video.width % 2 !== 0 || video.height % 2 !== 0;
        return odd || Math.min(video.width, video.height) > this.targetResolution(video);
    }
    vertical(video) {
        return video.height > video.width || Math.abs(video.rotation ?? 0) % 180 === 90;
    }
    scaling(video, mult = 2) {
        const t = this.targetResolution(video);
        return this.vertical(video) ? `${t}:-${mult}` : `-${mult}:${t}`;
    }
    bframes() { return this.s.bframes ?? -1; }
    refs() { return this.s.refs ?? 0; }
    gopSize() { return this.s.gopSize ?? 0; }
    useCQP() { return this.cqMode === 'cqp'; }
}
class H264Args extends BaseArgs {
    outputThreadOptions() {
        const o = super.outputThreadOptions();
        if (this.threads === 1)
            o.push('-x264-params', 'frame-threads=1:pools=none');
        return o;
    }
}
class HevcArgs extends BaseArgs {
    outputThreadOptions() {
        const o = super.outputThreadOptions();
        if (this.threads === 1)
            o.push('-x265-params', 'frame-threads=1:pools=none');
        return o;
    }
}
class Vp9Args extends BaseArgs {
    presetOptions() {
        // cpu-used above 5 needs realtime mode, which overrides -crf and -threads
        const speed = Math.min(this.presetIndex, 5);
        return speed >= 0 ? ['-cpu-used', String(speed)] : [];
    }
    bitrateOptions() {
        const b = this.bitrates();
        if (b.max > 0 && this.eligibleForTwoPass())
            return ['-b:v', `${b.target}${b.unit}`, '-minrate', `${b.min}${b.unit}`, '-maxrate', `${b.max}${b.unit}`];
        // libvpx needs -b:v 0 for constant quality
        return [this.useCQP() ? '-q:v' : '-crf', String(this.s.crf), '-b:v', `${b.max}${b.unit}`];
    }
    outputThreadOptions() { return ['-row-mt', '1', ...super.outputThreadOptions()]; }
    eligibleForTwoPass() { return this.s.twoPass; }
}
class Av1Args extends BaseArgs {
    presetOptions() {
        // SVT-AV1 presets 4 (slow) to 12 (fast)
        const speed = this.presetIndex + 4;
        return this.presetIndex >= 0 ? ['-preset', String(speed)] : [];
    }
    bitrateOptions() {
        const o = ['-crf', String(this.s.crf)];
        const b = this.bitrates();
        const params = [];
        if (this.threads > 0)
            params.push(`lp=${this.threads}`);
        if (b.max > 0)
            params.push(`mbr=${b.max}${b.unit}`);
        if (params.length)
            o.push('-svtav1-params', params.join(':'));
        return o;
    }
    outputThreadOptions() { return []; }
    eligibleForTwoPass() { return this.s.twoPass; }
}
class HwArgs extends BaseArgs {
    gopSize() { return (this.s.gopSize ?? 0) <= 0 ? 256 : this.s.gopSize; }
    eligibleForTwoPass() { return false; }
}
class NvencSwDecodeArgs extends HwArgs {
    inputOptions() { return ['-init_hw_device', 'cuda=cuda:0', '-filter_hw_device', 'cuda']; }
    outputOptions(target, video, audio) {
        // NVIDIA's recommendation for latency-tolerant high-quality transcoding
        const o = ['-tune', 'hq', '-qmin', '0', '-rc-lookahead', '20', '-i_qfactor', '0.75', ...super.outputOptions(target, video, audio)];
        if (this.bframes() > 0)
            o.push('-b_ref_mode', 'middle', '-b_qfactor', '1.1');
        if (this.s.temporalAQ)
            o.push('-temporal-aq', '1');
        return o;
    }
    filters(video) {
        const f = [...this.toneMapping(video), 'hwupload_cuda'];
        if (this.shouldScale(video))
            f.push(`scale_cuda=${this.scaling(video)}:format=nv12`);
        return f;
    }
    presetOptions() {
        if (this.presetIndex < 0)
            return [];
        return ['-preset', `p${7 - Math.min(6, this.presetIndex)}`]; // p7 is the slowest, best quality
    }
    bitrateOptions() {
        const b = this.bitrates();
        if (b.max > 0 && this.s.twoPass)
            return ['-b:v', `${b.target}${b.unit}`, '-maxrate', `${b.max}${b.unit}`, '-bufsize', `${b.target}${b.unit}`, '-multipass', '2'];
        if (b.max > 0)
            return ['-cq:v', String(this.s.crf), '-maxrate', `${b.max}${b.unit}`, '-bufsize', `${b.target}${b.unit}`];
        return ['-cq:v', String(this.s.crf)];
    }
    refs() {
        const bf = this.bframes();
        const refs = this.s.refs ?? 0;
        return bf > 0 && bf < 3 && refs < 3 ? 0 : refs;
    }
}
class NvencHwDecodeArgs extends NvencSwDecodeArgs {
    inputOptions() { return ['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda', '-noautorotate', ...this.inputThreadOptions()]; }
    filters(video) {
        const f = [];
        const tonemap = this.shouldToneMap(video) ? [`tonemap_cuda=${this.gpuToneMapOptions('cuda')}`] : [];
        if (this.shouldScale(video) || (!tonemap.length && video.pixFmt !== undefined && !video.pixFmt.endsWith('420p'))) {
            f.push(`scale_cuda=${this.scaling(video)}`);
        }
        f.push(...tonemap);
        if (f.length)
            f[f.length - 1] += ':format=nv12';
        return f;
    }
    inputThreadOptions() { return ['-threads', '1']; }
    outputThreadOptions() { return []; }
}
class QsvSwDecodeArgs extends HwArgs {
    inputOptions() { return ['-init_hw_device', `qsv=hw,child_device=${this.device}`, '-filter_hw_device', 'hw']; }
    outputOptions(target, video, audio) {
        const o = super.outputOptions(target, video, audio);
        // VP9 on QSV only exists in low-power mode
        if (this.s.targetVideoCodec === 'vp9')
            o.push('-low_power', '1');
        return o;
    }
    filters(video) {
        const f = [...this.toneMapping(video), 'hwupload=extra_hw_frames=64'];
        if (this.shouldScale(video))
            f.push(`scale_qsv=${this.scaling(video)}:mode=hq:format=nv12`);
        return f;
    }
    presetOptions() {
        return this.presetIndex < 0 ? [] : ['-preset', String(Math.min(6, this.presetIndex) + 1)];
    }
    bitrateOptions() {
        const o = [this.useCQP() ? '-q:v' : '-global_quality:v', String(this.s.crf)];
        const b = this.bitrates();
        if (b.max > 0)
            o.push('-maxrate', `${b.max}${b.unit}`, '-bufsize', `${b.max * 2}${b.unit}`);
        return o;
    }
    // Intel's media-delivery benchmarks recommend 7 B-frames and 5 references
    bframes() { return (this.s.bframes ?? -1) < 0 ? 7 : this.s.bframes; }
    refs() { return (this.s.refs ?? 0) <= 0 ? 5 : this.s.refs; }
    useCQP() { return this.cqMode === 'cqp' || this.s.targetVideoCodec === 'vp9'; }
    scaling(video) { return super.scaling(video, 1); }
}
class QsvHwDecodeArgs extends QsvSwDecodeArgs {
    inputOptions() {
        return ['-hwaccel', 'qsv', '-hwaccel_output_format', 'qsv', '-async_depth', '4', '-noautorotate', '-qsv_device', this.device, ...this.inputThreadOptions()];
    }
    filters(video) {
        const f = [];
        const tonemap = this.shouldToneMap(video);
        if (!tonemap && video.pixFmt !== undefined && !video.pixFmt.endsWith('420p'))
            f.push(`scale_qsv=${this.scaling(video)}:async_depth=4:mode=hq:format=nv12`);
        else if (this.shouldScale(video))
            f.push(`scale_qsv=${this.scaling(video)}:async_depth=4:mode=hq`);
        if (tonemap)
            f.push('hwmap=derive_device=opencl', `tonemap_opencl=${this.gpuToneMapOptions('opencl')}`, 'hwmap=derive_device=qsv:reverse=1,format=qsv');
        return f;
    }
    inputThreadOptions() { return ['-threads', '1']; }
}
class VaapiSwDecodeArgs extends HwArgs {
    inputOptions() { return ['-init_hw_device', `vaapi=accel:${this.device}`, '-filter_hw_device', 'accel']; }
    filters(video) {
        const f = [...this.toneMapping(video), 'hwupload=extra_hw_frames=64'];
        if (this.shouldScale(video))
            f.push(`scale_vaapi=${this.scaling(video)}:mode=hq:out_range=pc:format=nv12`);
        return f;
    }
    presetOptions() {
        return this.presetIndex < 0 ? [] : ['-compression_level', String(Math.min(6, this.presetIndex) + 1)];
    }
    bitrateOptions() {
        const b = this.bitrates();
        const o = [];
        if (this.s.targetVideoCodec === 'vp9')
            o.push('-bsf:v', 'vp9_raw_reorder,vp9_superframe');
        // VAAPI cannot combine a quality target with a maximum bitrate: VBR (rc_mode 3) then
        if (b.max > 0)
            o.push('-b:v', `${b.target}${b.unit}`, '-maxrate', `${b.max}${b.unit}`, '-minrate', `${b.min}${b.unit}`, '-rc_mode', '3');
        else if (this.useCQP())
            o.push('-qp:v', String(this.s.crf), '-global_quality:v', String(this.s.crf), '-rc_mode', '1');
        else
            o.push('-global_quality:v', String(this.s.crf), '-rc_mode', '4');
        return o;
    }
    useCQP() { return this.cqMode !== 'icq' || this.s.targetVideoCodec === 'vp9'; }
}
class VaapiHwDecodeArgs extends VaapiSwDecodeArgs {
    inputOptions() {
        return ['-hwaccel', 'vaapi', '-hwaccel_output_format', 'vaapi', '-noautorotate', '-hwaccel_device', this.device, ...this.inputThreadOptions()];
    }
    filters(video) {
        const f = [];
        const tonemap = this.shouldToneMap(video);
        if (!tonemap && video.pixFmt !== undefined && !video.pixFmt.endsWith('420p'))
            f.push(`scale_vaapi=${this.scaling(video)}:mode=hq:out_range=pc:format=nv12`);
        else if (this.shouldScale(video))
            f.push(`scale_vaapi=${this.scaling(video)}:mode=hq:out_range=pc`);
        if (tonemap)
            f.push('hwmap=derive_device=opencl', `tonemap_opencl=${this.gpuToneMapOptions('opencl')}`, 'hwmap=derive_device=vaapi:reverse=1,format=vaapi');
        return f;
    }
    inputThreadOptions() { return ['-threads', '1']; }
}
class RkmppSwDecodeArgs extends HwArgs {
    inputOptions() { return []; }
    presetOptions() {
        // ffmpeg_mpp levels, commonly called level 5.1
        return this.s.targetVideoCodec === 'hevc' ? ['-level', '153'] : ['-level', '51'];
    }
    bitrateOptions() {
        const max = this.maxBitrate();
        // -b:v is the maximum here; the average is derived by the encoder
        if (max > 0)
            return ['-rc_mode', 'AVBR', '-b:v', `${max}${this.bitrateUnit()}`];
        return ['-rc_mode', 'CQP', '-qp_init', String(this.s.crf)];
    }
}
class RkmppHwDecodeArgs extends RkmppSwDecodeArgs {
    inputOptions() { return ['-hwaccel', 'rkmpp', '-hwaccel_output_format', 'drm_prime', '-afbc', 'rga', '-noautorotate']; }
    filters(video) {
        if (this.shouldToneMap(video)) {
            // RGA scales to 10-bit, the CPU tone-maps (Immich does the same without a Mali OpenCL driver)
            return [`scale_rkrga=${this.scaling(video)}:format=p010:afbc=1:async_depth=4`, 'hwdownload', 'format=p010', ...this.toneMapping(video), 'hwupload'];
        }
        return this.shouldScale(video) ? [`scale_rkrga=${this.scaling(video)}:format=nv12:afbc=1:async_depth=4`] : [];
    }
}
/** PQ (smpte2084) and HLG (arib-std-b67) sources are HDR. */
export function isHdr(video) {
    return video.isHdr ?? (video.colorTransfer === 'smpte2084' || video.colorTransfer === 'arib-std-b67');
}
/** The DRI render node: an explicit setting, else the highest renderD* under /dev/dri, else renderD128. */
export function hwDevice(s, driEntries) {
    const pref = s.preferredHwDevice ?? 'auto';
    if (pref !== 'auto')
        return pref.startsWith('/') ? pref : `/dev/dri/${pref}`;
    const nodes = (driEntries ?? []).filter((d) => d.startsWith('renderD')).sort();
    return `/dev/dri/${nodes.at(-1) ?? 'renderD128'}`;
}
function argsFor(s) {
    const device = hwDevice(s);
    switch (s.accel) {
        case 'disabled':
            switch (s.targetVideoCodec) {
                case 'h264': return new H264Args(s, device);
                case 'hevc': return new HevcArgs(s, device);
                case 'vp9': return new Vp9Args(s, device);
                case 'av1': return new Av1Args(s, device);
            }
            break;
        case 'nvenc': return s.accelDecode ? new NvencHwDecodeArgs(s, device) : new NvencSwDecodeArgs(s, device);
        case 'qsv': return s.accelDecode ? new QsvHwDecodeArgs(s, device) : new QsvSwDecodeArgs(s, device);
        case 'vaapi': return s.accelDecode ? new VaapiHwDecodeArgs(s, device) : new VaapiSwDecodeArgs(s, device);
        case 'rkmpp': return s.accelDecode ? new RkmppHwDecodeArgs(s, device) : new RkmppSwDecodeArgs(s, device);
    }
    throw new UsageError(`unsupported transcoding settings: accel ${s.accel}, codec ${s.targetVideoCodec}`);
}
/** Prefix for two-pass statistics files (ffmpeg writes `<prefix>-0.log`, x264 also `.mbtree`). */
export function passLogPrefix(output) {
    return `${output}.pass`;
}
/** Files a two-pass run leaves behind, for the caller to delete. */
export function passLogFiles(output) {
    const p = passLogPrefix(output);
    return [`${p}-0.log`, `${p}-0.log.mbtree`, `${p}-0.log.temp`, `${p}-0.log.mbtree.temp`];
}
/**
 * ffmpeg argument lists (one per pass) to transcode `input` into `output` (MP4). Two lists when a
 * two-pass encode applies: the first writes statistics to passLogPrefix(output) and discards video.
 * `target` defaults to transcodeDecision's; 'none' (or a decision of no transcode) remuxes with
 * both streams copied.
 */
export function buildTranscodeArgs(input, output, probe, s, target) {
    assertAccelSupportsCodec(s);
    const video = probe.videoStreams[0];
    if (!video)
        throw new Error(`${input}: no video stream to transcode`);
    const audio = probe.audioStreams[0];
    const t = target ?? transcodeDecision(probe, s).target;
    const a = argsFor(s);
    const head = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];
    // Hardware input options only matter when the video is re-encoded.
    const input_ = t === 'all' || t === 'video' ? a.inputOptions() : [];
    const out = a.outputOptions(t, video, audio);
    if (t === 'all' || t === 'video') {
        const f = a.filters(video);
        if (f.length)
            out.push('-vf', f.join(','));
        out.push(...a.presetOptions(), ...a.outputThreadOptions(), ...a.bitrateOptions());
    }
    const base = [...head, ...input_, '-i', input, ...out];
    if ((t === 'all' || t === 'video') && a.eligibleForTwoPass()) {
        const prefix = passLogPrefix(output);
        return [
            [...base, '-pass', '1', '-passlogfile', prefix, '-f', 'null', '/dev/null'],
            [...base, '-pass', '2', '-passlogfile', prefix, '-f', 'mp4', output],
        ];
    }
    return [[...base, '-f', 'mp4', output]];
}
/**
 * Run a transcode with `run` (which executes the argument lists); when a hardware path fails, log
 * it and retry once in software, as Immich does. The caller removes partial output before a retry
 * is not needed: ffmpeg is run with -y.
 */
export async function transcodeWithFallback(s, build, run, warn) {
    try {
        await run(build(s));
        return { accel: s.accel, fellBack: false };
    }
    catch (err) {
        if (s.accel === 'disabled')
            throw err;
        const message = err.message?.split('\n')[0] ?? String(err);
        warn?.(`${s.accel.toUpperCase()} transcoding failed (${message}); retrying with software encoding`, { accel: s.accel, cause: message });
        await run(build(softwareFallback(s)));
        return { accel: 'disabled', fellBack: true, hardwareError: message };
    }
}
// ---------------------------------------------------------------------------------------------
// Settings from the environment / .env.
/** Environment variable → TranscodeSettings key (Immich's ffmpeg config keys, upper-snake-cased). */
export const TRANSCODE_ENV = {
    IMMICH_FFMPEG_TRANSCODE: 'policy',
    IMMICH_FFMPEG_TARGET_VIDEO_CODEC: 'targetVideoCodec',
    IMMICH_FFMPEG_TARGET_AUDIO_CODEC: 'targetAudioCodec',
    IMMICH_FFMPEG_ACCEPTED_VIDEO_CODECS: 'acceptedVideoCodecs',
    IMMICH_FFMPEG_ACCEPTED_AUDIO_CODECS: 'acceptedAudioCodecs',
    IMMICH_FFMPEG_ACCEPTED_CONTAINERS: 'acceptedContainers',
    IMMICH_FFMPEG_TARGET_RESOLUTION: 'targetResolution',
    IMMICH_FFMPEG_CRF: 'crf',
    IMMICH_FFMPEG_PRESET: 'preset',
    IMMICH_FFMPEG_MAX_BITRATE: 'maxBitrate',
    IMMICH_FFMPEG_TWO_PASS: 'twoPass',
    IMMICH_FFMPEG_ACCEL: 'accel',
    IMMICH_FFMPEG_ACCEL_DECODE: 'accelDecode',
    IMMICH_FFMPEG_THREADS: 'threads',
    IMMICH_FFMPEG_GOP_SIZE: 'gopSize',
    IMMICH_FFMPEG_BFRAMES: 'bframes',
    IMMICH_FFMPEG_REFS: 'refs',
    IMMICH_FFMPEG_CQ_MODE: 'cqMode',
    IMMICH_FFMPEG_TEMPORAL_AQ: 'temporalAQ',
    IMMICH_FFMPEG_PREFERRED_HW_DEVICE: 'preferredHwDevice',
    IMMICH_FFMPEG_TONEMAP: 'tonemap',
};
const CONTAINERS = ['mov', 'mp4', 'ogg', 'webm', 'matroska', 'avi', 'mpegts'];
function oneOf(name, value, allowed) {
    const v = value.trim().toLowerCase();
    if (!allowed.includes(v))
        throw new UsageError(`${name}=${value} is not one of ${allowed.join(', ')}`);
    return v;
}
function listOf(name, value, allowed) {
    const items = value.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
    if (!items.length)
        throw new UsageError(`${name} must list at least one of ${allowed.join(', ')}`);
    for (const i of items)
        if (!allowed.includes(i))
            throw new UsageError(`${name}: ${i} is not one of ${allowed.join(', ')}`);
    return [...new Set(items)];
}
function intIn(name, value, min, max) {
    const n = Number(value.trim());
    if (!Number.isInteger(n) || n < min || n > max)
        throw new UsageError(`${name}=${value} must be an integer from ${min} to ${max}`);
    return n;
}
function bool(name, value) {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v))
        return true;
    if (['0', 'false', 'no', 'off'].includes(v))
        return false;
    throw new UsageError(`${name}=${value} must be true or false`);
}
/**
 * Transcoding settings from the merged environment (Config.raw). Unset variables keep Immich's
 * defaults; an invalid value is a usage error naming the variable. The target codecs are always
 * accepted, as in Immich's settings page.
 */
export function loadTranscodeSettings(raw, opts = {}) {
    const s = { ...DEFAULT_TRANSCODE };
    const get = (k) => {
        const v = raw[k];
        return v === undefined || v.trim() === '' ? undefined : v;
    };
    let v;
    if ((v = get('IMMICH_FFMPEG_TRANSCODE')))
        s.policy = oneOf('IMMICH_FFMPEG_TRANSCODE', v, TRANSCODE_POLICIES);
    if ((v = get('IMMICH_FFMPEG_TARGET_VIDEO_CODEC')))
        s.targetVideoCodec = oneOf('IMMICH_FFMPEG_TARGET_VIDEO_CODEC', v, VIDEO_CODECS);
    if ((v = get('IMMICH_FFMPEG_TARGET_AUDIO_CODEC')))
        s.targetAudioCodec = oneOf('IMMICH_FFMPEG_TARGET_AUDIO_CODEC', v, AUDIO_CODECS);
    if ((v = get('IMMICH_FFMPEG_ACCEPTED_VIDEO_CODECS')))
        s.acceptedVideoCodecs = listOf('IMMICH_FFMPEG_ACCEPTED_VIDEO_CODECS', v, VIDEO_CODECS);
    if ((v = get('IMMICH_FFMPEG_ACCEPTED_AUDIO_CODECS')))
        s.acceptedAudioCodecs = listOf('IMMICH_FFMPEG_ACCEPTED_AUDIO_CODECS', v, AUDIO_CODECS);
    if ((v = get('IMMICH_FFMPEG_ACCEPTED_CONTAINERS')))
        s.acceptedContainers = listOf('IMMICH_FFMPEG_ACCEPTED_CONTAINERS', v, CONTAINERS);
    if ((v = get('IMMICH_FFMPEG_TARGET_RESOLUTION'))) {
        const r = v.trim().toLowerCase().replace(/p$/, '');
        s.targetResolution = r === 'original' ? 'original' : intIn('IMMICH_FFMPEG_TARGET_RESOLUTION', r, 16, 8640);
    }
    if ((v = get('IMMICH_FFMPEG_CRF')))
        s.crf = intIn('IMMICH_FFMPEG_CRF', v, 0, 63);
    if ((v = get('IMMICH_FFMPEG_PRESET')))
        s.preset = oneOf('IMMICH_FFMPEG_PRESET', v, PRESETS);
    if ((v = get('IMMICH_FFMPEG_MAX_BITRATE'))) {
        if (!/^\d+\s*[kKmM]?$/.test(v.trim()))
            throw new UsageError(`IMMICH_FFMPEG_MAX_BITRATE=${v} must be a bitrate such as 0, 4500k or 5M`);
        s.maxBitrate = v.trim().replace(/\s+/g, '');
    }
    if ((v = get('IMMICH_FFMPEG_TWO_PASS')))
        s.twoPass = bool('IMMICH_FFMPEG_TWO_PASS', v);
    if ((v = get('IMMICH_FFMPEG_ACCEL')))
        s.accel = oneOf('IMMICH_FFMPEG_ACCEL', v, HW_ACCELS);
    if ((v = get('IMMICH_FFMPEG_ACCEL_DECODE')))
        s.accelDecode = bool('IMMICH_FFMPEG_ACCEL_DECODE', v);
    if ((v = get('IMMICH_FFMPEG_THREADS')))
        s.threads = intIn('IMMICH_FFMPEG_THREADS', v, 0, 256);
    if ((v = get('IMMICH_FFMPEG_GOP_SIZE')))
        s.gopSize = intIn('IMMICH_FFMPEG_GOP_SIZE', v, 0, 10000);
    if ((v = get('IMMICH_FFMPEG_BFRAMES')))
        s.bframes = intIn('IMMICH_FFMPEG_BFRAMES', v, -1, 16);
    if ((v = get('IMMICH_FFMPEG_REFS')))
        s.refs = intIn('IMMICH_FFMPEG_REFS', v, 0, 6);
    if ((v = get('IMMICH_FFMPEG_CQ_MODE')))
        s.cqMode = oneOf('IMMICH_FFMPEG_CQ_MODE', v, CQ_MODES);
    if ((v = get('IMMICH_FFMPEG_TEMPORAL_AQ')))
        s.temporalAQ = bool('IMMICH_FFMPEG_TEMPORAL_AQ', v);
    if ((v = get('IMMICH_FFMPEG_TONEMAP')))
        s.tonemap = oneOf('IMMICH_FFMPEG_TONEMAP', v, TONE_MAPPINGS);
    if ((v = get('IMMICH_FFMPEG_PREFERRED_HW_DEVICE'))) {
        const d = v.trim();
        if (d !== 'auto' && !/^(\/dev\/dri\/)?(renderD|card)\d+$/.test(d)) {
            throw new UsageError(`IMMICH_FFMPEG_PREFERRED_HW_DEVICE=${v} must be auto or a /dev/dri node such as /dev/dri/renderD128`);
        }
        s.preferredHwDevice = d;
    }
    if (!s.acceptedVideoCodecs.includes(s.targetVideoCodec))
        s.acceptedVideoCodecs = [s.targetVideoCodec, ...s.acceptedVideoCodecs];
    if (!s.acceptedAudioCodecs.includes(s.targetAudioCodec))
        s.acceptedAudioCodecs = [s.targetAudioCodec, ...s.acceptedAudioCodecs];
    assertAccelSupportsCodec(s);
    if ((s.accel === 'qsv' || s.accel === 'vaapi') && s.preferredHwDevice === 'auto') {
        s.preferredHwDevice = hwDevice(s, opts.driEntries ?? listDri());
    }
    return s;
}
function listDri() {
    try {
        return fs.readdirSync('/dev/dri');
    }
    catch {
        return [];
    }
}
/** One line for logs and `immich config`: what the video stage will do. */
export function describeTranscode(s) {
    if (s.policy === 'disabled')
        return 'transcoding disabled';
    const accel = s.accel === 'disabled' ? 'software' : `${s.accel}${s.accelDecode ? ' (hardware decoding)' : ''}, software fallback`;
    const res = s.targetResolution === 'original' ? 'original resolution' : `${s.targetResolution}p`;
    const rate = parseBitrateToBps(s.maxBitrate) > 0 ? `, max ${s.maxBitrate}` : '';
    return `${s.policy}: ${videoEncoder(s)} crf ${s.crf} preset ${s.preset}, ${res}${rate}${s.twoPass ? ', two-pass' : ''}, audio ${s.targetAudioCodec}; ${accel}`;
}
//# sourceMappingURL=transcode.js.map