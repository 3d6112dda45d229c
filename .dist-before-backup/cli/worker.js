import { EnvironmentError, UsageError } from '../errors.js';
import { parseQueueList, queueSettings } from '../jobs/redis-settings.js';
import { runWorker } from '../services/worker.js';
import { intOption, loadRuntime, withContext } from './runtime.js';
export function register(program) {
    program
        .command('worker')
        .description('Process jobs from the Redis job queues (BullMQ) with the same handlers as the in-process runner, ' +
        'until SIGTERM or SIGINT; then finish the jobs in flight and exit. Needs REDIS_HOSTNAME, and PostgreSQL ' +
        '(DB_HOSTNAME) to run more than one immich process on a library.')
        .option('--queues <list>', 'comma-separated queues to work on (metadata, thumbnails, video, smart-search, face-detection, face-recognition, objects, ocr, duplicates, backup), or all', 'all')
        .option('--concurrency <n>', 'jobs per queue at once in this process (default: IMMICH_QUEUE_CONCURRENCY_<QUEUE>, else Immich\'s per-queue defaults)')
        .addHelpText('after', `
Each queue's concurrency defaults to IMMICH_QUEUE_CONCURRENCY_<QUEUE> (e.g. IMMICH_QUEUE_CONCURRENCY_SMART_SEARCH=1),
else metadata 5, thumbnails 3, video 1, smart-search 2, face-detection 2, face-recognition 1, objects 2, ocr 1,
duplicates 1, backup 1. A job is tried IMMICH_QUEUE_ATTEMPTS (3) times with exponential back-off from
IMMICH_QUEUE_BACKOFF_MS (5000); failed jobs are kept with their error (immich jobs retry-failed). A worker that
dies mid-job loses its lock after IMMICH_QUEUE_LOCK_DURATION_MS (30000) and another worker retries the job.
Libraries sharing one Redis need different IMMICH_REDIS_PREFIX values (default immich).

With the embedded database (no DB_HOSTNAME) a worker must be the only immich process on the library: the
embedded database is locked to one process.

Examples:
  immich worker                                  # all queues
  immich worker --queues thumbnails,video --concurrency 2
  REDIS_HOSTNAME=redis DB_HOSTNAME=db immich worker --queues smart-search,face-detection

Exit status:
  0  stopped by SIGTERM/SIGINT after finishing the jobs in flight
  2  usage error (unknown queue, no REDIS_HOSTNAME)
  3  environment error (database or Redis unreachable, embedded database in use)`)
        .action(async (opts, cmd) => {
        const rt = await loadRuntime(cmd);
        const { out, config, logger } = rt;
        if (!config.redis) {
            throw new UsageError('immich worker needs Redis job queues: set REDIS_HOSTNAME (without it, jobs run inside the command that queues them)');
        }
        const queues = parseQueueList(opts.queues);
        const concurrency = opts.concurrency !== undefined ? intOption('--concurrency', opts.concurrency, 1) : undefined;
        queueSettings(config); // validate IMMICH_QUEUE_* before connecting
        if (config.database.kind === 'embedded') {
            logger.warn('the embedded database is locked to one process: this worker must be the only immich process on this library; use PostgreSQL (DB_HOSTNAME) to run several workers');
        }
        const controller = new AbortController();
        let signals = 0;
        const onSignal = (sig) => {
            signals++;
            if (signals === 1) {
                logger.log(`${sig}: finishing the jobs in flight, then exiting (send again to stop at once)`);
                controller.abort();
            }
            else {
                process.exit(130);
            }
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
        try {
            const code = await withContext(rt, { command: 'immich worker' }, async (ctx) => {
                const progress = out.progress('worker');
                const stats = await runWorker(ctx, {
                    queues,
                    concurrency,
                    signal: controller.signal,
                    onReady: () => logger.log(`worker ${process.pid} listening on ${queues.join(', ')} (${ctx.database.target})`),
                    onJob: (stage, status, message, s) => {
                        if (status === 'failed')
                            logger.warn(`${stage}: ${message ?? 'failed'}`);
                        progress.update(s.done + s.skipped + s.failed, undefined, `done ${s.done}, skipped ${s.skipped}, failed ${s.failed}`);
                    },
                });
                progress.stop();
                if (out.json)
                    out.data({ pid: process.pid, queues, ...stats });
                else
                    out.line(`worker stopped: ${stats.done} done, ${stats.skipped} skipped, ${stats.failed} failed, ${stats.retried} retried`);
                return 0;
            });
            process.exitCode = code;
        }
        catch (err) {
            if (err instanceof EnvironmentError && /in use by another immich process/.test(err.message)) {
                throw new EnvironmentError(`${err.message}. The embedded database is locked to one process, so a worker can only run alone on it; ` +
                    'for several workers or machines use PostgreSQL (DB_HOSTNAME) with Redis (see docker-compose.yml)');
            }
            throw err;
        }
        finally {
            process.off('SIGTERM', onSignal);
            process.off('SIGINT', onSignal);
        }
    });
}
//# sourceMappingURL=worker.js.map