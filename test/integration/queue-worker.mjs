// A worker process for the queue reliability tests: the same code path as `immich worker` (context,
// Redis queue, pipeline processor, runWorker), with test handlers for metadata and thumbnails that log
// each execution to queue_test_runs ('start' before the work, 'end' after), so a test can count them.
// Configuration comes from the environment like the CLI's; QUEUE_TEST_DELAY_MS sets the work time.
import { loadConfig } from '../../dist/config.js';
import { createContext } from '../../dist/context.js';
import { createRedisQueue } from '../../dist/jobs/bullmq.js';
import { Logger } from '../../dist/logger.js';
import { createProcessor } from '../../dist/services/pipeline.js';
import { runWorker } from '../../dist/services/worker.js';

const delay = Number(process.env.QUEUE_TEST_DELAY_MS ?? 50);
const logger = new Logger('warn', [(r) => process.stderr.write(`[worker ${process.pid}] ${r.level}: ${r.msg}\n`)]);
const config = loadConfig({ env: process.env });

async function handler(ctx, job) {
  const asset = await ctx.db.selectFrom('assets').select('original_name').where('id', '=', job.assetId).executeTakeFirst();
  // A file the handler cannot process: thrown (retried) or reported (kept failed at once).
  if (asset?.original_name.startsWith('throws')) throw new Error(`cannot read ${asset.original_name}: disk error`);
  if (asset?.original_name.startsWith('corrupt')) return { status: 'failed', message: `${asset.original_name}: not a JPEG` };
  await ctx.db.insertInto('queue_test_runs').values({ asset_id: job.assetId, stage: job.stage, pid: process.pid, phase: 'start' }).execute();
  await new Promise((r) => setTimeout(r, delay));
  await ctx.db.insertInto('queue_test_runs').values({ asset_id: job.assetId, stage: job.stage, pid: process.pid, phase: 'end' }).execute();
  return { status: 'success' };
}
const handlers = { metadata: handler, thumbnails: handler };

const ctx = await createContext(config, logger, {
  command: 'queue test worker',
  queueFactory: createRedisQueue,
  processor: (c) => createProcessor(c, { handlers, onlyStages: new Set(['metadata', 'thumbnails']) }),
});
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());
const stats = await runWorker(ctx, {
  queues: ['metadata', 'thumbnails'],
  concurrency: Number(process.env.QUEUE_TEST_CONCURRENCY ?? 2),
  signal: controller.signal,
  onReady: () => process.stdout.write('ready\n'),
});
await ctx.close();
process.stdout.write(JSON.stringify(stats) + '\n');
process.exit(0);
