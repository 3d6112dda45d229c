// `immich jobs`: queue status and administration. Redis mode: BullMQ counts per queue (no database
// needed). In-process mode: what asset_job_status records per stage.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { ALL_QUEUES } from '../jobs/types.js';
import { retryFailedInProcess } from '../services/index.js';
import { openQueueAdmin, resolveQueues, stageStatusCounts } from '../services/queues.js';
import { intOption, loadRuntime, withContext, type Runtime } from './runtime.js';

const QUEUES_HELP = `Queues: ${ALL_QUEUES.join(', ')}, or all.`;

async function withAdmin<T>(rt: Runtime, fn: (admin: Awaited<ReturnType<typeof openQueueAdmin>>) => Promise<T>): Promise<T> {
  const admin = await openQueueAdmin(rt.config, rt.logger);
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

async function status(rt: Runtime): Promise<void> {
  const { out } = rt;
  if (rt.config.redis) {
    const counts = await withAdmin(rt, (a) => a.counts());
    if (out.json) {
      out.data({ mode: 'redis', queues: counts });
      return;
    }
    out.table(
      ['queue', 'waiting', 'active', 'completed', 'failed', 'delayed', 'paused'],
      counts.map((c) => [c.queue + (c.isPaused ? ' (paused)' : ''), c.waiting, c.active, c.completed, c.failed, c.delayed, c.paused]),
    );
    return;
  }
  await withContext(rt, { command: 'immich jobs', concurrency: 1 }, async (ctx) => {
    const counts = await stageStatusCounts(ctx.db);
    if (out.json) {
      out.data({ mode: 'in-process', stages: counts });
      return;
    }
    out.table(
      ['stage', 'queued', 'running', 'done', 'failed', 'skipped'],
      counts.map((c) => [c.stage, c.queued, c.running, c.done, c.failed, c.skipped]),
    );
    out.note('jobs run in-process (no REDIS_HOSTNAME): counts are per asset from the database; `immich index --missing` queues what is left');
  });
}

function requireRedis(rt: Runtime, what: string): void {
  if (!rt.config.redis) {
    throw new UsageError(`immich jobs ${what} needs Redis job queues (REDIS_HOSTNAME); in-process jobs only live while a command runs`);
  }
}

export function register(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('Show the job queues (Redis mode: waiting, active, completed, failed, delayed, paused per queue; in-process mode: per-stage status counts from the database) and manage them.')
    .addHelpText(
      'after',
      `
${QUEUES_HELP}

Examples:
  immich jobs                       # status table
  immich jobs --json                # {"mode":"redis","queues":[{"queue":"metadata","waiting":0,...}]}
  immich jobs pause thumbnails      # workers stop taking thumbnail jobs
  immich jobs resume all
  immich jobs failed smart-search   # failed jobs with their error
  immich jobs retry-failed all      # failed jobs back to waiting, attempts start again
  immich jobs clear video           # drop waiting, delayed, completed and failed video jobs

Exit status:
  0  success
  1  retry-failed in in-process mode: some retried jobs failed again
  2  usage error (unknown queue; pause/resume/clear/failed without REDIS_HOSTNAME)
  3  environment error (Redis or database unreachable)`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      await status(await loadRuntime(cmd));
    });

  jobs
    .command('status')
    .description('Show the status table (the default action).')
    .action(async (_opts: unknown, cmd: Command) => status(await loadRuntime(cmd)));

  for (const [name, verb, desc] of [
    ['pause', 'paused', 'Pause a queue (or all): workers finish what they hold and take no more of its jobs.'],
    ['resume', 'resumed', 'Resume a paused queue (or all).'],
  ] as const) {
    jobs
      .command(`${name} <queue>`)
      .description(desc)
      .addHelpText('after', `\n${QUEUES_HELP}\n\nExit status:\n  0  done\n  2  usage error\n  3  Redis unreachable`)
      .action(async (queue: string, _opts: unknown, cmd: Command) => {
        const rt = await loadRuntime(cmd);
        requireRedis(rt, name);
        const stages = resolveQueues(queue);
        await withAdmin(rt, async (admin) => {
          for (const s of stages) await (name === 'pause' ? admin.pause(s) : admin.resume(s));
        });
        if (rt.out.json) rt.out.data({ [verb]: stages });
        else rt.out.line(`${verb}: ${stages.join(', ')}`);
      });
  }

  jobs
    .command('retry-failed <queue>')
    .description('Move failed jobs of a queue (or all) back to waiting; in in-process mode, run the failed stages again now.')
    .addHelpText('after', `\n${QUEUES_HELP}\n\nExit status:\n  0  done\n  1  (in-process mode) some jobs failed again\n  2  usage error\n  3  Redis or database unreachable`)
    .action(async (queue: string, _opts: unknown, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const stages = resolveQueues(queue);
      if (!rt.config.redis) {
        const code = await withContext(rt, { command: 'immich jobs retry-failed' }, async (ctx) => {
          const progress = rt.out.progress('retrying');
          const r = await retryFailedInProcess(ctx, stages, (p) => progress.update(p.done + p.failed + p.skipped, p.total, p.stage));
          progress.stop();
          if (rt.out.json) rt.out.data({ retried: r.queued, completed: r.result.completed, failed: r.result.failed, skipped: r.result.skipped, failures: r.result.failures.map((f) => ({ stage: f.job.stage, assetId: f.job.assetId, message: f.message })) });
          else {
            for (const f of r.result.failures) rt.out.error(`${f.job.stage} ${f.job.assetId ?? ''}: ${f.message}`);
            rt.out.line(`retried ${r.queued}: ${r.result.completed} done, ${r.result.skipped} skipped, ${r.result.failed} failed`);
          }
          return r.result.failed > 0 ? 1 : 0;
        });
        process.exitCode = code;
        return;
      }
      const retried = await withAdmin(rt, async (admin) => {
        const out: Record<string, number> = {};
        for (const s of stages) out[s] = await admin.retryFailed(s);
        return out;
      });
      if (rt.out.json) rt.out.data({ retried });
      else rt.out.line(`retried: ${Object.entries(retried).map(([q, n]) => `${q} ${n}`).join(', ')}`);
    });

  jobs
    .command('failed <queue>')
    .description('List failed jobs of a queue (or all) with their error (Redis mode).')
    .option('--limit <n>', 'jobs per queue', '20')
    .addHelpText('after', `\n${QUEUES_HELP}\n\nExit status:\n  0  done\n  2  usage error\n  3  Redis unreachable`)
    .action(async (queue: string, opts: { limit: string }, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      requireRedis(rt, 'failed');
      const stages = resolveQueues(queue);
      const limit = intOption('--limit', opts.limit, 20);
      const rows = await withAdmin(rt, async (admin) => {
        const all = [];
        for (const s of stages) for (const j of await admin.failedJobs(s, limit)) all.push({ queue: s, ...j });
        return all;
      });
      if (rt.out.json) rt.out.data({ failed: rows });
      else rt.out.table(['queue', 'asset', 'attempts', 'error'], rows.map((r) => [r.queue, r.assetId ?? r.id, r.attempts, r.reason]));
    });

  jobs
    .command('clear <queue>')
    .description('Remove the waiting, delayed, completed and failed jobs of a queue (or all); active jobs finish.')
    .addHelpText('after', `\n${QUEUES_HELP}\n\nRe-queue what is left later with \`immich index --missing\`.\n\nExit status:\n  0  done\n  2  usage error\n  3  Redis unreachable`)
    .action(async (queue: string, _opts: unknown, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      requireRedis(rt, 'clear');
      const stages = resolveQueues(queue);
      const removed = await withAdmin(rt, async (admin) => {
        const out: Record<string, number> = {};
        for (const s of stages) out[s] = await admin.clear(s);
        return out;
      });
      if (rt.out.json) rt.out.data({ removed });
      else rt.out.line(`removed: ${Object.entries(removed).map(([q, n]) => `${q} ${n}`).join(', ')}`);
    });

  for (const c of jobs.commands) c.exitOverride();
}
