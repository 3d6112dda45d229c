// Output for commands: results on stdout (human table, or JSON with --json), progress and logs on
// stderr, and only when stderr is a terminal, so piped output stays quiet and parseable.
import Table from 'cli-table3';
import ora from 'ora';
const NO_PROGRESS = { update() { }, text() { }, succeed() { }, fail() { }, stop() { } };
export class Output {
    json;
    quiet;
    stdout;
    stderr;
    spinner;
    constructor(opts) {
        this.json = opts.json;
        this.quiet = opts.quiet;
        this.stdout = opts.stdout ?? process.stdout;
        this.stderr = opts.stderr ?? process.stderr;
    }
    get interactive() {
        // A pty without a size (script -c, some CI runners) reports 0 columns: ora then redraws forever.
        return Boolean(this.stderr.isTTY) && (this.stderr.columns ?? 0) > 0 && !this.quiet && process.env.CI !== 'true';
    }
    /** A result line on stdout (suppressed under --json; use data() there). */
    line(text = '') {
        if (!this.json)
            this.stdout.write(text + '\n');
    }
    /** Raw write to stdout (e.g. -0 separated paths). */
    write(text) {
        this.stdout.write(text);
    }
    /** The JSON result of a command; printed once, pretty-printed, on stdout. */
    data(value) {
        this.stdout.write(JSON.stringify(value, null, 2) + '\n');
    }
    table(head, rows) {
        if (this.json)
            return;
        const t = new Table({ head, style: { head: this.stdout.isTTY ? ['cyan'] : [], border: this.stdout.isTTY ? ['grey'] : [] } });
        for (const r of rows)
            t.push(r.map((c) => (c === null || c === undefined ? '' : String(c))));
        this.stdout.write(t.toString() + '\n');
    }
    /** A message for the user on stderr (warnings, notes). Not suppressed by --json. */
    note(text) {
        this.clearSpinnerLine(() => this.stderr.write(text + '\n'));
    }
    error(text) {
        this.clearSpinnerLine(() => this.stderr.write(text + '\n'));
    }
    clearSpinnerLine(fn) {
        if (this.spinner?.isSpinning) {
            this.spinner.clear();
            fn();
            this.spinner.render();
        }
        else
            fn();
    }
    /** Log records → stderr lines (the CLI's default sink). */
    logSink(record) {
        const text = `${record.level === 'log' ? '' : record.level + ': '}${record.msg}`;
        this.note(text);
    }
    progress(label) {
        if (!this.interactive)
            return NO_PROGRESS;
        const spinner = ora({ text: label, stream: this.stderr, discardStdin: false }).start();
        this.spinner = spinner;
        const started = Date.now();
        return {
            update: (done, total, detail) => {
                const secs = (Date.now() - started) / 1000;
                const rate = secs > 0 ? ` ${(done / secs).toFixed(1)}/s` : '';
                const pct = total ? ` ${Math.floor((done / total) * 100)}%` : '';
                spinner.text = `${label} ${bar(done, total)} ${done}${total ? `/${total}` : ''}${pct}${rate}${detail ? ` ${detail}` : ''}`;
            },
            text: (t) => { spinner.text = `${label} ${t}`; },
            succeed: (t) => { spinner.succeed(t ?? label); this.spinner = undefined; },
            fail: (t) => { spinner.fail(t ?? label); this.spinner = undefined; },
            stop: () => { spinner.stop(); this.spinner = undefined; },
        };
    }
}
function bar(done, total, width = 20) {
    if (!total)
        return '';
    const filled = Math.min(width, Math.round((done / total) * width));
    return '[' + '#'.repeat(filled) + '-'.repeat(width - filled) + ']';
}
export function formatBytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
export function formatDuration(ms) {
    if (ms < 1000)
        return `${Math.round(ms)} ms`;
    if (ms < 60_000)
        return `${(ms / 1000).toFixed(1)} s`;
    return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
//# sourceMappingURL=render.js.map