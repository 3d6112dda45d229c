// `immich index`: queue the stages assets miss (or all, --force), sync in-place folders, then work
// until this run's jobs are done (or return at once with --no-wait in Redis mode).
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { ASSET_STAGES, type AssetStage, type DrainResult, type QueueProgress, type Stage } from '../jobs/types.js';
import { jobFailures, queueIndex, type ItemFailure } from '../services/index.js';
import { createProcessor } from '../services/pipeline.js';
import { loadRuntime, withContext } from './runtime.js';

interface IndexCliOptions {
  missing?: boolean;
  force?: boolean;
  jobs?: string;
  wait: boolean;
  sync: boolean;
  pruneOffline?: boolean;
  retryFailed?: boolean;
}

function parseJobs(value: string | undefined): AssetStage[] | undefined {
  if (!value) return undefined;
  const out: AssetStage[] = [];
  for (const s of value.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(ASSET_STAGES as readonly string[]).includes(s)) {
      throw new UsageError(`--jobs: unknown stage '${s}' (one of ${ASSET_STAGES.join(', ')})`);
    }
    out.push(s as AssetStage);
  }
  if (!out.length) throw new UsageError('--jobs needs at least one stage');
  return out;
}

export function register(program: Command): void {
  program
    .command('index')
    .description(
      'Queue the pipeline stages that assets miss (no "done" record), or every stage with --force, 1000 assets ' +
        'at a time; check in-place folders for new, changed and removed files first. Then process the jobs ' +
        '(in-process, or as one more worker in Redis mode) until this run\'s jobs are done.',
    )
    .option('--missing', 'queue only stages not done yet (the default)')
    .option('--force', 'redo the selected stages for every asset')
    .option('--jobs <list>', `comma-separated stages: ${ASSET_STAGES.join(', ')} (default: the whole pipeline)`)
    .option('--no-wait', 'Redis mode: return once the jobs are queued; `immich worker` processes run them')
    .option('--no-sync', 'do not look for new, changed or removed files of in-place assets')
    .option('--retry-failed', 'also queue stages skipped or failed since the environment last changed')
    .option('--prune-offline', 'delete in-place assets whose file is gone instead of marking them offline')
    .addHelpText(
      'after',
      `
Without --jobs, --missing queues for each asset the first stages of the pipeline that are not done
(metadata → thumbnails → smart-search, face-detection, objects, ocr; video for videos); the rest follows
as each stage succeeds. With --jobs, exactly those stages are queued for assets that miss them, and
only those run (their follow-up stages are not queued).
Stages reported 'skipped' (e.g. no model installed) or 'failed' are queued again once the environment
changed (a model or ffmpeg installed, a setting or this program updated), or with --retry-failed; while
it is unchanged they would do the same again, so a re-run with nothing new exits 0. The summary
("N assets, M jobs queued"; --json assets, jobs, queued) counts the assets that had a stage queued:
0 when nothing is missing (with --force, every asset).

In-place assets (imported with --in-place) are checked against their folders: new files are imported in
place, files whose size or time changed are hashed and, when the content changed, processed again, and
files that are gone are marked offline (kept with everything found about them, as Immich does, and
left out of processing; table asset_offline) until they come back; --prune-offline deletes them.
New files are only looked for in the folders that already hold in-place assets (and below them).

Examples:
  immich index                          # what is missing, plus in-place changes
  immich index --jobs thumbnails --force
  immich index --jobs smart-search,ocr  # after installing models
  REDIS_HOSTNAME=redis immich index --no-wait && immich jobs

Exit status:
  0  all queued jobs done (or queued, with --no-wait)
  1  some jobs or in-place files failed (listed)
  2  usage error
  3  environment error (database, Redis or storage unavailable)`,
    )
    .action(async (opts: IndexCliOptions, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const { out, config } = rt;
      out.listsItemFailures = true;
      if (opts.missing && opts.force) throw new UsageError('--missing and --force exclude each other');
      const stages = parseJobs(opts.jobs);
      if (!opts.wait && !config.redis) {
        throw new UsageError('--no-wait needs Redis job queues (REDIS_HOSTNAME): in-process jobs only run while the command runs');
      }
      // With --jobs only those stages run: their follow-up stages are not queued (workers included).
      const onlyStages = stages ? new Set<Stage>(stages) : undefined;
      const code = await withContext(rt, { command: 'immich index', processor: (c) => createProcessor(c, { onlyStages }) }, async (ctx) => {
        const progress = out.progress('indexing');
        const summary = await queueIndex(
          ctx,
          { mode: opts.force ? 'force' : 'missing', stages, syncInPlace: opts.sync, pruneOffline: opts.pruneOffline, retryFailed: opts.retryFailed },
          {
            onInPlace: (t) => progress.text(t),
            onPage: (assets, jobs) => progress.text(`${assets} assets, ${jobs} jobs queued`),
          },
        );
        let result: DrainResult | undefined;
        const stageProgress = new Map<string, QueueProgress>();
        if (opts.wait && summary.jobs + (summary.inPlace?.new ?? 0) + (summary.inPlace?.changed ?? 0) > 0) {
          result = await ctx.queue.drain((p) => {
            stageProgress.set(p.stage, p);
            let done = 0;
            let total = 0;
            for (const s of stageProgress.values()) { done += s.done + s.failed + s.skipped; total += s.total; }
            progress.update(done, total, p.stage);
          });
        }
        progress.stop();
        const inPlaceFailures = summary.inPlace?.failures ?? [];
        // One failure schema across commands (import's): path, stage, reason (and the asset).
        const failures: ItemFailure[] = [
          ...inPlaceFailures.map((f) => ({ path: f.path, stage: 'in-place', reason: f.reason })),
          ...(summary.sidecars?.failures ?? []).map((f) => ({ path: f.path, stage: 'sidecar', reason: f.reason })),
          ...(await jobFailures(ctx, result?.failures ?? [])),
        ];
        if (out.json) {
          out.data({
            mode: opts.force ? 'force' : 'missing',
            queue: ctx.queue.kind,
            waited: opts.wait,
            assets: summary.assets,
            jobs: summary.jobs,
            queued: summary.queued,
            inPlace: summary.inPlace ? { ...summary.inPlace, failures: undefined } : undefined,
            sidecarsRead: summary.sidecars?.read ?? 0,
            result: result ? { completed: result.completed, skipped: result.skipped, failed: result.failed } : undefined,
            failures,
          });
        } else {
          for (const f of failures) out.error(`immich: ${f.path}: ${f.stage}: ${f.reason}`);
          const ip = summary.inPlace;
          if (ip && (ip.new || ip.changed || ip.offline || ip.restored || ip.pruned)) {
            out.line(`in-place: ${ip.new} new, ${ip.changed} changed, ${ip.offline} offline, ${ip.restored} back online, ${ip.pruned} pruned`);
          }
          if (summary.sidecars?.read) out.line(`${summary.sidecars.read} assets updated from XMP sidecars edited outside`);
          const per = Object.entries(summary.queued).map(([s, n]) => `${s} ${n}`).join(', ');
          out.line(`${summary.assets} assets, ${summary.jobs} jobs queued${per ? ` (${per})` : ''}`);
          if (result) {
            // Stages that succeed queue their follow-ups: say so, so the counts add up.
            const ran = result.completed + result.skipped + result.failed;
            const followUps = ran - summary.jobs;
            out.line(`ran ${ran} jobs${followUps > 0 ? ` (${summary.jobs} queued + ${followUps} from follow-up stages${summary.inPlace?.new || summary.inPlace?.changed ? ' and new or changed in-place files' : ''})` : ''}: ${result.completed} completed, ${result.skipped} skipped, ${result.failed} failed`);
          }
          else if (!opts.wait) out.line('not waiting (--no-wait): `immich worker` processes run the jobs; see `immich jobs`');
        }
        return failures.length ? 1 : 0;
      });
      process.exitCode = code;
    });
}
