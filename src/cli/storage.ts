// `immich storage migrate [--template <t>] [--dry-run]` and `immich storage migrate --undo <journal>`.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EnvironmentError, EXIT, UsageError } from '../errors.js';
import { migrateStorage, undoMigration } from '../services/storage-migrate.js';
import { LockHeldError } from '../storage/lock.js';
import { parseTemplate, storageTemplateFrom, TemplateError } from '../storage/template.js';
import { loadRuntime, withContext } from './runtime.js';

interface MigrateOpts {
  template?: string;
  dryRun?: boolean;
  undo?: string;
}

export function register(program: Command): void {
  const storage = program.command('storage').description('the library\'s storage template: where originals live under uploads/');
  storage
    .command('migrate')
    .description('move copied and moved originals to the path the storage template gives them (with sidecars and Live Photo halves)')
    .option('--template <template>', 'use this template instead of IMMICH_STORAGE_TEMPLATE (default {{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}})')
    .option('-n, --dry-run', 'list the moves, move nothing')
    .option('--undo <journal>', 'put back every original the migration recorded in this journal moved')
    .addHelpText(
      'after',
      `
Templates use Immich's tokens: {{y}} {{yy}} {{M}} {{MM}} {{MMM}} {{MMMM}} {{d}} {{dd}} {{h}} {{hh}}
{{H}} {{HH}} {{m}} {{mm}} {{s}} {{ss}} {{a}} (capture time, local to where it was taken), {{filename}}
(original name without extension), {{ext}}, {{filetype}} (IMG/VID), {{filetypefull}}, {{assetId}},
{{album}} (the path of the first album by path, e.g. Trips/2024/Lisbon), and {{make}} {{model}} {{lens}} {{city}} {{country}} {{rating}}
{{description}}. A default follows a comma: {{album,Unsorted}}. The original's extension is appended.
Names already taken get +1, +2 before the extension. Files imported --in-place are never moved.

Every move hard-links the original (and its .xmp sidecar) at the new path, checks its SHA-1, updates
the asset row, then removes the old name. The plan and each finished move are recorded in a journal
under <library>/storage-migrate/; a migration killed at any point is finished by running the command
again, and --undo <journal> moves everything it moved back.

Examples:
  immich storage migrate --dry-run
  IMMICH_STORAGE_TEMPLATE='{{y}}/{{MMMM}}/{{filename}}' immich storage migrate
  immich storage migrate --template '{{y}}/{{album,Unsorted}}/{{filename}}'
  immich storage migrate --undo ~/.local/share/immich/library/storage-migrate/20260101T120000-4242.journal

Exit status:
  0  done (nothing to move is done too)
  1  some originals could not be moved (listed); the others were
  2  usage error (bad template, unreadable journal)
  3  environment error (database, library, disk full, another migration running)`,
    )
    .action(async (opts: MigrateOpts, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      if (opts.undo && (opts.template || opts.dryRun)) throw new UsageError('--undo takes no --template or --dry-run');
      let template;
      try {
        template = opts.template !== undefined ? parseTemplate(opts.template) : storageTemplateFrom(rt.config.raw);
      } catch (err) {
        throw err instanceof TemplateError && opts.template !== undefined ? new UsageError(`--template: ${err.message}`) : err;
      }
      if (opts.undo && !fs.existsSync(opts.undo)) throw new UsageError(`--undo: ${opts.undo} does not exist`);
      process.exitCode = await withContext(rt, { command: 'immich storage migrate' }, async (ctx) => {
        try {
          if (opts.undo) {
            const r = await undoMigration(ctx, path.resolve(opts.undo)).catch((err: Error) => {
              if ((err as NodeJS.ErrnoException).code || err instanceof LockHeldError) throw err;
              throw new UsageError(`--undo: ${err.message}`);
            });
            if (rt.out.json) rt.out.data(r);
            else {
              for (const m of r.restored) rt.out.line(`restored ${m.to}`);
              rt.out.line(`restored ${r.restored.length} original(s)`);
            }
            for (const f of r.failed) rt.out.error(`immich storage migrate: ${f.path}: ${f.reason}`);
            return r.failed.length ? EXIT.ITEMS_FAILED : EXIT.OK;
          }
          const progress = rt.out.progress('moving originals');
          const r = await migrateStorage(ctx, { template, dryRun: opts.dryRun, onMove: (done, total) => progress.update(done, total) });
          progress.stop();
          if (rt.out.json) rt.out.data(r);
          else {
            for (const j of r.resumed) rt.out.line(`finished the interrupted migration ${j}`);
            for (const m of r.moved) rt.out.line(`${r.dryRun ? 'would move' : 'moved'} ${m.from} -> ${m.to}`);
            rt.out.line(`${r.dryRun ? 'would move' : 'moved'} ${r.moved.length} original(s), ${r.unchanged} already in place${r.journal ? `; journal ${r.journal}` : ''}`);
          }
          for (const f of r.failed) rt.out.error(`immich storage migrate: ${f.path}: ${f.reason}`);
          return r.failed.length ? EXIT.ITEMS_FAILED : EXIT.OK;
        } catch (err) {
          if (err instanceof LockHeldError) throw new EnvironmentError(`another storage migration is running (${err.message})`);
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new EnvironmentError(`library folder ${ctx.library.root}: no space left on device`);
          throw err;
        }
      });
    });
}
