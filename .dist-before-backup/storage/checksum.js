// Streaming SHA-1, the dedupe key (Immich uses SHA-1 of the original too).
import crypto from 'node:crypto';
import fs from 'node:fs';
export async function sha1File(file) {
    const hash = crypto.createHash('sha1');
    const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    for await (const chunk of stream)
        hash.update(chunk);
    return hash.digest('hex');
}
//# sourceMappingURL=checksum.js.map