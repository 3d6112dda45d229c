// Incremental face clustering, Immich-style (person.service handleRecognizeFaces): a face with at least
// `minFaces` neighbours (itself included) within `maxDistance` (cosine) is a core face: it joins the person
// of its nearest assigned neighbour, or starts a new person. A face with fewer neighbours is deferred and
// looked at again later (when new neighbours arrive, and in the deferred pass), where it may join an
// existing person but never starts one. Pure logic over a FaceStore: pgvector in services/people.ts, an
// in-memory store for tests and benchmarks.
/** Tuned on the corpus with SCRFD-2.5G + MobileFaceNet (bench/faces): precision first. */
export const DEFAULT_CLUSTER_PARAMS = { maxDistance: 0.45, minFaces: 3 };
/**
 * Cluster one face. `deferredPass` is true when the face was deferred before: it may then join a person
 * but is not deferred again.
 */
export async function clusterFace(store, face, params, deferredPass = false) {
    if (face.manual || face.personId)
        return { result: 'kept', personId: face.personId ?? undefined };
    const matches = await store.neighbours(face.id, params.minFaces, params.maxDistance);
    const others = matches.filter((m) => m.faceId !== face.id);
    if (params.minFaces > 1 && others.length === 0) {
        if (!deferredPass)
            await store.setDeferred(face.id, true);
        return { result: deferredPass ? 'unmatched' : 'deferred' };
    }
    let personId = others.find((m) => m.personId)?.personId ?? null;
    if (!personId) {
        // the nearest face that has a person, further down the list than the first minFaces
        const withPerson = await store.neighbours(face.id, 1, params.maxDistance, { withPerson: true });
        personId = withPerson.find((m) => m.faceId !== face.id)?.personId ?? null;
    }
    const isCore = others.length + 1 >= params.minFaces;
    if (!isCore && !deferredPass) {
        await store.setDeferred(face.id, true);
        return { result: 'deferred' };
    }
    if (personId) {
        await store.assign(face.id, personId);
        await store.setDeferred(face.id, false);
        return { result: 'assigned', personId };
    }
    if (isCore) {
        const id = await store.createPerson(face.id);
        await store.setDeferred(face.id, false);
        return { result: 'created', personId: id };
    }
    return { result: 'unmatched' };
}
/** Cosine distance between two L2-normalised vectors. */
export function cosineDistance(a, b) {
    let d = 0;
    for (let i = 0; i < a.length; i++)
        d += a[i] * b[i];
    return 1 - d;
}
/** A FaceStore in memory (exact kNN): unit tests and benchmarks. */
export class MemoryFaceStore {
    embeddings = new Map();
    person = new Map();
    deferred = new Set();
    nextPerson = 1;
    add(faceId, embedding, personId = null) {
        this.embeddings.set(faceId, embedding);
        this.person.set(faceId, personId);
    }
    async neighbours(faceId, limit, maxDistance, opts = {}) {
        const e = this.embeddings.get(faceId);
        const all = [];
        for (const [id, v] of this.embeddings) {
            const personId = this.person.get(id) ?? null;
            if (opts.withPerson && !personId)
                continue;
            const distance = cosineDistance(e, v);
            if (distance <= maxDistance)
                all.push({ faceId: id, personId, distance });
        }
        return all.sort((a, b) => a.distance - b.distance).slice(0, opts.withPerson ? limit + 1 : limit);
    }
    async assign(faceId, personId) {
        this.person.set(faceId, personId);
    }
    async createPerson(faceId) {
        const id = `p${this.nextPerson++}`;
        this.person.set(faceId, id);
        return id;
    }
    async setDeferred(faceId, deferred) {
        if (deferred)
            this.deferred.add(faceId);
        else
            this.deferred.delete(faceId);
    }
}
/**
 * Cluster faces in arrival order, then give deferred faces a second chance; `revisit` also re-tries the
 * deferred neighbours of each newly clustered face, so order matters less (as in the face-recognition stage).
 */
export async function clusterAll(store, ids, params, isManual = () => false, personOf = () => null) {
    for (const id of ids)
        await clusterFace(store, { id, personId: personOf(id), manual: isManual(id) }, params);
    for (const id of [...store.deferred])
        await clusterFace(store, { id, personId: personOf(id), manual: isManual(id) }, params, true);
}
/**
 * Pairwise precision/recall of a clustering against labels: every pair of labelled faces counts; a
 * face without a person is its own cluster.
 */
export function pairwiseScores(items) {
    let truePairs = 0, predictedPairs = 0, correctPairs = 0;
    for (let i = 0; i < items.length; i++) {
        for (let j = i + 1; j < items.length; j++) {
            const same = items[i].label === items[j].label;
            const together = items[i].cluster !== null && items[i].cluster === items[j].cluster;
            if (same)
                truePairs++;
            if (together)
                predictedPairs++;
            if (same && together)
                correctPairs++;
        }
    }
    const precision = predictedPairs ? correctPairs / predictedPairs : 1;
    const recall = truePairs ? correctPairs / truePairs : 1;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { precision, recall, f1, truePairs, predictedPairs, correctPairs };
}
//# sourceMappingURL=cluster.js.map