// What a skipped or failed stage depends on besides the file itself: installed models, ffmpeg,
// pgvector, the IMMICH_* settings and this program's version. While that is unchanged, a stage that
// was skipped (no model) or failed (a corrupt file) would do the same again: re-runs leave it alone
// and exit 0. Once it changes (a model installed, ffmpeg found), such stages are retried once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Context } from '../context.js';
import { findFfmpeg } from '../media/video.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Model files (name, size, mtime) under a folder, a few levels deep (Immich's cache layout). */
function modelFiles(root: string, depth = 4, rel = ''): string[] {
  if (depth < 0) return [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...modelFiles(root, depth - 1, r));
    else if (/\.(onnx|json|txt|traineddata)$/i.test(e.name)) {
      try {
        const st = fs.statSync(path.join(root, r));
        out.push(`${r}:${st.size}:${Math.round(st.mtimeMs)}`);
      } catch { /* vanished meanwhile */ }
    }
  }
  return out;
}

function tool(fn: () => { ffmpeg: string; ffprobe: string }): string {
  try {
    const t = fn();
    return [t.ffmpeg, t.ffprobe].map((p) => `${p}:${fs.statSync(p).size}`).join(',');
  } catch {
    return 'none';
  }
}

/** A digest of everything listed above; equal digests mean a stage would meet the same conditions. */
export function environmentFingerprint(ctx: Context): string {
  const settings = Object.entries(ctx.config.raw)
    .filter(([k]) => /^(IMMICH_|FFMPEG_PATH|FFPROBE_PATH|MACHINE_LEARNING_)/.test(k) && !/LOG|LOCK_WAIT|PASSWORD|PASSPHRASE|KEY/.test(k))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const parts = {
    version: pkg.version,
    vector: ctx.database.hasVector,
    models: [...modelFiles(ctx.config.modelsDir), '|', ...modelFiles(ctx.config.modelCacheDir)],
    ffmpeg: tool(() => findFfmpeg(ctx.config.raw)),
    settings,
  };
  return crypto.createHash('sha1').update(JSON.stringify(parts)).digest('hex');
}

/**
 * Since when the current environment holds (recorded on first sight of a new fingerprint). Stage
 * statuses and import failures written at or after this time were met in this environment.
 */
export async function environmentSince(ctx: Context): Promise<Date> {
  const fingerprint = environmentFingerprint(ctx);
  const row = await ctx.db.selectFrom('stage_environment').select(['fingerprint', 'since']).where('id', '=', 1).executeTakeFirst();
  if (row && row.fingerprint === fingerprint) return new Date(row.since);
  const since = new Date();
  await ctx.db
    .insertInto('stage_environment')
    .values({ id: 1, fingerprint, since })
    .onConflict((oc) => oc.column('id').doUpdateSet({ fingerprint, since }))
    .execute();
  return since;
}
