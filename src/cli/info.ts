// `immich info <asset|file...>`: everything known about assets: files, checksum, dates and their
// source, place, camera, the user's metadata, tags, albums, people, OCR text, stack, derived
// files, per-stage status and the sidecar.
import fs from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { AssetInfo } from '../services/asset-info.js';
import { addSelectionOptions, isSelective, parseSelection, type SelectionFlags } from '../services/selection.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';
import { fsPath } from '../storage/raw-path.js';

export function register(program: Command): void {
  const cmd = program
    .command('info')
    .description('show everything known about assets: ids, files, checksum, dates, place, camera, rating, tags, albums, people, OCR text, stack, derived files, stage status')
    .argument('[asset|file...]', 'asset ids (or unambiguous prefixes), library files or original paths');
  addSelectionOptions(cmd, { favorite: true })
    .addHelpText(
      'after',
      `
Assets are named by argument (ids, id prefixes, library or original paths) or chosen with the
selection options of immich search (see immich-search(1)); --ids-from - reads them from stdin, so
immich search ... --paths | immich info --ids-from - works.

--json prints { count, assets: [...] }; each asset has these keys (the same as immich search --json
results and immich edit's records):
  id, checksum, originalName, originalPath, libraryPath, storageMode, type, mimeType, fileSize,
  width, height, takenAt (UTC ISO), localTakenAt (wall clock, no offset), timeZone,
  dateSource (edit | takeout | exif | sidecar | file mtime), latitude, longitude, city, state,
  country, make, model, lensModel, iso, fNumber, exposureTime, focalLength, duration, description,
  rating (0-5 or null), favorite, archived, trashedAt, editedAt, tags [{ name, source: user | xmp |
  takeout | object | scene, score? }], albums [{ id, path }], people [{ id, name, box: { x1, y1,
  x2, y2 } }], ocrText, stack { id, primaryAssetId } or null, livePhotoVideoId,
  files [{ kind, path }], stages [{ stage, status, error }], sidecar { path, state, error } or null.

Exit status:
  0  shown
  2  usage error (unknown id, ambiguous prefix, a file that is not in the library)
  3  environment error (database unavailable)`,
    )
    .action(async (args: string[], flags: SelectionFlags, c: Command) => {
      const rt = await loadRuntime(c);
      process.exitCode = await runInfo(rt, args, flags);
    });
}

async function runInfo(rt: Runtime, args: string[], flags: SelectionFlags): Promise<number> {
  const sel = await parseSelection(flags);
  // An argument is a path when such a file exists or it has a '/', else an id (prefix).
  for (const a of args) {
    if (fs.existsSync(fsPath(a)) || a.includes('/') || !/^[0-9a-f-]+$/i.test(a)) sel.refs = [...(sel.refs ?? []), a];
    else sel.ids = [...(sel.ids ?? []), a.toLowerCase()];
  }
  if (!isSelective(sel)) throw new UsageError('name assets (ids or files) or give a selection, e.g. --album Trips or --ids-from -');
  return withContext(rt, { command: 'immich info', quickStart: true }, async (ctx) => {
    const { selectAssetIds } = await import('../services/selection.js');
    const { describeAssets } = await import('../services/asset-info.js');
    const ids = await selectAssetIds(ctx, sel, { strict: true });
    const assets = await describeAssets(ctx, ids);
    if (rt.out.json) {
      rt.out.data({ count: assets.length, assets });
      return 0;
    }
    if (!assets.length) rt.out.note('no assets selected');
    assets.forEach((a, i) => {
      if (i) rt.out.line();
      // A field of several values (files) gets one line each, under the first: each line escaped on its own,
      // so a newline in a file name still reads \n while the lines between files stay real.
      for (const [k, v] of lines(a)) v.forEach((x, j) => rt.out.line(`${(j ? '' : k).padEnd(13)} ${x}`));
    });
    return 0;
  });
}

function lines(a: AssetInfo): Array<[string, string[]]> {
  const out: Array<[string, string | string[] | number | null | undefined]> = [
    ['id', a.id],
    ['name', a.originalName],
    ['original', a.originalPath],
    ['library', `${a.libraryPath} (${a.storageMode})`],
    ['checksum', `sha1:${a.checksum}`],
    ['type', `${a.type} ${a.mimeType}, ${a.fileSize} bytes${a.width ? `, ${a.width}x${a.height}` : ''}${a.duration ? `, ${a.duration.toFixed(1)} s` : ''}`],
    ['taken', a.takenAt ? `${a.takenAt} UTC; local ${a.localTakenAt ?? '?'}${a.timeZone ? ` ${a.timeZone}` : ' (zone unknown)'}; from ${a.dateSource}` : ''],
    ['place', a.latitude !== null ? `${a.latitude}, ${a.longitude}${a.city ? ` (${[a.city, a.state, a.country].filter(Boolean).join(', ')})` : ''}` : ''],
    ['camera', [a.make, a.model].filter(Boolean).join(' ')],
    ['lens', a.lensModel],
    ['exposure', [a.exposureTime && `${a.exposureTime} s`, a.fNumber && `f/${a.fNumber}`, a.iso && `ISO ${a.iso}`, a.focalLength && `${a.focalLength} mm`].filter(Boolean).join(', ')],
    ['description', a.description],
    ['rating', a.rating ? '★'.repeat(a.rating) + ` (${a.rating})` : ''],
    ['flags', [a.favorite && 'favorite', a.archived && 'archived', a.trashedAt && `trashed ${a.trashedAt}`].filter(Boolean).join(', ')],
    ['tags', a.tags.map((t) => `${t.name} [${t.source}]`).join(', ')],
    ['albums', a.albums.map((x) => x.path).join(', ')],
    ['people', a.people.map((p) => `${p.name ?? '(unnamed)'} @${p.box.x1},${p.box.y1}-${p.box.x2},${p.box.y2}`).join(', ')],
    ['text', a.ocrText?.replace(/\s+/g, ' ')],
    ['stack', a.stack ? `${a.stack.id}${a.stack.primaryAssetId === a.id ? ' (primary)' : ` (primary ${a.stack.primaryAssetId})`}` : ''],
    ['live photo', a.livePhotoVideoId],
    ['files', a.files.map((f) => `${f.kind} ${f.path}`)],
    ['stages', a.stages.map((s) => `${s.stage}:${s.status}`).join(' ')],
    ['sidecar', a.sidecar ? `${a.sidecar.path} (${a.sidecar.state}${a.sidecar.error ? `: ${a.sidecar.error}` : ''})` : ''],
    ['edited', a.editedAt],
  ];
  return out
    .filter(([, v]) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => [k, Array.isArray(v) ? v : [String(v)]]);
}
