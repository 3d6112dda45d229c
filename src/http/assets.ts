// /api/assets/*: Immich's upload, bulk-upload check and statistics for @immich/cli, and the asset
// details, files (thumbnail, preview, original, video with range requests) and flags for the web.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { editAssets } from '../services/edit.js';
import { assetDetails, assetFilePath, type AssetFileKind } from '../services/gallery.js';
import { moveToTrash, purgeAssets, restoreFromTrash } from '../services/trash.js';
import { assetStatistics, safeFileName, type UploadVisibility } from '../services/upload.js';
import { httpError, type Services } from './server.js';
import { fsPath } from '../storage/raw-path.js';

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: UUID_PATTERN } } } as const;
export const idList = { type: 'array', maxItems: 65_000, items: { type: 'string', pattern: UUID_PATTERN } } as const;

export async function routes(app: FastifyInstance, { ctx, uploads }: Services): Promise<void> {
  app.post<{ Body: { assets: Array<{ id: string; checksum: string }> } }>(
    '/api/assets/bulk-upload-check',
    {
      config: { permission: 'asset.upload' },
      schema: {
        body: {
          type: 'object',
          required: ['assets'],
          properties: {
            assets: {
              type: 'array', maxItems: 10_000,
              items: { type: 'object', required: ['id', 'checksum'], properties: { id: { type: 'string', maxLength: 4096 }, checksum: { type: 'string', maxLength: 64 } } },
            },
          },
        },
      },
    },
    async (req) => {
      const found = await uploads.check(req.body.assets);
      return {
        results: found.map((f) =>
          f.assetId
            ? { id: f.id, action: 'reject', reason: 'duplicate', assetId: f.assetId, isTrashed: Boolean(f.trashed) }
            : { id: f.id, action: 'accept' },
        ),
      };
    },
  );

  app.post('/api/assets', { config: { permission: 'asset.upload' } }, async (req, reply) => {
    const dir = await uploads.stagingFolder();
    try {
      const fields: Record<string, string> = {};
      let asset: { file: string; sha1: string } | undefined;
      let sidecar: string | undefined;
      for await (const part of req.parts()) {
        if (part.type === 'field') {
          fields[part.fieldname] = String(part.value);
          continue;
        }
        if (part.fieldname === 'assetData' && !asset) {
          const file = path.join(dir, safeFileName(part.filename));
          asset = { file, sha1: await saveHashed(part.file, file) };
        } else if (part.fieldname === 'sidecarData' && !sidecar) {
          sidecar = path.join(dir, '.sidecar');
          await saveHashed(part.file, sidecar);
        } else {
          part.file.resume();
        }
        if (part.file.truncated) throw clientError(413, 'upload larger than the limit');
      }
      if (!asset) throw clientError(400, 'assetData (the file) is missing');
      const result = await uploads.upload({
        ...asset,
        sidecar,
        fileModifiedAt: fields.fileModifiedAt ? new Date(fields.fileModifiedAt) : undefined,
        visibility: uploadVisibility(fields.visibility),
        isFavorite: fields.isFavorite === 'true',
      });
      return reply.code(result.status === 'created' ? 201 : 200).send(result);
    } finally {
      // What the import did not move away (a duplicate, a refused file) goes with the folder.
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  app.get<{ Querystring: { isFavorite?: boolean; isTrashed?: boolean; visibility?: string } }>(
    '/api/assets/statistics',
    {
      config: { permission: 'asset.statistics' },
      schema: {
        querystring: {
          type: 'object',
          properties: { isFavorite: { type: 'boolean' }, isTrashed: { type: 'boolean' }, visibility: { type: 'string', enum: ['archive', 'timeline', 'hidden', 'locked'] } },
        },
      },
    },
    async (req) => assetStatistics(ctx, req.query),
  );

  app.put<{ Body: { ids: string[]; isFavorite?: boolean; isArchived?: boolean; visibility?: string } }>(
    '/api/assets',
    {
      config: { permission: 'asset.update' },
      schema: {
        body: {
          type: 'object',
          required: ['ids'],
          properties: { ids: idList, isFavorite: { type: 'boolean' }, isArchived: { type: 'boolean' }, visibility: { type: 'string', enum: ['archive', 'timeline'] } },
        },
      },
    },
    async (req, reply) => {
      const { ids, isFavorite, visibility } = req.body;
      const isArchived = visibility ? visibility === 'archive' : req.body.isArchived;
      // `immich edit`'s service: one transaction, then the XMP sidecars.
      if (isFavorite !== undefined || isArchived !== undefined) {
        await editAssets(ctx, ids.map((i) => i.toLowerCase()), { favorite: isFavorite, archive: isArchived, tag: [], untag: [] });
      }
      return reply.code(204).send();
    },
  );

  // Immich's DELETE /assets: to the trash, or with `force` deleted at once (files and rows) through the
  // trash's kill-safe purge, as `immich rm` + `trash empty` do. In-place originals are forgotten, not
  // deleted (Immich keeps external libraries' files the same way).
  app.delete<{ Body: { ids: string[]; force?: boolean } }>(
    '/api/assets',
    {
      config: { permission: 'asset.delete' },
      schema: { body: { type: 'object', required: ['ids'], properties: { ids: idList, force: { type: 'boolean' } } } },
    },
    async (req, reply) => {
      const ids = req.body.ids.map((i) => i.toLowerCase());
      const moved = await moveToTrash(ctx, ids);
      if (req.body.force) {
        const purge = await purgeAssets(ctx, [...new Set([...ids, ...moved.trashed])]);
        for (const f of purge.failures) ctx.logger.warn(`delete: ${f.path}: ${f.reason}`);
      }
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { ids: string[] } }>(
    '/api/trash/restore/assets',
    { config: { permission: 'asset.delete' }, schema: { body: { type: 'object', required: ['ids'], properties: { ids: idList } } } },
    async (req) => ({ count: (await restoreFromTrash(ctx, req.body.ids.map((i) => i.toLowerCase()))).restored.length }),
  );

  app.get<{ Params: { id: string } }>('/api/assets/:id', { config: { permission: 'asset.read' }, schema: { params: idParams } }, async (req, reply) => {
    const a = await assetDetails(ctx, req.params.id.toLowerCase());
    return a ?? httpError(reply, 404, 'asset not found');
  });

  const file = (kind: (req: FastifyRequest<{ Params: { id: string }; Querystring: { size?: string } }>) => AssetFileKind) =>
    async (req: FastifyRequest<{ Params: { id: string }; Querystring: { size?: string } }>, reply: FastifyReply) => {
      const f = await assetFilePath(ctx, req.params.id.toLowerCase(), kind(req));
      if (!f) return httpError(reply, 404, 'no such file for this asset');
      return sendFile(req, reply, f.path, f.mime);
    };
  const sizeQuery = { type: 'object', properties: { size: { type: 'string', enum: ['thumbnail', 'preview', 'fullsize'] } } } as const;
  app.get('/api/assets/:id/thumbnail', { config: { permission: 'asset.view' }, schema: { params: idParams, querystring: sizeQuery } },
    file((req) => (req.query.size === 'preview' || req.query.size === 'fullsize' ? 'preview' : 'thumbnail')));
  app.get('/api/assets/:id/original', { config: { permission: 'asset.download' }, schema: { params: idParams } }, file(() => 'original'));
  app.get('/api/assets/:id/video/playback', { config: { permission: 'asset.view' }, schema: { params: idParams } }, file(() => 'playback'));
}

/**
 * Immich's upload `visibility`: timeline and archive as they are; hidden (Immich's for what no view
 * lists, such as a Live Photo's video half) becomes archive, the nearest we have (kept, found by
 * search and the Archive view, off the timeline); locked (Immich's PIN-protected folder) is refused,
 * as we have no locked folder to keep it from the other views.
 */
function uploadVisibility(v: string | undefined): UploadVisibility | undefined {
  if (v === undefined || v === '' || v === 'timeline') return undefined;
  if (v === 'archive' || v === 'hidden') return 'archive';
  if (v === 'locked') throw clientError(400, 'visibility locked is not supported: this server has no locked folder (upload with timeline or archive)');
  throw clientError(400, `visibility ${v.slice(0, 40)} is not one of timeline, archive, hidden, locked`);
}

/** Thrown rather than sent inside the upload's try, so its staging folder is gone before the answer leaves. */
function clientError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode });
}

/** Stream a request's file part to disk (never held in memory), returning its SHA-1. */
async function saveHashed(stream: NodeJS.ReadableStream, file: string): Promise<string> {
  const hash = crypto.createHash('sha1');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(stream, tap, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  return hash.digest('hex');
}

/** A file with HTTP range support (video seeking), from a path the gallery service vouched for. */
async function sendFile(req: FastifyRequest, reply: FastifyReply, file: string, mime: string) {
  let st: fs.Stats;
  try {
    st = await fsp.stat(fsPath(file));
  } catch {
    return httpError(reply, 404, 'file missing from the library');
  }
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  reply.header('content-type', mime).header('accept-ranges', 'bytes').header('etag', etag).header('cache-control', 'private, max-age=86400');
  if (req.headers['if-none-match'] === etag) return reply.code(304).send();
  const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
  if (range && (range[1] || range[2])) {
    let start = range[1] ? Number(range[1]) : Math.max(0, st.size - Number(range[2]));
    let end = range[1] && range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1;
    if (start >= st.size || start > end) {
      return reply.code(416).header('content-range', `bytes */${st.size}`).send();
    }
    start = Math.max(0, start);
    end = Math.max(start, end);
    reply.code(206).header('content-range', `bytes ${start}-${end}/${st.size}`).header('content-length', String(end - start + 1));
    return reply.send(fs.createReadStream(fsPath(file), { start, end }));
  }
  reply.header('content-length', String(st.size));
  return reply.send(fs.createReadStream(fsPath(file)));
}
