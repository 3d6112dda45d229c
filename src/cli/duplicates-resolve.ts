// `immich duplicates resolve`: keep one copy per near-duplicate group, merge the others' metadata
// into it, trash (or stack) the others. Registered under `immich duplicates` (src/cli/duplicates.ts).
import type { Command } from 'commander';
import { UsageError, errorMessage } from '../errors.js';
import { KEEP_POLICIES, MERGE_FIELDS, parseMergeFields, type KeepPolicy } from '../services/duplicate-policy.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';

interface ResolveFlags {
  keep?: string;
  merge?: string;
  stackInstead?: boolean;
  dryRun?: boolean;
  method?: string;
  threshold?: string;
}

export function registerResolve(duplicates: Command): void {
  duplicates
    .command('resolve')
    .description('keep one copy in each near-duplicate group, merge the others\' albums, favorite, rating, description, tags, location and people into it, and trash the others')
    .option('--keep <policy>', `which copy to keep: ${KEEP_POLICIES.join(', ')} (default best)`)
    .option('--merge <fields>', `what the kept copy takes over, comma-separated: ${MERGE_FIELDS.join(', ')}, all or none (default all)`)
    .option('--stack-instead', 'stack the other copies under the kept one instead of trashing them')
    .option('--dry-run', 'show the decision for each group; change nothing')
    .option('--method <method>', 'clip, phash or auto, as for immich duplicates')
    .option('--threshold <n>', 'as for immich duplicates (lower finds fewer, never more)')
    .addHelpText(
      'after',
      `
best: the highest resolution, then the most complete metadata (date with time zone, GPS, camera),
then the format (RAW > HEIC > JPEG > WebP), then the oldest import. largest: the biggest file.
oldest/newest: by capture date. The reason is printed for each group.

The merge works like Immich's duplicates utility: favorite if any copy is, the highest rating, the
union of albums and tags, the descriptions joined, the location only when the copies that have one
agree, and people onto the kept copy's matching unassigned faces. Edits reach the kept copy's XMP
sidecar. The others go to the trash (\`immich trash restore\` takes them back) or, with
--stack-instead, into a stack whose primary is the kept copy. Without a CLIP model the perceptual
hash (phash) finds the groups.

Examples:
  immich duplicates resolve --dry-run
  immich duplicates resolve --keep largest --merge albums,favorite,rating
  immich --json duplicates resolve --stack-instead | jq '.groups[] | .reason'

Exit status:
  0  done (also when there are no duplicates)
  1  some sidecars could not be written (listed; the database has the merge)
  2  usage error (bad --keep, --merge, --method or --threshold)
  3  environment error (database unavailable; --method clip without pgvector)`,
    )
    .action(async (flags: ResolveFlags, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      process.exitCode = await runResolve(rt, flags);
    });
}

async function runResolve(rt: Runtime, flags: ResolveFlags): Promise<number> {
  const keep = (flags.keep ?? 'best') as KeepPolicy;
  if (!KEEP_POLICIES.includes(keep)) throw new UsageError(`--keep must be one of ${KEEP_POLICIES.join(', ')} (got ${flags.keep})`);
  let merge;
  try {
    merge = parseMergeFields(flags.merge);
  } catch (err) {
    throw new UsageError(`--merge: ${errorMessage(err)}`);
  }
  const method = flags.method ?? 'auto';
  if (!['auto', 'clip', 'phash'].includes(method)) throw new UsageError(`--method must be clip, phash or auto (got ${method})`);
  let threshold: number | undefined;
  if (flags.threshold !== undefined) {
    threshold = Number(flags.threshold);
    if (!Number.isFinite(threshold) || threshold < 0) throw new UsageError(`--threshold must be a number >= 0 (got ${flags.threshold})`);
  }
  return withContext(rt, { command: 'immich duplicates resolve' }, async (ctx) => {
    const { resolveDuplicates } = await import('../services/duplicate-resolve.js');
    const progress = rt.out.progress('comparing');
    const r = await resolveDuplicates(ctx, {
      keep,
      merge,
      stackInstead: flags.stackInstead,
      dryRun: flags.dryRun,
      method: method as 'auto' | 'clip' | 'phash',
      threshold,
      onProgress: (d, t) => progress.update(d, t),
    });
    progress.stop();
    for (const f of r.sidecarFailures) rt.out.error(`immich: ${f.file}: cannot write the sidecar: ${f.error}`);
    if (rt.out.json) {
      rt.out.data(r);
      return r.sidecarFailures.length ? 1 : 0;
    }
    if (!r.groups.length) {
      rt.out.note(`no near-duplicates to resolve (method ${r.method}, threshold ${r.threshold})`);
      return 0;
    }
    r.groups.forEach((g, i) => {
      rt.out.line(`group ${i + 1}: keep ${g.keepPath}`);
      rt.out.line(`  why: ${g.reason}`);
      for (const p of g.otherPaths) rt.out.line(`  ${r.action === 'stack' ? 'stack' : 'trash'}: ${p}`);
      const m = g.merge;
      const merged = [
        m.albums.length ? `${m.albums.length} album(s)` : '',
        m.favorite ? 'favorite' : '',
        m.rating !== undefined ? `rating ${m.rating}` : '',
        m.description !== undefined ? 'description' : '',
        m.tags.length ? `${m.tags.length} tag(s)` : '',
        m.location ? `location ${m.location.latitude.toFixed(5)},${m.location.longitude.toFixed(5)}` : '',
        m.faces.length ? `${m.faces.length} person(s)` : '',
      ].filter(Boolean);
      if (merged.length) rt.out.line(`  merged: ${merged.join(', ')}`);
      for (const n of m.notes) rt.out.line(`  note: ${n}`);
    });
    const done = r.action === 'stack' ? `${r.stacked} stacked` : `${r.trashed} moved to the trash`;
    rt.out.line(`${r.dryRun ? 'dry run: ' : ''}${r.groups.length} group(s) resolved with --keep ${r.keep}${r.dryRun ? '' : `, ${done}`}`);
    return r.sidecarFailures.length ? 1 : 0;
  });
}
