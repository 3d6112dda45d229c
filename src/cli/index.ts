// `immich index`: queue the stages assets miss (or all, --force), sync in-place folders, then work
// until this run's jobs are done (or return at once with --no-wait in Redis mode).
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { ASSET_STAGES, type AssetStage, type DrainResult, type QueueProgress, type Stage } from '../jobs/types.js';
import { queueIndex } from '../services/index.js';
import { createProcessor } from '../services/pipeline.js';
import { loadRuntime, withContext } from './runtime.js';

interface IndexCliOptions {
  missing?: boolean;
  force?: boolean;
  jobs?: string;
  wait: boolean;
  sync: boolean;
  pruneOffline?: boolean;
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
    .option('--prune-offline', 'delete in-place assets whose file is gone instead of marking them offline')
    .addHelpText(
      'after',
      `
Without --jobs, --missing queues for each asset the first stages of the pipeline that are not done
(metadata → thumbnails → smart-search, face-detection, objects, ocr; video for videos); the rest follows
as each stage succeeds. With --jobs, exactly those stages are queued for assets that miss them, and
only those run (their follow-up stages are not queued).
Stages reported 'skipped' (e.g. no model installed) or 'failed' count as missing.

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
          { mode: opts.force ? 'force' : 'missing', stages, syncInPlace: opts.sync, pruneOffline: opts.pruneOffline },
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
        const failures = [
          ...inPlaceFailures.map((f) => ({ item: f.path, stage: 'in-place', message: f.reason })),
          ...(summary.sidecars?.failures ?? []).map((f) => ({ item: f.path, stage: 'sidecar', message: f.reason })),
          ...(result?.failures ?? []).map((f) => ({ item: f.job.assetId ?? '', stage: f.job.stage, message: f.message })),
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
          for (const f of failures) out.error(`${f.stage} ${f.item}: ${f.message}`);
          const ip = summary.inPlace;
          if (ip && (ip.new || ip.changed || ip.offline || ip.restored || ip.pruned)) {
            out.line(`in-place: ${ip.new} new, ${ip.changed} changed, ${ip.offline} offline, ${ip.restored} back online, ${ip.pruned} pruned`);
          }
          if (summary.sidecars?.read) out.line(`${summary.sidecars.read} assets updated from XMP sidecars edited outside`);
          const per = Object.entries(summary.queued).map(([s, n]) => `${s} ${n}`).join(', ');
          out.line(`${summary.assets} assets, ${summary.jobs} jobs queued${per ? ` (${per})` : ''}`);
          if (result) out.line(`done: ${result.completed} completed, ${result.skipped} skipped, ${result.failed} failed`);
          else if (!opts.wait) out.line('not waiting (--no-wait): `immich worker` processes run the jobs; see `immich jobs`');
        }
        return failures.length ? 1 : 0;
      });
      process.exitCode = code;
    });
}
