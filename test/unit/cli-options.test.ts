// No option may swallow a positional argument: `immich backup --tag nightly /mnt/usb/repo` once sent
// the snapshot to the default repository, because `--tag <tag...>` took the repository as a second tag.
// Every option of every command takes exactly one value, or none.
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { loadProgram } from '../../src/cli/main.js';

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap((c) => allCommands(c as Command))];
}

describe('command-line options', () => {
  it('no option of any command is variadic or takes an optional value', async () => {
    const program = await loadProgram();
    const greedy: string[] = [];
    for (const cmd of allCommands(program)) {
      for (const opt of cmd.options) {
        // (`<lat,lon[,km]>` is required; commander marks it optional too, for the bracket.)
        if (opt.variadic || (opt.optional && !opt.required)) greedy.push(`${cmd.name()} ${opt.flags}`);
      }
    }
    expect(greedy).toEqual([]);
  });

  it('a repeatable option takes one value each time and leaves the positional alone', async () => {
    const program = await loadProgram();
    const backup = program.commands.find((c) => c.name() === 'backup')!;
    let got: { repo?: string; tags?: string[] } = {};
    backup.action((repo: string | undefined, opts: { tag?: string[] }) => {
      got = { repo, tags: opts.tag };
    });
    await program.parseAsync(['node', 'immich', 'backup', '--tag', 'nightly', '--tag', 'usb', '/mnt/usb/repo']);
    expect(got).toEqual({ repo: '/mnt/usb/repo', tags: ['nightly', 'usb'] });
  });
});
