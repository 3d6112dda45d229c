// `immich duplicates`: group near-duplicate photos (CLIP distance, or a perceptual hash without CLIP)
// and list the groups.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseNumberOption } from '../validate.js';
import { registerResolve } from './duplicates-resolve.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';

export interface DuplicatesFlags {
  method?: string;
  threshold?: string;
  paths?: boolean;
  null?: boolean;
}

export function register(program: Command): void {
  const duplicates = program.command('duplicates');
  duplicates
    .description(
      'find groups of near-duplicate photos (re-encoded, resized or converted copies of one picture) and list them; ' +
        'byte-identical files were already refused at import',
    )
    .option('--method <method>', 'clip (CLIP embedding distance), phash (perceptual hash of the preview) or auto (default: clip when available)')
    .option('--threshold <n>', 'largest distance that still counts as a duplicate: CLIP cosine distance (default 0.01, as Immich) or differing hash bits of 64 (default 6)')
    .option('--paths', 'print the files of each group on one line each, groups separated by an empty line')
    .option('-0, --null', 'print the files NUL-separated, groups separated by an extra NUL')
    .addHelpText(
      'after',
      `
Groups are recomputed over the whole library on each run and stored (search --duplicates shows the
same). Within a group the largest file comes first: usually the one to keep. Nothing is deleted;
\`immich duplicates resolve\` keeps one copy per group and trashes (or stacks) the others.
With CLIP (a model under IMMICH_MODELS_DIR/clip/ and pgvector), two photos are duplicates when the
cosine distance of their embeddings is at most the threshold; otherwise the 64-bit difference hash
(dHash) of their previews may differ in at most the threshold's number of bits.

Examples:
  immich duplicates
  immich duplicates --method phash --threshold 4
  immich --json duplicates | jq '.groups[] | .assets[1:][] .path'

Exit status:
  0  done (also when there are no duplicates)
  2  usage error (bad --method or --threshold)
  3  environment error (database unavailable; --method clip without pgvector)`,
    )
    .action(async (flags: DuplicatesFlags, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const { quietOnClosedPipe } = await import('./search.js');
      quietOnClosedPipe();
      process.exitCode = await runDuplicates(rt, flags);
    });
  registerResolve(duplicates);
}

export async function runDuplicates(rt: Runtime, flags: DuplicatesFlags): Promise<number> {
  const method = flags.method ?? 'auto';
  if (!['auto', 'clip', 'phash'].includes(method)) throw new UsageError(`--method must be clip, phash or auto (got ${method})`);
  let threshold: number | undefined;
  if (flags.threshold !== undefined) {
    // A dHash has 64 bits; a cosine distance lies in [0, 2]. With auto the method is known later: the wider range.
    threshold =
      method === 'phash' ? parseNumberOption('--threshold', flags.threshold, { min: 0, max: 64, integer: true, example: '6 (bits of the 64-bit hash)' })
      : method === 'clip' ? parseNumberOption('--threshold', flags.threshold, { min: 0, max: 2, example: '0.01 (cosine distance)' })
      : parseNumberOption('--threshold', flags.threshold, { min: 0, max: 64 });
  }
  return withContext(rt, { command: 'immich duplicates' }, async (ctx) => {
    const { findDuplicates, listDuplicateGroups } = await import('../services/duplicates.js');
    const progress = rt.out.progress('comparing');
    const result = await findDuplicates(ctx, {
      method: method as 'auto' | 'clip' | 'phash',
      threshold,
      onProgress: (d, t) => progress.update(d, t),
    });
    progress.stop();
    const groups = await listDuplicateGroups(ctx);
    const files = await ctx.db.selectFrom('assets').select(['id', 'library_path']).where('id', 'in', groups.flatMap((g) => g.assets.map((a) => a.id)).concat(['00000000-0000-0000-0000-000000000000'])).execute();
    const pathOf = new Map(files.map((f) => [f.id, ctx.library.resolve(f.library_path)]));
    if (flags.null) {
      rt.out.write(groups.map((g) => g.assets.map((a) => pathOf.get(a.id) + '\0').join('') + '\0').join(''));
      return 0;
    }
    if (flags.paths) {
      rt.out.write(groups.map((g) => g.assets.map((a) => pathOf.get(a.id) + '\n').join('')).join('\n'));
      return 0;
    }
    if (rt.out.json) {
      rt.out.data({
        method: result.method,
        threshold: result.threshold,
        count: groups.length,
        groups: groups.map((g) => ({ id: g.id, method: g.method, assets: g.assets.map((a) => ({ ...a, path: pathOf.get(a.id) })) })),
      });
      return 0;
    }
    if (!groups.length) {
      rt.out.note(`no near-duplicates found (method ${result.method}, threshold ${result.threshold})`);
      return 0;
    }
    rt.out.table(
      ['group', 'file', 'size', 'dimensions', 'thumbnail'],
      groups.flatMap((g, i) =>
        g.assets.map((a, j) => [
          j === 0 ? String(i + 1) : '',
          pathOf.get(a.id) ?? a.originalPath,
          a.fileSize,
          a.width && a.height ? `${a.width}x${a.height}` : '',
          a.thumbnail ?? '',
        ]),
      ),
      { wideOnly: ['thumbnail'] },
    );
    rt.out.note(`${groups.length} group(s) of near-duplicates (method ${result.method}, threshold ${result.threshold})`);
    return 0;
  });
}
