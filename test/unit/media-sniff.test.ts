// Content sniffing and the pure metadata mapping: magic bytes, dates/zones, GPS, ffprobe parsing.
import { ExifDateTime, type Tags } from 'exiftool-vendored';
import { describe, expect, it } from 'vitest';
import { resolveGps, resolveTakenAt, toMediaMetadata } from '../../src/media/metadata.js';
import { sniff } from '../../src/media/sniff.js';
import { ffmpegCause, parseProbe } from '../../src/media/video.js';
import { outsideSize } from '../../src/media/image.js';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const ftyp = (brand: string, ...compat: string[]) => {
  const body = bytes(brand, [0, 0, 0, 0], ...compat);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(8 + body.length);
  return Buffer.concat([size, bytes('ftyp'), body, Buffer.alloc(64)]);
};

describe('sniff', () => {
  it.each([
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe1]), 'image/jpeg', ''],
    ['png', bytes([0x89], 'PNG\r\n\x1a\n'), 'image/png', ''],
    ['webp', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '), 'image/webp', ''],
    ['heic', ftyp('heic', 'mif1', 'heic'), 'image/heic', ''],
    ['avif', ftyp('avif', 'mif1', 'avif'), 'image/avif', ''],
    ['cr3', ftyp('crx ', 'crx ', 'isom'), 'image/x-canon-cr3', ''],
    ['mov', ftyp('qt  ', 'qt  '), 'video/quicktime', ''],
    ['mp4', ftyp('isom', 'isom', 'mp41'), 'video/mp4', ''],
    ['jxl', bytes([0xff, 0x0a, 0, 0]), 'image/jxl', ''],
    ['cr2', bytes('II*\0', [16, 0, 0, 0], 'CR', [2, 0]), 'image/x-canon-cr2', 'cr2'],
    ['nef', bytes('MM\0*', [0, 0, 0, 8]), 'image/x-nikon-nef', 'nef'],
    ['tiff', bytes('II*\0', [8, 0, 0, 0]), 'image/tiff', 'tif'],
    ['mkv', bytes([0x1a, 0x45, 0xdf, 0xa3], 'B\x82\x88matroska'), 'video/x-matroska', ''],
    ['webm', bytes([0x1a, 0x45, 0xdf, 0xa3], 'B\x82\x84webm'), 'video/webm', ''],
  ])('%s by content', (format, head, mime, ext) => {
    expect(sniff(head, ext)).toMatchObject({ format, mime });
  });

  it('a JPEG named .nef is a JPEG; text is nothing', () => {
    expect(sniff(bytes([0xff, 0xd8, 0xff, 0xe0]), 'nef')?.format).toBe('jpeg');
    expect(sniff(bytes('hello world, not a photo'), 'jpg')).toBeUndefined();
  });
});

describe('dates and zones', () => {
  const dt = (s: string) => ExifDateTime.fromEXIF(s)!;
  const mtime = new Date('2020-01-01T00:00:00Z');

  it('prefers DateTimeOriginal over CreateDate and GPSDateTime, with its stated offset', () => {
    const r = resolveTakenAt({ CreateDate: dt('2023:04:04 04:00:00'), DateTimeOriginal: dt('2023:02:02 02:00:00+05:30'), GPSDateTime: dt('2023:08:08 08:00:00Z') } as Tags, mtime);
    expect(r).toMatchObject({ dateSource: 'DateTimeOriginal', offsetTime: '+05:30', localTakenAt: '2023-02-02T02:00:00.000' });
    expect(r.takenAt.toISOString()).toBe('2023-02-01T20:30:00.000Z');
  });

  it('no offset and no GPS: wall clock kept, no zone; implausible years are skipped', () => {
    const r = resolveTakenAt({ DateTimeOriginal: dt('2010:10:10 10:10:10') } as Tags, mtime);
    expect(r).toMatchObject({ timeZone: null, offsetTime: null, localTakenAt: '2010-10-10T10:10:10.000' });
    const far = resolveTakenAt({ CreateDate: dt('9999:05:04 04:12:48') } as Tags, mtime);
    expect(far.dateSource).toBe('file mtime');
    expect(far.takenAt).toEqual(mtime);
  });

  it('empty GPS tags are no position, never 0,0', () => {
    expect(resolveGps({ GPSLatitude: '', GPSLongitude: '' } as unknown as Tags)).toEqual({ latitude: null, longitude: null, altitude: null });
    expect(resolveGps({ GPSLatitude: 0, GPSLongitude: 0 } as Tags).latitude).toBeNull();
    expect(resolveGps({ GPSLatitude: 12.5, GPSLongitude: -3.25, GPSAltitude: 10, GPSAltitudeRef: 'Below Sea Level' } as unknown as Tags)).toEqual({ latitude: 12.5, longitude: -3.25, altitude: -10 });
  });

  it('orientation 5-8 swaps the displayed size', () => {
    const m = toMediaMetadata({ ImageWidth: 4000, ImageHeight: 3000, Orientation: 6 } as Tags, { type: 'image', mtime });
    expect([m.width, m.height, m.exifImageWidth, m.exifImageHeight]).toEqual([3000, 4000, 4000, 3000]);
  });
});

describe('ffprobe parsing', () => {
  it('reads streams, fps and display-matrix rotation (clockwise), ignoring cover art', () => {
    const p = parseProbe({
      format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '4.002', bit_rate: '800000' },
      streams: [
        { index: 0, codec_type: 'video', codec_name: 'h264', width: 568, height: 320, avg_frame_rate: '30000/1001', side_data_list: [{ rotation: -90 }] },
        { index: 1, codec_type: 'audio', codec_name: 'aac', channels: 2 },
        { index: 2, codec_type: 'video', codec_name: 'mjpeg', width: 100, height: 100, disposition: { attached_pic: 1 } },
      ],
    });
    expect(p.videoStreams).toHaveLength(1);
    expect(p.videoStreams[0]).toMatchObject({ codec: 'h264', rotation: 90 });
    expect(p.videoStreams[0]!.fps).toBeCloseTo(29.97, 2);
    expect(p.durationSec).toBeCloseTo(4.002, 3);
    const m = toMediaMetadata({} as Tags, { type: 'video', mtime: new Date(), probe: p });
    expect([m.width, m.height, m.rotation, m.audioCodec]).toEqual([320, 568, 90, 'aac']);
  });

  it('ffmpeg errors become one line without addresses or the file name', () => {
    const f = '/x/a.mp4';
    expect(ffmpegCause(`[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d] moov atom not found\n${f}: Invalid data found when processing input\n`, f))
      .toBe('moov atom not found; Invalid data found when processing input');
  });
});

describe('resize rule', () => {
  it('shorter side to the target, never enlarged', () => {
    expect(outsideSize(4000, 3000, 1440)).toEqual({ width: 1920, height: 1440 });
    expect(outsideSize(3000, 4000, 250)).toEqual({ width: 250, height: 333 });
    expect(outsideSize(400, 300, 1440)).toEqual({ width: 400, height: 300 });
  });
});
