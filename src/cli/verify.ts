// `immich verify [--sample N%] [--repair]` and `immich verify --backup <repository> [--read-data]`.
import path from 'node:path';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { EnvironmentError, NoLibraryError, UsageError } from '../errors.js';
import { createProcessor } from '../services/pipeline.js';
import { verifyBackup, verifyLibrary, verifyWithoutDatabase, type Check, type VerifyReport } from '../services/verify.js';
import { passphraseFor } from './backup.js';
import { formatBytes } from './render.js';
import { loadRuntime, withContext, type Runtime } from './runtime.js';

interface VerifyOpts {
  sample?: string;
  repair?: boolean;
  models?: boolean;
  backup?: string;
  readData?: boolean;
  keyFile?: string;
}

const MARK: Record<Check['status'], string> = { ok: 'ok', warning: 'WARNING', error: 'ERROR', unavailable: 'UNAVAILABLE' };
const SHOWN_ITEMS = 20;

function render(rt: Runtime, report: VerifyReport): void {
  if (rt.out.json) {
    rt.out.data(report);
    return;
  }
  rt.out.table(['check', 'status', 'detail'], report.checks.map((c) => [c.name, MARK[c.status], c.detail]));
  for (const c of report.checks) {
    if (c.status === 'ok' || !c.items?.length) continue;
    rt.out.line(`${c.name}:`);
    for (const item of c.items.slice(0, SHOWN_ITEMS)) rt.out.line(`  ${item}`);
    if (c.items.length > SHOWN_ITEMS) rt.out.line(`  ... and ${c.items.length - SHOWN_ITEMS} more (--json lists all)`);
  }
}

function parseSample(value: string | undefined): number {
  if (value === undefined) return 100;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!(n > 0 && n <= 100)) throw new UsageError(`--sample must be a percentage between 0 and 100, like 10% (got ${value})`);
  return n;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('check that the library (or a backup repository) is complete and intact')
    .option('--sample <percent>', 'check only this share of the assets (originals re-hashed, their thumbnails and previews), e.g. 10% (default: all)')
    .option('--repair', 're-queue and run the stages that regenerate missing thumbnails, previews and encoded videos')
    .option('--no-models', 'skip loading the installed models')
    .option('--backup <repository>', 'check this backup repository instead of the library')
    .option('--read-data', 'with --backup: re-read (and decrypt) every stored object and check its checksum')
    .option('--key-file <file>', 'with --backup: file holding the repository passphrase (else IMMICH_BACKUP_KEY_FILE or IMMICH_BACKUP_PASSPHRASE)')
    .addHelpText(
      'after',
      `
Library checks: the database is reachable and at the latest migration, pgvector is present (migrations
held back without it are listed), Redis answers (when REDIS_HOSTNAME is set), every library folder is
readable and writable and the disk has free space, installed models load and run one inference, every
original is present and matches the SHA-1 recorded at import, no untracked files sit in uploads/, and
thumbnails, previews and encoded videos exist (missing ones are regenerated with --repair).
Warnings (low space, no models, untracked or missing derived files) do not change the exit status.

Backup checks (--backup): the repository opens (with the passphrase when encrypted), every snapshot
manifest is intact and every object it references is present with the right size; --read-data also
re-reads every object and names the library files a damaged object holds.

Examples:
  immich verify
  immich verify --sample 10% --json
  immich verify --repair
  immich verify --backup /mnt/usb/photos-backup --read-data

Exit status:
  0  no problems (warnings may be listed)
  1  problems found (missing or damaged files, pending migrations, damaged backup)
  2  usage error
  3  a service is unreachable (database, Redis, storage) or the repository cannot be opened`,
    )
    .action(async (opts: VerifyOpts, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      if (opts.readData && !opts.backup) throw new UsageError('--read-data needs --backup <repository>');
      if (opts.backup) {
        if (opts.repair || opts.sample) throw new UsageError('--repair and --sample apply to the library, not to --backup');
        const progress = rt.out.progress('reading backup data');
        try {
          const report = await verifyBackup(path.resolve(opts.backup), {
            passphrase: passphraseFor(rt, opts.keyFile),
            readData: opts.readData,
            onProgress: (p) => progress.update(p.done, p.total, formatBytes(p.bytes)),
          });
          progress.stop();
          render(rt, report);
          process.exitCode = report.exitCode;
        } finally {
          progress.stop();
        }
        return;
      }
      const samplePercent = parseSample(opts.sample);
      let report: VerifyReport | undefined;
      let started = false;
      try {
        // In-process queue even with Redis configured: --repair runs the jobs itself, and an unreachable
        // Redis must be reported as a check, not fail the whole command.
        const ctxOpts = { command: 'immich verify', migrate: false, queueFactory: undefined, processor: (c: Context) => createProcessor(c, { followUps: false }) };
        await withContext(rt, ctxOpts, async (ctx) => {
          started = true;
          const progress = rt.out.progress('checking originals');
          try {
            report = await verifyLibrary(ctx, {
              samplePercent,
              repair: opts.repair,
              models: opts.models,
              onProgress: (p) => progress.update(p.done, p.total, formatBytes(p.bytes)),
            });
          } finally {
            progress.stop();
          }
        });
      } catch (err) {
        // No library there: say so (exit 3) rather than check, and create, folders of a mistyped path.
        if (started || !(err instanceof EnvironmentError) || err instanceof NoLibraryError) throw err;
        report = await verifyWithoutDatabase(rt.config, err.message);
      }
      render(rt, report!);
      process.exitCode = report!.exitCode;
    });
}
