// A worker process for bench/queue/run.mjs: `noop` (the processor returns at once: pure queue cost)
// or `thumbnails` (the real pipeline processor and handler, no follow-ups). Prints "ready" when listening.
import { loadConfig } from '../../dist/config.js';
import { createContext } from '../../dist/context.js';
import { createRedisQueue } from '../../dist/jobs/bullmq.js';
import { Logger } from '../../dist/logger.js';
import { createProcessor } from '../../dist/services/pipeline.js';
import { runWorker } from '../../dist/services/worker.js';

const [mode = 'noop', concurrency = '2'] = process.argv.slice(2);
const logger = new Logger('warn', [(r) => process.stderr.write(`[bench worker] ${r.msg}\n`)]);
const ctx = await createContext(loadConfig({ env: process.env }), logger, {
  command: 'bench worker',
  concurrency: Number(concurrency),
  queueFactory: createRedisQueue,
  processor: (c) => (mode === 'noop' ? async () => ({ status: 'success' }) : createProcessor(c, { followUps: false })),
});
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());
await runWorker(ctx, {
  queues: [mode === 'noop' ? 'metadata' : 'thumbnails'],
  concurrency: Number(concurrency),
  signal: controller.signal,
  onReady: () => process.stdout.write('ready\n'),
});
await ctx.close();
process.exit(0);
