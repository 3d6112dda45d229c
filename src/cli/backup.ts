// `immich backup [repository]`, `immich backup list`, `immich backup forget`, `immich backup repair`.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EXIT, UsageError } from '../errors.js';
import { runBackup } from '../services/backup.js';
import { applyPolicy, policyIsEmpty, type RetentionPolicy } from '../services/backup-policy.js';
import { libraryKey, readPassphrase, Repository, shortId } from '../services/backup-repo.js';
import { forgetSnapshots } from '../services/backup-forget.js';
import { repairRepository } from '../services/backup-repair.js';
import { camelKeys, formatBytes, formatDuration } from './render.js';
import { intOption, loadRuntime, withContext, type Runtime } from './runtime.js';

/** A snapshot's library (host:folder) in a table cell: the tail, which tells libraries apart, within 24 columns. */
function libraryCell(key: string): string {
  return key.length > 24 ? `…${key.slice(-23)}` : key;
}

const KEY_HELP = 'file holding the repository passphrase (else IMMICH_BACKUP_KEY_FILE or IMMICH_BACKUP_PASSPHRASE)';

export function repositoryPath(rt: Runtime, arg: string | undefined): string {
  return path.resolve(arg ?? path.join(rt.config.uploadLocation, 'backups'));
}

export function passphraseFor(rt: Runtime, keyFile: string | undefined): string | undefined {
  return readPassphrase({ keyFile, raw: rt.config.raw });
}

/** --key-file given before or after the subcommand name (commander hands it to `backup` then). */
function keyFileOf(cmd: Command, opts: { keyFile?: string }): string | undefined {
  return opts.keyFile ?? (cmd.optsWithGlobals() as { keyFile?: string }).keyFile;
}

interface BackupOpts {
  includeDerived?: boolean;
  keyFile?: string;
  tag?: string[];
}

export function register(program: Command): void {
  const backup = program
    .command('backup')
    .description('back up the library (database dump + originals) into a deduplicating, optionally encrypted repository')
    .argument('[repository]', 'repository folder (default: UPLOAD_LOCATION/backups); created on first use')
    .option('--include-derived', 'also keep thumbnails, previews and encoded videos (regenerable, so left out by default)')
    .option('--key-file <file>', KEY_HELP)
    .option('--tag <tag>', 'label the snapshot (shown by `backup list`; repeatable, one tag each)', (value: string, previous: string[] = []) => [...previous, value])
    .addHelpText(
      'after',
      `
Each run adds a snapshot: a consistent dump of the database (pg_dump for PostgreSQL, pg_dump from
@electric-sql/pglite-tools for the embedded database) and every original, stored by checksum so that a
file is copied once across all snapshots; later runs only copy new or changed files. A repository
created while a passphrase is configured is encrypted (AES-256-GCM, key derived with scrypt); the
passphrase comes from --key-file, IMMICH_BACKUP_KEY_FILE or IMMICH_BACKUP_PASSPHRASE and is never
printed. Losing it means losing the backup.

The repository stays valid if a backup is interrupted (even by SIGKILL or a power cut): the snapshot
becomes visible only once everything it needs is stored and on the disk, and the next run takes over
the stale lock and completes.

Examples:
  immich backup                              # into UPLOAD_LOCATION/backups
  immich backup /mnt/usb/photos-backup --json
  IMMICH_BACKUP_KEY_FILE=~/.immich-key immich backup /mnt/nas/immich
  immich backup list /mnt/usb/photos-backup
  immich backup forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --prune
  # crontab: 0 3 * * * immich backup /mnt/usb/photos-backup -q || mail -s "backup failed" me

Exit status:
  0  snapshot written
  1  snapshot written, but some files could not be backed up (listed)
  2  usage error (bad option, key file unreadable, passphrase given for an unencrypted repository)
  3  environment error (database, pg_dump, repository missing/damaged/locked, wrong passphrase)`,
    )
    .action(async (repoArg: string | undefined, opts: BackupOpts, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const repository = repositoryPath(rt, repoArg);
      const passphrase = passphraseFor(rt, opts.keyFile);
      // The repository first: a wrong passphrase or a damaged repository fails before the database is opened.
      const existed = fs.existsSync(path.join(repository, 'config.json'));
      const repo = await Repository.open(repository, { passphrase, create: true });
      const code = await withContext(rt, { command: 'immich backup' }, async (ctx) => {
        const progress = rt.out.progress('backing up');
        let result;
        try {
          result = await runBackup(ctx, {
            repository,
            repo,
            includeDerived: opts.includeDerived,
            tags: opts.tag,
            onProgress: (p) => progress.update(p.done, p.total, formatBytes(p.bytes)),
          });
        } finally {
          progress.stop();
        }
        result.created = !existed;
        if (rt.out.json) {
          rt.out.data(camelKeys(result));
        } else {
          if (result.created) rt.out.line(`created ${result.encrypted ? 'encrypted' : 'unencrypted'} repository ${result.repository}`);
          const s = result.stats;
          rt.out.table(
            ['snapshot', 'files', 'size', 'new files', 'new data', 'stored', 'database', 'took'],
            [[shortId(result.snapshot), s.files, formatBytes(s.bytes), s.new_files, formatBytes(s.new_bytes), formatBytes(s.stored_bytes),
              `${result.database.kind}, ${result.database.tables} tables, ${result.database.rows} rows`, formatDuration(s.duration_ms)]],
          );
        }
        for (const p of result.problems) rt.out.error(`immich backup: ${p.path}: ${p.message}`);
        return result.problems.length ? EXIT.ITEMS_FAILED : EXIT.OK;
      }).finally(() => repo.close());
      process.exitCode = code;
    });

  backup
    .command('list')
    .description('list the snapshots in a repository')
    .argument('[repository]', 'repository folder (default: UPLOAD_LOCATION/backups)')
    .option('--key-file <file>', KEY_HELP)
    .addHelpText(
      'after',
      `
Examples:
  immich backup list
  immich backup list /mnt/usb/photos-backup --json | jq '.snapshots[-1].id'

Exit status:
  0  listed
  1  some snapshots could not be read (listed; see \`immich verify --backup\`)
  2  usage error
  3  repository missing, damaged or locked, or wrong passphrase`,
    )
    .action(async (repoArg: string | undefined, opts: { keyFile?: string }, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const repo = await Repository.open(repositoryPath(rt, repoArg), { passphrase: passphraseFor(rt, keyFileOf(cmd, opts)) });
      const { snapshots, damaged } = await repo.listSnapshots();
      if (rt.out.json) {
        rt.out.data({
          repository: repo.root,
          encrypted: repo.encrypted,
          snapshots: snapshots.map((s) => ({
            id: s.id, shortId: shortId(s.id), time: s.time, hostname: s.hostname, library: s.library, safety: Boolean(s.safety), tags: s.tags,
            files: s.files.count, bytes: s.files.bytes, database: s.database.kind, includeDerived: s.include_derived,
            newFiles: s.stats.new_files, storedBytes: s.stats.stored_bytes,
          })),
          damaged,
        });
      } else {
        rt.out.line(`repository ${repo.root} (${repo.encrypted ? 'encrypted' : 'not encrypted'}), ${snapshots.length} snapshots`);
        if (snapshots.length) {
          rt.out.table(
            ['id', 'time', 'library', 'files', 'size', 'new', 'database', 'tags'],
            snapshots.map((s) => [shortId(s.id), s.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), libraryCell(libraryKey(s)), s.files.count, formatBytes(s.files.bytes),
              formatBytes(s.stats.stored_bytes), s.database.kind, [...s.tags, ...(s.include_derived ? ['+derived'] : [])].join(',')]),
          );
        }
      }
      for (const d of damaged) rt.out.error(`immich backup list: ${d.error}`);
      process.exitCode = damaged.length ? EXIT.ITEMS_FAILED : EXIT.OK;
    });

  backup
    .command('forget')
    .description('remove snapshots according to a retention policy; --prune also deletes data no snapshot references')
    .argument('[repository]', 'repository folder (default: UPLOAD_LOCATION/backups)')
    .option('--keep-last <n>', 'keep the n newest snapshots')
    .option('--keep-hourly <n>', 'keep the newest snapshot of each of the last n hours that have one')
    .option('--keep-daily <n>', 'keep the newest snapshot of each of the last n days that have one')
    .option('--keep-weekly <n>', 'keep the newest snapshot of each of the last n ISO weeks that have one')
    .option('--keep-monthly <n>', 'keep the newest snapshot of each of the last n months that have one')
    .option('--keep-yearly <n>', 'keep the newest snapshot of each of the last n years that have one')
    .option('--prune', 'delete stored files and dumps that no remaining snapshot references')
    .option('-n, --dry-run', 'show what would be removed, change nothing')
    .option('--key-file <file>', KEY_HELP)
    .addHelpText(
      'after',
      `
Periods are calendar hours/days/ISO weeks/months/years in local time, as in restic: with
--keep-daily 7, the newest snapshot of each of the 7 most recent days that have a snapshot is kept.
A snapshot kept by any rule stays. At least one --keep-* option is required. The policy applies to
each library (host and folder) in the repository on its own, and to the safety snapshots that
\`restore --force\` took of a library apart from its backups.

Examples:
  immich backup forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run
  immich backup forget /mnt/usb/photos-backup --keep-last 3 --prune --json

Exit status:
  0  done
  2  usage error (no policy given, bad number)
  3  repository missing, damaged or locked, or wrong passphrase`,
    )
    .action(async (repoArg: string | undefined, opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const num = (flag: string, key: string) => (opts[key] === undefined ? undefined : intOption(flag, opts[key] as string, 0, 0));
      const policy: RetentionPolicy = {
        last: num('--keep-last', 'keepLast'),
        hourly: num('--keep-hourly', 'keepHourly'),
        daily: num('--keep-daily', 'keepDaily'),
        weekly: num('--keep-weekly', 'keepWeekly'),
        monthly: num('--keep-monthly', 'keepMonthly'),
        yearly: num('--keep-yearly', 'keepYearly'),
      };
      if (policyIsEmpty(policy)) throw new UsageError('no retention policy given (--keep-last, --keep-daily, ...); nothing would be kept, so nothing is removed');
      const repo = await Repository.open(repositoryPath(rt, repoArg), { passphrase: passphraseFor(rt, keyFileOf(cmd, opts as { keyFile?: string })) });
      const result = await forgetSnapshots(repo, policy, { prune: Boolean(opts.prune), dryRun: Boolean(opts.dryRun), applyPolicy });
      if (rt.out.json) {
        rt.out.data(camelKeys(result));
      } else {
        const verb = result.dry_run ? 'would remove' : 'removed';
        rt.out.table(
          ['id', 'time', 'library', 'decision'],
          [
            ...result.keep.map((k) => [shortId(k.id), k.time, libraryCell(k.library), `keep (${k.reasons.join(', ')})`]),
            ...result.remove.map((r) => [shortId(r.id), r.time, libraryCell(r.library), result.dry_run ? 'would remove' : 'removed']),
          ],
        );
        rt.out.line(`${verb} ${result.remove.length} snapshots, kept ${result.keep.length}`);
        if (result.prune) rt.out.line(`prune: ${verb} ${result.prune.objects} unreferenced objects (${formatBytes(result.prune.bytes)})`);
      }
      process.exitCode = EXIT.OK;
    });

  backup
    .command('repair')
    .description('re-read every stored object, remove the damaged ones and store them again from the library')
    .argument('[repository]', 'repository folder (default: UPLOAD_LOCATION/backups)')
    .option('--key-file <file>', KEY_HELP)
    .addHelpText(
      'after',
      `
Every object (original, file list, database dump) is read back, decrypted where the repository is
encrypted, and checked against its checksum. Damaged objects are removed, then the library is backed
up again (a snapshot tagged "repair"): each file the library still has is stored again under the same
id, which also mends the older snapshots that shared it. A plain \`immich backup\` already stores
again an object whose size is wrong or that was written to since the last backup; repair also finds
bytes that decayed silently.

Examples:
  immich backup repair /mnt/usb/photos-backup
  immich verify --backup /mnt/usb/photos-backup --read-data   # afterwards: all clean

Exit status:
  0  every object is intact (or was stored again)
  1  some damaged objects could not be stored again: no file of the library has that content any more
     (listed, with the snapshots that need them)
  2  usage error
  3  environment error (database, repository missing/locked, wrong passphrase)`,
    )
    .action(async (repoArg: string | undefined, opts: { keyFile?: string }, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const repo = await Repository.open(repositoryPath(rt, repoArg), { passphrase: passphraseFor(rt, keyFileOf(cmd, opts)) });
      const code = await withContext(rt, { command: 'immich backup repair' }, async (ctx) => {
        const progress = rt.out.progress('checking objects');
        let result;
        try {
          result = await repairRepository(ctx, repo, { onProgress: (p) => progress.update(p.done, p.total) });
        } finally {
          progress.stop();
        }
        if (rt.out.json) rt.out.data(camelKeys(result));
        else {
          rt.out.line(`checked ${result.checked} objects: ${result.damaged.length} damaged, removed and stored again from the library where it has them`);
          for (const d of result.damaged) rt.out.line(`  data/${d.object.slice(0, 2)}/${d.object}: ${d.problem}`);
          rt.out.line(`new snapshot ${shortId(result.backup.snapshot)} (${result.backup.stats.files} files, ${result.backup.stats.new_files} stored again or new)`);
        }
        for (const p of result.backup.problems) rt.out.error(`immich backup repair: ${p.path}: ${p.message}`);
        for (const u of result.unrecoverable) {
          rt.out.error(`immich backup repair: object data/${u.object.slice(0, 2)}/${u.object} is lost (no file of the library has it); needed by snapshot(s) ${u.snapshots.join(', ')}`);
        }
        return result.unrecoverable.length || result.backup.problems.length ? EXIT.ITEMS_FAILED : EXIT.OK;
      }).finally(() => repo.close());
      process.exitCode = code;
    });
}
