// Output for commands: results on stdout (human table, or JSON with --json), progress and logs on
// stderr, and only when stderr is a terminal, so piped output stays quiet and parseable.
import { createRequire } from 'node:module';
import type { Ora } from 'ora';
import type { LogRecord } from '../logger.js';
import { escapeControl } from '../storage/display-name.js';

// Loaded when first used: ora and its dependencies take ~50 ms to import, and most runs (--json,
// a pipe, quick commands like search) never show a spinner.
type TableCtor = typeof import('cli-table3');
const require = createRequire(import.meta.url);

// Every human line goes through escapeControl (Output and the top-level error line); the gallery shows
// names with the same function.
export { escapeControl };

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  /** --wide: tables at full width with every column; by default they fit TABLE_WIDTH columns. */
  wide?: boolean;
  /** Colours in tables on a terminal (off with NO_COLOR). */
  color?: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

export interface Progress {
  /** `open`: more work may still be announced (an import whose stages are not all queued): never 100%. */
  update(done: number, total?: number, detail?: string, open?: boolean): void;
  text(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { update() {}, text() {}, succeed() {}, fail() {}, stop() {} };

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly wide: boolean;
  readonly color: boolean;
  private readonly stdout: NodeJS.WriteStream;
  private readonly stderr: NodeJS.WriteStream;
  private spinner?: Ora;
  /**
   * The command prints one line per failed item itself (import, index): the pipeline's log record of
   * the same failure (with asset and stage fields) then stays out of stderr (log files still get it).
   */
  listsItemFailures = false;

  constructor(opts: OutputOptions) {
    this.json = opts.json;
    this.quiet = opts.quiet;
    this.wide = Boolean(opts.wide);
    this.color = opts.color !== false;
    this.stdout = opts.stdout ?? process.stdout;
    this.stderr = opts.stderr ?? process.stderr;
  }

  get interactive(): boolean {
    // A pty without a size (script -c, some CI runners) reports 0 columns: ora then redraws forever.
    return Boolean(this.stderr.isTTY) && (this.stderr.columns ?? 0) > 0 && !this.quiet && process.env.CI !== 'true';
  }

  /**
   * A result line on stdout (suppressed under --json, use data() there; and under -q, which leaves
   * only errors so that a cron job mails nothing when all went well).
   */
  line(text = ''): void {
    if (!this.json && !this.quiet) this.stdout.write(escapeControl(text) + '\n');
  }

  /** Raw write to stdout (e.g. -0 separated paths). */
  write(text: string | Uint8Array): void {
    this.stdout.write(text);
  }

  /** The JSON result of a command; printed once, pretty-printed, on stdout. */
  data(value: unknown): void {
    this.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /**
   * A table on stdout. By default it fits TABLE_WIDTH columns: `wideOnly` columns (thumbnail paths)
   * are left out and the widest columns are shortened with an ellipsis (paths keep their end, the
   * file name); --wide prints everything in full.
   */
  table(head: string[], rows: Array<Array<string | number | null | undefined>>, opts: { wideOnly?: string[] } = {}): void {
    if (this.json || this.quiet) return;
    let cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
    let heads = head;
    if (!this.wide && opts.wideOnly?.length) {
      const keep = head.map((h, i) => (opts.wideOnly!.includes(h) ? -1 : i)).filter((i) => i >= 0);
      heads = keep.map((i) => head[i]!);
      cells = cells.map((r) => keep.map((i) => r[i] ?? ''));
    }
    if (!this.wide) cells = fitColumns(heads, cells, TABLE_WIDTH);
    const Table = require('cli-table3') as TableCtor;
    const colour = this.stdout.isTTY && this.color;
    const t = new Table({ head: heads, style: { head: colour ? ['cyan'] : [], border: colour ? ['grey'] : [] } });
    for (const r of cells) t.push(r.map((c) => escapeControl(c)));
    this.stdout.write(t.toString() + '\n');
  }

  /** A message for the user on stderr (warnings, notes). Not suppressed by --json; by -q it is. */
  note(text: string): void {
    if (this.quiet) return;
    this.clearSpinnerLine(() => this.stderr.write(escapeControl(text) + '\n'));
  }

  error(text: string): void {
    this.clearSpinnerLine(() => this.stderr.write(escapeControl(text) + '\n'));
  }

  private clearSpinnerLine(fn: () => void): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      fn();
      this.spinner.render();
    } else fn();
  }

  /** Log records → stderr lines (the CLI's default sink). */
  logSink(record: LogRecord): void {
    if (this.listsItemFailures && record.level === 'warn' && record.fields?.asset && record.fields?.stage) return;
    const text = `${record.level === 'log' ? '' : record.level + ': '}${record.msg}`;
    if (record.level === 'error') this.error(text);
    else this.note(text);
  }

  progress(label: string): Progress {
    if (!this.interactive) return NO_PROGRESS;
    // The spinner starts once ora is loaded; until then the latest text is kept. A progress that
    // ends before that prints its final line itself.
    let spinner: Ora | undefined;
    let text = label;
    let ended = false;
    void import('ora').then(({ default: ora }) => {
      if (ended) return;
      // ora colours its spinner (and ✔/✖) whatever NO_COLOR says: tell it.
      spinner = ora({ text, stream: this.stderr, discardStdin: false, ...(this.color ? {} : { color: false }) }).start();
      this.spinner = spinner;
    }, () => undefined); // no spinner then: the final line is still printed by end()
    const setText = (t: string) => {
      t = escapeControl(t);
      text = t;
      if (spinner) spinner.text = t;
    };
    const end = (fn: (s: Ora) => void, line?: string) => {
      ended = true;
      if (spinner) fn(spinner);
      else if (line !== undefined) this.stderr.write(line + '\n');
      this.spinner = undefined;
    };
    const started = Date.now();
    return {
      update: (done, total, detail, open) => {
        const secs = (Date.now() - started) / 1000;
        const rate = secs > 0 ? ` ${(done / secs).toFixed(1)}/s` : '';
        const ratio = total ? Math.min(open ? 0.99 : 1, done / total) : 0;
        const pct = total ? ` ${Math.floor(ratio * 100)}%` : '';
        setText(`${label} ${bar(ratio, total ? 1 : 0)} ${done}${total ? `/${total}` : ''}${pct}${rate}${detail ? ` ${detail}` : ''}`);
      },
      text: (t) => setText(`${label} ${t}`),
      succeed: (t) => end((s) => (this.color ? s.succeed(t ?? label) : s.stopAndPersist({ symbol: '✔', text: t ?? label })), `✔ ${t ?? label}`),
      fail: (t) => end((s) => (this.color ? s.fail(t ?? label) : s.stopAndPersist({ symbol: '✖', text: t ?? label })), `✖ ${t ?? label}`),
      stop: () => end((s) => s.stop()),
    };
  }
}

/** Default table width (README: tables fit 100 columns); --wide lifts it. */
/**
 * camelCase keys, recursively, for --json: services keep the repository manifest's snake_case
 * (new_files, stored_bytes: the on-disk format) and the command's output speaks camelCase. Only
 * keys made of lower-case words joined by "_" change; data-keyed maps must not pass through here.
 */
export function camelKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => camelKeys(v)) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(k) ? k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : k, camelKeys(v)]),
  ) as T;
}

export const TABLE_WIDTH = 100;
const MIN_COLUMN = 8;

/** Shorten the widest columns until a cli-table3 table of these cells fits `width` characters. */
export function fitColumns(head: string[], rows: string[][], width: number): string[][] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Each column adds one space either side and a border; the table one more border.
  const total = () => widths.reduce((a, w) => a + w + 3, 1);
  while (total() > width) {
    let widest = 0;
    for (let i = 1; i < widths.length; i++) if (widths[i]! > widths[widest]!) widest = i;
    const floor = Math.max(MIN_COLUMN, Math.min(head[widest]!.length, 12));
    if (widths[widest]! <= floor) break;
    widths[widest] = Math.max(floor, widths[widest]! - (total() - width));
  }
  return rows.map((r) => r.map((c, i) => shorten(c, widths[i]!)));
}

function shorten(text: string, width: number): string {
  if (text.length <= width) return text;
  // A path keeps its end (the file name); other text its start.
  return text.includes('/') ? `…${text.slice(text.length - width + 1)}` : `${text.slice(0, width - 1)}…`;
}

function bar(done: number, total?: number, width = 20): string {
  if (!total) return '';
  const filled = Math.min(width, Math.round((done / total) * width));
  return '[' + '#'.repeat(filled) + '-'.repeat(width - filled) + ']';
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
