// Photos with text unlike the corpus ones, made on the spot (sharp renders SVG text over a real
// corpus photo or a generated texture), each with its own labels: street signs filling the frame,
// a rotated shop sign, packaging sheared in perspective, a book cover, small text in a 4000 px
// photo, a Turkish sign. Used by test/integration/ocr-unseen.test.ts and bench/search/ocr-quality.mjs.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A corpus photo as the backdrop (blurred a little, as a real background is out of focus), or a texture. */
export async function backdrop(corpus, rel, width, height, fallback) {
  const file = corpus && rel ? path.join(corpus, rel) : undefined;
  if (file && fs.existsSync(file)) {
    return sharp(file).rotate().resize(width, height, { fit: 'cover' }).blur(2).removeAlpha().png().toBuffer();
  }
  // Noise over a gradient: a stand-in for a wall or a street.
  const noise = Buffer.alloc(width * height * 3);
  let seed = 7;
  for (let i = 0; i < noise.length; i++) noise[i] = (seed = (seed * 1103515245 + 12345) >>> 0) % 60;
  const grad = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${fallback[0]}"/><stop offset="1" stop-color="${fallback[1]}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`;
  const n = await sharp(noise, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return sharp(Buffer.from(grad)).composite([{ input: n, blend: 'overlay' }]).png().toBuffer();
}

/** Text lines as SVG: [text, x, y, size, fill, weight?, family?]. */
const texts = (lines) =>
  lines
    .map(([t, x, y, size, fill, weight = 'bold', family = 'DejaVu Sans', anchor = 'middle']) =>
      `<text x="${x}" y="${y}" font-family="${family}" font-size="${size}" font-weight="${weight}" fill="${fill}" text-anchor="${anchor}">${esc(t)}</text>`)
    .join('');

/**
 * Each case: file name, what it stands for, keywords a search should find, the full text (for the
 * character error rate), and how to draw it.
 */
export const OCR_CASES = [
  {
    file: 'street-sign.jpg',
    kind: 'street sign filling the frame (text 22% of the height)',
    text: 'MARKET STREET',
    keywords: ['MARKET', 'STREET'],
    width: 1800, height: 1200, bg: ['objects/el_torcal_rocks.jpg', ['#708090', '#203040']],
    svg: (w, h) => `<rect x="60" y="330" width="${w - 120}" height="520" rx="30" fill="#0b6b3a" stroke="#ffffff" stroke-width="14"/>${texts([['MARKET', w / 2, 560, 240, '#ffffff'], ['STREET', w / 2, 800, 200, '#ffffff']])}`,
  },
  {
    file: 'stop.jpg',
    kind: 'one huge word, letters 45% of the frame',
    text: 'STOP',
    keywords: ['STOP'],
    width: 1400, height: 1000, bg: ['objects/horses.jpg', ['#556b2f', '#2f4f4f']],
    svg: (w, h) => `<rect x="80" y="120" width="${w - 160}" height="${h - 240}" rx="60" fill="#c8102e"/>${texts([['STOP', w / 2, h / 2 + 160, 460, '#ffffff']])}`,
  },
  {
    file: 'shop-front.jpg',
    kind: 'shop sign, rotated 8 degrees, two sizes',
    text: 'CORNER BAKERY\nFRESH BREAD DAILY',
    keywords: ['CORNER', 'BAKERY', 'FRESH BREAD'],
    width: 1600, height: 1200, bg: ['objects/dog_bicycle_truck.jpg', ['#a0522d', '#deb887']],
    svg: (w, h) => `<g transform="rotate(-8 ${w / 2} ${h / 2})"><rect x="120" y="330" width="${w - 240}" height="420" fill="#1d2b53"/>${texts([['CORNER BAKERY', w / 2, 500, 130, '#ffd166'], ['FRESH BREAD DAILY', w / 2, 660, 80, '#ffffff', 'normal']])}</g>`,
  },
  {
    file: 'packaging.jpg',
    kind: 'cereal box front, sheared as seen at an angle',
    text: 'ORGANIC OATS\nWHOLE GRAIN\nNET WT 500g',
    keywords: ['ORGANIC', 'OATS', 'WHOLE GRAIN', '500g'],
    width: 1400, height: 1400, bg: [undefined, ['#f4e3c1', '#c9a66b']],
    svg: (w, h) => `<g transform="translate(180 150) skewY(10) skewX(-6)"><rect width="1000" height="1000" fill="#f7f1e1" stroke="#7a5230" stroke-width="10"/>${texts([['ORGANIC', 500, 230, 150, '#2e7d32'], ['OATS', 500, 420, 170, '#5d4037'], ['WHOLE GRAIN', 500, 600, 90, '#7a5230', 'normal'], ['NET WT 500g', 500, 880, 70, '#333333', 'normal']])}</g>`,
  },
  {
    file: 'book-cover.jpg',
    kind: 'book cover on a table, serif title, rotated 4 degrees',
    text: 'THE SILENT RIVER\nMARIA LOPEZ',
    keywords: ['SILENT', 'RIVER', 'MARIA LOPEZ'],
    width: 1500, height: 1500, bg: ['objects/coffee.png', ['#3e2723', '#795548']],
    svg: (w, h) => `<g transform="rotate(4 ${w / 2} ${h / 2})"><rect x="330" y="150" width="840" height="1200" fill="#102a43"/><rect x="380" y="500" width="740" height="6" fill="#f0b429"/>${texts([['THE SILENT', w / 2, 400, 110, '#f0f4f8', 'bold', 'DejaVu Serif'], ['RIVER', w / 2, 660, 150, '#f0b429', 'bold', 'DejaVu Serif'], ['MARIA LOPEZ', w / 2, 1200, 70, '#d9e2ec', 'normal', 'DejaVu Serif']])}</g>`,
  },
  {
    file: 'platform-4000.jpg',
    kind: 'small sign in a 4000 px photo (letters 45 px: 16 px in the 1440 px preview)',
    text: 'PLATFORM 7\nTICKETS',
    keywords: ['PLATFORM', 'TICKETS'],
    width: 4000, height: 3000, bg: ['objects/person_dog_horse.jpg', ['#607d8b', '#263238']],
    svg: () => `<rect x="2600" y="700" width="520" height="150" fill="#003366"/>${texts([['PLATFORM 7', 2860, 795, 62, '#ffffff']])}<rect x="900" y="2100" width="380" height="110" fill="#ffcc00"/>${texts([['TICKETS', 1090, 2175, 56, '#111111']])}`,
  },
  {
    file: 'turkish-sign.jpg',
    kind: 'Turkish sign (ç ş ı İ: not in the recogniser\'s dictionary, read as c s i I)',
    text: 'ECZANE\nÇIKIŞ',
    keywords: ['ECZANE', 'ÇIKIŞ'],
    width: 1600, height: 1100, bg: ['objects/prairie_falcon.jpg', ['#455a64', '#90a4ae']],
    svg: (w) => `<rect x="200" y="150" width="${w - 400}" height="360" fill="#d32f2f"/>${texts([['ECZANE', w / 2, 400, 200, '#ffffff']])}<rect x="520" y="650" width="560" height="260" fill="#2e7d32"/>${texts([['ÇIKIŞ', w / 2, 840, 150, '#ffffff']])}`,
  },
  {
    file: 'exit-tilted.jpg',
    kind: 'sign rotated 28 degrees',
    text: 'EMERGENCY EXIT',
    keywords: ['EMERGENCY', 'EXIT'],
    width: 1600, height: 1200, bg: ['objects/cyclamen.jpg', ['#37474f', '#78909c']],
    svg: (w, h) => `<g transform="rotate(-28 ${w / 2} ${h / 2})"><rect x="200" y="470" width="${w - 400}" height="260" fill="#00843d"/>${texts([['EMERGENCY EXIT', w / 2, 640, 120, '#ffffff']])}</g>`,
  },
  {
    file: 'close-up.jpg',
    kind: 'close-up: letters 60% of the frame height',
    text: 'OPEN',
    keywords: ['OPEN'],
    width: 2400, height: 900, bg: [undefined, ['#b71c1c', '#7f0000']],
    svg: (w, h) => texts([['OPEN', w / 2, h * 0.8, h * 0.8, '#fff59d']]),
  },
  {
    file: 'poster-small-text.jpg',
    kind: 'poster in a 4000 px photo, letters 20 px high (7 px in the preview, 4 px at 960)',
    text: 'JAZZ NIGHT\nFRIDAY 9PM',
    keywords: ['JAZZ', 'NIGHT', 'FRIDAY'],
    width: 4000, height: 3000, bg: ['objects/el_torcal_rocks.jpg', ['#4e342e', '#8d6e63']],
    svg: () => `<rect x="1760" y="1330" width="260" height="110" fill="#fafafa"/>${texts([['JAZZ NIGHT', 1890, 1378, 28, '#111111'], ['FRIDAY 9PM', 1890, 1420, 24, '#c62828']])}`,
  },
  {
    file: 'low-contrast.jpg',
    kind: 'grey lettering on a concrete wall',
    text: 'LOADING DOCK',
    keywords: ['LOADING', 'DOCK'],
    width: 1600, height: 1000, bg: [undefined, ['#9e9e9e', '#bdbdbd']],
    svg: (w) => texts([['LOADING DOCK', w / 2, 560, 150, '#6f6f6f']]),
  },
];

/** Write every case (or those named in `only`) into `dir` (JPEG, quality 90); returns [{ path, ...case }]. */
export async function makeOcrPhotos(dir, corpus, only) {
  fs.mkdirSync(dir, { recursive: true });
  const out = [];
  for (const c of OCR_CASES.filter((k) => !only || only.includes(k.file))) {
    const base = await backdrop(corpus, c.bg[0], c.width, c.height, c.bg[1]);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${c.width}" height="${c.height}">${c.svg(c.width, c.height)}</svg>`;
    const file = path.join(dir, c.file);
    await sharp(base).composite([{ input: Buffer.from(svg) }]).jpeg({ quality: 90 }).toFile(file);
    out.push({ ...c, path: file });
  }
  return out;
}

/** Case- and accent-insensitive, spaces ignored: how search folds text (immich_fold), roughly. */
export const foldKey = (s) => s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/ı/g, 'i').replace(/ß/g, 'ss').toLowerCase().replace(/\s+/g, '');

/** Levenshtein distance over code points. */
export function editDistance(a, b) {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length];
}
