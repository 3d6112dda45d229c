// Streaming SHA-1, the dedupe key (Immich uses SHA-1 of the original too).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { fsPath } from './raw-path.js';

export async function sha1File(file: string): Promise<string> {
  const hash = crypto.createHash('sha1');
  const stream = fs.createReadStream(fsPath(file), { highWaterMark: 1 << 20 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha1Bytes(data: Uint8Array): string {
  return crypto.createHash('sha1').update(data).digest('hex');
}
