// Entry point: global options, one file per subcommand, errors mapped to exit codes.
import { Command, CommanderError } from 'commander';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { EXIT, ImmichError } from '../errors.js';
import { register as backup } from './backup.js';
import { register as cache } from './cache.js';
import { register as config } from './config.js';
import { register as duplicates } from './duplicates.js';
import { register as faces } from './faces.js';
import { register as importCmd } from './import.js';
import { register as index } from './index.js';
import { register as jobs } from './jobs.js';
import { register as models } from './models.js';
import { register as restore } from './restore.js';
import { register as search } from './search.js';
import { register as stats } from './stats.js';
import { register as verify } from './verify.js';
import { register as worker } from './worker.js';
const pkg = createRequire(import.meta.url)('../../package.json');
export function buildProgram() {
    const program = new Command('immich')
        .description('Command-line photo and video library manager: import, index, faces, search, backup, restore, verify.')
        .version(pkg.version, '-V, --version')
        .option('--json', 'print results as JSON on stdout (no progress output)')
        .option('-q, --quiet', 'no progress output on stderr')
        .option('-L, --library <dir>', 'library folder (overrides UPLOAD_LOCATION)')
        .option('--env-file <file>', 'read configuration from this .env file (default ./.env)')
        .option('--log-level <level>', 'verbose, debug, log, warn or error (IMMICH_LOG_LEVEL)')
        .option('--log-format <format>', 'log lines on stderr as text or json (IMMICH_LOG_FORMAT)')
        .option('--log-file <path>', 'also append JSON log lines to this file, rotated by size and weekly (IMMICH_LOG_FILE)')
        .showHelpAfterError('(run with --help for usage)')
        .addHelpText('after', `
Configuration comes from the environment and ./.env with Immich's names (UPLOAD_LOCATION, DB_HOSTNAME,
REDIS_HOSTNAME, ...): see \`immich config\` and man immich(1).

Exit status:
  0  all done
  1  done, but some items failed (they are listed)
  2  usage error
  3  environment error (database, Redis, storage or model unavailable)`);
    for (const reg of [importCmd, index, faces, search, duplicates, backup, restore, verify, worker, jobs, models, stats, cache, config]) {
        reg(program);
    }
    program.exitOverride();
    for (const c of program.commands)
        c.exitOverride();
    return program;
}
export async function main(argv = process.argv) {
    const program = buildProgram();
    try {
        await program.parseAsync(argv);
        return typeof process.exitCode === 'number' ? process.exitCode : 0;
    }
    catch (err) {
        if (err instanceof CommanderError) {
            // --help and --version exit through here with code 0
            if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
                return 0;
            return EXIT.USAGE;
        }
        if (err instanceof ImmichError) {
            process.stderr.write(`immich: ${err.message}\n`);
            return err.exitCode;
        }
        const e = err;
        process.stderr.write(`immich: unexpected error: ${e?.message ?? String(err)}\n`);
        if (process.env.IMMICH_LOG_LEVEL === 'debug' || process.env.IMMICH_LOG_LEVEL === 'verbose') {
            process.stderr.write(`${e?.stack ?? ''}\n`);
        }
        return EXIT.ITEMS_FAILED;
    }
}
/** Run the CLI as a process (bin/immich calls this); importing this module runs nothing. */
export function run() {
    // `immich ... | head` closes the pipe early: that is not an error.
    for (const stream of [process.stdout, process.stderr]) {
        stream.on('error', (err) => {
            if (err.code === 'EPIPE')
                process.exit(process.exitCode ?? 0);
            throw err;
        });
    }
    main().then((code) => {
        process.exitCode = code;
        // Libraries (exiftool, onnxruntime, ioredis) may keep handles open; a finished command exits.
        setTimeout(() => process.exit(code), 50).unref();
    }, (err) => {
        process.stderr.write(`immich: ${String(err)}\n`);
        process.exit(1);
    });
}
// `node dist/cli/main.js ...` still works.
function isEntryPoint() {
    try {
        return Boolean(process.argv[1]) && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href;
    }
    catch {
        return false;
    }
}
if (isEntryPoint())
    run();
//# sourceMappingURL=main.js.map