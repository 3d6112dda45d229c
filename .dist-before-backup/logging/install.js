// Installs the log sinks a command asked for: JSON lines on stderr (--log-format json) and/or a
// rotated JSON-lines file (--log-file, IMMICH_LOG_FILE). The text sink on stderr is the CLI default.
import path from 'node:path';
import { RotatingFile } from './file.js';
import { formatJson } from './format.js';
import { loadLogSettings } from './settings.js';
/** Adds the sinks; returns the settings and a closer for the file. */
export function installLogSinks(t) {
    const settings = loadLogSettings(t.raw, t.flags);
    const extra = { pid: process.pid };
    if (settings.format === 'json') {
        const stderr = t.stderr ?? process.stderr;
        t.logger.addSink((r) => {
            stderr.write(formatJson(r, extra) + '\n');
        });
    }
    let file;
    if (settings.file) {
        file = new RotatingFile(path.resolve(t.cwd ?? process.cwd(), settings.file), { maxBytes: settings.maxBytes, keep: settings.keep });
        const f = file;
        let broken = false;
        t.logger.addSink((r) => {
            if (broken)
                return;
            try {
                f.write(formatJson(r, extra));
            }
            catch (err) {
                // A full disk must not fail the command; say so once on stderr.
                broken = true;
                (t.stderr ?? process.stderr).write(`immich: cannot write log file ${f.file}: ${err.message}\n`);
            }
        });
    }
    return { settings, close: () => file?.close() };
}
//# sourceMappingURL=install.js.map