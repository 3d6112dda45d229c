// `immich user set-password`: the owner's password for the web gallery of `immich serve`.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { setOwnerPassword } from '../services/auth.js';
import { loadRuntime, withContext } from './runtime.js';

export function register(program: Command): void {
  const user = program.command('user').description("the library's owner: the web gallery's login");
  user
    .command('set-password')
    .description('set the password for the web gallery (read from stdin; hashed with scrypt); ends every web session')
    .option('--email <email>', 'the login name shown by Immich clients (default owner@localhost)')
    .option('--name <name>', 'the display name (default Owner)')
    .addHelpText(
      'after',
      `
The password is read from standard input (one line, at least 8 characters), never from the command
line, so it stays out of shell history and process lists. On a terminal it is asked for.

Examples:
  immich user set-password
  printf '%s\\n' "$PASSWORD" | immich user set-password --email me@example.com

Exit status:
  0  password set
  2  usage error (too short, empty input)
  3  environment error (database unavailable)`,
    )
    .action(async (flags: { email?: string; name?: string }, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const password = await readPassword();
      process.exitCode = await withContext(rt, { command: 'immich user', quickStart: true, create: true }, async (ctx) => {
        const o = await setOwnerPassword(ctx, password, flags);
        if (rt.out.json) rt.out.data({ id: o.id, email: o.email, name: o.name, hasPassword: o.hasPassword });
        else rt.out.line(`password set for ${o.email}; web sessions signed out`);
      });
    });
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write('new password: ');
    process.stdin.setRawMode?.(true);
  }
  const chunks: Buffer[] = [];
  const text = await new Promise<string>((resolve, reject) => {
    const onData = (c: Buffer) => {
      chunks.push(c);
      const s = Buffer.concat(chunks).toString('utf8');
      // On a terminal (raw mode) Enter ends the input; piped input ends with the stream.
      if (process.stdin.isTTY && /[\r\n]/.test(s)) done(s);
    };
    const done = (s: string) => {
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve(s);
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => done(Buffer.concat(chunks).toString('utf8')));
    process.stdin.once('error', reject);
  });
  if (process.stdin.isTTY) {
    process.stdin.setRawMode?.(false);
    process.stderr.write('\n');
  }
  const password = text.split(/\r?\n|\r/)[0] ?? '';
  if (!password) throw new UsageError('no password given on standard input');
  return password;
}
