// Encryption for backup repositories, after restic's design: a random master key (encryption key +
// id key) wrapped by a key derived from the passphrase with scrypt (memory-hard), AES-256-GCM for
// every stored byte, and object ids computed as an HMAC of the content checksum so that an encrypted
// repository does not reveal which files (by their well-known hashes) it holds.
import crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const CIPHER = 'aes-256-gcm';
const NONCE = 12;
const TAG = 16;
const MAGIC = Buffer.from('IMBK1', 'latin1');
/** Object framing: MAGIC | nonce | ciphertext | tag. */
export const ENCRYPTION_MAGIC = MAGIC;
export const NONCE_BYTES = NONCE;
/** Bytes an encrypted object has beyond its plaintext. */
export const ENCRYPTION_OVERHEAD = MAGIC.length + NONCE + TAG;

export interface KdfParams {
  name: 'scrypt';
  /** CPU/memory cost (2^17 → 128 MiB with r=8). */
  N: number;
  r: number;
  p: number;
  salt: string;
}

/** Stored in the repository config: how to turn the passphrase into the key that unwraps the master key. */
export interface KeyEnvelope {
  cipher: typeof CIPHER;
  kdf: KdfParams;
  /** nonce | ciphertext | tag of the 64-byte master key, base64. */
  wrapped: string;
}

export interface MasterKey {
  /** AES-256 key for object, snapshot and file-list encryption. */
  enc: Buffer;
  /** HMAC key for object ids. */
  id: Buffer;
}

export class WrongKeyError extends Error {}

export const DEFAULT_KDF = { N: 2 ** 17, r: 8, p: 1 } as const;

function derive(passphrase: string, kdf: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    crypto.scrypt(
      passphrase.normalize('NFC'),
      Buffer.from(kdf.salt, 'base64'),
      32,
      { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 32 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

function seal(key: Buffer, plain: Buffer): Buffer {
  const nonce = crypto.randomBytes(NONCE);
  const c = crypto.createCipheriv(CIPHER, key, nonce);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < NONCE + TAG) throw new WrongKeyError('sealed data too short');
  const d = crypto.createDecipheriv(CIPHER, key, sealed.subarray(0, NONCE));
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  return Buffer.concat([d.update(sealed.subarray(NONCE, sealed.length - TAG)), d.final()]);
}

/** A new random master key wrapped by `passphrase`. */
export async function createKey(passphrase: string, params: { N: number; r: number; p: number } = DEFAULT_KDF): Promise<{ envelope: KeyEnvelope; key: MasterKey }> {
  const master = crypto.randomBytes(64);
  const kdf: KdfParams = { name: 'scrypt', ...params, salt: crypto.randomBytes(32).toString('base64') };
  const wrapKey = await derive(passphrase, kdf);
  return {
    envelope: { cipher: CIPHER, kdf, wrapped: seal(wrapKey, master).toString('base64') },
    key: { enc: master.subarray(0, 32), id: master.subarray(32) },
  };
}

/** Unwrap the master key; a wrong passphrase fails authentication (WrongKeyError). */
export async function openKey(passphrase: string, envelope: KeyEnvelope): Promise<MasterKey> {
  if (envelope.cipher !== CIPHER || envelope.kdf?.name !== 'scrypt') throw new Error(`unsupported key format (${envelope.cipher}/${envelope.kdf?.name})`);
  const wrapKey = await derive(passphrase, envelope.kdf);
  let master: Buffer;
  try {
    master = open(wrapKey, Buffer.from(envelope.wrapped, 'base64'));
  } catch {
    throw new WrongKeyError('wrong passphrase');
  }
  if (master.length !== 64) throw new WrongKeyError('wrong passphrase');
  return { enc: master.subarray(0, 32), id: master.subarray(32) };
}

/** Object id in an encrypted repository: HMAC-SHA256 of the plaintext's SHA-1. */
export function objectIdFor(key: { id: Uint8Array }, sha1: string): string {
  return crypto.createHmac('sha256', key.id).update(sha1).digest('hex');
}

export function encryptBuffer(key: MasterKey, plain: Buffer): Buffer {
  return Buffer.concat([MAGIC, seal(key.enc, plain)]);
}

export function decryptBuffer(key: MasterKey, data: Buffer): Buffer {
  if (data.length < ENCRYPTION_OVERHEAD || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new WrongKeyError('not an encrypted object (bad header)');
  }
  try {
    return open(key.enc, data.subarray(MAGIC.length));
  } catch {
    throw new WrongKeyError('authentication failed (damaged data or wrong key)');
  }
}

/** Streaming encryption: header+nonce first, ciphertext, tag at the end. */
export function encryptStream(key: MasterKey): Transform {
  const nonce = crypto.randomBytes(NONCE);
  const c = crypto.createCipheriv(CIPHER, key.enc, nonce);
  let headerSent = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!headerSent) {
        headerSent = true;
        this.push(Buffer.concat([MAGIC, nonce]));
      }
      cb(null, c.update(chunk));
    },
    flush(cb: TransformCallback) {
      if (!headerSent) this.push(Buffer.concat([MAGIC, nonce]));
      const tail = c.final();
      cb(null, Buffer.concat([tail, c.getAuthTag()]));
    },
  });
}

/**
 * Streaming decryption. Plaintext is released before the tag is checked at the end, so callers must
 * treat the output as unverified until the stream finishes without error (restore writes to a
 * temporary file and only renames it afterwards).
 */
export function decryptStream(key: MasterKey): Transform {
  let head = Buffer.alloc(0);
  let d: crypto.DecipherGCM | undefined;
  let tail = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        if (!d) {
          head = Buffer.concat([head, chunk]);
          if (head.length < MAGIC.length + NONCE) return cb();
          if (!head.subarray(0, MAGIC.length).equals(MAGIC)) return cb(new WrongKeyError('not an encrypted object (bad header)'));
          d = crypto.createDecipheriv(CIPHER, key.enc, head.subarray(MAGIC.length, MAGIC.length + NONCE));
          chunk = head.subarray(MAGIC.length + NONCE);
        }
        // Hold back the last TAG bytes: they may be the authentication tag.
        const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
        if (buf.length <= TAG) {
          tail = Buffer.from(buf);
          return cb();
        }
        tail = Buffer.from(buf.subarray(buf.length - TAG));
        cb(null, d.update(buf.subarray(0, buf.length - TAG)));
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!d || tail.length !== TAG) return cb(new WrongKeyError('encrypted object is truncated'));
        d.setAuthTag(tail);
        cb(null, d.final());
      } catch {
        cb(new WrongKeyError('authentication failed (damaged data or wrong key)'));
      }
    },
  });
}
