// 5-point face alignment: a least-squares similarity transform (Umeyama, no reflection) from the
// detected landmarks onto the ArcFace 112x112 template, then a bilinear inverse warp of the RGB pixels.

/** ArcFace template: left eye, right eye, nose tip, left and right mouth corners, in a 112x112 crop. */
export const ARCFACE_TEMPLATE: ReadonlyArray<readonly [number, number]> = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** x' = a·x − b·y + tx, y' = b·x + a·y + ty (scale·rotation + translation). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/**
 * Umeyama's least-squares similarity from `src` points to `dst` points (2-D). For 2-D the rotation
 * that minimises the error has a closed form, so no SVD is needed and reflections cannot occur.
 */
export function umeyama(src: ReadonlyArray<readonly [number, number]>, dst: ReadonlyArray<readonly [number, number]>): Similarity {
  const n = src.length;
  if (n !== dst.length || n < 2) throw new Error('umeyama needs two lists of at least 2 matching points');
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i]![0]; sy += src[i]![1]; dx += dst[i]![0]; dy += dst[i]![1];
  }
  sx /= n; sy /= n; dx /= n; dy /= n;
  let dot = 0, cross = 0, varS = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i]![0] - sx, py = src[i]![1] - sy;
    const qx = dst[i]![0] - dx, qy = dst[i]![1] - dy;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    varS += px * px + py * py;
  }
  if (varS === 0) throw new Error('umeyama: source points are all the same');
  const a = dot / varS;
  const b = cross / varS;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

export function applySimilarity(t: Similarity, [x, y]: readonly [number, number]): [number, number] {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d, b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** bytes per pixel (3 for RGB, 4 for RGBA) */
  channels: number;
}

/**
 * Warp the face described by `landmarks` (5 points in image pixels) into a size×size RGB crop aligned
 * to the ArcFace template (scaled when size ≠ 112). Pixels outside the image are black.
 */
export function alignFace(img: RgbImage, landmarks: ReadonlyArray<readonly [number, number]>, size = 112): Uint8Array {
  const k = size / 112;
  const dst = ARCFACE_TEMPLATE.map(([x, y]) => [x * k, y * k] as const);
  const inv = invertSimilarity(umeyama(landmarks, dst));
  const out = new Uint8Array(size * size * 3);
  const { data, width, height, channels } = img;
  const maxX = width - 1, maxY = height - 1;
  for (let y = 0; y < size; y++) {
    // OpenCV warpAffine convention: destination pixel (x, y) samples source inv·(x, y)
    let sx = -inv.b * y + inv.tx;
    let sy = inv.a * y + inv.ty;
    for (let x = 0; x < size; x++, sx += inv.a, sy += inv.b) {
      const o = (y * size + x) * 3;
      if (sx < -1 || sy < -1 || sx > width || sy > height) continue; // black outside
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      if (x0 >= 0 && y0 >= 0 && x0 < maxX && y0 < maxY) {
        // All four taps inside (almost every pixel of a face): no clamping.
        const w00 = (1 - fx) * (1 - fy), w10 = fx * (1 - fy), w01 = (1 - fx) * fy, w11 = fx * fy;
        const i00 = (y0 * width + x0) * channels, i01 = i00 + width * channels;
        for (let c = 0; c < 3; c++) {
          out[o + c] = Math.round(w00 * data[i00 + c]! + w10 * data[i00 + channels + c]! + w01 * data[i01 + c]! + w11 * data[i01 + channels + c]!);
        }
        continue;
      }
      // clamp the 4 taps; taps outside the image weigh in as black
      const in00 = x0 >= 0 && y0 >= 0 && x0 <= maxX && y0 <= maxY;
      const in10 = x0 + 1 >= 0 && y0 >= 0 && x0 + 1 <= maxX && y0 <= maxY;
      const in01 = x0 >= 0 && y0 + 1 >= 0 && x0 <= maxX && y0 + 1 <= maxY;
      const in11 = x0 + 1 >= 0 && y0 + 1 >= 0 && x0 + 1 <= maxX && y0 + 1 <= maxY;
      const w00 = in00 ? (1 - fx) * (1 - fy) : 0, w10 = in10 ? fx * (1 - fy) : 0;
      const w01 = in01 ? (1 - fx) * fy : 0, w11 = in11 ? fx * fy : 0;
      const i00 = in00 ? (y0 * width + x0) * channels : 0, i10 = in10 ? (y0 * width + x0 + 1) * channels : 0;
      const i01 = in01 ? ((y0 + 1) * width + x0) * channels : 0, i11 = in11 ? ((y0 + 1) * width + x0 + 1) * channels : 0;
      for (let c = 0; c < 3; c++) {
        out[o + c] = Math.round(w00 * data[i00 + c]! + w10 * data[i10 + c]! + w01 * data[i01 + c]! + w11 * data[i11 + c]!);
      }
    }
  }
  return out;
}
