// Face detection stage: the asset's preview → SCRFD faces (score ≥ min) → 5-point alignment → embeddings,
// stored with normalised boxes, landmarks, crop thumbnails in thumbs/ and pgvector embeddings.
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { sql } from '../db/kysely.js';
import type { Insertable } from 'kysely';
import sharp from '../media/sharp.js';
import type { Context } from '../context.js';
import { VectorUnavailableError, errorMessage } from '../errors.js';
import type { AssetFacesTable } from '../db/schema/faces.js';
import type { JobOutcome } from '../jobs/types.js';
import { DEFAULT_CLUSTER_PARAMS, type ClusterParams } from '../ml/cluster.js';
import { alignFace, type RgbImage } from '../ml/faces/align.js';
import { detectFaces, iou, letterboxFile, uprightRgb, type DetectedFace, type ImageSource, type Letterboxed } from '../ml/faces/detect.js';
import { embedFaces, embedOptionsFor } from '../ml/faces/embed.js';
import { DEFAULT_FACE_MODEL, ModelMissingError, requireModel } from '../ml/models.js';
import { getModel, type LoadedModel } from '../ml/runtime.js';
import { writeFileAtomic } from '../storage/atomic.js';

export interface FaceSettings extends ClusterParams {
  /** facial-recognition/<model> with detection/ and recognition/ parts (IMMICH_FACE_MODEL). */
  model: string;
  /** IMMICH_FACE_MIN_SCORE (0.7, as Immich). */
  minScore: number;
  /** Detector input side (IMMICH_FACE_INPUT_SIZE, multiple of 32). */
  inputSize: number;
}

function num(raw: Readonly<Record<string, string>>, name: string, fallback: number, ok: (n: number) => boolean): number {
  const v = raw[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return ok(n) ? n : fallback;
}

export function faceSettings(raw: Readonly<Record<string, string>>): FaceSettings {
  return {
    model: raw.IMMICH_FACE_MODEL || DEFAULT_FACE_MODEL,
    minScore: num(raw, 'IMMICH_FACE_MIN_SCORE', 0.7, (n) => n > 0 && n < 1),
    inputSize: num(raw, 'IMMICH_FACE_INPUT_SIZE', 640, (n) => Number.isInteger(n) && n >= 160 && n % 32 === 0),
    maxDistance: num(raw, 'IMMICH_FACE_MAX_DISTANCE', DEFAULT_CLUSTER_PARAMS.maxDistance, (n) => n > 0 && n < 2),
    minFaces: num(raw, 'IMMICH_FACE_MIN_FACES', DEFAULT_CLUSTER_PARAMS.minFaces, (n) => Number.isInteger(n) && n >= 1),
  };
}

export const FACE_TASK = 'facial-recognition';

/** Report an environment problem once per command (not once per asset); later calls are silent. */
async function warnOnce(ctx: Context, key: string, message: string): Promise<void> {
  await ctx.lazy(`faces:warned:${key}`, () => {
    ctx.logger.warn(message);
    return true;
  });
}

export interface FaceModels {
  detector: LoadedModel;
  recognizer: LoadedModel;
  name: string;
}

/** The face models, or a 'skipped' outcome naming what is missing (reported once). */
export async function faceModelsOrSkip(ctx: Context, settings: FaceSettings): Promise<FaceModels | JobOutcome> {
  if (!ctx.database.hasVector) {
    const err = new VectorUnavailableError('Face recognition');
    await warnOnce(ctx, 'vector', err.message);
    return { status: 'skipped', message: 'pgvector unavailable' };
  }
  try {
    const det = await requireModel(ctx, FACE_TASK, settings.model, 'detection');
    const rec = await requireModel(ctx, FACE_TASK, settings.model, 'recognition');
    return { detector: await getModel(ctx, det), recognizer: await getModel(ctx, rec), name: settings.model };
  } catch (err) {
    if (err instanceof ModelMissingError) {
      await warnOnce(ctx, 'model', `face detection skipped: ${err.message}`);
      return { status: 'skipped', message: `model ${FACE_TASK}/${err.modelName}/${err.part} not installed` };
    }
    throw err;
  }
}

/**
 * Whether pgvector and the face model are there, without loading the model: a recluster compares the
 * stored embeddings only (loading both ONNX sessions cost ~150 MB of its peak RSS).
 */
export async function faceModelsInstalledOrSkip(ctx: Context, settings: FaceSettings): Promise<JobOutcome | undefined> {
  if (!ctx.database.hasVector) {
    await warnOnce(ctx, 'vector', new VectorUnavailableError('Face recognition').message);
    return { status: 'skipped', message: 'pgvector unavailable' };
  }
  try {
    await requireModel(ctx, FACE_TASK, settings.model, 'detection');
    await requireModel(ctx, FACE_TASK, settings.model, 'recognition');
    return undefined;
  } catch (err) {
    if (err instanceof ModelMissingError) {
      await warnOnce(ctx, 'model', `face detection skipped: ${err.message}`);
      return { status: 'skipped', message: `model ${FACE_TASK}/${err.modelName}/${err.part} not installed` };
    }
    throw err;
  }
}

export function isOutcome(x: FaceModels | JobOutcome): x is JobOutcome {
  return 'status' in x;
}

/** Library-relative path of the asset's preview, if the thumbnails stage made one. */
export async function previewPath(ctx: Context, assetId: string): Promise<string | undefined> {
  const row = await ctx.db
    .selectFrom('asset_files')
    .select('path')
    .where('asset_id', '=', assetId)
    .where('kind', '=', 'preview')
    .executeTakeFirst();
  return row?.path;
}

export async function decodeRgb(file: string): Promise<RgbImage> {
  const { data, info } = await uprightRgb(file).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/**
 * The detector input for a preview, decoded straight at the input size; the full-size decode (for
 * alignment and crops) is started and left running, so it overlaps the detector's run.
 */
export async function prepareImage(file: string, inputSize: number): Promise<{ img: Promise<RgbImage>; prepared: Letterboxed }> {
  // Both decodes start at once (sharp runs each on its own thread); the full-size one is awaited
  // only after the detector's run.
  const img = decodeRgb(file);
  img.catch(() => undefined); // awaited by analyzeImage; this only keeps an early failure from going unhandled
  return { img, prepared: await letterboxFile(file, inputSize) };
}

export interface AnalyzedFace extends DetectedFace {
  embedding: Float32Array;
}

/** Detect, align and embed: the ML part of the stage, without the database (bench/faces uses it too). */
export async function analyzeImage(
  models: Pick<FaceModels, 'detector' | 'recognizer' | 'name'>,
  image: ImageSource,
  settings: Pick<FaceSettings, 'minScore' | 'inputSize'> & { recheckFloor?: number },
  prepared?: Letterboxed,
): Promise<AnalyzedFace[]> {
  const opts = { minScore: settings.minScore, inputSize: settings.inputSize, recheckFloor: settings.recheckFloor };
  const faces = (await detectFaces(models.detector, image, opts, prepared)).filter((f) => f.landmarks.length === 5);
  const img = await image;
  const crops = faces.map((f) => alignFace(img, f.landmarks));
  const embeddings = await embedFaces(models.recognizer, crops, embedOptionsFor(models.name));
  return faces.map((f, i) => ({ ...f, embedding: embeddings[i]! }));
}

/** pgvector's text form. */
export function toVector(v: ArrayLike<number>): string {
  return `[${Array.from(v, (x) => (Number.isFinite(x) ? x : 0).toPrecision(7)).join(',')}]`;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** A square-ish crop around the face with some margin, as a small JPEG. */
async function faceCrop(img: RgbImage, box: DetectedFace['box'], size = 160): Promise<Buffer> {
  const w = box[2] - box[0];
  const h = box[3] - box[1];
  const side = Math.max(w, h) * 1.4;
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const left = Math.max(0, Math.round(cx - side / 2));
  const top = Math.max(0, Math.round(cy - side / 2));
  const width = Math.max(1, Math.min(img.width - left, Math.round(side)));
  const height = Math.max(1, Math.min(img.height - top, Math.round(side)));
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 3 } })
    .extract({ left, top, width, height })
    .resize(size, size, { fit: 'cover' })
    .jpeg({ quality: 85 })
    .toBuffer();
}

export interface DetectResult {
  faces: number;
  kept: number;
}

/**
 * The face-detection stage for one asset. Re-running renews the asset's faces without losing anyone's:
 * a new detection in the place of an old face (IoU > 0.5) updates that face (same id, person, cover);
 * faces a user assigned by hand stay as they are (an overlapping new detection is dropped), and so do
 * the faces of named people that are no longer detected.
 */
export async function detectAssetFaces(ctx: Context, assetId: string): Promise<JobOutcome> {
  const settings = faceSettings(ctx.config.raw);
  const models = await faceModelsOrSkip(ctx, settings);
  if (isOutcome(models)) return models;
  const rel = await previewPath(ctx, assetId);
  if (!rel) return { status: 'skipped', message: 'no preview yet (the thumbnails stage makes it)' };
  const file = ctx.library.resolve(rel);
  const unreadable = (err: unknown): JobOutcome => ({ status: 'failed', message: `cannot read preview ${file}: ${errorMessage(err)}` });
  let p: Awaited<ReturnType<typeof prepareImage>>;
  try {
    p = await prepareImage(file, settings.inputSize);
  } catch (err) {
    return unreadable(err);
  }
  let faces: AnalyzedFace[];
  try {
    faces = await analyzeImage(models, p.img, settings, p.prepared);
  } catch (err) {
    // The full-size decode runs beside the detector: its failure is the preview's, anything else the model's.
    const decodeError = await p.img.then(() => undefined, (e: unknown) => e ?? new Error('decode failed'));
    if (decodeError) return unreadable(decodeError);
    throw err;
  }
  const img = await p.img;

  const existing = await ctx.db
    .selectFrom('asset_faces as f')
    .leftJoin('people as p', 'p.id', 'f.person_id')
    .select(['f.id', 'f.person_id', 'f.assigned_by', 'f.box_x1', 'f.box_y1', 'f.box_x2', 'f.box_y2', 'f.crop_path', 'p.name'])
    .where('f.asset_id', '=', assetId)
    .execute();
  const manual = existing.filter((f) => f.assigned_by === 'manual');
  const norm = (f: DetectedFace) => [f.box[0] / img.width, f.box[1] / img.height, f.box[2] / img.width, f.box[3] / img.height];
  const boxOf = (f: (typeof existing)[number]) => [f.box_x1, f.box_y1, f.box_x2, f.box_y2];
  const fresh = faces.filter((f) => !manual.some((m) => iou(boxOf(m), norm(f)) > 0.5));
  // A new face in the place of an old one (IoU > 0.5, best pairs first) takes over the old row: its
  // id, and so its person and any cover that points at it, stay; only box, landmarks, embedding and
  // crop are renewed. Re-detection (a new model, `faces detect --force`) never takes a face from a person.
  const pairs: Array<{ n: number; o: number; v: number }> = [];
  existing.forEach((o, oi) => {
    if (o.assigned_by === 'manual') return;
    fresh.forEach((f, n) => {
      const v = iou(boxOf(o), norm(f));
      if (v > 0.5) pairs.push({ n, o: oi, v });
    });
  });
  pairs.sort((a, b) => b.v - a.v);
  const takes = new Map<number, (typeof existing)[number]>();
  const taken = new Set<number>();
  for (const p of pairs) {
    if (takes.has(p.n) || taken.has(p.o)) continue;
    takes.set(p.n, existing[p.o]!);
    taken.add(p.o);
  }

  // crops first (atomic writes); rows after, in one transaction; stale crops removed last
  const rows: Array<{ face: Insertable<AssetFacesTable> & { id: string }; embedding: string; replaces?: (typeof existing)[number] }> = [];
  for (const [n, f] of fresh.entries()) {
    const id = crypto.randomUUID();
    const replaces = takes.get(n);
    const cropRel = ctx.library.derivedPath('thumbs', assetId, `-face-${id}.jpeg`);
    await writeFileAtomic(ctx.library.resolve(cropRel), await faceCrop(img, f.box));
    const [x1, y1, x2, y2] = norm(f).map(clamp01) as [number, number, number, number];
    rows.push({
      face: {
        id: replaces?.id ?? id,
        asset_id: assetId,
        model: models.name,
        image_width: img.width,
        image_height: img.height,
        box_x1: x1,
        box_y1: y1,
        box_x2: x2,
        box_y2: y2,
        score: f.score,
        landmarks: f.landmarks.flatMap(([x, y]) => [x / img.width, y / img.height]),
        crop_path: cropRel,
      },
      embedding: toVector(f.embedding),
      replaces,
    });
  }
  // Old faces no new one replaces go, except a named person's: the user named that face, so it
  // stays with them (as a manual face does) even if this detector no longer finds it.
  const stale = existing.filter((f, oi) => f.assigned_by !== 'manual' && !taken.has(oi) && !(f.person_id && f.name));
  const inserted = rows.filter((r) => !r.replaces);
  const renewed = rows.filter((r) => r.replaces);
  await ctx.db.transaction().execute(async (trx) => {
    if (stale.length) await trx.deleteFrom('asset_faces').where('id', 'in', stale.map((f) => f.id)).execute();
    for (const r of renewed) {
      const { id, asset_id: _asset, ...values } = r.face;
      await trx.updateTable('asset_faces').set(values).where('id', '=', id).execute();
      await trx.deleteFrom('face_search').where('face_id', '=', id).execute();
    }
    if (inserted.length) await trx.insertInto('asset_faces').values(inserted.map((r) => r.face)).execute();
    if (rows.length) {
      await trx.insertInto('face_search').values(rows.map((r) => ({ face_id: r.face.id, embedding: sql`${r.embedding}::vector` as never }))).execute();
    }
    // new faces need clustering again even when face-recognition was done for the old ones
    await trx.deleteFrom('asset_job_status').where('asset_id', '=', assetId).where('stage', '=', 'face-recognition').execute();
    // people left without a face by the replacement disappear unless they have a name
    await trx.deleteFrom('people').where('name', '=', '').where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('asset_faces').select('asset_faces.id').whereRef('asset_faces.person_id', '=', 'people.id'))),
    ).execute();
  });
  for (const r of renewed) if (r.replaces!.crop_path) await fsp.rm(ctx.library.resolve(r.replaces!.crop_path), { force: true });
  for (const f of stale) if (f.crop_path) await fsp.rm(ctx.library.resolve(f.crop_path), { force: true });
  // No message: on success a message is a caveat the import reports as a warning.
  return { status: 'success' };
}

export interface QueueFacesResult {
  /** Image assets with a preview whose face stages were queued. */
  queued: number;
  /** Image assets without a preview yet (the thumbnails stage has not run). */
  noPreview: number;
}

/**
 * Queue face-detection for image assets that miss it (no 'done' record), or for all with force; the
 * pipeline queues face-recognition after each success. Pages of 1000 assets, one bulk enqueue each.
 */
export async function queueFaceDetection(ctx: Context, opts: { force?: boolean; assetIds?: string[] } = {}): Promise<QueueFacesResult> {
  const pageSize = 1000;
  let queued = 0;
  let after = '';
  for (;;) {
    let q = ctx.db
      .selectFrom('assets as a')
      .innerJoin('asset_files as f', (j) => j.onRef('f.asset_id', '=', 'a.id').on('f.kind', '=', 'preview'))
      .select('a.id')
      .where('a.type', '=', 'image')
      // Trashed assets are not processed (restored ones are picked up by the next run).
      .where('a.deleted_at', 'is', null)
      .where(sql<string>`a.id::text`, '>', after)
      .orderBy(sql`a.id::text`)
      .limit(pageSize);
    if (opts.assetIds) q = q.where('a.id', 'in', opts.assetIds.length ? opts.assetIds : ['00000000-0000-0000-0000-000000000000']);
    if (!opts.force) {
      q = q.where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('asset_job_status as s').select('s.asset_id').whereRef('s.asset_id', '=', 'a.id').where('s.stage', '=', 'face-detection').where('s.status', '=', 'done'))),
      );
    }
    const ids = (await q.execute()).map((r) => r.id);
    if (!ids.length) break;
    await ctx.queue.enqueue(ids.map((assetId) => ({ stage: 'face-detection' as const, assetId, force: opts.force })));
    queued += ids.length;
    after = ids[ids.length - 1]!;
    if (ids.length < pageSize) break;
  }
  const np = await ctx.db
    .selectFrom('assets as a')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('a.type', '=', 'image')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('asset_files as f').select('f.asset_id').whereRef('f.asset_id', '=', 'a.id').where('f.kind', '=', 'preview'))))
    .executeTakeFirst();
  return { queued, noPreview: Number(np?.n ?? 0) };
}

/**
 * What happened to the photos a `faces detect` run queued, from the job history since it started:
 * each photo is counted once (its latest run of each face stage), failed when either stage failed,
 * skipped when detection was skipped, done otherwise. done + skipped + failed = photos.
 */
export async function detectOutcomes(ctx: Context, since: Date): Promise<{ photos: number; done: number; skipped: number; failed: number }> {
  const rows = (
    await sql<{ failed: boolean; skipped: boolean }>`
      with last as (
        select distinct on (asset_id, stage) asset_id, stage, status from job_runs
        where stage in ('face-detection', 'face-recognition') and finished_at >= ${since} and asset_id is not null
        order by asset_id, stage, finished_at desc, id desc)
      select bool_or(status = 'failed') as failed, bool_or(stage = 'face-detection' and status = 'skipped') as skipped
      from last group by asset_id`.execute(ctx.db)
  ).rows;
  const failed = rows.filter((r) => r.failed).length;
  const skipped = rows.filter((r) => !r.failed && r.skipped).length;
  return { photos: rows.length, done: rows.length - failed - skipped, skipped, failed };
}
