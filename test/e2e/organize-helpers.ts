// Shared by the organize suites: small JPEGs with camera EXIF, and XMP sidecars read back with the
// exiftool that exiftool-vendored ships (the same binary the CLI writes them with).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { exiftoolPath } from 'exiftool-vendored';

export const exiftool = await exiftoolPath();

export const readXmp = (file: string): Record<string, unknown> => JSON.parse(execFileSync(exiftool, ['-j', '-n', '-G1', '-a', file], { encoding: 'utf8' }))[0];

export async function jpeg(file: string, color: [number, number, number], date: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: color[0], g: color[1], b: color[2] } } })
    .withExif({ IFD0: { Make: 'Canon', Model: 'Canon EOS 7D' }, IFD2: { DateTimeOriginal: date } })
    .jpeg()
    .toFile(file);
}
