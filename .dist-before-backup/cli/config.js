import { describeConfig } from '../config.js';
import { loadRuntime } from './runtime.js';
export function register(program) {
    program
        .command('config')
        .description('print the effective configuration (secrets masked) and where each value came from')
        .addHelpText('after', '\nExit status:\n  0  printed\n  2  invalid configuration value')
        .action(async (_opts, cmd) => {
        const { config, out } = await loadRuntime(cmd);
        const rows = describeConfig(config);
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
        if (config.envFile)
            out.line(`env file: ${config.envFile}`);
        out.table(['name', 'value', 'source'], rows.map((r) => [r.name, r.value ?? '(unset)', r.source]));
    });
}
//# sourceMappingURL=config.js.map