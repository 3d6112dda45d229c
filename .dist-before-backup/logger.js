const ORDER = { verbose: 0, debug: 1, log: 2, warn: 3, error: 4 };
export class Logger {
    level;
    sinks;
    constructor(level, sinks = []) {
        this.level = level;
        this.sinks = sinks;
    }
    enabled(level) {
        return ORDER[level] >= ORDER[this.level];
    }
    setLevel(level) {
        this.level = level;
    }
    addSink(sink) {
        this.sinks.push(sink);
    }
    emit(level, msg, fields) {
        if (!this.enabled(level))
            return;
        const record = { time: new Date().toISOString(), level, msg, fields };
        for (const s of this.sinks)
            s(record);
    }
    verbose(msg, fields) { this.emit('verbose', msg, fields); }
    debug(msg, fields) { this.emit('debug', msg, fields); }
    log(msg, fields) { this.emit('log', msg, fields); }
    warn(msg, fields) { this.emit('warn', msg, fields); }
    error(msg, fields) { this.emit('error', msg, fields); }
}
/** A logger that drops everything (tests, library use). */
export function silentLogger() {
    return new Logger('error', []);
}
//# sourceMappingURL=logger.js.map