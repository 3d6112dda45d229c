// Entry point: global options, one file per subcommand, errors mapped to exit codes.
import type * as Commander from 'commander';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describeError, environmentCause, EXIT, ImmichError } from '../errors.js';
import { loadBundled } from '../vendor.js';
import { escapeControl } from './render.js';
import { textFromBytes } from '../storage/raw-path.js';

// From its one-file bundle when there is one (src/vendor.ts).
const { Command, CommanderError } = loadBundled<typeof Commander>('commander') ?? (await import('commander'));
type Command = Commander.Command;

type Registrar = (program: Command) => void;

// Command modules are loaded on demand: a command imports only what it uses (sharp, onnxruntime,
// BullMQ...), which keeps start-up short for quick commands like `search` and `config`.
const COMMANDS: Array<[string, () => Promise<{ register: Registrar }>]> = [
  ['import', () => import('./import.js')],
  ['index', () => import('./index.js')],
  ['faces', () => import('./faces.js')],
  ['search', () => import('./search.js')],
  ['duplicates', () => import('./duplicates.js')],
  ['backup', () => import('./backup.js')],
  ['restore', () => import('./restore.js')],
  ['verify', () => import('./verify.js')],
  ['worker', () => import('./worker.js')],
  ['jobs', () => import('./jobs.js')],
  ['models', () => import('./models.js')],
  ['stats', () => import('./stats.js')],
  ['cache', () => import('./cache.js')],
  ['config', () => import('./config.js')],
  ['info', () => import('./info.js')],
  ['edit', () => import('./edit.js')],
  ['album', () => import('./album.js')],
  ['metadata', () => import('./metadata.js')],
  ['tags', () => import('./tags.js')],
  ['serve', () => import('./serve.js')],
  ['keys', () => import('./keys.js')],
  ['user', () => import('./user.js')],
  ['rm', () => import('./rm.js')],
  ['trash', () => import('./trash.js')],
  ['stack', () => import('./stack.js')],
  ['storage', () => import('./storage.js')],
  ['export', () => import('./export.js')],
];

/** Global options that take a value (to find the command name in argv without loading everything). */
const VALUE_OPTIONS = new Set(['-L', '--library', '--env-file', '--log-level', '--log-format', '--log-file']);

/** The subcommand named in argv, if it is one of ours. */
export function commandName(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return undefined;
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    return COMMANDS.some(([name]) => name === a) ? a : undefined;
  }
  return undefined;
}

/** The whole program with every command (help, man pages). */
export async function loadProgram(): Promise<Command> {
  const mods = await Promise.all(COMMANDS.map(([, load]) => load()));
  return buildProgram(mods.map((m) => m.register));
}

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(registrars: Registrar[]): Command {
  const program = new Command('immich')
    .description('Command-line photo and video library manager: import, index, faces, search, backup, restore, verify.')
    .version(pkg.version, '-V, --version')
    .option('--json', 'print results as JSON on stdout (no progress output)')
    .option('--wide', 'tables at full width with every column (by default they fit 100 columns)')
    .option('-q, --quiet', 'print only errors: no progress, warnings, tables or summaries (--json still prints its result)')
    .option('-L, --library <dir>', 'library folder (overrides UPLOAD_LOCATION)')
    .option('--wait [time]', 'when another immich process holds the embedded database, wait for it (--wait=<time>: at most 30s, 5m, 2h...; --wait: until it is free) instead of exiting 3 (IMMICH_LOCK_WAIT)')
    .option('--env-file <file>', 'read configuration from this .env file (default ./.env)')
    .option('--log-level <level>', 'verbose, debug, log, warn or error (IMMICH_LOG_LEVEL)')
    .option('--log-format <format>', 'log lines on stderr as text or json (IMMICH_LOG_FORMAT)')
    .option('--log-file <path>', 'also append JSON log lines to this file, rotated by size and weekly (IMMICH_LOG_FILE)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Configuration comes from the environment and ./.env with Immich's names (UPLOAD_LOCATION, DB_HOSTNAME,
REDIS_HOSTNAME, ...): see \`immich config\` and man immich(1).

Exit status:
  0  all done
  1  done, but some items failed (they are listed)
  2  usage error
  3  environment error (database, Redis, storage or model unavailable)`,
    );
  for (const reg of registrars) reg(program);
  // Usage errors of nested subcommands too (`album create`, `backup list`): exit 2, not commander's 1.
  const override = (c: Command): void => {
    c.exitOverride();
    for (const sub of c.commands) override(sub);
  };
  override(program);
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  // --wait takes an optional time that must be attached (--wait=5m): a bare --wait is "until free",
  // so that `immich --wait stats` does not read "stats" as the time.
  argv = argv.map((a, i) => (i >= 2 && a === '--wait' ? '--wait=forever' : a));
  const name = commandName(argv.slice(2));
  const entry = name ? COMMANDS.find(([n]) => n === name) : undefined;
  const versionOnly = !entry && argv.slice(2).some((a) => a === '-V' || a === '--version');
  const program = entry ? buildProgram([(await entry[1]()).register]) : versionOnly ? buildProgram([]) : await loadProgram();
  // `immich` alone (or with global options only) is a usage error: help on stderr, exit 2 (a script
  // that lost its arguments must not pass).
  const args = argv.slice(2);
  const onlyGlobals = args.every((a, i) => a.startsWith('-') || VALUE_OPTIONS.has(args[i - 1] ?? ''));
  if (onlyGlobals && !args.some((a) => ['-h', '--help', '-V', '--version'].includes(a))) {
    program.outputHelp({ error: true });
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return EXIT.USAGE;
    }
    if (err instanceof ImmichError) {
      process.stderr.write(`immich: ${escapeControl(err.message)}\n`);
      return err.exitCode;
    }
    const e = err as Error;
    // A full disk, a server that went away: exit 3 with the cause, not "unexpected error" and 1.
    if (environmentCause(err)) {
      process.stderr.write(`immich: ${escapeControl(describeError(err))}\n`);
      return EXIT.ENVIRONMENT;
    }
    process.stderr.write(`immich: unexpected error: ${escapeControl(describeError(err))}\n`);
    if (process.env.IMMICH_LOG_LEVEL === 'debug' || process.env.IMMICH_LOG_LEVEL === 'verbose') {
      process.stderr.write(`${e?.stack ?? ''}\n`);
    }
    return EXIT.ITEMS_FAILED;
  }
}

/** Run the CLI as a process (bin/immich calls this); importing this module runs nothing. */
export function run(): void {
  // bin/immich's shell launcher puts `--` before the arguments so that Node 20 does not take our
  // --env-file for its own (it scans the whole command line for it up to a `--`).
  if (process.env.IMMICH_ARGV_SEP === '1') {
    delete process.env.IMMICH_ARGV_SEP;
    if (process.argv[2] === '--') process.argv.splice(2, 1);
  }
  process.argv = rawArguments(process.argv);
  // `immich ... | head` closes the pipe early: that is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  // A database connection cut while a query runs surfaces as an 'error' event nobody listens to;
  // it is still a total failure with a cause (exit 3, one line), not a stack trace and exit 1.
  process.on('uncaughtException', (err) => {
    const env = environmentCause(err);
    process.stderr.write(`immich: ${env ? '' : 'unexpected error: '}${escapeControl(describeError(err))}\n`);
    process.exit(env ? EXIT.ENVIRONMENT : EXIT.ITEMS_FAILED);
  });
  main().then(
    (code) => {
      process.exitCode = code;
      // Libraries (exiftool, onnxruntime, ioredis) may keep handles open; a finished command exits,
      // but only once stdout has drained: a pipe takes a large --json result in pieces, and exiting
      // before the last one cut it (a 15 MB `stack auto --json` arrived as 0.6 MB).
      const exit = () => setTimeout(() => process.exit(code), 0).unref();
      if (process.stdout.writableNeedDrain) process.stdout.once('drain', exit);
      else exit();
    },
    (err) => {
      process.stderr.write(`immich: ${String(err)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Node decodes the command line as UTF-8, so an argument whose bytes are not (`immich import
 * /mnt/card/caf\xe9`) arrives with U+FFFD in place of them and names no file. Linux keeps the bytes
 * in /proc/self/cmdline: such an argument is replaced by the text form of its bytes (raw-path.ts),
 * which the file system calls turn back into the bytes. The arguments are the last entries there
 * (Node's own options come first).
 */
export function rawArguments(argv: string[], cmdline?: Buffer): string[] {
  if (!argv.slice(2).some((a) => a.includes('\uFFFD'))) return argv;
  let data = cmdline;
  try {
    data ??= fs.readFileSync('/proc/self/cmdline');
  } catch {
    return argv;
  }
  const raw: Buffer[] = [];
  for (let start = 0; start < data.length; ) {
    let end = data.indexOf(0, start);
    if (end < 0) end = data.length;
    raw.push(data.subarray(start, end));
    start = end + 1;
  }
  const args = argv.slice(2);
  if (raw.length < args.length) return argv;
  const tail = raw.slice(raw.length - args.length);
  // Only where the bytes are this argument's (decoded the way Node did).
  return [...argv.slice(0, 2), ...args.map((a, i) => (a.includes('\uFFFD') && tail[i]!.toString('utf8') === a ? textFromBytes(tail[i]!) : a))];
}

// `node dist/cli/main.js ...` still works.
function isEntryPoint(): boolean {
  try {
    return Boolean(process.argv[1]) && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1]!)).href;
  } catch {
    return false;
  }
}
if (isEntryPoint()) run();
