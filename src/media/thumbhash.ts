// ThumbHash encoder: the `thumbhash` package's rgbaToThumbHash with the same arithmetic in the same
// order (bit-identical hashes, checked against the package in test/unit/thumbhash.test.ts), written
// for V8: the package creates its DCT helper as a new closure per image, so every photo starts it
// cold in the interpreter, and grows plain arrays pixel by pixel; that cost ~1.5 ms of the import's
// main thread per photo. Here the helper is a module function (its optimised code is kept between
// photos) over Float64Arrays with the cosine table per coefficient computed once.

const { PI, round, max, cos, abs } = Math;

interface Channel {
  dc: number;
  ac: number[];
  scale: number;
}

function encodeChannel(channel: Float64Array, w: number, h: number, nx: number, ny: number, fx: Float64Array): Channel {
  let dc = 0;
  let scale = 0;
  const ac: number[] = [];
  for (let cy = 0; cy < ny; cy++) {
    for (let cx = 0; cx * ny < nx * (ny - cy); cx++) {
      let f = 0;
      for (let x = 0; x < w; x++) fx[x] = cos((PI / w) * cx * (x + 0.5));
      for (let y = 0; y < h; y++) {
        const fy = cos((PI / h) * cy * (y + 0.5));
        const row = y * w;
        for (let x = 0; x < w; x++) f += channel[x + row]! * fx[x]! * fy;
      }
      f /= w * h;
      if (cx || cy) {
        ac.push(f);
        scale = max(scale, abs(f));
      } else {
        dc = f;
      }
    }
  }
  if (scale) for (let i = 0; i < ac.length; i++) ac[i] = 0.5 + (0.5 / scale) * ac[i]!;
  return { dc, ac, scale };
}

/** The ThumbHash of a w×h RGBA image (w, h ≤ 100; RGB not premultiplied). */
export function rgbaToThumbHash(w: number, h: number, rgba: Uint8Array): Uint8Array {
  if (w > 100 || h > 100) throw new Error(`${w}x${h} doesn't fit in 100x100`);
  const n = w * h;
  let avgR = 0;
  let avgG = 0;
  let avgB = 0;
  let avgA = 0;
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    const alpha = rgba[j + 3]! / 255;
    avgR += (alpha / 255) * rgba[j]!;
    avgG += (alpha / 255) * rgba[j + 1]!;
    avgB += (alpha / 255) * rgba[j + 2]!;
    avgA += alpha;
  }
  if (avgA) {
    avgR /= avgA;
    avgG /= avgA;
    avgB /= avgA;
  }

  const hasAlpha = avgA < n;
  const lLimit = hasAlpha ? 5 : 7; // fewer luminance bits when there is alpha
  const lx = max(1, round((lLimit * w) / max(w, h)));
  const ly = max(1, round((lLimit * h) / max(w, h)));
  const l = new Float64Array(n); // luminance
  const p = new Float64Array(n); // yellow - blue
  const q = new Float64Array(n); // red - green
  const a = new Float64Array(n); // alpha

  // RGBA to LPQA, composited atop the average colour.
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    const alpha = rgba[j + 3]! / 255;
    const r = avgR * (1 - alpha) + (alpha / 255) * rgba[j]!;
    const g = avgG * (1 - alpha) + (alpha / 255) * rgba[j + 1]!;
    const b = avgB * (1 - alpha) + (alpha / 255) * rgba[j + 2]!;
    l[i] = (r + g + b) / 3;
    p[i] = (r + g) / 2 - b;
    q[i] = r - g;
    a[i] = alpha;
  }

  const fx = new Float64Array(w);
  const L = encodeChannel(l, w, h, max(3, lx), max(3, ly), fx);
  const P = encodeChannel(p, w, h, 3, 3, fx);
  const Q = encodeChannel(q, w, h, 3, 3, fx);
  const A = hasAlpha ? encodeChannel(a, w, h, 5, 5, fx) : undefined;

  const isLandscape = w > h ? 1 : 0;
  const header24 =
    round(63 * L.dc) | (round(31.5 + 31.5 * P.dc) << 6) | (round(31.5 + 31.5 * Q.dc) << 12) | (round(31 * L.scale) << 18) | ((hasAlpha ? 1 : 0) << 23);
  const header16 = (isLandscape ? ly : lx) | (round(63 * P.scale) << 3) | (round(63 * Q.scale) << 9) | (isLandscape << 15);
  const hash = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8];
  const acStart = hasAlpha ? 6 : 5;
  let acIndex = 0;
  if (A) hash.push(round(15 * A.dc) | (round(15 * A.scale) << 4));
  for (const ac of A ? [L.ac, P.ac, Q.ac, A.ac] : [L.ac, P.ac, Q.ac]) {
    for (const f of ac) {
      const k = acStart + (acIndex >> 1);
      hash[k] = (hash[k] ?? 0) | (round(15 * f) << ((acIndex++ & 1) << 2));
    }
  }
  return new Uint8Array(hash);
}
