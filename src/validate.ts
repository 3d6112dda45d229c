// Validation of option values that the CLI and services share: dates (no roll-over: 2020-02-30 is
// not March 1st) and bounded numbers. Each failure is a UsageError (exit 2) giving the expected form.
import { UsageError } from './errors.js';

const DATE_FORMS = 'a date like 2020, 2020-06, 2020-06-15 or an ISO timestamp like 2020-06-15T10:30:00Z';

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * YYYY, YYYY-MM, YYYY-MM-DD (UTC midnight of the first day they name) or an ISO timestamp; years
 * 1000-9999, months 1-12, days that exist in that month, times 00:00-23:59:59.
 */
export function parseDateOption(name: string, value: string): Date {
  const v = value.trim();
  const bad = () => new UsageError(`${name} must be ${DATE_FORMS} (got ${value})`);
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$/.exec(v);
  if (!m) throw bad();
  const [, y, mo, d, hh, mi, ss, frac, tz] = m;
  const year = Number(y);
  const month = mo ? Number(mo) : 1;
  const day = d ? Number(d) : 1;
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) throw bad();
  if (hh === undefined) return new Date(Date.UTC(year, month - 1, day));
  if (Number(hh) > 23 || Number(mi) > 59 || Number(ss ?? 0) > 59) throw bad();
  const date = new Date(`${y}-${mo}-${d}T${hh}:${mi}:${ss ?? '00'}${frac ?? ''}${tz ?? 'Z'}`);
  if (Number.isNaN(date.getTime())) throw bad();
  return date;
}

/** A duration: 90 (seconds), 30s, 5m, 2h, 500ms; 'forever' or 'inf' for no limit. Milliseconds. */
export function parseDuration(name: string, value: string): number {
  const v = value.trim().toLowerCase();
  if (v === 'forever' || v === 'inf' || v === 'infinity') return Infinity;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
  if (!m) throw new UsageError(`${name} must be a duration like 30s, 5m, 2h or forever (got ${value})`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** A number within [min, max] (integer when asked), or a usage error naming the range. */
export function parseNumberOption(name: string, value: string, opts: { min: number; max?: number; integer?: boolean; example?: string }): number {
  const n = value.trim() === '' ? NaN : Number(value);
  const ok = Number.isFinite(n) && n >= opts.min && (opts.max === undefined || n <= opts.max) && (!opts.integer || Number.isInteger(n));
  if (!ok) {
    const kind = opts.integer ? 'an integer' : 'a number';
    const range = opts.max === undefined ? `>= ${opts.min}` : `from ${opts.min} to ${opts.max}`;
    throw new UsageError(`${name} must be ${kind} ${range}${opts.example ? `, like ${opts.example}` : ''} (got ${value})`);
  }
  return n;
}
