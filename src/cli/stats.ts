// `immich stats`: what the library holds, how much disk it takes, what is queued, and how long
// each stage takes; as tables, --json, or a Prometheus textfile for node_exporter.
import type { Command } from 'commander';
import { EnvironmentError } from '../errors.js';
import { collectStats, collectStorage, storageOnlyPrometheus, toPrometheus, writePrometheusFile, type LibraryStats } from '../services/stats.js';
import { formatBytes, formatDuration, type Output } from './render.js';
import { intOption, loadRuntime, withContext } from './runtime.js';

interface StatsOptions {
  prometheus?: string;
  last?: string;
  storage: boolean;
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('library counts, storage per folder and free space, database size, queue depths and per-stage job timings')
    .option('--prometheus <file>', 'also write the figures to <file> in the Prometheus text format (atomically; for node_exporter\'s textfile collector)')
    .option('--last <n>', 'time each stage over its last <n> finished jobs', '1000')
    .option('--no-storage', 'skip walking the library folders (faster on large libraries)')
    .addHelpText(
      'after',
      `
Counts cover photos, videos, people, faces and tags; storage covers uploads/, thumbs/, encoded/,
backups/ and the embedded database. Each folder's file count and size are kept in tmp/ between
runs, and only folders whose entries changed since are read again (counts older than a day are
re-read), so a large library is walked in full once. Stage timings (p50/p95, jobs per second) come
from the job history that every finished job writes. Figures that an installation lacks (e.g. people before
face recognition ran) are shown as "-" and left out of --json (null) and Prometheus output.
With the embedded database, stats cannot open it while another immich process (a long index
run) uses it: it exits 3, and --prometheus still writes the storage figures with
immich_stats_database_up 0, so alerts can tell "no data" from "empty".

Examples:
  immich stats
  immich stats --json | jq .stages
  # cron, every 5 minutes, for node_exporter --collector.textfile.directory=/var/lib/node_exporter
  */5 * * * * immich stats --quiet --prometheus /var/lib/node_exporter/immich.prom >/dev/null

Exit status:
  0  statistics printed (and written)
  2  usage error
  3  environment error (database unavailable, Prometheus file not writable)`,
    )
    .action(async (opts: StatsOptions, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const window = intOption('--last', opts.last, 1000);
      const code = await withContext(rt, { command: 'immich stats' }, async (ctx) => {
        const stats = await collectStats(ctx, { window, storage: opts.storage });
        if (opts.prometheus) {
          try {
            await writePrometheusFile(opts.prometheus, toPrometheus(stats));
          } catch (err) {
            rt.out.error(`immich: cannot write ${opts.prometheus}: ${(err as Error).message}`);
            return 3;
          }
          rt.logger.debug(`wrote Prometheus metrics to ${opts.prometheus}`);
        }
        if (rt.out.json) rt.out.data(stats);
        else render(rt.out, stats);
        return 0;
      }).catch(async (err) => {
        // Database unavailable: the textfile still gets storage figures and database_up 0.
        if (opts.prometheus && err instanceof EnvironmentError) {
          const storage = await collectStorage(rt.config, { storage: opts.storage });
          await writePrometheusFile(opts.prometheus, storageOnlyPrometheus(rt.config.uploadLocation, storage)).catch(() => undefined);
        }
        throw err;
      });
      process.exitCode = code;
    });
}

const dash = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v));

function render(out: Output, s: LibraryStats): void {
  out.line(`library: ${s.library}`);
  out.table(
    ['photos', 'videos', 'people', 'faces', 'tags'],
    [[s.counts.photos, s.counts.videos, dash(s.counts.people), dash(s.counts.faces), dash(s.counts.tags)]],
  );
  if (s.storage.folders.length) {
    const rows: Array<Array<string | number>> = s.storage.folders.map((f) => [f.folder, formatBytes(f.bytes), f.files]);
    if (s.storage.inPlaceBytes > 0) rows.push(['(in place)', formatBytes(s.storage.inPlaceBytes), '']);
    out.table(['folder', 'size', 'files'], rows);
  }
  if (s.storage.filesystem) {
    const { freeBytes, sizeBytes } = s.storage.filesystem;
    out.line(`free space: ${formatBytes(freeBytes)} of ${formatBytes(sizeBytes)} (${((freeBytes / Math.max(1, sizeBytes)) * 100).toFixed(0)}%)`);
  }
  out.line(`database: ${s.database.kind}, ${s.database.sizeBytes === null ? 'size unknown' : formatBytes(s.database.sizeBytes)}`);
  if (s.queues.length) {
    const statuses = [...new Set(s.queues.flatMap((q) => Object.keys(q.counts)))];
    out.table(['queue', 'source', ...statuses], s.queues.map((q) => [q.stage, q.source, ...statuses.map((k) => q.counts[k] ?? '')]));
  } else out.line('queues: empty');
  if (s.stages.length) {
    out.table(
      ['stage', 'jobs', 'failed', 'skipped', 'p50', 'p95', 'mean', 'jobs/s', 'last finished'],
      s.stages.map((t) => [t.stage, t.runs, t.failed, t.skipped, formatDuration(t.p50Ms), formatDuration(t.p95Ms), formatDuration(t.meanMs), t.perSecond, t.lastFinishedAt]),
    );
  } else out.line('stage timings: no finished jobs yet');
}
