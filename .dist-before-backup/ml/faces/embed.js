/** Preprocessing for a recognition model, chosen by its name (user-added models default to RGB, 127.5/128). */
export function embedOptionsFor(modelName) {
    if (/faceplugin/i.test(modelName))
        return { channels: 'bgr', mean: 127, std: 128 };
    return { channels: 'rgb', mean: 127.5, std: 128 };
}
export function toTensorData(crops, size, opts) {
    const plane = size * size;
    const mean = opts.mean ?? 127.5;
    const std = opts.std ?? 128;
    const bgr = opts.channels === 'bgr';
    const data = new Float32Array(crops.length * 3 * plane);
    crops.forEach((crop, n) => {
        const base = n * 3 * plane;
        for (let p = 0; p < plane; p++) {
            const r = (crop[p * 3] - mean) / std;
            const g = (crop[p * 3 + 1] - mean) / std;
            const b = (crop[p * 3 + 2] - mean) / std;
            data[base + p] = bgr ? b : r;
            data[base + plane + p] = g;
            data[base + 2 * plane + p] = bgr ? r : b;
        }
    });
    return data;
}
export function l2normalize(v) {
    let s = 0;
    for (const x of v)
        s += x * x;
    const n = Math.sqrt(s) || 1;
    return v.map((x) => x / n);
}
/** Embeddings for aligned crops; batches when the model's batch dimension is dynamic. */
export async function embedFaces(model, crops, opts, size = 112) {
    if (!crops.length)
        return [];
    const meta = model.session.inputMetadata?.[0];
    const dynamicBatch = meta?.shape ? typeof meta.shape[0] !== 'number' : false;
    const batches = dynamicBatch ? [crops] : crops.map((c) => [c]);
    const out = [];
    for (const batch of batches) {
        const input = new model.ort.Tensor('float32', toTensorData(batch, size, opts), [batch.length, 3, size, size]);
        const res = await model.session.run({ [model.inputNames[0]]: input });
        const t = res[model.outputNames[0]];
        const dim = t.data.length / batch.length;
        for (let i = 0; i < batch.length; i++)
            out.push(l2normalize(t.data.slice(i * dim, (i + 1) * dim)));
    }
    return out;
}
//# sourceMappingURL=embed.js.map