// Duplicate resolution (src/services/duplicate-policy.ts) and the phash threshold's monotonicity.
import { describe, expect, it } from 'vitest';
import { parseMergeFields, pickKeeper, planMerge, resolveGroup, type DupAsset } from '../../src/services/duplicate-policy.js';
import { phashPairs } from '../../src/services/duplicates.js';

const T = Date.parse('2020-06-01T12:00:00Z');
function a(id: string, extra: Partial<DupAsset> = {}): DupAsset {
  return {
    id, originalName: `${id}.jpg`, width: 1000, height: 800, fileSize: 100_000, takenAt: T, hasZone: false,
    latitude: null, longitude: null, make: null, model: null, importedAt: T + 1000, isFavorite: false, rating: null,
    description: null, albums: [], tags: [], faces: [], ...extra,
  };
}

describe('duplicate policy', () => {
  it('best: resolution, then metadata completeness, then format, then the oldest import; says why', () => {
    expect(pickKeeper([a('small', { width: 640, height: 480 }), a('big', { width: 4000, height: 3000 })], 'best')).toEqual({
      keep: expect.objectContaining({ id: 'big' }),
      reason: 'best: resolution (4000x3000 over 640x480)',
    });
    const meta = pickKeeper([a('bare'), a('rich', { hasZone: true, latitude: 1, longitude: 2, make: 'Canon' })], 'best');
    expect(meta.keep.id).toBe('rich');
    expect(meta.reason).toBe('best: metadata (date with zone, GPS, camera over no date zone, GPS or camera)');
    const fmt = [a('w', { originalName: 'x.webp' }), a('j', { originalName: 'x.jpg' }), a('h', { originalName: 'x.HEIC' }), a('r', { originalName: 'x.dng' })];
    expect(pickKeeper(fmt, 'best').keep.id).toBe('r');
    expect(pickKeeper(fmt.slice(0, 3), 'best').keep.id).toBe('h');
    expect(pickKeeper(fmt.slice(0, 2), 'best').reason).toBe('best: format (JPG over WEBP)');
    const imp = pickKeeper([a('late', { importedAt: T + 9000 }), a('early', { importedAt: T + 10 })], 'best');
    expect(imp.keep.id).toBe('early');
    expect(imp.reason).toMatch(/^best: import/);
  });

  it('largest, oldest, newest', () => {
    const g = [a('x', { fileSize: 10, takenAt: T - 5000 }), a('y', { fileSize: 99, takenAt: T }), a('z', { fileSize: 50, takenAt: null })];
    expect(pickKeeper(g, 'largest').keep.id).toBe('y');
    expect(pickKeeper(g, 'oldest').keep.id).toBe('x');
    expect(pickKeeper(g, 'newest').keep.id).toBe('y');
  });

  it('merges like Immich: favorite, highest rating, union of albums and tags, descriptions joined, location when agreed, people', () => {
    const keep = a('k', { albums: ['A1'], tags: ['t1'], rating: 2, description: 'Beach', faces: [{ id: 'kf1', personId: null, box: [0.1, 0.1, 0.3, 0.3] }, { id: 'kf2', personId: null, box: [0.6, 0.6, 0.8, 0.8] }] });
    const o1 = a('o1', { albums: ['A2', 'A1'], tags: ['t2'], rating: 5, isFavorite: true, description: 'Beach', latitude: 38.7, longitude: -9.1, faces: [{ id: 'of1', personId: 'P1', box: [0.11, 0.1, 0.31, 0.3] }] });
    const o2 = a('o2', { albums: ['A3'], tags: ['t1', 't3'], description: 'Sunset', latitude: 38.7001, longitude: -9.1001, faces: [{ id: 'of2', personId: 'P2', box: [0.4, 0.0, 0.5, 0.1] }] });
    const all = parseMergeFields(undefined);
    expect(planMerge(keep, [o1, o2], all)).toEqual({
      albums: ['A2', 'A3'], favorite: true, rating: 5, description: 'Beach\nSunset', tags: ['t2', 't3'],
      location: { latitude: 38.7, longitude: -9.1 },
      // P2's face is elsewhere on the picture than the kept copy's faces: not guessed.
      faces: [{ faceId: 'kf1', personId: 'P1' }], notes: [],
    });
    // Disagreeing positions: no location, and the reason is given.
    const far = a('o3', { latitude: 48.8, longitude: 2.3 });
    const disagree = planMerge(keep, [o1, far], new Set(['location']));
    expect(disagree.location).toBeUndefined();
    expect(disagree.notes).toEqual(['location not merged: the copies disagree (2 positions)']);
    // Only the chosen fields.
    expect(planMerge(keep, [o1, o2], parseMergeFields('albums,rating'))).toEqual({ albums: ['A2', 'A3'], favorite: false, rating: 5, tags: [], faces: [], notes: [] });
    expect(planMerge(keep, [o1], parseMergeFields('none'))).toEqual({ albums: [], favorite: false, tags: [], faces: [], notes: [] });
    expect(() => parseMergeFields('albums,colour')).toThrow(/unknown merge field colour/);
    expect(resolveGroup([o2, keep, o1], 'largest', all).others).toHaveLength(2);
  });

  it('a lower phash threshold never finds more pairs', () => {
    // Pseudo-random hashes plus near-copies, including some with few bits set.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const hex = (bits: number[]) => bits.reduce((s, _, i) => (i % 4 ? s : s + parseInt(bits.slice(i, i + 4).join(''), 2).toString(16)), '');
    const hashes: Array<{ id: string; hash: string }> = [];
    for (let i = 0; i < 120; i++) {
      const density = i % 4 === 0 ? 0.1 : 0.5;
      const bits = Array.from({ length: 64 }, () => (rnd() < density ? 1 : 0));
      hashes.push({ id: `h${i}`, hash: hex(bits) });
      const copy = bits.map((b) => (rnd() < 0.06 ? 1 - b : b));
      hashes.push({ id: `c${i}`, hash: hex(copy) });
    }
    const key = (p: [string, string]) => p.join('|');
    let previous = new Set<string>();
    for (let t = 0; t <= 16; t++) {
      const now = new Set(phashPairs(hashes, t).map(key));
      for (const p of previous) expect(now.has(p), `pair ${p} found at ${t - 1} but not at ${t}`).toBe(true);
      previous = now;
    }
    expect(previous.size).toBeGreaterThan(50);
  });
});
