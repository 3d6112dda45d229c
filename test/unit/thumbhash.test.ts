import { describe, expect, it } from 'vitest';
import { rgbaToThumbHash as reference } from 'thumbhash';
import { rgbaToThumbHash } from '../../src/media/thumbhash.js';

/** Deterministic pseudo-random bytes (xorshift), so a failure reproduces. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = s & 255;
  }
  return out;
}

describe('thumbhash encoder', () => {
  it('gives the thumbhash package’s bytes for opaque, transparent, smooth and noisy images of every shape', () => {
    let cases = 0;
    for (const [w, h] of [[100, 75], [75, 100], [100, 100], [1, 1], [3, 100], [100, 2], [57, 43], [100, 67]] as const) {
      for (let seed = 1; seed <= 6; seed++) {
        const rgba = bytes(w * h * 4, seed * 7919 + w);
        if (seed % 2) for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255; // opaque, as photos are
        if (seed === 3) {
          // a smooth gradient: DCT terms near the rounding steps
          for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
            const j = (y * w + x) * 4;
            rgba[j] = (x * 255) / Math.max(1, w - 1); rgba[j + 1] = (y * 255) / Math.max(1, h - 1); rgba[j + 2] = 128;
          }
        }
        expect(Buffer.from(rgbaToThumbHash(w, h, rgba)).toString('base64')).toBe(Buffer.from(reference(w, h, rgba)).toString('base64'));
        cases++;
      }
    }
    expect(cases).toBe(48);
    expect(() => rgbaToThumbHash(101, 10, new Uint8Array(101 * 10 * 4))).toThrow(/doesn't fit/);
  });
});
