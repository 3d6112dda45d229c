// Backup repository format (version 1). A folder, mode 0700:
//
//   config.json        {format, version, id, created, encryption: null | key envelope}   (0600)
//   data/ab/<id>       objects: originals, derived files, file lists, database dumps     (0600)
//   snapshots/<sha256> snapshot headers, named by the SHA-256 of their stored bytes       (0600)
//   tmp/               objects being written (temp + rename); removed by the next run
//   lock               the repository lock (pid; a lock left by a dead process is taken over)
//   unflushed          present while objects written by a run are not yet flushed to disk
//
// Objects are content-addressed: the id is the SHA-1 of the plaintext (the same checksum the
// library keeps) or, in an encrypted repository, HMAC-SHA256(id key, SHA-1) so ids reveal nothing.
// A snapshot is only visible once its header is renamed into snapshots/, after every object it
// references is written and flushed: a crash at any point leaves a valid repository.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { createKey, decryptBuffer, decryptStream, ENCRYPTION_OVERHEAD, encryptBuffer, encryptStream, objectIdFor, openKey, WrongKeyError, } from '../crypto/backup-crypto.js';
import { ImmichError, EXIT, UsageError } from '../errors.js';
import { TMP_MARK } from '../storage/atomic.js';
import { acquireLock, LockHeldError } from '../storage/lock.js';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
export const REPO_FORMAT = 'immich-backup';
export const REPO_VERSION = 1;
/** Up to this many new objects are flushed one by one; more, with one syncfs. */
const FSYNC_EACH_MAX = 64;
/** Marker file: objects were written and not flushed yet. */
const UNFLUSHED = 'unflushed';
/** The repository is missing, damaged, locked or the key is wrong: exit 3. */
export class RepositoryError extends ImmichError {
    constructor(message, options) {
        super(message, EXIT.ENVIRONMENT, options);
    }
}
export function shortId(id) {
    return id.slice(0, 8);
}
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const SNAPSHOT_ID = /^[0-9a-f]{64}$/;
export function isObjectId(s) {
    return typeof s === 'string' && OBJECT_ID.test(s);
}
/** The passphrase from --key-file, IMMICH_BACKUP_KEY_FILE or IMMICH_BACKUP_PASSPHRASE (never logged). */
export function readPassphrase(opts) {
    const file = opts.keyFile ?? (opts.raw.IMMICH_BACKUP_KEY_FILE || undefined);
    if (file) {
        let text;
        try {
            text = fs.readFileSync(file, 'utf8');
        }
        catch (err) {
            throw new UsageError(`cannot read key file ${file}: ${err.code ?? err.message}`);
        }
        const pass = text.replace(/\r?\n$/, '');
        if (!pass)
            throw new UsageError(`key file ${file} is empty`);
        return pass;
    }
    return opts.raw.IMMICH_BACKUP_PASSPHRASE || undefined;
}
/** Counts bytes and hashes them with SHA-1 as they pass. */
class HashingPassThrough extends Transform {
    hash = crypto.createHash('sha1');
    size = 0;
    _transform(chunk, _enc, cb) {
        this.hash.update(chunk);
        this.size += chunk.length;
        cb(null, chunk);
    }
}
class CountingPassThrough extends Transform {
    size = 0;
    _transform(chunk, _enc, cb) {
        this.size += chunk.length;
        cb(null, chunk);
    }
}
/** Worker threads that copy+hash(+encrypt) files, so hashing uses every core. */
class CopyPool {
    workers = [];
    pending = new Map();
    next = 1;
    constructor(file, size) {
        for (let i = 0; i < size; i++) {
            const w = new Worker(file);
            w.unref();
            const slot = { w, busy: 0 };
            w.on('message', (r) => {
                const p = this.pending.get(r.id);
                slot.busy -= p?.cost ?? 0;
                this.pending.delete(r.id);
                p?.resolve(r);
            });
            w.on('error', (err) => {
                for (const p of this.pending.values())
                    p.reject(err);
                this.pending.clear();
            });
            this.workers.push(slot);
        }
    }
    /** Undefined when the compiled worker is not there (running from TypeScript sources in tests). */
    static create() {
        const file = fileURLToPath(new URL('./backup-worker.js', import.meta.url));
        if (!fs.existsSync(file))
            return undefined;
        return new CopyPool(file, Math.max(1, Math.min(4, os.availableParallelism())));
    }
    /** Queue a task on the worker with the fewest bytes queued (a fixed cost per file counts too). */
    run(task, size) {
        const id = this.next++;
        const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
        const cost = size + 65536;
        slot.busy += cost;
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject, cost });
            slot.w.postMessage({ ...task, id });
        });
    }
    async close() {
        await Promise.all(this.workers.map((s) => s.w.terminate()));
    }
}
export class Repository {
    root;
    config;
    key;
    pool = null;
    /** Objects renamed into data/ since the last flush. */
    written = [];
    /**
     * A previous run died before its flush (its `unflushed` marker, lock or temporary files were
     * left behind): objects it renamed into data/ may not be durable yet and this run may reuse
     * them, so the next flush syncs the whole filesystem rather than only this run's objects.
     */
    unflushedLeftovers = false;
    markedUnflushed = false;
    constructor(root, config, key) {
        this.root = root;
        this.config = config;
        this.key = key;
    }
    get encrypted() {
        return this.config.encryption !== null;
    }
    /** Open (or with `create`, initialise) the repository at `root`. Nothing is written on failure. */
    static async open(root, opts = {}) {
        root = path.resolve(root);
        const cfgPath = path.join(root, 'config.json');
        let text;
        try {
            text = await fsp.readFile(cfgPath, 'utf8');
        }
        catch (err) {
            if (err.code !== 'ENOENT') {
                throw new RepositoryError(`cannot read ${cfgPath}: ${err.message}`);
            }
        }
        if (text === undefined) {
            const exists = fs.existsSync(root) && fs.readdirSync(root).length > 0;
            if (!opts.create || exists) {
                throw new RepositoryError(exists
                    ? `${root} is not a backup repository (config.json missing: truncated or not created by immich backup)`
                    : `no backup repository at ${root} (run \`immich backup ${root}\` to create one)`);
            }
            return Repository.init(root, opts);
        }
        let config;
        try {
            config = JSON.parse(text);
        }
        catch {
            throw new RepositoryError(`repository config ${cfgPath} is damaged (not valid JSON)`);
        }
        if (config.format !== REPO_FORMAT)
            throw new RepositoryError(`${root} is not an immich backup repository`);
        if (config.version !== REPO_VERSION)
            throw new RepositoryError(`repository ${root} has format version ${config.version}; this immich reads version ${REPO_VERSION}`);
        for (const d of ['data', 'snapshots']) {
            if (!fs.existsSync(path.join(root, d)))
                throw new RepositoryError(`repository ${root} is incomplete: ${d}/ is missing`);
        }
        let key;
        if (config.encryption) {
            if (!opts.passphrase) {
                throw new RepositoryError(`repository ${root} is encrypted: give its passphrase with --key-file, IMMICH_BACKUP_KEY_FILE or IMMICH_BACKUP_PASSPHRASE`);
            }
            try {
                key = await openKey(opts.passphrase, config.encryption);
            }
            catch (err) {
                if (err instanceof WrongKeyError)
                    throw new RepositoryError(`wrong passphrase for the encrypted repository ${root}`);
                throw new RepositoryError(`cannot open the key of repository ${root}: ${err.message}`);
            }
        }
        else if (opts.passphrase) {
            throw new UsageError(`repository ${root} is not encrypted, but a passphrase was given; unset it or use another repository`);
        }
        return new Repository(root, config, key);
    }
    static async init(root, opts) {
        let envelope = null;
        let key;
        if (opts.passphrase)
            ({ envelope, key } = await createKey(opts.passphrase, opts.kdf));
        const config = {
            format: REPO_FORMAT,
            version: REPO_VERSION,
            id: crypto.randomBytes(16).toString('hex'),
            created: new Date().toISOString(),
            encryption: envelope,
        };
        try {
            await fsp.mkdir(root, { recursive: true, mode: 0o700 });
            await fsp.chmod(root, 0o700);
            for (const d of ['data', 'snapshots', 'tmp'])
                await fsp.mkdir(path.join(root, d), { recursive: true, mode: 0o700 });
            // config.json last: its presence marks a complete repository.
            await writeAtomic(path.join(root, 'config.json'), JSON.stringify(config, null, 2) + '\n');
        }
        catch (err) {
            throw new RepositoryError(`cannot create backup repository at ${root}: ${err.message}`);
        }
        return new Repository(root, config, key);
    }
    /** Take the repository lock; a lock left by a dead process is taken over. */
    lock(command) {
        try {
            // A lock file here now belongs to a dead process (a live one makes acquireLock throw).
            const stale = fs.existsSync(path.join(this.root, 'lock')) || fs.existsSync(path.join(this.root, UNFLUSHED));
            const release = acquireLock(path.join(this.root, 'lock'), command);
            if (stale)
                this.unflushedLeftovers = true;
            return release;
        }
        catch (err) {
            if (err instanceof LockHeldError) {
                throw new RepositoryError(`repository ${this.root} is in use by pid ${err.holder.pid} on ${err.holder.host}${err.holder.command ? ` (${err.holder.command})` : ''} since ${err.holder.started}`);
            }
            throw new RepositoryError(`cannot lock repository ${this.root}: ${err.message}`);
        }
    }
    objectIdFor(sha1) {
        return this.key ? objectIdFor(this.key, sha1) : sha1;
    }
    objectPath(id) {
        if (!isObjectId(id))
            throw new RepositoryError(`invalid object id ${JSON.stringify(id).slice(0, 80)} in repository ${this.root}`);
        return path.join(this.root, 'data', id.slice(0, 2), id);
    }
    /** Stored size of an object holding `size` plaintext bytes. */
    storedSize(size) {
        return this.key ? size + ENCRYPTION_OVERHEAD : size;
    }
    /** All object ids with their stored sizes. */
    async listObjects() {
        const out = new Map();
        const dataDir = path.join(this.root, 'data');
        const dirs = await fsp.readdir(dataDir).catch(() => []);
        await Promise.all(dirs.map(async (d) => {
            const entries = await fsp.readdir(path.join(dataDir, d), { withFileTypes: true }).catch(() => []);
            for (const e of entries)
                if (e.isFile() && isObjectId(e.name))
                    out.set(e.name, -1);
        }));
        return out;
    }
    async objectSizes(ids) {
        const out = new Map();
        for (const id of ids) {
            const st = await fsp.stat(this.objectPath(id)).catch(() => undefined);
            out.set(id, st ? st.size : null);
        }
        return out;
    }
    tmpPath() {
        if (!this.markedUnflushed) {
            // Left behind if this process dies before flush(): tells the next run what that means.
            fs.writeFileSync(path.join(this.root, UNFLUSHED), '', { mode: 0o600 });
            this.markedUnflushed = true;
        }
        return path.join(this.root, 'tmp', `${TMP_MARK}${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
    }
    /**
     * Store a stream as an object: hashed and (when encrypted) encrypted into tmp/, then renamed to
     * its id. With `expectedSha1` a mismatch is reported by the caller through the returned sha1.
     */
    async putStream(source) {
        const tmp = this.tmpPath();
        const hasher = new HashingPassThrough();
        const counter = new CountingPassThrough();
        try {
            await fsp.mkdir(path.dirname(tmp), { recursive: true, mode: 0o700 });
            const out = fs.createWriteStream(tmp, { mode: 0o600, highWaterMark: 1 << 20 });
            const stages = [hasher];
            if (this.key)
                stages.push(encryptStream(this.key));
            stages.push(counter);
            await pipeline(source, ...stages, out);
            const sha1 = hasher.hash.digest('hex');
            const id = this.objectIdFor(sha1);
            const target = this.objectPath(id);
            if (fs.existsSync(target)) {
                await fsp.rm(tmp, { force: true });
                return { object: id, sha1, size: hasher.size, written: false, stored: 0 };
            }
            await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
            await fsp.rename(tmp, target);
            this.written.push(target);
            return { object: id, sha1, size: hasher.size, written: true, stored: counter.size };
        }
        catch (err) {
            await fsp.rm(tmp, { force: true });
            throw err;
        }
    }
    /**
     * Store a file; copied, hashed and encrypted in a worker thread when the pool is available. The
     * task is handed to a worker before this returns, so a caller can queue many files and then keep
     * its own thread busy (the embedded database dump) while the workers copy.
     */
    putFile(file) {
        if (this.pool === null) {
            this.pool = CopyPool.create();
            fs.mkdirSync(path.join(this.root, 'tmp'), { recursive: true, mode: 0o700 });
        }
        if (!this.pool)
            return this.putStream(fs.createReadStream(file, { highWaterMark: 1 << 20 }));
        const tmp = this.tmpPath();
        let size = 0;
        try {
            size = fs.statSync(file).size;
        }
        catch {
            // the worker reports the error
        }
        return this.pool.run({ src: file, dst: tmp, key: this.key?.enc }, size).then(async (r) => {
            try {
                if (r.error)
                    throw Object.assign(new Error(r.error), { code: r.code });
                const id = this.objectIdFor(r.sha1);
                const target = this.objectPath(id);
                if (fs.existsSync(target)) {
                    await fsp.rm(tmp, { force: true });
                    return { object: id, sha1: r.sha1, size: r.size, written: false, stored: 0 };
                }
                await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
                await fsp.rename(tmp, target);
                this.written.push(target);
                return { object: id, sha1: r.sha1, size: r.size, written: true, stored: r.stored };
            }
            catch (err) {
                await fsp.rm(tmp, { force: true });
                throw err;
            }
        });
    }
    /** Stop the copy workers. */
    async close() {
        const pool = this.pool;
        this.pool = undefined;
        await pool?.close();
    }
    async putBuffer(buf) {
        return this.putStream(Readable.from([buf]));
    }
    /** Plaintext of an object as a stream; for encrypted objects authenticity is known only at the end. */
    readStream(id) {
        const file = fs.createReadStream(this.objectPath(id), { highWaterMark: 1 << 20 });
        if (!this.key)
            return file;
        const dec = decryptStream(this.key);
        file.on('error', (err) => dec.destroy(err));
        return file.pipe(dec);
    }
    /** Read an object fully and check it against its SHA-1. */
    async readVerified(ref) {
        let data;
        try {
            data = await fsp.readFile(this.objectPath(ref.object));
        }
        catch (err) {
            throw new RepositoryError(`object ${ref.object} is missing from repository ${this.root}: ${err.code}`);
        }
        if (this.key) {
            try {
                data = decryptBuffer(this.key, data);
            }
            catch (err) {
                throw new RepositoryError(`object data/${ref.object.slice(0, 2)}/${ref.object} is damaged: ${err.message}`);
            }
        }
        const sha1 = crypto.createHash('sha1').update(data).digest('hex');
        if (sha1 !== ref.sha1)
            throw new RepositoryError(`object data/${ref.object.slice(0, 2)}/${ref.object} is damaged: content does not match its checksum`);
        return data;
    }
    /** Re-read an object and check that its content matches its id. Returns the problem or null. */
    async checkObject(id) {
        const hash = crypto.createHash('sha1');
        try {
            await pipeline(this.readStream(id), async (src) => {
                for await (const chunk of src)
                    hash.update(chunk);
            });
        }
        catch (err) {
            const code = err.code;
            if (code === 'ENOENT')
                return 'missing';
            return `unreadable: ${err.message}`;
        }
        const sha1 = hash.digest('hex');
        return this.objectIdFor(sha1) === id ? null : 'content does not match its id (damaged)';
    }
    async removeObject(id) {
        await fsp.rm(this.objectPath(id), { force: true });
    }
    /**
     * Make every object written so far durable before a snapshot references it. A few objects (an
     * incremental backup): fsync each and its folder, which costs only their own blocks. Many: one
     * syncfs of the repository's filesystem (`sync -f`) instead of an fsync per object.
     */
    async flush() {
        const written = this.written;
        this.written = [];
        if (written.length > 0 && written.length <= FSYNC_EACH_MAX && !this.unflushedLeftovers) {
            const syncPath = async (p) => {
                const fh = await fsp.open(p, 'r');
                try {
                    await fh.sync();
                }
                finally {
                    await fh.close();
                }
            };
            try {
                await Promise.all(written.map(syncPath));
                // Their folders hold the renames; data/ holds any folder created for them.
                const dirs = new Set(written.map((p) => path.dirname(p)));
                dirs.add(path.join(this.root, 'data'));
                await Promise.all([...dirs].map(syncPath));
                if (this.markedUnflushed) {
                    await fsp.rm(path.join(this.root, UNFLUSHED), { force: true });
                    this.markedUnflushed = false;
                }
                return;
            }
            catch {
                // fall through to syncfs
            }
        }
        const ok = await new Promise((resolve) => {
            execFile('sync', ['-f', this.root], (err) => resolve(!err));
        });
        if (!ok) {
            const fd = await fsp.open(this.root, 'r').catch(() => undefined);
            await fd?.sync().catch(() => { });
            await fd?.close();
        }
        this.unflushedLeftovers = false;
        if (this.markedUnflushed) {
            await fsp.rm(path.join(this.root, UNFLUSHED), { force: true });
            this.markedUnflushed = false;
        }
    }
    /** Remove temporary files left by interrupted runs (only while holding the lock). */
    async cleanTemp() {
        const dir = path.join(this.root, 'tmp');
        const entries = await fsp.readdir(dir).catch(() => []);
        for (const e of entries)
            await fsp.rm(path.join(dir, e), { force: true, recursive: true });
        if (entries.length)
            this.unflushedLeftovers = true;
        return entries.length;
    }
    // ---- snapshots ----
    encode(value) {
        const json = Buffer.from(JSON.stringify(value));
        return this.key ? encryptBuffer(this.key, json) : json;
    }
    decode(data) {
        const plain = this.key ? decryptBuffer(this.key, data) : data;
        return JSON.parse(plain.toString('utf8'));
    }
    /** Store the file list as an object (gzip'd JSON). */
    async putFileList(files) {
        return this.putBuffer(zlib.gzipSync(Buffer.from(JSON.stringify(files)), { level: 6 }));
    }
    async loadFileList(header) {
        const gz = await this.readVerified(header.files);
        try {
            return JSON.parse(zlib.gunzipSync(gz).toString('utf8'));
        }
        catch (err) {
            throw new RepositoryError(`file list ${header.files.object} is damaged: ${err.message}`);
        }
    }
    /** Write a snapshot header last, atomically: from here on the snapshot exists. */
    async saveSnapshot(header) {
        const data = this.encode(header);
        const id = crypto.createHash('sha256').update(data).digest('hex');
        await writeAtomic(path.join(this.root, 'snapshots', id), data);
        return id;
    }
    async snapshotIds() {
        const names = await fsp.readdir(path.join(this.root, 'snapshots')).catch(() => {
            throw new RepositoryError(`repository ${this.root} is incomplete: snapshots/ is unreadable`);
        });
        return names.filter((n) => SNAPSHOT_ID.test(n));
    }
    /** Read and authenticate a snapshot header (its name is the SHA-256 of its bytes). */
    async loadSnapshot(id) {
        if (!SNAPSHOT_ID.test(id))
            throw new RepositoryError(`invalid snapshot id ${id}`);
        const file = path.join(this.root, 'snapshots', id);
        let data;
        try {
            data = await fsp.readFile(file);
        }
        catch (err) {
            throw new RepositoryError(`snapshot ${shortId(id)} cannot be read: ${err.code}`);
        }
        if (crypto.createHash('sha256').update(data).digest('hex') !== id) {
            throw new RepositoryError(`snapshot snapshots/${id} is damaged: content does not match its name`);
        }
        let header;
        try {
            header = this.decode(data);
        }
        catch (err) {
            throw new RepositoryError(`snapshot snapshots/${id} is damaged: ${err.message}`);
        }
        return { ...header, id };
    }
    /** All readable snapshots, oldest first, and the ones that could not be read. */
    async listSnapshots() {
        const snapshots = [];
        const damaged = [];
        for (const id of await this.snapshotIds()) {
            try {
                snapshots.push(await this.loadSnapshot(id));
            }
            catch (err) {
                damaged.push({ id, error: err.message });
            }
        }
        snapshots.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
        return { snapshots, damaged };
    }
    /** A snapshot by id, unique id prefix, or 'latest'. */
    async findSnapshot(ref) {
        const { snapshots } = await this.listSnapshots();
        if (!snapshots.length)
            throw new RepositoryError(`repository ${this.root} has no snapshots`);
        if (ref === 'latest')
            return snapshots[snapshots.length - 1];
        const matches = snapshots.filter((s) => s.id.startsWith(ref.toLowerCase()));
        if (matches.length === 1)
            return matches[0];
        if (!matches.length)
            throw new UsageError(`no snapshot ${ref} in repository ${this.root} (see \`immich backup list\`)`);
        throw new UsageError(`snapshot id ${ref} is ambiguous (${matches.length} matches); give more characters`);
    }
    async removeSnapshot(id) {
        await fsp.rm(path.join(this.root, 'snapshots', id), { force: true });
    }
}
async function writeAtomic(target, data) {
    const tmp = path.join(path.dirname(target), `${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    const fh = await fsp.open(tmp, 'w', 0o600);
    try {
        await fh.writeFile(data);
        await fh.sync();
    }
    catch (err) {
        await fh.close();
        await fsp.rm(tmp, { force: true });
        throw err;
    }
    await fh.close();
    await fsp.rename(tmp, target);
    const dir = await fsp.open(path.dirname(target), 'r').catch(() => undefined);
    await dir?.sync().catch(() => { });
    await dir?.close();
}
// ---- restore safety ----
const ALLOWED_ROOTS = new Set(['uploads', 'thumbs', 'encoded', 'external']);
/** Why a manifest path is unsafe to restore, or null. Paths must stay inside the target library. */
export function unsafePathReason(p) {
    if (typeof p !== 'string' || p === '')
        return 'empty or not a string';
    if (p.includes('\0'))
        return 'contains a NUL byte';
    if (p.includes('\\'))
        return 'contains a backslash';
    if (p.startsWith('/') || /^[A-Za-z]:/.test(p))
        return 'absolute path';
    const parts = p.split('/');
    if (parts.some((s) => s === '..'))
        return 'path traversal (..)';
    if (parts.some((s) => s === '' || s === '.'))
        return 'empty or "." path segment';
    if (!ALLOWED_ROOTS.has(parts[0]))
        return `outside the library folders (${[...ALLOWED_ROOTS].join(', ')})`;
    if (parts.length < 2)
        return 'not a file inside a library folder';
    return null;
}
/** Validate every entry of a file list before anything is written. */
export function validateFileList(files) {
    if (!Array.isArray(files))
        throw new RepositoryError('file list is damaged (not a list)');
    const seen = new Set();
    for (const f of files) {
        const reason = unsafePathReason(f?.path);
        if (reason)
            throw new RepositoryError(`unsafe path ${JSON.stringify(String(f?.path)).slice(0, 200)} in snapshot manifest: ${reason}; refusing to restore`);
        if (f.type !== undefined && f.type !== 'file') {
            throw new RepositoryError(`manifest entry ${f.path} is a ${f.type}, not a regular file; refusing to restore`);
        }
        if (!isObjectId(f.object))
            throw new RepositoryError(`manifest entry ${f.path} has an invalid object id; refusing to restore`);
        if (typeof f.checksum !== 'string' || !/^[0-9a-f]{40}$/.test(f.checksum))
            throw new RepositoryError(`manifest entry ${f.path} has an invalid checksum`);
        if (!Number.isSafeInteger(f.size) || f.size < 0)
            throw new RepositoryError(`manifest entry ${f.path} has an invalid size`);
        if (seen.has(f.path))
            throw new RepositoryError(`manifest lists ${f.path} twice`);
        seen.add(f.path);
    }
    return files;
}
export function hostname() {
    return os.hostname();
}
//# sourceMappingURL=backup-repo.js.map