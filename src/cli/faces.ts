// `immich faces`: placeholder until its feature lands (see issues).
import type { Command } from 'commander';
import { UsageError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('faces')
    .description('(not yet available)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('immich faces is not available yet');
    });
}
