// Leveled logger. Modules below cli never write to the terminal directly: they log through this,
// and the CLI decides where lines go (stderr, a file, JSON lines).
import type { LogLevel } from './config.js';

const ORDER: Record<LogLevel, number> = { verbose: 0, debug: 1, log: 2, warn: 3, error: 4 };

export type LogFields = Record<string, unknown>;

export interface LogRecord {
  time: string;
  level: LogLevel;
  msg: string;
  fields?: LogFields;
}

export type LogSink = (record: LogRecord) => void;

export class Logger {
  constructor(
    private level: LogLevel,
    private sinks: LogSink[] = [],
  ) {}

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[this.level];
  }

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  addSink(sink: LogSink): void {
    this.sinks.push(sink);
  }

  private emit(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const record: LogRecord = { time: new Date().toISOString(), level, msg, fields };
    for (const s of this.sinks) s(record);
  }

  verbose(msg: string, fields?: LogFields): void { this.emit('verbose', msg, fields); }
  debug(msg: string, fields?: LogFields): void { this.emit('debug', msg, fields); }
  log(msg: string, fields?: LogFields): void { this.emit('log', msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.emit('warn', msg, fields); }
  error(msg: string, fields?: LogFields): void { this.emit('error', msg, fields); }
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return new Logger('error', []);
}
