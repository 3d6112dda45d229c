// A log file sink with rotation: by size (the line that would cross maxBytes goes to a fresh
// file) and weekly (the first line of a new ISO week starts a fresh file). Old files are renamed
// file.1 (newest) … file.N and the oldest beyond `keep` are deleted. Writes are synchronous
// appends, so lines survive a crash and interleave whole between processes sharing the file.
import fs from 'node:fs';
import path from 'node:path';
/** Monday 00:00 UTC of the week containing `d`, as a number (ms). */
export function weekStart(d) {
    const day = (d.getUTCDay() + 6) % 7; // Monday = 0
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
}
export class RotatingFile {
    file;
    opts;
    fd;
    size = 0;
    week = 0;
    constructor(file, opts) {
        this.file = file;
        this.opts = opts;
    }
    now() {
        return this.opts.now?.() ?? new Date();
    }
    open() {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        // 0600: logs name files and assets of a private library
        this.fd = fs.openSync(this.file, 'a', 0o600);
        fs.fchmodSync(this.fd, 0o600);
        const st = fs.fstatSync(this.fd);
        this.size = st.size;
        // An existing file belongs to the week it was last written in.
        this.week = weekStart(st.size > 0 ? st.mtime : this.now());
    }
    write(line) {
        if (this.fd === undefined)
            this.open();
        const data = line.endsWith('\n') ? line : line + '\n';
        const bytes = Buffer.byteLength(data);
        const now = this.now();
        const tooBig = this.opts.maxBytes > 0 && this.size > 0 && this.size + bytes > this.opts.maxBytes;
        const newWeek = this.opts.weekly !== false && this.size > 0 && weekStart(now) !== this.week;
        if (tooBig || newWeek)
            this.rotate();
        fs.writeSync(this.fd, data);
        this.size += bytes;
        this.week = weekStart(now);
    }
    /** file → file.1 → file.2 …; the oldest past `keep` is deleted. */
    rotate() {
        if (this.fd !== undefined)
            fs.closeSync(this.fd);
        this.fd = undefined;
        const keep = Math.max(0, this.opts.keep);
        const name = (i) => (i === 0 ? this.file : `${this.file}.${i}`);
        if (keep === 0)
            fs.rmSync(this.file, { force: true });
        else {
            fs.rmSync(name(keep), { force: true });
            for (let i = keep - 1; i >= 0; i--) {
                if (fs.existsSync(name(i)))
                    fs.renameSync(name(i), name(i + 1));
            }
        }
        // Anything older than `keep` left by an earlier, larger setting goes too.
        const dir = path.dirname(this.file);
        const base = path.basename(this.file);
        for (const f of fs.readdirSync(dir)) {
            const m = f.startsWith(base + '.') ? /^\d+$/.exec(f.slice(base.length + 1)) : null;
            if (m && Number(m[0]) > keep)
                fs.rmSync(path.join(dir, f), { force: true });
        }
        this.open();
    }
    close() {
        if (this.fd !== undefined)
            fs.closeSync(this.fd);
        this.fd = undefined;
    }
}
//# sourceMappingURL=file.js.map