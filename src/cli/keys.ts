// `immich keys create|list|revoke`: API keys for Immich's clients talking to `immich serve`.
import type { Command } from 'commander';
import { EXIT, UsageError } from '../errors.js';
import { createApiKey, listApiKeys, parsePermissions, PERMISSIONS, revokeApiKey } from '../services/auth.js';
import { loadRuntime, withContext } from './runtime.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('API keys for `immich serve` (sent by clients as the x-api-key header): create, list, revoke')
    .addHelpText(
      'after',
      `
A key's secret is shown once, at creation; the library keeps only its SHA-256. Permissions are
Immich's names; a key without --permission has "all".
Permissions: ${PERMISSIONS.join(', ')}

Examples:
  immich keys create --name laptop                 # then: immich login http://127.0.0.1:2283 <secret>
  immich keys create --name uploader --permission asset.upload --permission user.read --permission album.create
  immich --json keys create --name ci | jq -r .secret
  immich keys revoke laptop

Exit status:
  0  done
  1  revoke: no such key
  2  usage error (unknown permission, empty name)
  3  environment error (database unavailable)`,
    );

  keys
    .command('create')
    .description('create a key and print its secret (once)')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--permission <name>', 'grant this permission (repeatable, or comma-separated; default all)', collect, [])
    .action(async (flags: { name: string; permission: string[] }, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      const permissions = parsePermissions(flags.permission);
      // A key is made before the first `immich serve` (and uploads), so creating one may create the library.
      process.exitCode = await withContext(rt, { command: 'immich keys', quickStart: true, create: true }, async (ctx) => {
        const k = await createApiKey(ctx, flags.name, permissions);
        if (rt.out.json) rt.out.data({ id: k.id, name: k.name, secret: k.secret, permissions: k.permissions });
        else {
          rt.out.line(k.secret);
          rt.out.note(`key ${k.id} "${k.name}" (${k.permissions.join(', ')}): the secret above is shown only now`);
        }
      });
    });

  keys
    .command('list')
    .description('list keys (never their secrets)')
    .action(async (_flags: unknown, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      process.exitCode = await withContext(rt, { command: 'immich keys', quickStart: true }, async (ctx) => {
        const list = await listApiKeys(ctx);
        if (rt.out.json) rt.out.data(list);
        else if (!list.length) rt.out.line('no API keys (create one with immich keys create --name <name>)');
        else rt.out.table(['id', 'name', 'permissions', 'created', 'last used'], list.map((k) => [k.id, k.name, k.permissions.join(','), k.createdAt.slice(0, 19), k.lastUsedAt?.slice(0, 19) ?? '-']));
      });
    });

  keys
    .command('revoke')
    .description('revoke a key by id, id prefix (4+ characters) or name; clients using it get 401 at once')
    .argument('<key>', 'id, id prefix or name')
    .action(async (ref: string, _flags: unknown, cmd: Command) => {
      const rt = await loadRuntime(cmd);
      if (!ref.trim()) throw new UsageError('name the key to revoke');
      process.exitCode = await withContext(rt, { command: 'immich keys', quickStart: true }, async (ctx) => {
        const revoked = await revokeApiKey(ctx, ref);
        if (rt.out.json) rt.out.data({ revoked: revoked.map((k) => ({ id: k.id, name: k.name })) });
        if (!revoked.length) {
          rt.out.error(`immich: no API key with id or name "${ref}"`);
          return EXIT.ITEMS_FAILED;
        }
        rt.out.line(`revoked ${revoked[0]!.id} "${revoked[0]!.name}"`);
      });
    });
}
