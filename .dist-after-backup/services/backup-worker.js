// Worker thread for `immich backup`: copies one file into the repository's tmp/ and hashes it.
// Unencrypted: a kernel copy (copy_file_range, as cp does), then the SHA-1 of the copy as written, so
// the object's id is the checksum of the bytes actually stored. Encrypted: read, hash, encrypt and
// write in 1 MiB chunks. Hashing is CPU-bound, so a pool of these uses every core.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { CIPHER, ENCRYPTION_MAGIC, NONCE_BYTES } from '../crypto/backup-crypto.js';
function writeAll(fd, buf) {
    let off = 0;
    while (off < buf.length)
        off += fs.writeSync(fd, buf, off, buf.length - off);
    return buf.length;
}
/** Kernel copy into tmp, then hash what landed there. */
function copyThenHash(task, buf) {
    fs.copyFileSync(task.src, task.dst, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(task.dst, 0o600);
    const fd = fs.openSync(task.dst, 'r');
    try {
        const hash = crypto.createHash('sha1');
        let size = 0;
        for (;;) {
            const n = fs.readSync(fd, buf, 0, buf.length, null);
            if (n === 0)
                break;
            hash.update(buf.subarray(0, n));
            size += n;
        }
        return { id: task.id, sha1: hash.digest('hex'), size, stored: size };
    }
    finally {
        fs.closeSync(fd);
    }
}
export function copyHashSync(task, buf) {
    if (!task.key)
        return copyThenHash(task, buf);
    const fdIn = fs.openSync(task.src, 'r');
    let fdOut;
    try {
        fdOut = fs.openSync(task.dst, 'wx', 0o600);
        const hash = crypto.createHash('sha1');
        let cipher;
        let stored = 0;
        if (task.key) {
            const nonce = crypto.randomBytes(NONCE_BYTES);
            cipher = crypto.createCipheriv(CIPHER, Buffer.from(task.key), nonce);
            stored += writeAll(fdOut, Buffer.concat([ENCRYPTION_MAGIC, nonce]));
        }
        let size = 0;
        for (;;) {
            const n = fs.readSync(fdIn, buf, 0, buf.length, null);
            if (n === 0)
                break;
            const chunk = buf.subarray(0, n);
            hash.update(chunk);
            size += n;
            stored += writeAll(fdOut, cipher ? cipher.update(chunk) : chunk);
        }
        if (cipher)
            stored += writeAll(fdOut, Buffer.concat([cipher.final(), cipher.getAuthTag()]));
        return { id: task.id, sha1: hash.digest('hex'), size, stored };
    }
    finally {
        fs.closeSync(fdIn);
        if (fdOut !== undefined)
            fs.closeSync(fdOut);
    }
}
if (parentPort) {
    // 1 MiB: stays in cache between the read, the hash and the write (4 MiB measured 2x slower).
    const buf = Buffer.allocUnsafe(1 << 20);
    const port = parentPort;
    port.on('message', (task) => {
        try {
            port.postMessage(copyHashSync(task, buf));
        }
        catch (err) {
            const e = err;
            port.postMessage({ id: task.id, error: e.message, code: e.code });
        }
    });
}
//# sourceMappingURL=backup-worker.js.map