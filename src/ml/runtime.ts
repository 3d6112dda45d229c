// onnxruntime-node sessions: execution providers chosen by config (CPU default), thread settings
// tuned for a machine that also decodes images, lazy loading and unloading after idle.
import fs from 'node:fs';
import type { Context } from '../context.js';
import { EnvironmentError } from '../errors.js';

export type Ort = typeof import('onnxruntime-node');
export type Session = import('onnxruntime-node').InferenceSession;

export interface RuntimeSettings {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu'] (IMMICH_ML_PROVIDERS). */
  providers: string[];
  /** Intra-op threads per session (IMMICH_ML_THREADS); 1 leaves the other core to image decoding. */
  intraOpThreads: number;
  interOpThreads: number;
  /** Unload a session after this many ms without use (IMMICH_ML_IDLE_MS); 0 = never. */
  idleMs: number;
}

export function runtimeSettings(raw: Readonly<Record<string, string>>): RuntimeSettings {
  const providers = (raw.IMMICH_ML_PROVIDERS ?? 'cpu').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const threads = Number(raw.IMMICH_ML_THREADS ?? 1);
  return {
    providers: providers.length ? providers : ['cpu'],
    intraOpThreads: Number.isInteger(threads) && threads > 0 ? threads : 1,
    interOpThreads: 1,
    idleMs: Number(raw.IMMICH_ML_IDLE_MS ?? 300_000),
  };
}

export async function loadOrt(): Promise<Ort> {
  try {
    return await import('onnxruntime-node');
  } catch (err) {
    throw new EnvironmentError(`onnxruntime-node cannot be loaded: ${(err as Error).message}`);
  }
}

/** Providers this onnxruntime build can use (cpu always; cuda/tensorrt when their libraries exist). */
export async function availableProviders(): Promise<string[]> {
  const ort = await loadOrt();
  const list = (ort as unknown as { listSupportedBackends?: () => Array<{ name: string }> }).listSupportedBackends?.() ?? [{ name: 'cpu' }];
  return list.map((b) => b.name);
}

export interface LoadedModel {
  session: Session;
  ort: Ort;
  path: string;
  /** The provider the session actually runs on. */
  provider: string;
  inputNames: readonly string[];
  outputNames: readonly string[];
}

/**
 * A session for `modelPath`, created on first use and kept in the context; unloaded after
 * `idleMs` without use and re-created on the next call.
 */
export async function getModel(ctx: Context, modelPath: string): Promise<LoadedModel> {
  const settings = runtimeSettings(ctx.config.raw);
  const key = `ml:${modelPath}`;
  const model = await ctx.lazy(key, () => createModel(modelPath, settings), (m) => m.session.release());
  scheduleIdle(ctx, key, settings.idleMs);
  return model;
}

const idleTimers = new WeakMap<Context, Map<string, NodeJS.Timeout>>();
function scheduleIdle(ctx: Context, key: string, idleMs: number): void {
  if (!idleMs) return;
  let timers = idleTimers.get(ctx);
  if (!timers) idleTimers.set(ctx, (timers = new Map()));
  clearTimeout(timers.get(key));
  const t = setTimeout(() => void ctx.release(key), idleMs);
  t.unref();
  timers.set(key, t);
}

export async function createModel(modelPath: string, settings: RuntimeSettings): Promise<LoadedModel> {
  if (!fs.existsSync(modelPath)) throw new EnvironmentError(`model file ${modelPath} does not exist`);
  const ort = await loadOrt();
  const errors: string[] = [];
  for (const provider of settings.providers) {
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: [provider],
        intraOpNumThreads: settings.intraOpThreads,
        interOpNumThreads: settings.interOpThreads,
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      return { session, ort, path: modelPath, provider, inputNames: session.inputNames, outputNames: session.outputNames };
    } catch (err) {
      errors.push(`${provider}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new EnvironmentError(`cannot load model ${modelPath} (${errors.join('; ')})`);
}
