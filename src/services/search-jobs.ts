// Job handlers for stages: smart-search (CLIP embedding + scene tags), objects (YOLOX tags), ocr,
// duplicates. Every stage reads the preview. Reverse geocoding (places) runs as a first step of
// each, since it needs the metadata that is complete by the time previews exist.
import { sql } from '../db/kysely.js';
import type { Kysely, Transaction } from 'kysely';
import type { Context } from '../context.js';
import type { DB } from '../db/schema.js';
import type { TagSource } from '../db/schema/search.js';
import { VectorUnavailableError } from '../errors.js';
import type { JobOutcome, JobSpec } from '../jobs/types.js';
import { classifyScenes, CLIP_TASK, clipModelName, encodeImage, findClip, toVector } from '../ml/clip.js';
import { obtainModel, downloadFailure } from '../ml/auto-download.js';
import { ModelMissingError, modelDirs } from '../ml/models.js';
import { detectObjects, objectTags } from '../ml/objects.js';
import { ocrModelName, paddleModelFiles, recognizeText } from '../ml/ocr.js';
import { getModel } from '../ml/runtime.js';
import { groupAssetByClip, hashAsset, previewFile } from './duplicates.js';
import type { HandlerTable } from './handlers.js';
import { geocodeAssets } from './places.js';

export const OBJECT_TASK = 'object-detection';
export function objectModelName(ctx: Pick<Context, 'config'>): string {
  return (ctx.config.raw.IMMICH_OBJECT_MODEL ?? 'yolox_nano').trim();
}

/** Replace an asset's tags from one source. */
export async function setTags(
  db: Kysely<DB> | Transaction<DB>,
  assetId: string,
  source: TagSource,
  tags: Array<{ name: string; score: number; count?: number; box?: number[] | null }>,
): Promise<void> {
  const names = [...new Set(tags.map((t) => t.name.toLowerCase()))];
  if (names.length) await db.insertInto('tags').values(names.map((name) => ({ name }))).onConflict((oc) => oc.column('name').doNothing()).execute();
  const ids = names.length ? await db.selectFrom('tags').select(['id', 'name']).where('name', 'in', names).execute() : [];
  const idOf = new Map(ids.map((r) => [r.name, r.id]));
  await db.deleteFrom('asset_tags').where('asset_id', '=', assetId).where('source', '=', source).execute();
  const rows = new Map<number, { asset_id: string; tag_id: number; source: TagSource; score: number; count: number | null; box: number[] | null }>();
  for (const t of tags) {
    const id = idOf.get(t.name.toLowerCase())!;
    const prev = rows.get(id);
    if (!prev || prev.score < t.score) rows.set(id, { asset_id: assetId, tag_id: id, source, score: Math.round(t.score * 1e4) / 1e4, count: t.count ?? null, box: t.box ?? null });
  }
  if (rows.size) await db.insertInto('asset_tags').values([...rows.values()]).execute();
}

async function placesStep(ctx: Context, assetId: string): Promise<void> {
  await geocodeAssets(ctx, assetId).catch((err) => ctx.logger.warn(`reverse geocoding asset ${assetId} failed: ${(err as Error).message}`));
}

/**
 * A stage's model is missing: say once per command which model and the command that installs it
 * (as the face stages do), then skip quietly; the stage is retried once the model is installed.
 */
async function modelMissing(ctx: Context, stage: string, task: string, name: string, part: string, message: string): Promise<JobOutcome> {
  const warned = await ctx.lazy(`search:model-warned:${task}/${name}`, () => ({ done: false }));
  if (!warned.done) {
    warned.done = true;
    ctx.logger.warn(`${stage} skipped: ${new ModelMissingError(task, name, part, modelDirs(ctx), downloadFailure(ctx, task, name)).message}`);
  }
  return { status: 'skipped', message };
}

/** Warn once per context that CLIP needs pgvector; the stage is then skipped quietly. */
async function vectorMissing(ctx: Context): Promise<JobOutcome> {
  const warned = await ctx.lazy('search:vector-warned', () => ({ done: false }));
  const msg = new VectorUnavailableError('CLIP smart search').message;
  if (!warned.done) {
    warned.done = true;
    ctx.logger.warn(msg);
  }
  return { status: 'skipped', message: 'pgvector is not installed' };
}

/** Make smart_search.embedding a vector of `dim` (a model with another size replaces all rows). */
export async function ensureEmbeddingDimension(ctx: Context, dim: number): Promise<void> {
  const state = await ctx.lazy('search:embedding-dim', () => ({ dim: 0 }));
  if (state.dim === dim) return;
  await ctx.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(727276)`.execute(trx);
    const r = await sql<{ n: number }>`select atttypmod as n from pg_attribute where attrelid = 'smart_search'::regclass and attname = 'embedding'`.execute(trx);
    if (r.rows[0]?.n === dim) return;
    // Embeddings of another dimension belong to another model: they are dropped and re-made.
    await sql`delete from smart_search`.execute(trx);
    await sql`delete from duplicate_groups where method = 'clip'`.execute(trx);
    await sql`drop index if exists smart_search_embedding_idx`.execute(trx);
    await sql.raw(`alter table smart_search alter column embedding type vector(${Math.floor(dim)})`).execute(trx);
    await sql`create index smart_search_embedding_idx on smart_search using hnsw (embedding vector_cosine_ops) with (m = 16, ef_construction = 64)`.execute(trx); // as 0201
  });
  state.dim = dim;
}

async function smartSearch(ctx: Context, job: JobSpec): Promise<JobOutcome> {
  const assetId = job.assetId!;
  await placesStep(ctx, assetId);
  const file = await previewFile(ctx, assetId);
  if (!file) return { status: 'skipped', message: 'no preview' };
  // The perceptual hash serves duplicate detection without CLIP; it costs a few milliseconds.
  await hashAsset(ctx, assetId).catch((err) => ctx.logger.warn(`hashing the preview of asset ${assetId} failed: ${(err as Error).message}`));
  const clip = await findClip(ctx);
  if (!clip) return modelMissing(ctx, 'smart search', CLIP_TASK, clipModelName(ctx), 'visual', 'no CLIP model installed');
  if (!ctx.database.hasVector) return vectorMissing(ctx);
  const embedding = await encodeImage(ctx, clip, file);
  await ensureEmbeddingDimension(ctx, embedding.length);
  const scenes = await classifyScenes(ctx, clip, embedding);
  const vector = toVector(embedding);
  await ctx.db.transaction().execute(async (trx) => {
    await sql`insert into smart_search (asset_id, model, embedding, updated_at) values (${assetId}, ${clip.name}, ${vector}::vector, now())
      on conflict (asset_id) do update set model = excluded.model, embedding = excluded.embedding, updated_at = now()`.execute(trx);
    await setTags(trx, assetId, 'clip', scenes);
  });
  return { status: 'success' };
}

async function objects(ctx: Context, job: JobSpec): Promise<JobOutcome> {
  const assetId = job.assetId!;
  await placesStep(ctx, assetId);
  const name = objectModelName(ctx);
  // An empty IMMICH_OBJECT_MODEL turns the stage off, as an empty IMMICH_CLIP_MODEL does CLIP's.
  if (!name) return { status: 'skipped', message: 'object detection off (IMMICH_OBJECT_MODEL is empty)' };
  const modelPath = await obtainModel(ctx, OBJECT_TASK, name, 'detection');
  if (!modelPath) return modelMissing(ctx, 'object detection', OBJECT_TASK, name, 'detection', `no object detection model installed (${OBJECT_TASK}/${name})`);
  const file = await previewFile(ctx, assetId);
  if (!file) return { status: 'skipped', message: 'no preview' };
  const model = await getModel(ctx, modelPath);
  const { detections, width, height } = await detectObjects(model, file);
  await ctx.db.transaction().execute((trx) => setTags(trx, assetId, 'objects', objectTags(detections, width, height)));
  return { status: 'success' };
}

async function ocr(ctx: Context, job: JobSpec): Promise<JobOutcome> {
  const assetId = job.assetId!;
  await placesStep(ctx, assetId);
  if (!(await paddleModelFiles(ctx))) return { status: 'skipped', message: `no OCR model installed (ocr/${ocrModelName(ctx)})` };
  const file = await previewFile(ctx, assetId);
  if (!file) return { status: 'skipped', message: 'no preview' };
  const engine = (ctx.config.raw.IMMICH_OCR_ENGINE ?? 'auto') as 'auto' | 'paddle' | 'tesseract';
  // The original beside the preview: where it is twice the preview or more, its tiles are read too
  // (small text in a 4000 px photo is below what the detector sees in the preview).
  const asset = await ctx.db.selectFrom('assets').select(['type', 'library_path']).where('id', '=', assetId).executeTakeFirst();
  const original = asset?.type === 'image' && asset.library_path ? ctx.library.resolve(asset.library_path) : undefined;
  const result = await recognizeText(ctx, file, { engine: ['paddle', 'tesseract'].includes(engine) ? engine : 'auto', original });
  await ctx.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('asset_ocr').where('asset_id', '=', assetId).execute();
    if (!result.lines.length) return;
    await trx
      .insertInto('asset_ocr')
      .values({ asset_id: assetId, engine: result.engine, text: result.text, confidence: Math.round(result.confidence * 1e4) / 1e4 })
      .execute();
    await trx
      .insertInto('asset_ocr_lines')
      .values(
        result.lines.map((l, i) => ({
          asset_id: assetId,
          line: i,
          text: l.text,
          confidence: Math.round(l.confidence * 1e4) / 1e4,
          x: l.box[0],
          y: l.box[1],
          w: l.box[2],
          h: l.box[3],
        })),
      )
      .execute();
  });
  return { status: 'success' };
}

async function duplicates(ctx: Context, job: JobSpec): Promise<JobOutcome> {
  const assetId = job.assetId!;
  if (!ctx.database.hasVector) return vectorMissing(ctx);
  const clip = await findClip(ctx);
  if (!clip) return { status: 'skipped', message: 'no CLIP model installed' };
  const row = await ctx.db.selectFrom('smart_search').select(['embedding', 'model']).where('asset_id', '=', assetId).executeTakeFirst();
  if (!row || row.model !== clip.name) return { status: 'skipped', message: 'no embedding for the current CLIP model' };
  const embedding = row.embedding.replace(/^\[|\]$/g, '').split(',').map(Number);
  await groupAssetByClip(ctx, assetId, clip.name, embedding);
  return { status: 'success' };
}

export const searchHandlers: HandlerTable = {
  'smart-search': smartSearch,
  objects,
  ocr,
  duplicates,
};
