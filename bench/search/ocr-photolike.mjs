// Photo-like scene text, generated and seeded (issue 21): text rendered with the fonts on this machine
// onto corpus photos (or textures), then put through what a camera does to it: perspective, rotation,
// blur, sensor noise, low light, JPEG compression, 4000 px originals whose 1440 px preview makes small
// text smaller still. Several scripts, each case with its own labels. The cleaner first set lives in
// ocr-photos.mjs; bench/search/ocr-quality.mjs reports both, test/integration/ocr-photolike.test.ts
// reads a handful. Deterministic: the same seed gives the same bytes (sharp and fonts being equal).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { backdrop } from './ocr-photos.mjs';

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** mulberry32: a small seeded generator, so every run draws the same noise. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fonts per script; a case whose font is missing here is skipped (and reported), never drawn as boxes. */
const FONTS = {
  latin: { family: 'DejaVu Sans', lang: 'en' },
  serif: { family: 'DejaVu Serif', lang: 'en' },
  cyrillic: { family: 'DejaVu Sans', lang: 'ru' },
  greek: { family: 'DejaVu Sans', lang: 'el' },
  arabic: { family: 'DejaVu Sans', lang: 'ar' },
  cjk: { family: 'WenQuanYi Micro Hei', lang: 'ja' },
  hangul: { family: 'WenQuanYi Micro Hei', lang: 'ko' },
};

const fontCache = new Map();
/** Whether fontconfig has a font of that family covering that language (fonts-wqy-microhei for CJK; .ci/run installs it). */
export function fontAvailable(font) {
  const key = `${font.family}:${font.lang}`;
  if (!fontCache.has(key)) {
    let ok = false;
    try {
      ok = execFileSync('fc-list', [`${font.family}:lang=${font.lang}`, 'family'], { encoding: 'utf8' }).trim().length > 0;
    } catch {
      ok = false;
    }
    fontCache.set(key, ok);
  }
  return fontCache.get(key);
}

/** Text lines: [text, x, y, size, fill, font = latin, weight = bold]. */
const texts = (lines) =>
  lines
    .map(([t, x, y, size, fill, font = FONTS.latin, weight = 'bold']) =>
      `<text x="${x}" y="${y}" font-family="${font.family}" font-size="${size}" font-weight="${weight}" fill="${fill}" text-anchor="middle">${esc(t)}</text>`)
    .join('');

/**
 * A case: a sign (an SVG `sw` x `sh`) placed in a `width` x `height` photo at the quadrilateral `quad`
 * (corners top-left, top-right, bottom-right, bottom-left: a perspective view), then `fx`:
 * blur (sigma), light (brightness factor), noise (std dev in levels), jpeg (quality).
 * category and script label the per-group figures; keywords are what a search should find.
 */
export const PHOTOLIKE_CASES = [
  {
    file: 'pl-street-sign-4000.jpg', category: 'street sign (a third of the frame)', script: 'latin',
    text: 'KING STREET', keywords: ['KING', 'STREET'],
    width: 4000, height: 3000, bg: 'objects/el_torcal_rocks.jpg',
    sw: 3000, sh: 1000, sign: (w, h) => `<rect width="${w}" height="${h}" rx="60" fill="#0b6b3a" stroke="#fff" stroke-width="30"/>${texts([['KING STREET', w / 2, h * 0.66, 340, '#fff']])}`,
    quad: [[450, 900], [3600, 1050], [3560, 2000], [420, 2050]], fx: { jpeg: 70, noise: 4 },
  },
  {
    file: 'pl-street-sign-tr.jpg', category: 'street sign (a third of the frame)', script: 'turkish',
    text: 'İSTİKLAL CADDESİ\nBEYOĞLU', keywords: ['İSTİKLAL', 'CADDESİ', 'BEYOĞLU'],
    width: 3000, height: 2000, bg: 'objects/horses.jpg',
    sw: 2400, sh: 900, sign: (w, h) => `<rect width="${w}" height="${h}" rx="40" fill="#1f3c88" stroke="#fff" stroke-width="24"/>${texts([['İSTİKLAL CADDESİ', w / 2, 420, 200, '#fff'], ['BEYOĞLU', w / 2, 760, 220, '#ffd166']])}`,
    quad: [[300, 500], [2700, 420], [2720, 1380], [280, 1300]], fx: { jpeg: 75, noise: 3, blur: 1.2 },
  },
  {
    file: 'pl-shop-tr.jpg', category: 'shop front (small text, busy background)', script: 'turkish',
    text: 'ŞEKERCİ\nÇİÇEKÇİ DÜKKANI', keywords: ['ŞEKERCİ', 'ÇİÇEKÇİ', 'DÜKKANI'],
    width: 2400, height: 1800, bg: 'objects/dog_bicycle_truck.jpg',
    sw: 1000, sh: 380, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#7b1e1e"/>${texts([['ŞEKERCİ', w / 2, 170, 130, '#fff3c4'], ['ÇİÇEKÇİ DÜKKANI', w / 2, 320, 90, '#ffffff']])}`,
    quad: [[1200, 300], [2180, 360], [2160, 720], [1190, 690]], fx: { jpeg: 60, noise: 5 },
  },
  {
    file: 'pl-shop-de.jpg', category: 'shop front (small text, busy background)', script: 'german',
    text: 'BÄCKEREI MÜLLER\nFRISCHE BRÖTCHEN', keywords: ['BÄCKEREI', 'MÜLLER', 'BRÖTCHEN'],
    width: 2400, height: 1800, bg: 'objects/person_dog_horse.jpg',
    sw: 1200, sh: 360, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#2d2d2d"/>${texts([['BÄCKEREI MÜLLER', w / 2, 160, 92, '#f0c040', FONTS.serif], ['FRISCHE BRÖTCHEN', w / 2, 300, 80, '#ffffff']])}`,
    quad: [[200, 250], [1300, 180], [1320, 520], [210, 560]], fx: { jpeg: 55, noise: 4, blur: 0.8 },
  },
  {
    file: 'pl-shop-fr.jpg', category: 'shop front (small text, busy background)', script: 'french',
    text: 'BOULANGERIE\nPÂTISSERIE FERMÉ LE LUNDI', keywords: ['BOULANGERIE', 'PÂTISSERIE', 'FERMÉ', 'LUNDI'],
    width: 2400, height: 1600, bg: 'objects/coffee.png',
    sw: 1400, sh: 420, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#0d3b66"/>${texts([['BOULANGERIE', w / 2, 180, 130, '#faf0ca', FONTS.serif], ['PÂTISSERIE · FERMÉ LE LUNDI', w / 2, 340, 72, '#ffffff']])}`,
    quad: [[500, 900], [1900, 950], [1880, 1360], [480, 1310]], fx: { jpeg: 60, noise: 4 },
  },
  {
    file: 'pl-pharmacy-ru.jpg', category: 'shop front (small text, busy background)', script: 'cyrillic',
    text: 'АПТЕКА\nВЫХОД', keywords: ['АПТЕКА', 'ВЫХОД'],
    width: 2400, height: 1800, bg: 'objects/prairie_falcon.jpg',
    sw: 1100, sh: 560, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#0a7d32"/>${texts([['АПТЕКА', w / 2, 250, 210, '#ffffff', FONTS.cyrillic], ['ВЫХОД', w / 2, 480, 150, '#ffe066', FONTS.cyrillic]])}`,
    quad: [[650, 400], [1750, 460], [1730, 1020], [640, 960]], fx: { jpeg: 70, noise: 3 },
  },
  {
    file: 'pl-street-ru.jpg', category: 'street sign (a third of the frame)', script: 'cyrillic',
    text: 'УЛИЦА ПУШКИНА', keywords: ['УЛИЦА', 'ПУШКИНА'],
    width: 3000, height: 2000, bg: 'objects/el_torcal_rocks.jpg',
    sw: 2600, sh: 700, sign: (w, h) => `<rect width="${w}" height="${h}" rx="30" fill="#1b4f9c" stroke="#fff" stroke-width="20"/>${texts([['УЛИЦА ПУШКИНА', w / 2, h * 0.64, 220, '#fff', FONTS.cyrillic]])}`,
    quad: [[200, 600], [2800, 700], [2780, 1380], [180, 1320]], fx: { jpeg: 75, noise: 3 },
  },
  {
    file: 'pl-pharmacy-el.jpg', category: 'shop front (small text, busy background)', script: 'greek',
    text: 'ΦΑΡΜΑΚΕΙΟ\nΕΞΟΔΟΣ', keywords: ['ΦΑΡΜΑΚΕΙΟ', 'ΕΞΟΔΟΣ'],
    width: 2400, height: 1800, bg: 'objects/cyclamen.jpg',
    sw: 1300, sh: 560, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#006b3c"/>${texts([['ΦΑΡΜΑΚΕΙΟ', w / 2, 250, 170, '#ffffff', FONTS.greek], ['ΕΞΟΔΟΣ', w / 2, 480, 150, '#ffffff', FONTS.greek]])}`,
    quad: [[500, 500], [1800, 540], [1790, 1100], [490, 1060]], fx: { jpeg: 65, noise: 3 },
  },
  {
    file: 'pl-station-ja.jpg', category: 'street sign (a third of the frame)', script: 'japanese', font: FONTS.cjk,
    text: 'きっぷうりば\nラーメン 出口', keywords: ['きっぷうりば', 'ラーメン', '出口'],
    width: 3000, height: 2000, bg: 'objects/dog_bicycle_truck.jpg',
    sw: 2200, sh: 900, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#f5f5f5" stroke="#333" stroke-width="16"/>${texts([['きっぷうりば', w / 2, 380, 300, '#003f88', FONTS.cjk], ['ラーメン 出口', w / 2, 760, 260, '#c1121f', FONTS.cjk]])}`,
    quad: [[400, 450], [2600, 520], [2580, 1450], [390, 1380]], fx: { jpeg: 70, noise: 3 },
  },
  {
    file: 'pl-shop-zh.jpg', category: 'shop front (small text, busy background)', script: 'chinese', font: FONTS.cjk,
    text: '北京路药店\n营业时间', keywords: ['北京路', '药店', '营业时间'],
    width: 2400, height: 1800, bg: 'objects/person_dog_horse.jpg',
    sw: 1400, sh: 520, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#b30000"/>${texts([['北京路药店', w / 2, 250, 200, '#ffd700', FONTS.cjk], ['营业时间', w / 2, 450, 130, '#ffffff', FONTS.cjk]])}`,
    quad: [[500, 300], [1900, 260], [1920, 780], [510, 800]], fx: { jpeg: 65, noise: 3 },
  },
  {
    file: 'pl-station-ko.jpg', category: 'street sign (a third of the frame)', script: 'korean', font: FONTS.hangul,
    text: '서울역\n출구 약국', keywords: ['서울역', '출구', '약국'],
    width: 3000, height: 2000, bg: 'objects/horses.jpg',
    sw: 2000, sh: 900, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#00529b"/>${texts([['서울역', w / 2, 400, 320, '#ffffff', FONTS.hangul], ['출구 약국', w / 2, 780, 250, '#ffdd00', FONTS.hangul]])}`,
    quad: [[500, 500], [2500, 450], [2520, 1350], [520, 1420]], fx: { jpeg: 70, noise: 3 },
  },
  {
    file: 'pl-shop-ar.jpg', category: 'shop front (small text, busy background)', script: 'arabic', font: FONTS.arabic,
    text: 'صيدلية\nمخرج', keywords: ['صيدلية', 'مخرج'],
    width: 2400, height: 1800, bg: 'objects/prairie_falcon.jpg',
    sw: 1100, sh: 600, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#0a7d32"/>${texts([['صيدلية', w / 2, 280, 230, '#ffffff', FONTS.arabic], ['مخرج', w / 2, 520, 170, '#ffe066', FONTS.arabic]])}`,
    quad: [[650, 400], [1750, 440], [1740, 1040], [640, 1000]], fx: { jpeg: 70, noise: 3 },
  },
  {
    file: 'pl-packaging-4000.jpg', category: 'packaging (small, at an angle, 4000 px)', script: 'latin',
    text: 'SEA SALT CRISPS\nHAND COOKED 150g', keywords: ['SEA SALT', 'CRISPS', 'HAND COOKED', '150g'],
    width: 4000, height: 3000, bg: 'objects/coffee.png',
    sw: 700, sh: 900, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#f2e8cf"/><rect y="560" width="${w}" height="340" fill="#386641"/>${texts([['SEA SALT', w / 2, 200, 120, '#bc4749'], ['CRISPS', w / 2, 380, 140, '#386641'], ['HAND COOKED', w / 2, 680, 70, '#f2e8cf'], ['150g', w / 2, 830, 80, '#f2e8cf']])}`,
    quad: [[1700, 1100], [2180, 1180], [2150, 1780], [1690, 1720]], fx: { jpeg: 75, noise: 4 },
  },
  {
    file: 'pl-packaging-de.jpg', category: 'packaging (small, at an angle, 4000 px)', script: 'german',
    text: 'VOLLMILCH SCHOKOLADE\nGRÖßE 100g', keywords: ['VOLLMILCH', 'SCHOKOLADE', '100g'],
    width: 4000, height: 3000, bg: 'objects/el_torcal_rocks.jpg',
    sw: 1200, sh: 500, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#5b2a86"/>${texts([['VOLLMILCH', w / 2, 170, 140, '#ffffff'], ['SCHOKOLADE', w / 2, 320, 120, '#ffffff'], ['GRÖßE 100g', w / 2, 450, 80, '#ffd6ff']])}`,
    quad: [[2400, 1900], [3300, 1800], [3320, 2200], [2420, 2330]], fx: { jpeg: 70, noise: 4 },
  },
  {
    file: 'pl-book-covers.jpg', category: 'book covers', script: 'latin',
    text: 'MIDNIGHT GARDEN\nELENA WARD\nOCEAN LIGHTS', keywords: ['MIDNIGHT', 'GARDEN', 'ELENA WARD', 'OCEAN', 'LIGHTS'],
    width: 3000, height: 2000, bg: 'objects/coffee.png',
    sw: 1600, sh: 1100, sign: (w, h) => `<rect width="760" height="${h}" fill="#14213d"/>${texts([['MIDNIGHT', 380, 300, 105, '#fca311', FONTS.serif], ['GARDEN', 380, 450, 105, '#fca311', FONTS.serif], ['ELENA WARD', 380, 950, 70, '#e5e5e5', FONTS.serif, 'normal']])}<rect x="840" width="760" height="${h}" fill="#e9f5db"/>${texts([['OCEAN', 1220, 380, 140, '#1d3557'], ['LIGHTS', 1220, 540, 140, '#1d3557']])}`,
    quad: [[700, 420], [2350, 520], [2300, 1700], [640, 1580]], fx: { jpeg: 70, noise: 3, blur: 1 },
  },
  {
    file: 'pl-book-ru.jpg', category: 'book covers', script: 'cyrillic',
    text: 'ВОЙНА И МИР\nЛЕВ ТОЛСТОЙ', keywords: ['ВОЙНА', 'МИР', 'ТОЛСТОЙ'],
    width: 2400, height: 2400, bg: 'objects/cyclamen.jpg',
    sw: 1000, sh: 1400, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#6a040f"/>${texts([['ВОЙНА И МИР', w / 2, 420, 95, '#ffba08', FONTS.serif], ['ЛЕВ ТОЛСТОЙ', w / 2, 1200, 80, '#ffffff', FONTS.serif, 'normal']])}`,
    quad: [[700, 450], [1750, 520], [1700, 1950], [640, 1880]], fx: { jpeg: 70, noise: 3 },
  },
  {
    file: 'pl-menu-4000.jpg', category: 'high resolution, small text (4000 px)', script: 'latin',
    text: 'ESPRESSO 2.50\nCAPPUCCINO 3.20\nCROISSANT 2.10', keywords: ['ESPRESSO', 'CAPPUCCINO', 'CROISSANT'],
    width: 4000, height: 3000, bg: 'objects/dog_bicycle_truck.jpg',
    sw: 420, sh: 260, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#1b1b1b"/>${texts([['ESPRESSO 2.50', w / 2, 70, 44, '#ffffff'], ['CAPPUCCINO 3.20', w / 2, 145, 44, '#ffffff'], ['CROISSANT 2.10', w / 2, 220, 44, '#ffffff']])}`,
    quad: [[2900, 600], [3320, 620], [3310, 880], [2895, 860]], fx: { jpeg: 80, noise: 3 },
  },
  {
    file: 'pl-bus-4000.jpg', category: 'high resolution, small text (4000 px)', script: 'latin',
    text: 'BUS STOP\nLINE 42 CENTRAL STATION', keywords: ['BUS STOP', 'LINE 42', 'CENTRAL', 'STATION'],
    width: 4000, height: 3000, bg: 'objects/person_dog_horse.jpg',
    sw: 520, sh: 220, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#ffd000"/>${texts([['BUS STOP', w / 2, 90, 70, '#111111'], ['LINE 42 CENTRAL STATION', w / 2, 175, 30, '#111111']])}`,
    quad: [[800, 1500], [1320, 1480], [1322, 1700], [802, 1720]], fx: { jpeg: 75, noise: 4 },
  },
  {
    file: 'pl-timetable-4000.jpg', category: 'high resolution, small text (4000 px)', script: 'latin',
    text: 'DEPARTURES\nHARBOUR 10:15\nAIRPORT 10:40\nMUSEUM 11:05', keywords: ['DEPARTURES', 'HARBOUR', 'AIRPORT', 'MUSEUM'],
    width: 4000, height: 3000, bg: 'objects/horses.jpg',
    sw: 300, sh: 210, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#10263d"/>${texts([['DEPARTURES', w / 2, 40, 30, '#ffd23f'], ['HARBOUR 10:15', w / 2, 95, 26, '#ffffff'], ['AIRPORT 10:40', w / 2, 145, 26, '#ffffff'], ['MUSEUM 11:05', w / 2, 195, 26, '#ffffff']])}`,
    quad: [[3100, 1900], [3400, 1915], [3398, 2125], [3098, 2112]], fx: { jpeg: 70, noise: 5 },
  },
  {
    file: 'pl-timetable-tiny-4000.jpg', category: 'high resolution, small text (4000 px)', script: 'latin',
    text: 'DEPARTURES\nHARBOUR 10:15\nAIRPORT 10:40\nMUSEUM 11:05', keywords: ['DEPARTURES', 'HARBOUR', 'AIRPORT', 'MUSEUM'],
    width: 4000, height: 3000, bg: 'objects/dog_bicycle_truck.jpg',
    // Letters about 13 px high: 6 px in the 1440 px preview, 3 px at the detector's 960.
    sw: 180, sh: 126, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#10263d"/>${texts([['DEPARTURES', w / 2, 24, 18, '#ffd23f'], ['HARBOUR 10:15', w / 2, 57, 16, '#ffffff'], ['AIRPORT 10:40', w / 2, 87, 16, '#ffffff'], ['MUSEUM 11:05', w / 2, 117, 16, '#ffffff']])}`,
    quad: [[1500, 2300], [1680, 2309], [1679, 2435], [1499, 2427]], fx: { jpeg: 75, noise: 4 },
  },
  {
    file: 'pl-night-shop.jpg', category: 'low light', script: 'latin',
    text: 'PIZZERIA NAPOLI\nOPEN LATE', keywords: ['PIZZERIA', 'NAPOLI', 'OPEN LATE'],
    width: 2400, height: 1600, bg: 'objects/horses.jpg',
    sw: 1500, sh: 460, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#3a0ca3"/>${texts([['PIZZERIA NAPOLI', w / 2, 200, 130, '#f72585'], ['OPEN LATE', w / 2, 380, 110, '#4cc9f0']])}`,
    quad: [[450, 400], [1950, 430], [1940, 880], [440, 860]], fx: { light: 0.28, noise: 9, jpeg: 60 },
  },
  {
    file: 'pl-night-tr.jpg', category: 'low light', script: 'turkish',
    text: 'KEBAPÇI\nAÇIK', keywords: ['KEBAPÇI', 'AÇIK'],
    width: 2400, height: 1600, bg: 'objects/el_torcal_rocks.jpg',
    sw: 1200, sh: 520, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#9d0208"/>${texts([['KEBAPÇI', w / 2, 230, 190, '#ffba08'], ['AÇIK', w / 2, 450, 150, '#ffffff']])}`,
    quad: [[600, 500], [1800, 470], [1810, 990], [610, 1010]], fx: { light: 0.3, noise: 8, jpeg: 60 },
  },
  {
    file: 'pl-blurred-sign.jpg', category: 'blur and rotation', script: 'latin',
    text: 'PARKING GARAGE\nLEVEL 3', keywords: ['PARKING', 'GARAGE', 'LEVEL 3'],
    width: 2400, height: 1800, bg: 'objects/prairie_falcon.jpg',
    sw: 1600, sh: 520, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#0353a4"/>${texts([['PARKING GARAGE', w / 2, 230, 160, '#ffffff'], ['LEVEL 3', w / 2, 440, 140, '#ffffff']])}`,
    // About 12 degrees of roll.
    quad: [[500, 700], [2060, 370], [2170, 880], [610, 1210]], fx: { blur: 3.5, noise: 4, jpeg: 65 },
  },
  {
    file: 'pl-tilted-el.jpg', category: 'blur and rotation', script: 'greek',
    text: 'ΑΘΗΝΑ ΚΕΝΤΡΟ', keywords: ['ΑΘΗΝΑ', 'ΚΕΝΤΡΟ'],
    width: 2400, height: 1800, bg: 'objects/horses.jpg',
    sw: 1700, sh: 400, sign: (w, h) => `<rect width="${w}" height="${h}" fill="#004e89"/>${texts([['ΑΘΗΝΑ ΚΕΝΤΡΟ', w / 2, 265, 160, '#ffffff', FONTS.greek]])}`,
    quad: [[380, 1100], [2010, 620], [2120, 1000], [490, 1480]], fx: { blur: 2, noise: 4, jpeg: 65 },
  },
];

/** Inverse bilinear-sampled perspective warp of an RGBA layer onto the quad's bounding box. */
function warpToQuad(src, sw, sh, quad) {
  const xs = quad.map((p) => p[0]);
  const ys = quad.map((p) => p[1]);
  const left = Math.floor(Math.min(...xs));
  const top = Math.floor(Math.min(...ys));
  const w = Math.ceil(Math.max(...xs)) - left;
  const h = Math.ceil(Math.max(...ys)) - top;
  // Homography from the unit square to the quad (Heckbert), inverted per pixel.
  const [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = quad.map(([x, y]) => [x - left, y - top]);
  const dx1 = x1 - x2, dx2 = x3 - x2, dx3 = x0 - x1 + x2 - x3;
  const dy1 = y1 - y2, dy2 = y3 - y2, dy3 = y0 - y1 + y2 - y3;
  const den = dx1 * dy2 - dx2 * dy1;
  const g = (dx3 * dy2 - dx2 * dy3) / den;
  const hh = (dx1 * dy3 - dx3 * dy1) / den;
  const a = x1 - x0 + g * x1, b = x3 - x0 + hh * x3, c = x0;
  const d = y1 - y0 + g * y1, e = y3 - y0 + hh * y3, f = y0;
  // Adjugate of [[a b c][d e f][g h 1]]: maps the photo back to the unit square.
  const A = e - f * hh, B = c * hh - b, C = b * f - c * e;
  const D = f * g - d, E = a - c * g, F = c * d - a * f;
  const G = d * hh - e * g, H = b * g - a * hh, I = a * e - b * d;
  const out = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const z = G * x + H * y + I;
      const u = ((A * x + B * y + C) / z) * (sw - 1);
      const v = ((D * x + E * y + F) / z) * (sh - 1);
      if (u < 0 || v < 0 || u > sw - 1 || v > sh - 1) continue;
      const u0 = Math.floor(u), v0 = Math.floor(v);
      const u1 = Math.min(sw - 1, u0 + 1), v1 = Math.min(sh - 1, v0 + 1);
      const fu = u - u0, fv = v - v0;
      const o = (y * w + x) * 4;
      for (let k = 0; k < 4; k++) {
        const p00 = src[(v0 * sw + u0) * 4 + k], p10 = src[(v0 * sw + u1) * 4 + k];
        const p01 = src[(v1 * sw + u0) * 4 + k], p11 = src[(v1 * sw + u1) * 4 + k];
        out[o + k] = Math.round((p00 * (1 - fu) + p10 * fu) * (1 - fv) + (p01 * (1 - fu) + p11 * fu) * fv);
      }
    }
  }
  return { data: out, left, top, width: w, height: h };
}

/** Render one case; the seed is the case's index, so a subset renders the same bytes as the whole set. */
async function render(c, corpus, seed) {
  const base = await backdrop(corpus, c.bg, c.width, c.height, ['#5d6d7e', '#212f3d']);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${c.sw}" height="${c.sh}">${c.sign(c.sw, c.sh)}</svg>`;
  const layer = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer();
  const warped = warpToQuad(layer, c.sw, c.sh, c.quad);
  const signPng = await sharp(warped.data, { raw: { width: warped.width, height: warped.height, channels: 4 } }).png().toBuffer();
  let img = sharp(base).composite([{ input: signPng, left: warped.left, top: warped.top }]);
  if (c.fx.blur) img = sharp(await img.png().toBuffer()).blur(c.fx.blur);
  if (c.fx.light) img = sharp(await img.png().toBuffer()).linear(c.fx.light, 0).gamma(1.2);
  const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (c.fx.noise) {
    const r = rng(seed * 7919 + 17);
    for (let i = 0; i < data.length; i++) {
      // Sum of uniforms: roughly Gaussian sensor noise.
      const n = (r() + r() + r() - 1.5) * 2 * c.fx.noise;
      data[i] = Math.max(0, Math.min(255, Math.round(data[i] + n)));
    }
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).jpeg({ quality: c.fx.jpeg ?? 85 });
}

/**
 * Write the cases (or those named in `only`) into `dir`; returns [{ path, ...case }] and, in `skipped`,
 * the cases whose script has no font here.
 */
export async function makePhotoLike(dir, corpus, only) {
  fs.mkdirSync(dir, { recursive: true });
  const out = [];
  const skipped = [];
  for (const [i, c] of PHOTOLIKE_CASES.entries()) {
    if (only && !only.includes(c.file)) continue;
    if (c.font && !fontAvailable(c.font)) {
      skipped.push(c);
      continue;
    }
    const file = path.join(dir, c.file);
    await (await render(c, corpus, i + 1)).toFile(file);
    out.push({ ...c, path: file });
  }
  return Object.assign(out, { skipped });
}
