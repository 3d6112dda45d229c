// Log record → one line: human text for terminals, JSON for files and log collectors. Secrets
// never reach a line: fields named like secrets are masked, and so are passwords in URLs.
import type { LogRecord } from '../logger.js';

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|credential/i;
// Greedy up to the last '@' of the word: a password may hold '/' or '@' itself.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)\S*@/gi;

export function redactText(text: string): string {
  return text.replace(URL_PASSWORD, '$1********@');
}

function redactValue(key: string, value: unknown, depth = 0): unknown {
  if (SECRET_KEY.test(key)) return value === undefined || value === null ? value : '********';
  if (typeof value === 'string') return redactText(value);
  if (value instanceof Error) return redactText(value.message);
  if (depth < 3 && value && typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(k, v, depth + 1);
    return out;
  }
  return value;
}

/** One JSON object per line: time, level, msg, then the record's fields (flattened, redacted). */
export function formatJson(record: LogRecord, extra: Record<string, unknown> = {}): string {
  const line: Record<string, unknown> = { time: record.time, level: record.level, msg: redactText(record.msg), ...extra };
  for (const [k, v] of Object.entries(record.fields ?? {})) {
    if (k === 'time' || k === 'level' || k === 'msg') continue;
    line[k] = redactValue(k, v);
  }
  return JSON.stringify(line);
}

/** `2026-11-24T20:31:00.000Z warn  message key=value` for files read by people. */
export function formatText(record: LogRecord): string {
  const fields = Object.entries(record.fields ?? {})
    .map(([k, v]) => {
      const r = redactValue(k, v);
      const s = typeof r === 'string' ? r : JSON.stringify(r);
      return `${k}=${/\s/.test(s ?? '') ? JSON.stringify(s) : s}`;
    })
    .join(' ');
  return `${record.time} ${record.level.padEnd(7)} ${redactText(record.msg)}${fields ? ' ' + fields : ''}`;
}
