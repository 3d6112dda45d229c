// `immich serve`: the web gallery and the part of Immich's API that its clients (@immich/cli) use.
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseSize } from '../logging/settings.js';
import { JobPump } from '../services/upload.js';
import { intOption, loadRuntime, withContext } from './runtime.js';

interface ServeFlags {
  host: string;
  port: string;
  uploadLimit?: string;
  trustProxy: string;
}

const DEFAULT_UPLOAD_LIMIT = '10G';

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'serve the library over HTTP: a web gallery (timeline, viewer, search, people, albums, map) and the part of ' +
        "Immich's API that Immich's own clients use (@immich/cli upload); loopback only unless --host says otherwise",
    )
    .option('--host <address>', 'address to listen on (0.0.0.0 or :: for every interface)', '127.0.0.1')
    .option('--port <n>', 'TCP port (0: any free port)', '2283')
    .option('--trust-proxy <addresses>', 'reverse proxies whose X-Forwarded-For/-Proto headers are believed (comma-separated addresses or CIDRs)', '127.0.0.1,::1')
    .option('--upload-limit <size>', `largest accepted upload, e.g. 500M or 10G (IMMICH_UPLOAD_LIMIT, default ${DEFAULT_UPLOAD_LIMIT})`)
    .addHelpText(
      'after',
      `
Access: every /api route but /api/server/ping and /api/server/version needs an API key (header
x-api-key; create one with \`immich keys create\`) or the web session that logging in with the owner's
password gives (\`immich user set-password\` sets it). Failed logins are limited to 5 per 15 minutes
per client address. Behind a reverse proxy with TLS the session cookie is marked Secure
(X-Forwarded-Proto; the proxy's address must be in --trust-proxy, by default a proxy on this machine). Only files inside the library (and in-place originals it references) are served.

Immich's clients: \`immich login http://HOST:2283 KEY\` then \`immich upload --recursive DIR\` with
@immich/cli 3.x. Uploads go through the import pipeline (SHA-1 dedupe, dated folders, metadata, then
thumbnails and the other stages in the background), staged meanwhile in IMMICH_UPLOAD_STAGING
(default the system's temporary folder).
Upload visibility: timeline and archive as given; hidden is kept archived (off the timeline);
locked is refused (no locked folder here). DELETE /api/assets moves to the trash, or with
"force": true deletes at once (originals, derived files and rows; in-place originals are forgotten,
not deleted). The map (#/map) draws Natural Earth outlines shipped with the gallery: no tile server.

With the embedded database, serve holds the library's lock: other immich commands wait for it to
stop (they say so). With PostgreSQL and Redis (DB_HOSTNAME, REDIS_HOSTNAME) any number of serve and
worker processes share a library; the stages of uploads then run in \`immich worker\` processes, and
web sessions live in Redis. Each request is logged (method, path, status, time) at level log.
SIGTERM or SIGINT stops accepting, finishes requests and queued jobs in flight, and exits 0.

Examples:
  immich serve                                   # http://127.0.0.1:2283
  immich serve --host 0.0.0.0 --port 8080 --upload-limit 2G

Exit status:
  0  stopped by SIGTERM/SIGINT
  2  usage error (bad port, size)
  3  environment error (port in use, database or Redis unavailable, embedded database in use)`,
    )
    .action(async (flags: ServeFlags, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const port = intOption('--port', flags.port, 2283, 0);
      if (port > 65535) throw new UsageError(`--port must be at most 65535 (got ${flags.port})`);
      const limitText = flags.uploadLimit ?? rt.config.raw.IMMICH_UPLOAD_LIMIT ?? DEFAULT_UPLOAD_LIMIT;
      const uploadLimit = parseSize(flags.uploadLimit ? '--upload-limit' : 'IMMICH_UPLOAD_LIMIT', limitText);
      if (uploadLimit <= 0) throw new UsageError('the upload limit must be above 0');
      const { startServer } = await import('../http/server.js');
      const webRoot = fileURLToPath(new URL('../web/', import.meta.url));

      process.exitCode = await withContext(rt, { command: 'immich serve', create: true }, async (ctx) => {
        const pump = new JobPump(ctx);
        let server;
        try {
          server = await startServer(ctx, { host: flags.host, port, uploadLimit, webRoot, trustProxy: flags.trustProxy }, { onQueued: () => pump.kick() });
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
            const { EnvironmentError } = await import('../errors.js');
            throw new EnvironmentError(`cannot listen on ${flags.host}:${port}: ${e.code === 'EADDRINUSE' ? 'address in use' : e.message}`);
          }
          throw err;
        }
        if (ctx.queue.kind === 'redis') ctx.logger.log('upload stages go to the Redis queues: run `immich worker` to process them');
        rt.logger.log(`listening on ${server.url} (library ${ctx.library.root}, ${ctx.database.target})`);
        if (rt.out.json) rt.out.data({ url: server.url, pid: process.pid });
        else rt.out.line(`immich serve: ${server.url}`);

        await new Promise<void>((resolve) => {
          const stop = (sig: NodeJS.Signals) => {
            process.off('SIGTERM', stop);
            process.off('SIGINT', stop);
            // A second signal exits at once.
            process.once(sig, () => process.exit(130));
            rt.logger.log(`${sig}: finishing requests and jobs in flight, then exiting`);
            resolve();
          };
          process.on('SIGTERM', stop);
          process.on('SIGINT', stop);
        });
        await server.close();
        await pump.idle();
        return 0;
      });
    });
}
