// `immich import`: placeholder until its feature lands (see issues).
import type { Command } from 'commander';
import { UsageError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('import')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('immich import is not available yet');
    });
}
