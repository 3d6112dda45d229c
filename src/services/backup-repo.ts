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
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import {
  createKey,
  decryptBuffer,
  decryptStream,
  ENCRYPTION_OVERHEAD,
  encryptBuffer,
  encryptStream,
  objectIdFor,
  openKey,
  WrongKeyError,
  type KeyEnvelope,
  type MasterKey,
} from '../crypto/backup-crypto.js';
import { ImmichError, EXIT, UsageError } from '../errors.js';
import { TMP_MARK } from '../storage/atomic.js';
import { acquireLock, LockHeldError } from '../storage/lock.js';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CopyResult, CopyTask, PoolMessage } from './backup-worker.js';
import { fsPath } from '../storage/raw-path.js';

import { syncFilesystem } from '../storage/syncfs.js';
export const REPO_FORMAT = 'immich-backup';
export const REPO_VERSION = 1;
/** Up to this many new objects are flushed one by one; more, with one syncfs. */
const FSYNC_EACH_MAX = 64;
/** Marker file: objects were written and not flushed yet. */
const UNFLUSHED = 'unflushed';

/** The repository is missing, damaged, locked or the key is wrong: exit 3. */
export class RepositoryError extends ImmichError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.ENVIRONMENT, options);
  }
}

export interface RepoConfig {
  format: typeof REPO_FORMAT;
  version: number;
  id: string;
  created: string;
  encryption: KeyEnvelope | null;
}

export interface ObjectRef {
  object: string;
  /** SHA-1 of the plaintext. */
  sha1: string;
  /** Plaintext size in bytes. */
  size: number;
}

export type FileKind = 'original' | 'derived' | 'sidecar' | 'external';

/** One file in a snapshot's file list. */
export interface FileEntry {
  /** Library-relative path, '/'-separated; in-place originals are stored under external/. */
  path: string;
  checksum: string;
  size: number;
  mode: number;
  /** Modification time, ms since the epoch. */
  mtime: number;
  object: string;
  kind: FileKind;
  /** For external files: where the original lives. */
  source?: string;
}

export interface SnapshotHeader {
  version: number;
  time: string;
  hostname: string;
  library: string;
  tags: string[];
  /**
   * Taken by `restore --force` of the library it overwrote: never "latest" unless named, and kept
   * apart from the library's own backups by `backup forget`.
   */
  safety?: boolean;
  /**
   * The models installed in the library's models folder (task/name/part). They are not stored (large,
   * and published): restore names the ones missing on the target and the command that installs them.
   */
  models?: string[];
  parent: string | null;
  include_derived: boolean;
  database: {
    kind: 'embedded' | 'postgres';
    migrations: string[];
    /** Row count of every table at the moment of the dump. */
    rows: Record<string, number>;
    /** sql_bytes: unpacked size, bounding what restore reads (absent in older snapshots). */
    dump: (ObjectRef & { format: 'sql.gz'; tool: string; sql_bytes?: number }) | null;
  };
  files: ObjectRef & { count: number; bytes: number };
  stats: BackupStats;
}

export interface BackupStats {
  files: number;
  bytes: number;
  new_files: number;
  new_bytes: number;
  /** Bytes written into data/ by this backup (objects, file list, dump). */
  stored_bytes: number;
  duration_ms: number;
}

export interface Snapshot extends SnapshotHeader {
  id: string;
}

export interface PutResult extends ObjectRef {
  /** False when an identical object was already there. */
  written: boolean;
  /** Bytes written to disk. */
  stored: number;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const SNAPSHOT_ID = /^[0-9a-f]{64}$/;

export function isObjectId(s: unknown): s is string {
  return typeof s === 'string' && OBJECT_ID.test(s);
}

/** The passphrase from --key-file, IMMICH_BACKUP_KEY_FILE or IMMICH_BACKUP_PASSPHRASE (never logged). */
export function readPassphrase(opts: { keyFile?: string; raw: Readonly<Record<string, string>> }): string | undefined {
  const file = opts.keyFile ?? (opts.raw.IMMICH_BACKUP_KEY_FILE || undefined);
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const pass = text.replace(/\r?\n$/, '');
    if (!pass) throw new UsageError(`key file ${file} is empty`);
    return pass;
  }
  return opts.raw.IMMICH_BACKUP_PASSPHRASE || undefined;
}

/** Counts bytes and hashes them with SHA-1 as they pass. */
class HashingPassThrough extends Transform {
  readonly hash = crypto.createHash('sha1');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
}

class CountingPassThrough extends Transform {
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    cb(null, chunk);
  }
}

export interface OpenRepoOptions {
  passphrase?: string;
  /** Create the repository when it does not exist (backup). */
  create?: boolean;
  /** scrypt parameters for a new encrypted repository. */
  kdf?: { N: number; r: number; p: number };
}

/**
 * Worker threads that copy+hash(+encrypt) files, so hashing uses every core and a cold library is
 * read with several requests in flight. Every task goes to every worker; a shared counter decides
 * which worker takes it (see backup-worker.ts).
 */
class CopyPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (r: CopyResult) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private batch: CopyTask[] = [];

  private constructor(file: string, size: number) {
    const counter = new SharedArrayBuffer(4);
    for (let i = 0; i < size; i++) {
      const w = new Worker(file);
      w.unref();
      w.on('message', (r: CopyResult) => {
        const p = this.pending.get(r.seq);
        this.pending.delete(r.seq);
        p?.resolve(r);
      });
      w.on('error', (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      w.postMessage({ init: counter } satisfies PoolMessage);
      this.workers.push(w);
    }
  }

  /** Undefined when the compiled worker is not there (running from TypeScript sources in tests). */
  static create(): CopyPool | undefined {
    const file = fileURLToPath(new URL('./backup-worker.js', import.meta.url));
    if (!fs.existsSync(file)) return undefined;
    // Reads of a library that is not in the page cache wait on the disk: more workers than cores
    // keep requests in flight (4 measured ~15% faster than 2 on a cold 2 GB library with 2 cores).
    return new CopyPool(file, Math.max(4, Math.min(8, os.availableParallelism())));
  }

  run(task: Omit<CopyTask, 'seq'>): Promise<CopyResult> {
    const seq = this.seq++;
    if (!this.batch.length) queueMicrotask(() => this.post());
    this.batch.push({ ...task, seq });
    return new Promise((resolve, reject) => this.pending.set(seq, { resolve, reject }));
  }

  private post(): void {
    const tasks = this.batch;
    this.batch = [];
    for (const w of this.workers) w.postMessage({ tasks } satisfies PoolMessage);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export class Repository {
  private pool: CopyPool | undefined | null = null;
  /** Objects renamed into data/ since the last flush. */
  private written: string[] = [];
  /**
   * A previous run died before its flush (its `unflushed` marker, lock or temporary files were
   * left behind): objects it renamed into data/ may not be durable yet and this run may reuse
   * them, so the next flush syncs the whole filesystem rather than only this run's objects.
   */
  private unflushedLeftovers = false;
  private markedUnflushed = false;

  private constructor(
    readonly root: string,
    readonly config: RepoConfig,
    private readonly key: MasterKey | undefined,
  ) {}

  get encrypted(): boolean {
    return this.config.encryption !== null;
  }

  /** Open (or with `create`, initialise) the repository at `root`. Nothing is written on failure. */
  static async open(root: string, opts: OpenRepoOptions = {}): Promise<Repository> {
    root = path.resolve(root);
    const cfgPath = path.join(root, 'config.json');
    let text: string | undefined;
    try {
      text = await fsp.readFile(cfgPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new RepositoryError(`cannot read ${cfgPath}: ${(err as Error).message}`);
      }
    }
    if (text === undefined) {
      const exists = fs.existsSync(root) && fs.readdirSync(root).length > 0;
      if (!opts.create || exists) {
        throw new RepositoryError(
          exists
            ? `${root} is not a backup repository (config.json missing: truncated or not created by immich backup)`
            : `no backup repository at ${root} (run \`immich backup ${root}\` to create one)`,
        );
      }
      return Repository.init(root, opts);
    }
    let config: RepoConfig;
    try {
      config = JSON.parse(text) as RepoConfig;
    } catch {
      throw new RepositoryError(`repository config ${cfgPath} is damaged (not valid JSON)`);
    }
    if (config.format !== REPO_FORMAT) throw new RepositoryError(`${root} is not an immich backup repository`);
    if (config.version !== REPO_VERSION) throw new RepositoryError(`repository ${root} has format version ${config.version}; this immich reads version ${REPO_VERSION}`);
    for (const d of ['data', 'snapshots']) {
      if (!fs.existsSync(path.join(root, d))) throw new RepositoryError(`repository ${root} is incomplete: ${d}/ is missing`);
    }
    let key: MasterKey | undefined;
    if (config.encryption) {
      if (!opts.passphrase) {
        throw new RepositoryError(`repository ${root} is encrypted: give its passphrase with --key-file, IMMICH_BACKUP_KEY_FILE or IMMICH_BACKUP_PASSPHRASE`);
      }
      try {
        key = await openKey(opts.passphrase, config.encryption);
      } catch (err) {
        if (err instanceof WrongKeyError) throw new RepositoryError(`wrong passphrase for the encrypted repository ${root}`);
        throw new RepositoryError(`cannot open the key of repository ${root}: ${(err as Error).message}`);
      }
    } else if (opts.passphrase) {
      throw new UsageError(`repository ${root} is not encrypted, but a passphrase was given; unset it or use another repository`);
    }
    return new Repository(root, config, key);
  }

  private static async init(root: string, opts: OpenRepoOptions): Promise<Repository> {
    let envelope: KeyEnvelope | null = null;
    let key: MasterKey | undefined;
    if (opts.passphrase) ({ envelope, key } = await createKey(opts.passphrase, opts.kdf));
    const config: RepoConfig = {
      format: REPO_FORMAT,
      version: REPO_VERSION,
      id: crypto.randomBytes(16).toString('hex'),
      created: new Date().toISOString(),
      encryption: envelope,
    };
    try {
      await fsp.mkdir(root, { recursive: true, mode: 0o700 });
      await fsp.chmod(root, 0o700);
      for (const d of ['data', 'snapshots', 'tmp']) await fsp.mkdir(path.join(root, d), { recursive: true, mode: 0o700 });
      // config.json last: its presence marks a complete repository.
      await writeAtomic(path.join(root, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    } catch (err) {
      throw new RepositoryError(`cannot create backup repository at ${root}: ${(err as Error).message}`);
    }
    return new Repository(root, config, key);
  }

  /** Take the repository lock; a lock left by a dead process is taken over. */
  lock(command: string): () => void {
    try {
      // A lock file here now belongs to a dead process (a live one makes acquireLock throw).
      const stale = fs.existsSync(path.join(this.root, 'lock')) || fs.existsSync(path.join(this.root, UNFLUSHED));
      const release = acquireLock(path.join(this.root, 'lock'), command);
      if (stale) this.unflushedLeftovers = true;
      return release;
    } catch (err) {
      if (err instanceof LockHeldError) {
        throw new RepositoryError(
          `repository ${this.root} is in use by pid ${err.holder.pid} on ${err.holder.host}${err.holder.command ? ` (${err.holder.command})` : ''} since ${err.holder.started}`,
        );
      }
      throw new RepositoryError(`cannot lock repository ${this.root}: ${(err as Error).message}`);
    }
  }

  objectIdFor(sha1: string): string {
    return this.key ? objectIdFor(this.key, sha1) : sha1;
  }

  objectPath(id: string): string {
    if (!isObjectId(id)) throw new RepositoryError(`invalid object id ${JSON.stringify(id).slice(0, 80)} in repository ${this.root}`);
    return path.join(this.root, 'data', id.slice(0, 2), id);
  }

  /** Stored size of an object holding `size` plaintext bytes. */
  storedSize(size: number): number {
    return this.key ? size + ENCRYPTION_OVERHEAD : size;
  }

  /** All object ids with their stored sizes. */
  async listObjects(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const dataDir = path.join(this.root, 'data');
    const dirs = await fsp.readdir(dataDir).catch(() => [] as string[]);
    await Promise.all(
      dirs.map(async (d) => {
        const entries = await fsp.readdir(path.join(dataDir, d), { withFileTypes: true }).catch(() => []);
        for (const e of entries) if (e.isFile() && isObjectId(e.name)) out.set(e.name, -1);
      }),
    );
    return out;
  }

  async objectSizes(ids: Iterable<string>): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>();
    for (const id of ids) {
      const st = await fsp.stat(this.objectPath(id)).catch(() => undefined);
      out.set(id, st ? st.size : null);
    }
    return out;
  }

  private tmpPath(): string {
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
  async putStream(source: Readable | AsyncIterable<Buffer>): Promise<PutResult> {
    const tmp = this.tmpPath();
    const hasher = new HashingPassThrough();
    const counter = new CountingPassThrough();
    try {
      await fsp.mkdir(path.dirname(tmp), { recursive: true, mode: 0o700 });
      const out = fs.createWriteStream(tmp, { mode: 0o600, highWaterMark: 1 << 20 });
      const stages: NodeJS.ReadWriteStream[] = [hasher];
      if (this.key) stages.push(encryptStream(this.key));
      stages.push(counter);
      await pipeline(source as Readable, ...(stages as [Transform]), out);
      const sha1 = hasher.hash.digest('hex');
      const id = this.objectIdFor(sha1);
      const target = this.objectPath(id);
      // Kept when its size is right; a truncated or damaged one is replaced (see storeFileSync).
      if (fs.statSync(target, { throwIfNoEntry: false })?.size === counter.size) {
        await fsp.rm(tmp, { force: true });
        return { object: id, sha1, size: hasher.size, written: false, stored: 0 };
      }
      await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      await fsp.rename(tmp, target);
      this.stored(target);
      return { object: id, sha1, size: hasher.size, written: true, stored: counter.size };
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Store a file; copied, hashed and encrypted in a worker thread when the pool is available. The
   * task is handed to a worker before this returns, so a caller can queue many files and then keep
   * its own thread busy (the embedded database dump) while the workers copy.
   */
  putFile(file: string): Promise<PutResult> {
    if (this.pool === null) {
      this.pool = CopyPool.create();
      fs.mkdirSync(path.join(this.root, 'tmp'), { recursive: true, mode: 0o700 });
    }
    if (!this.pool) return this.putStream(fs.createReadStream(fsPath(file), { highWaterMark: 1 << 20 }));
    const task = { src: file, dst: this.tmpPath(), dataDir: path.join(this.root, 'data'), key: this.key?.enc, idKey: this.key?.id };
    return this.pool.run(task).then((r) => {
      if (r.error) throw Object.assign(new Error(r.error), { code: r.code });
      if (r.written) this.stored(r.written);
      return { object: r.object!, sha1: r.sha1!, size: r.size!, written: Boolean(r.written), stored: r.stored! };
    });
  }

  /**
   * Note a new object for the flush. There is no syncfs while the copy goes on: the copies start
   * their write-back when closed (backup-worker.ts) and the kernel writes the rest past its
   * background limit; a syncfs every 128 MiB made a cold first backup 1.5x slower here (each
   * waits for every dirty page and a journal commit while the reads stall), see bench/RESULTS.md.
   */
  private stored(target: string): void {
    this.written.push(target);
  }

  /** Stop the copy workers. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  async putBuffer(buf: Buffer): Promise<PutResult> {
    return this.putStream(Readable.from([buf]));
  }

  /** Plaintext of an object as a stream; for encrypted objects authenticity is known only at the end. */
  readStream(id: string): Readable {
    const file = fs.createReadStream(this.objectPath(id), { highWaterMark: 1 << 20 });
    if (!this.key) return file;
    const dec = decryptStream(this.key);
    file.on('error', (err) => dec.destroy(err));
    return file.pipe(dec);
  }

  /** Read an object fully and check it against its SHA-1. */
  async readVerified(ref: ObjectRef): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await fsp.readFile(this.objectPath(ref.object));
    } catch (err) {
      throw new RepositoryError(`object ${ref.object} is missing from repository ${this.root}: ${(err as NodeJS.ErrnoException).code}`);
    }
    if (this.key) {
      try {
        data = decryptBuffer(this.key, data);
      } catch (err) {
        throw new RepositoryError(`object data/${ref.object.slice(0, 2)}/${ref.object} is damaged: ${(err as Error).message}`);
      }
    }
    const sha1 = crypto.createHash('sha1').update(data).digest('hex');
    if (sha1 !== ref.sha1) throw new RepositoryError(`object data/${ref.object.slice(0, 2)}/${ref.object} is damaged: content does not match its checksum`);
    return data;
  }

  /** Re-read an object and check that its content matches its id. Returns the problem or null. */
  async checkObject(id: string): Promise<string | null> {
    const hash = crypto.createHash('sha1');
    try {
      await pipeline(this.readStream(id), async (src: AsyncIterable<Buffer>) => {
        for await (const chunk of src) hash.update(chunk);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return 'missing';
      return `unreadable: ${(err as Error).message}`;
    }
    const sha1 = hash.digest('hex');
    return this.objectIdFor(sha1) === id ? null : 'content does not match its id (damaged)';
  }

  async removeObject(id: string): Promise<void> {
    await fsp.rm(this.objectPath(id), { force: true });
  }

  /**
   * Make every object written so far durable before a snapshot references it. A few objects (an
   * incremental backup): fsync each and its folder, which costs only their own blocks. Many: one
   * syncfs of the repository's filesystem (`sync -f`) instead of an fsync per object.
   */
  async flush(): Promise<void> {
    const written = this.written;
    this.written = [];
    if (written.length > 0 && written.length <= FSYNC_EACH_MAX && !this.unflushedLeftovers) {
      const syncPath = async (p: string): Promise<void> => {
        const fh = await fsp.open(p, 'r');
        try {
          await fh.sync();
        } finally {
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
      } catch {
        // fall through to syncfs
      }
    }
    await syncFilesystem(this.root);
    this.unflushedLeftovers = false;
    if (this.markedUnflushed) {
      await fsp.rm(path.join(this.root, UNFLUSHED), { force: true });
      this.markedUnflushed = false;
    }
  }

  /** Remove temporary files left by interrupted runs (only while holding the lock). */
  async cleanTemp(): Promise<number> {
    const dir = path.join(this.root, 'tmp');
    const entries = await fsp.readdir(dir).catch(() => [] as string[]);
    for (const e of entries) await fsp.rm(path.join(dir, e), { force: true, recursive: true });
    if (entries.length) this.unflushedLeftovers = true;
    return entries.length;
  }

  // ---- snapshots ----

  private encode(value: unknown): Buffer {
    const json = Buffer.from(JSON.stringify(value));
    return this.key ? encryptBuffer(this.key, json) : json;
  }

  private decode(data: Buffer): unknown {
    const plain = this.key ? decryptBuffer(this.key, data) : data;
    return JSON.parse(plain.toString('utf8'));
  }

  /** Store the file list as an object (gzip'd JSON). */
  async putFileList(files: FileEntry[]): Promise<PutResult> {
    return this.putBuffer(zlib.gzipSync(Buffer.from(JSON.stringify(files)), { level: 6 }));
  }

  async loadFileList(header: SnapshotHeader): Promise<FileEntry[]> {
    const gz = await this.readVerified(header.files);
    try {
      return JSON.parse(zlib.gunzipSync(gz).toString('utf8')) as FileEntry[];
    } catch (err) {
      throw new RepositoryError(`file list ${header.files.object} is damaged: ${(err as Error).message}`);
    }
  }

  /** Write a snapshot header last, atomically: from here on the snapshot exists. */
  async saveSnapshot(header: SnapshotHeader): Promise<string> {
    const data = this.encode(header);
    const id = crypto.createHash('sha256').update(data).digest('hex');
    await writeAtomic(path.join(this.root, 'snapshots', id), data);
    return id;
  }

  async snapshotIds(): Promise<string[]> {
    const names = await fsp.readdir(path.join(this.root, 'snapshots')).catch(() => {
      throw new RepositoryError(`repository ${this.root} is incomplete: snapshots/ is unreadable`);
    });
    return names.filter((n) => SNAPSHOT_ID.test(n));
  }

  /** Read and authenticate a snapshot header (its name is the SHA-256 of its bytes). */
  async loadSnapshot(id: string): Promise<Snapshot> {
    if (!SNAPSHOT_ID.test(id)) throw new RepositoryError(`invalid snapshot id ${id}`);
    const file = path.join(this.root, 'snapshots', id);
    let data: Buffer;
    try {
      data = await fsp.readFile(file);
    } catch (err) {
      throw new RepositoryError(`snapshot ${shortId(id)} cannot be read: ${(err as NodeJS.ErrnoException).code}`);
    }
    if (crypto.createHash('sha256').update(data).digest('hex') !== id) {
      throw new RepositoryError(`snapshot snapshots/${id} is damaged: content does not match its name`);
    }
    let header: SnapshotHeader;
    try {
      header = this.decode(data) as SnapshotHeader;
    } catch (err) {
      throw new RepositoryError(`snapshot snapshots/${id} is damaged: ${(err as Error).message}`);
    }
    return { ...header, id };
  }

  /** All readable snapshots, oldest first, and the ones that could not be read. */
  async listSnapshots(): Promise<{ snapshots: Snapshot[]; damaged: Array<{ id: string; error: string }> }> {
    const snapshots: Snapshot[] = [];
    const damaged: Array<{ id: string; error: string }> = [];
    for (const id of await this.snapshotIds()) {
      try {
        snapshots.push(await this.loadSnapshot(id));
      } catch (err) {
        damaged.push({ id, error: (err as Error).message });
      }
    }
    snapshots.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
    return { snapshots, damaged };
  }

  /**
   * A snapshot by id, unique id prefix, or 'latest': the newest backup of `library` (on this host),
   * else of the one library the repository holds. Safety snapshots are never 'latest'.
   */
  async findSnapshot(ref: string, opts: { library?: string } = {}): Promise<Snapshot> {
    const { snapshots } = await this.listSnapshots();
    if (!snapshots.length) throw new RepositoryError(`repository ${this.root} has no snapshots`);
    if (ref === 'latest') return latestSnapshot(snapshots, this.root, opts.library);
    const matches = snapshots.filter((s) => s.id.startsWith(ref.toLowerCase()));
    if (matches.length === 1) return matches[0]!;
    if (!matches.length) throw new UsageError(`no snapshot ${ref} in repository ${this.root} (see \`immich backup list\`)`);
    throw new UsageError(`snapshot id ${ref} is ambiguous (${matches.length} matches); give more characters`);
  }

  async removeSnapshot(id: string): Promise<void> {
    await fsp.rm(path.join(this.root, 'snapshots', id), { force: true });
  }
}

/** Which library a snapshot is of: host and library folder (two machines may use the same path). */
export function libraryKey(s: Pick<SnapshotHeader, 'hostname' | 'library'>): string {
  return `${s.hostname}:${s.library}`;
}

function latestSnapshot(snapshots: Snapshot[], root: string, library: string | undefined): Snapshot {
  const regular = snapshots.filter((s) => !s.safety);
  if (!regular.length) {
    throw new UsageError(`repository ${root} holds only safety snapshots (taken by restore --force); name one with --snapshot (see \`immich backup list\`)`);
  }
  const host = os.hostname();
  const mine = regular.filter((s) => s.library === library && s.hostname === host);
  if (mine.length) return mine[mine.length - 1]!;
  const libraries = [...new Set(regular.map(libraryKey))];
  if (libraries.length === 1) return regular[regular.length - 1]!;
  throw new UsageError(
    `repository ${root} holds backups of ${libraries.length} libraries (${libraries.join(', ')}); name the snapshot with --snapshot (see \`immich backup list\`)`,
  );
}

async function writeAtomic(target: string, data: string | Buffer): Promise<void> {
  const tmp = path.join(path.dirname(target), `${TMP_MARK}${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await fsp.rename(tmp, target);
  const dir = await fsp.open(path.dirname(target), 'r').catch(() => undefined);
  await dir?.sync().catch(() => {});
  await dir?.close();
}

// ---- restore safety ----

const ALLOWED_ROOTS = new Set(['uploads', 'thumbs', 'encoded', 'external']);

/** Why a manifest path is unsafe to restore, or null. Paths must stay inside the target library. */
export function unsafePathReason(p: unknown): string | null {
  if (typeof p !== 'string' || p === '') return 'empty or not a string';
  if (p.includes('\0')) return 'contains a NUL byte';
  if (p.includes('\\')) return 'contains a backslash';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'absolute path';
  const parts = p.split('/');
  if (parts.some((s) => s === '..')) return 'path traversal (..)';
  if (parts.some((s) => s === '' || s === '.')) return 'empty or "." path segment';
  if (!ALLOWED_ROOTS.has(parts[0]!)) return `outside the library folders (${[...ALLOWED_ROOTS].join(', ')})`;
  if (parts.length < 2) return 'not a file inside a library folder';
  return null;
}

/** Validate every entry of a file list before anything is written. */
export function validateFileList(files: unknown): FileEntry[] {
  if (!Array.isArray(files)) throw new RepositoryError('file list is damaged (not a list)');
  const seen = new Set<string>();
  for (const f of files as FileEntry[]) {
    const reason = unsafePathReason(f?.path);
    if (reason) throw new RepositoryError(`unsafe path ${JSON.stringify(String(f?.path)).slice(0, 200)} in snapshot manifest: ${reason}; refusing to restore`);
    if ((f as { type?: string }).type !== undefined && (f as { type?: string }).type !== 'file') {
      throw new RepositoryError(`manifest entry ${f.path} is a ${(f as { type?: string }).type}, not a regular file; refusing to restore`);
    }
    if (!isObjectId(f.object)) throw new RepositoryError(`manifest entry ${f.path} has an invalid object id; refusing to restore`);
    if (typeof f.checksum !== 'string' || !/^[0-9a-f]{40}$/.test(f.checksum)) throw new RepositoryError(`manifest entry ${f.path} has an invalid checksum`);
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw new RepositoryError(`manifest entry ${f.path} has an invalid size`);
    if (seen.has(f.path)) throw new RepositoryError(`manifest lists ${f.path} twice`);
    seen.add(f.path);
  }
  return files as FileEntry[];
}

export function hostname(): string {
  return os.hostname();
}
