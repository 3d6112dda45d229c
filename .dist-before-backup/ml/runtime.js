// onnxruntime-node sessions: execution providers chosen by config (CPU default), thread settings
// tuned for a machine that also decodes images, lazy loading and unloading after idle.
import fs from 'node:fs';
import { EnvironmentError } from '../errors.js';
/** Names users write → onnxruntime provider names (Immich's hwaccel names included). */
const PROVIDER_ALIASES = {
    cpu: 'cpu', cuda: 'cuda', tensorrt: 'tensorrt', trt: 'tensorrt', openvino: 'openvino', rocm: 'rocm', migraphx: 'migraphx',
    dml: 'dml', directml: 'dml', coreml: 'coreml', webgpu: 'webgpu', armnn: 'armnn', rknn: 'rknpu', rknpu: 'rknpu', qnn: 'qnn',
};
export function runtimeSettings(raw) {
    const providers = (raw.IMMICH_ML_PROVIDERS ?? 'cpu')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean)
        .map((s) => PROVIDER_ALIASES[s] ?? s);
    if (!providers.includes('cpu'))
        providers.push('cpu');
    const threads = Number(raw.IMMICH_ML_THREADS ?? 1);
    const inter = Number(raw.IMMICH_ML_INTER_THREADS ?? 1);
    const idle = Number(raw.IMMICH_ML_IDLE_MS ?? 300_000);
    return {
        providers,
        spinning: /^(1|true|yes|on)$/i.test(raw.IMMICH_ML_SPIN ?? ''),
        deviceId: Number(raw.IMMICH_ML_DEVICE_ID ?? 0) || 0,
        intraOpThreads: Number.isInteger(threads) && threads > 0 ? threads : 1,
        interOpThreads: Number.isInteger(inter) && inter > 0 ? inter : 1,
        idleMs: Number.isFinite(idle) && idle >= 0 ? idle : 300_000,
    };
}
export async function loadOrt() {
    try {
        return await import('onnxruntime-node');
    }
    catch (err) {
        throw new EnvironmentError(`onnxruntime-node cannot be loaded: ${err.message}`);
    }
}
/** Providers this onnxruntime build can use (cpu always; cuda/tensorrt when their libraries exist). */
export async function availableProviders() {
    const ort = await loadOrt();
    const list = ort.listSupportedBackends?.() ?? [{ name: 'cpu' }];
    return list.map((b) => b.name);
}
/** Session options for a provider: threads, spinning, graph optimisation, device id. */
export function sessionOptions(provider, settings) {
    const spin = settings.spinning ? '1' : '0';
    const ep = provider === 'cuda' || provider === 'tensorrt' ? { name: provider, deviceId: settings.deviceId } : provider;
    return {
        executionProviders: [ep],
        intraOpNumThreads: settings.intraOpThreads,
        interOpNumThreads: settings.interOpThreads,
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
    };
}
/**
 * A session for `modelPath`, created on first use and kept in the context; unloaded after
 * `idleMs` without use and re-created on the next call.
 */
export async function getModel(ctx, modelPath) {
    const settings = runtimeSettings(ctx.config.raw);
    const key = `ml:${modelPath}`;
    const model = await ctx.lazy(key, async () => {
        const m = await createModel(modelPath, settings);
        if (m.provider !== settings.providers[0]) {
            ctx.logger.warn(`${modelPath}: execution provider ${settings.providers[0]} unavailable (${m.fallbacks.join('; ')}); using ${m.provider}`);
        }
        else
            ctx.logger.debug(`loaded ${modelPath} on ${m.provider}`);
        return m;
    }, (m) => m.session.release());
    scheduleIdle(ctx, key, settings.idleMs);
    return model;
}
const idleTimers = new WeakMap();
function scheduleIdle(ctx, key, idleMs) {
    if (!idleMs)
        return;
    let timers = idleTimers.get(ctx);
    if (!timers)
        idleTimers.set(ctx, (timers = new Map()));
    clearTimeout(timers.get(key));
    const t = setTimeout(() => void ctx.release(key), idleMs);
    t.unref();
    timers.set(key, t);
}
export async function createModel(modelPath, settings) {
    if (!fs.existsSync(modelPath))
        throw new EnvironmentError(`model file ${modelPath} does not exist`);
    const ort = await loadOrt();
    const errors = [];
    for (const provider of settings.providers) {
        try {
            const session = await ort.InferenceSession.create(modelPath, sessionOptions(provider, settings));
            return { session, ort, path: modelPath, provider, inputNames: session.inputNames, outputNames: session.outputNames, fallbacks: errors };
        }
        catch (err) {
            errors.push(`${provider}: ${err.message.split('\n')[0]}`);
        }
    }
    throw new EnvironmentError(`cannot load model ${modelPath} (${errors.join('; ')})`);
}
//# sourceMappingURL=runtime.js.map