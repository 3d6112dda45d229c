// `immich index`: placeholder until its feature lands (see issues).
import type { Command } from 'commander';
import { UsageError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('index')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('immich index is not available yet');
    });
}
