// The in-process baseline for bench/queue/run.mjs in its own process (like a worker process): the
// pipeline processor on the in-process runner, thumbnails forced for the asset ids on stdin.
// Prints the elapsed milliseconds of the drain.
import fs from 'node:fs';
import { loadConfig } from '../../dist/config.js';
import { createContext } from '../../dist/context.js';
import { InlineQueue } from '../../dist/jobs/inline.js';
import { Logger } from '../../dist/logger.js';
import { createProcessor } from '../../dist/services/pipeline.js';

const concurrency = Number(process.argv[2] ?? 2);
const ids = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean);
const logger = new Logger('warn', [(r) => process.stderr.write(`[bench inline] ${r.msg}\n`)]);
const ctx = await createContext(loadConfig({ env: process.env }), logger, { command: 'bench inline', concurrency });
const q = new InlineQueue({ concurrency, attempts: 1 });
q.setProcessor(createProcessor(ctx, { followUps: false }));
await q.enqueue(ids.map((assetId) => ({ stage: 'thumbnails', assetId, force: true })));
const t0 = performance.now();
const r = await q.drain();
const ms = performance.now() - t0;
await ctx.close();
process.stdout.write(JSON.stringify({ ms, ...r, failures: r.failures.length }) + '\n');
process.exit(0);
