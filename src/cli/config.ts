// `immich config`: the effective configuration, secrets masked.
import type { Command } from 'commander';
import { describeConfig } from '../config.js';
import { loadRuntime } from './runtime.js';

export function register(program: Command): void {
  program
    .command('config')
    .description('print the effective configuration (secrets masked) and where each value came from')
    .addHelpText('after', '\nExit status:\n  0  printed\n  2  invalid configuration value')
    .action(async (_opts, cmd: Command) => {
      const { config, out } = await loadRuntime(cmd);
      // Plus the transcoding settings (IMMICH_FFMPEG_*), which their module owns and checks.
      const { TRANSCODE_ENV } = await import('../media/transcode.js');
      const rows = [
        ...describeConfig(config),
        ...Object.keys(TRANSCODE_ENV).map((name) => ({ name, value: config.raw[name] || null, source: config.raw[name] ? (config.envFileVars?.[name] === config.raw[name] ? '.env' : 'env') : 'default' })),
      ];
      if (out.json) {
        out.data({
          envFile: config.envFile ?? null,
          database: config.database.kind,
          jobs: config.redis ? 'redis' : 'in-process',
          settings: Object.fromEntries(rows.map((r) => [r.name, { value: r.value, source: r.source }])),
        });
        return;
      }
      out.line(`database: ${config.database.kind === 'embedded' ? `embedded (${config.database.embeddedPath})` : 'PostgreSQL'}`);
      out.line(`jobs: ${config.redis ? 'Redis (BullMQ)' : 'in-process'}`);
      if (config.envFile) out.line(`env file: ${config.envFile}`);
      out.table(['name', 'value', 'source'], rows.map((r) => [r.name, r.value ?? '(unset)', r.source]));
    });
}
