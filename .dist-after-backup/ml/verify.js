// `immich models verify`: load a model and run it once on a generated input, checking that every output
// is finite. Dynamic dimensions get small safe values (batch 1, images 640, sequences 77).
import { createModel } from './runtime.js';
function concreteShape(shape) {
    return shape.map((d, i) => {
        if (typeof d === 'number' && d > 0)
            return d;
        if (i === 0)
            return 1; // batch
        if (shape.length === 4 && i >= 2)
            return 640; // image height/width
        if (shape.length === 2)
            return 77; // token sequence
        return 1;
    });
}
export async function verifyModelFile(file, settings) {
    let model;
    try {
        model = await createModel(file, settings);
    }
    catch (err) {
        return { ok: false, error: err.message.split('\n')[0] };
    }
    try {
        const ort = model.ort;
        const metas = (model.session.inputMetadata ?? []);
        const feeds = {};
        const inputs = {};
        let seed = 1;
        const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
        for (const name of model.inputNames) {
            const meta = metas.find((m) => m.name === name);
            const shape = concreteShape(meta?.shape ?? [1]);
            const n = shape.reduce((a, b) => a * b, 1);
            const type = meta?.type ?? 'float32';
            let tensor;
            if (type === 'int64')
                tensor = new ort.Tensor('int64', new BigInt64Array(n), shape);
            else if (type === 'int32')
                tensor = new ort.Tensor('int32', new Int32Array(n), shape);
            else
                tensor = new ort.Tensor('float32', Float32Array.from({ length: n }, rnd), shape);
            feeds[name] = tensor;
            inputs[name] = shape;
        }
        const t0 = performance.now();
        const res = await model.session.run(feeds);
        const ms = performance.now() - t0;
        const outputs = {};
        for (const [name, t] of Object.entries(res)) {
            outputs[name] = [...t.dims];
            const data = t.data;
            if (typeof data[0] === 'number') {
                for (let i = 0; i < data.length; i++) {
                    if (!Number.isFinite(data[i]))
                        return { ok: false, provider: model.provider, inputs, outputs, error: `output ${name} has a non-finite value` };
                }
            }
        }
        return { ok: true, provider: model.provider, inputs, outputs, ms };
    }
    catch (err) {
        return { ok: false, provider: model.provider, error: err.message.split('\n')[0] };
    }
    finally {
        await model.session.release();
    }
}
//# sourceMappingURL=verify.js.map