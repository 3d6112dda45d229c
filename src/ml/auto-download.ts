// A stage's model on first use: when it is not installed and IMMICH_MODELS_AUTO_DOWNLOAD is on (the
// default), the registry's published files are pulled into IMMICH_MODELS_DIR with one line of progress.
// Off, offline, or without a pinned source, the caller reports the model missing once, naming the command
// that installs it (and, after a failed download, the cause).
import type { Logger } from '../logger.js';
import { findModel, resolveModel, type HasConfig } from './models.js';
import { modelsBaseUrl, pullModel } from './pull.js';

export interface ObtainContext extends HasConfig {
  readonly logger?: Logger;
}

/** IMMICH_MODELS_AUTO_DOWNLOAD (default on). */
export function autoDownloadEnabled(raw: Readonly<Record<string, string>>): boolean {
  const v = raw.IMMICH_MODELS_AUTO_DOWNLOAD;
  return v === undefined || v === '' || /^(1|true|yes|on)$/i.test(v);
}

// Per process: one download per model at a time (stages ask concurrently), and a failed one is not
// tried again by every asset of the same command. Keyed by the models folder, so two libraries in one
// process (tests) do not share them.
const inFlight = new Map<string, Promise<boolean>>();
const failures = new Map<string, string>();
const key = (ctx: HasConfig, task: string, name: string) => `${ctx.config.modelsDir}|${task}/${name}`;

/** Why the automatic download of this model failed in this process, if it did. */
export function downloadFailure(ctx: HasConfig, task: string, name: string): string | undefined {
  return failures.get(key(ctx, task, name));
}

/** Can the registry fetch this model without being told more (a hub model, whose commit is pinned or recorded on the first download, or pinned URLs)? */
export function downloadable(task: string, name: string): boolean {
  const spec = findModel(task, name);
  if (!spec) return false;
  if (spec.hub) return true;
  return spec.parts.every((p) => p.package || (p.url && p.sha256 && !p.url.endsWith('.tgz')));
}

/** The part's model.onnx, downloading the model first when allowed; undefined when it stays missing. */
export async function obtainModel(ctx: ObtainContext, task: string, name: string, part: string): Promise<string | undefined> {
  const found = await resolveModel(ctx, task, name, part);
  if (found) return found;
  if (!autoDownloadEnabled(ctx.config.raw) || !downloadable(task, name)) return undefined;
  const k = key(ctx, task, name);
  if (failures.has(k)) return undefined;
  let run = inFlight.get(k);
  if (!run) {
    run = (async () => {
      try {
        const started = Date.now();
        const res = await pullModel(ctx, { task, name }, {
          baseUrl: modelsBaseUrl(ctx.config.raw),
          onStart: (info) =>
            ctx.logger?.log(
              `downloading model ${task}/${name} (${info.files} file${info.files === 1 ? '' : 's'}) from ${info.source.replace(/\/[^/]+\/model\.onnx$|\/[^/]*$/, '/…')}; IMMICH_MODELS_AUTO_DOWNLOAD=0 turns this off`,
            ),
        });
        const bytes = res.filter((r) => r.status === 'installed').reduce((s, r) => s + r.size, 0);
        if (bytes) ctx.logger?.debug(`installed model ${task}/${name}: ${(bytes / 1048576).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return true;
      } catch (err) {
        failures.set(k, (err as Error).message);
        return false;
      } finally {
        inFlight.delete(k);
      }
    })();
    inFlight.set(k, run);
  }
  if (!(await run)) return undefined;
  return resolveModel(ctx, task, name, part);
}
