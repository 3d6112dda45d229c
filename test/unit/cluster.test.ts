// Clustering with synthetic embeddings (no models, no database): Immich-style incremental clustering,
// deferred faces, manual faces left alone, and the pairwise scores the benchmark reports.
import { describe, expect, it } from 'vitest';
import { MemoryFaceStore, clusterAll, clusterFace, cosineDistance, pairwiseScores } from '../../src/ml/cluster.js';

/** Unit vector near `centre` (dimension 16), jittered deterministically. */
function around(centre: number, jitter: number, seed: number): Float32Array {
  let s = seed * 9973 + centre * 31 + 7;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const v = new Float32Array(16);
  v[centre] = 1;
  for (let i = 0; i < v.length; i++) v[i]! += rnd() * jitter;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe('incremental clustering', () => {
  const params = { maxDistance: 0.3, minFaces: 3 };

  it('puts each identity in one person and never merges two', async () => {
    const store = new MemoryFaceStore();
    const ids: string[] = [];
    for (let k = 0; k < 5; k++) {
      // interleave identities so arrival order is mixed
      for (const who of [0, 1, 2]) {
        const id = `f${who}-${k}`;
        store.add(id, around(who, 0.15, k));
        ids.push(id);
      }
    }
    await clusterAll(store, ids, params);
    for (const who of [0, 1, 2]) {
      const persons = new Set(ids.filter((i) => i.startsWith(`f${who}-`)).map((i) => store.person.get(i)));
      expect(persons.size).toBe(1);
      expect([...persons][0]).toBeTruthy();
    }
    expect(new Set(store.person.values()).size).toBe(3);
    const scores = pairwiseScores(ids.map((i) => ({ label: i.split('-')[0]!, cluster: store.person.get(i) ?? null })));
    expect(scores).toMatchObject({ precision: 1, recall: 1, f1: 1 });
  });

  it('defers a face with fewer than minFaces neighbours, and never starts a person from deferred faces alone', async () => {
    const store = new MemoryFaceStore();
    store.add('a', around(0, 0.05, 1));
    store.add('b', around(0, 0.05, 2));
    expect((await clusterFace(store, { id: 'a', personId: null, manual: false }, params)).result).toBe('deferred');
    expect((await clusterFace(store, { id: 'b', personId: null, manual: false }, params)).result).toBe('deferred');
    expect(store.deferred).toEqual(new Set(['a', 'b']));
    // the deferred pass does not create a person for two faces
    expect((await clusterFace(store, { id: 'a', personId: null, manual: false }, params, true)).result).toBe('unmatched');
    expect(store.person.get('a')).toBeNull();
    // a third face makes a core face: it starts a person, and the deferred ones join it on their next look
    store.add('c', around(0, 0.05, 3));
    const c = await clusterFace(store, { id: 'c', personId: null, manual: false }, params);
    expect(c.result).toBe('created');
    const a = await clusterFace(store, { id: 'a', personId: null, manual: false }, params, true);
    expect(a).toEqual({ result: 'assigned', personId: c.personId });
    expect(store.deferred.has('a')).toBe(false);
  });

  it('leaves a lone face (no neighbour at all) unassigned', async () => {
    const store = new MemoryFaceStore();
    for (let k = 0; k < 3; k++) store.add(`x${k}`, around(0, 0.05, k));
    store.add('lone', around(9, 0.05, 1));
    await clusterAll(store, ['x0', 'x1', 'x2', 'lone'], params);
    expect(store.person.get('lone')).toBeNull();
    expect(store.person.get('x0')).toBeTruthy();
  });

  it('does not touch faces assigned or unassigned by hand', async () => {
    const store = new MemoryFaceStore();
    for (let k = 0; k < 4; k++) store.add(`m${k}`, around(3, 0.05, k));
    const r = await clusterFace(store, { id: 'm0', personId: null, manual: true }, params);
    expect(r.result).toBe('kept');
    expect(store.person.get('m0')).toBeNull();
    const kept = await clusterFace(store, { id: 'm1', personId: 'named', manual: false }, params);
    expect(kept).toEqual({ result: 'kept', personId: 'named' });
  });

  it('joins the person of a neighbour beyond the first minFaces matches', async () => {
    const store = new MemoryFaceStore();
    // three unassigned faces very close to the newcomer, one assigned face a bit further away
    for (let k = 0; k < 3; k++) store.add(`u${k}`, around(4, 0.02, k));
    store.add('known', around(4, 0.2, 9), 'person-1');
    store.add('new', around(4, 0.02, 5));
    expect(cosineDistance(store.embeddings.get('new')!, store.embeddings.get('known')!)).toBeLessThan(params.maxDistance);
    const r = await clusterFace(store, { id: 'new', personId: null, manual: false }, params);
    expect(r).toEqual({ result: 'assigned', personId: 'person-1' });
  });
});

describe('pairwise scores', () => {
  it('counts pairs: a merge costs precision, a split costs recall', () => {
    const merged = pairwiseScores([
      { label: 'a', cluster: '1' }, { label: 'a', cluster: '1' }, { label: 'b', cluster: '1' },
    ]);
    expect(merged.precision).toBeCloseTo(1 / 3);
    expect(merged.recall).toBe(1);
    const split = pairwiseScores([
      { label: 'a', cluster: '1' }, { label: 'a', cluster: '2' }, { label: 'a', cluster: '2' }, { label: 'b', cluster: null },
    ]);
    expect(split.precision).toBe(1);
    expect(split.recall).toBeCloseTo(1 / 3);
    expect(split.f1).toBeCloseTo(0.5);
  });
});
