import fsp from 'node:fs/promises';
import path from 'node:path';
import { ALL_QUEUES } from '../jobs/types.js';
import { Library, LIBRARY_FOLDERS } from '../storage/layout.js';
import { openQueueAdmin } from './queues.js';
/** Nearest-rank percentile of sorted values. */
export function percentile(sorted, p) {
    if (!sorted.length)
        return 0;
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
async function existingTables(db, names) {
    const rows = await db
        .selectFrom('information_schema.tables')
        .select('table_name')
        .where((eb) => eb('table_schema', '=', eb.fn('current_schema', [])))
        .where('table_name', 'in', names)
        .execute();
    return new Set(rows.map((r) => r.table_name));
}
async function countRows(db, table) {
    const r = (await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst());
    return Number(r?.n ?? 0);
}
/** Bytes and files under a folder, not following symlinks; a missing folder is empty. */
export async function folderUsage(dir) {
    let bytes = 0;
    let files = 0;
    const walk = async (d) => {
        let entries;
        try {
            entries = await fsp.readdir(d, { withFileTypes: true });
        }
        catch {
            return;
        }
        for (const e of entries) {
            const p = path.join(d, e.name);
            if (e.isDirectory())
                await walk(p);
            else if (e.isFile()) {
                const st = await fsp.lstat(p).catch(() => undefined);
                if (st) {
                    bytes += st.size;
                    files++;
                }
            }
        }
    };
    await walk(dir);
    return { bytes, files };
}
async function redisDepths(ctx) {
    if (!ctx.config.redis)
        return [];
    let admin;
    try {
        admin = await openQueueAdmin(ctx.config, ctx.logger);
        const counts = await admin.counts();
        return counts.map((c) => ({
            stage: c.queue,
            source: 'redis',
            counts: { waiting: c.waiting, active: c.active, delayed: c.delayed, paused: c.paused, failed: c.failed, completed: c.completed },
        }));
    }
    catch (err) {
        // Stats still show everything else when Redis is down.
        ctx.logger.warn(`queue depths from Redis unavailable: ${err.message}`);
        return [];
    }
    finally {
        await admin?.close();
    }
}
/** Library folders and free space: needs no database, so it is reported even when that is unavailable. */
export async function collectStorage(config, opts = {}) {
    const library = new Library(config.uploadLocation);
    const folders = [];
    if (opts.storage !== false) {
        for (const name of LIBRARY_FOLDERS) {
            const p = library.folder(name);
            folders.push({ folder: name, path: p, ...(await folderUsage(p)) });
        }
        if (config.database.kind === 'embedded') {
            const p = config.database.embeddedPath;
            folders.push({ folder: 'database', path: p, ...(await folderUsage(p)) });
        }
    }
    let filesystem = null;
    try {
        const st = await fsp.statfs(config.uploadLocation);
        filesystem = { freeBytes: st.bavail * st.bsize, sizeBytes: st.blocks * st.bsize };
    }
    catch {
        /* no such folder yet, or statfs missing on the platform */
    }
    return { folders, filesystem };
}
export async function collectStats(ctx, opts = {}) {
    const db = ctx.db;
    const window = opts.window ?? 1000;
    const tables = await existingTables(db, ['people', 'asset_faces', 'tags', 'job_runs']);
    const byType = await ctx.db
        .selectFrom('assets')
        .select((eb) => ['type', eb.fn.countAll().as('n')])
        .where('is_motion_part', '=', false)
        .groupBy('type')
        .execute();
    const typeCount = (t) => Number(byType.find((r) => r.type === t)?.n ?? 0);
    const counts = {
        photos: typeCount('image'),
        videos: typeCount('video'),
        people: tables.has('people') ? await countRows(db, 'people') : null,
        faces: tables.has('asset_faces') ? await countRows(db, 'asset_faces') : null,
        tags: tables.has('tags') ? await countRows(db, 'tags') : null,
    };
    let sizeBytes = null;
    try {
        const r = (await db.selectNoFrom((eb) => eb.fn('pg_database_size', [eb.fn('current_database', [])]).as('size')).executeTakeFirst());
        sizeBytes = Number(r?.size);
    }
    catch (err) {
        ctx.logger.debug(`database size unavailable: ${err.message}`);
    }
    const { folders, filesystem } = await collectStorage(ctx.config, opts);
    const inPlace = await ctx.db
        .selectFrom('assets')
        .select((eb) => eb.fn.coalesce(eb.fn.sum('file_size'), eb.lit(0)).as('bytes'))
        .where('storage_mode', '=', 'in-place')
        .executeTakeFirst();
    const statusRows = await ctx.db
        .selectFrom('asset_job_status')
        .select((eb) => ['stage', 'status', eb.fn.countAll().as('n')])
        .groupBy(['stage', 'status'])
        .execute();
    const queues = [];
    const stagesSeen = [...new Set([...ALL_QUEUES, ...statusRows.map((r) => r.stage)])];
    for (const stage of stagesSeen) {
        const rows = statusRows.filter((r) => r.stage === stage);
        if (!rows.length)
            continue;
        const c = { queued: 0, running: 0, failed: 0, done: 0, skipped: 0 };
        for (const r of rows)
            c[r.status] = Number(r.n);
        queues.push({ stage, source: 'database', counts: c });
    }
    queues.push(...(await redisDepths(ctx)));
    const stages = [];
    const totals = [];
    if (tables.has('job_runs')) {
        const runStages = await ctx.db.selectFrom('job_runs').select('stage').distinct().execute();
        for (const { stage } of runStages) {
            const rows = await ctx.db
                .selectFrom('job_runs')
                .select(['status', 'duration_ms', 'finished_at'])
                .where('stage', '=', stage)
                .orderBy('finished_at', 'desc')
                .orderBy('id', 'desc')
                .limit(window)
                .execute();
            if (!rows.length)
                continue;
            // Skipped jobs take ~0 ms and would drag the percentiles down: time only real work.
            const worked = rows.filter((r) => r.status !== 'skipped');
            const durations = worked.map((r) => Number(r.duration_ms)).sort((a, b) => a - b);
            const firstStart = Math.min(...rows.map((r) => new Date(r.finished_at).getTime() - Number(r.duration_ms)));
            const lastFinish = Math.max(...rows.map((r) => new Date(r.finished_at).getTime()));
            const span = Math.max(1, lastFinish - firstStart);
            stages.push({
                stage,
                runs: rows.length,
                failed: rows.filter((r) => r.status === 'failed').length,
                skipped: rows.length - worked.length,
                p50Ms: percentile(durations, 50),
                p95Ms: percentile(durations, 95),
                meanMs: durations.length ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length) : 0,
                perSecond: Math.round((worked.length / (span / 1000)) * 1000) / 1000,
                lastFinishedAt: new Date(lastFinish).toISOString(),
            });
        }
        const t = await ctx.db
            .selectFrom('job_runs')
            .select((eb) => ['stage', 'status', eb.fn.countAll().as('n'), eb.fn.sum('duration_ms').as('ms')])
            .groupBy(['stage', 'status'])
            .orderBy('stage')
            .orderBy('status')
            .execute();
        for (const r of t)
            totals.push({ stage: r.stage, status: r.status, count: Number(r.n), seconds: Number(r.ms) / 1000 });
    }
    const order = (s) => {
        const i = ALL_QUEUES.indexOf(s);
        return i < 0 ? 999 : i;
    };
    stages.sort((a, b) => order(a.stage) - order(b.stage) || a.stage.localeCompare(b.stage));
    return {
        generatedAt: new Date().toISOString(),
        library: ctx.config.uploadLocation,
        database: { kind: ctx.config.database.kind, sizeBytes },
        counts,
        storage: { folders, inPlaceBytes: Number(inPlace?.bytes ?? 0), filesystem },
        queues,
        stages,
        totals,
    };
}
// ---------------------------------------------------------------------------------------------
// Prometheus text exposition format (for node_exporter's textfile collector).
function esc(v) {
    return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
class PromWriter {
    lines = [];
    metric(name, type, help, samples) {
        if (!samples.length)
            return;
        this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
        for (const s of samples) {
            const labels = Object.entries(s.labels ?? {}).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
            const value = Number.isFinite(s.value) ? String(s.value) : 'NaN';
            this.lines.push(`${name}${s.suffix ?? ''}${labels ? `{${labels}}` : ''} ${value}`);
        }
    }
    toString() {
        return this.lines.join('\n') + '\n';
    }
}
/** The same figures as `immich stats --json`, as Prometheus metrics named immich_*. */
export function toPrometheus(s) {
    const w = new PromWriter();
    const lib = { library: s.library };
    w.metric('immich_assets', 'gauge', 'Assets in the library by type (motion-photo video parts not counted).', [
        { labels: { ...lib, type: 'photo' }, value: s.counts.photos },
        { labels: { ...lib, type: 'video' }, value: s.counts.videos },
    ]);
    if (s.counts.people !== null)
        w.metric('immich_people', 'gauge', 'People (face clusters).', [{ labels: lib, value: s.counts.people }]);
    if (s.counts.faces !== null)
        w.metric('immich_faces', 'gauge', 'Detected faces.', [{ labels: lib, value: s.counts.faces }]);
    if (s.counts.tags !== null)
        w.metric('immich_tags', 'gauge', 'Tags.', [{ labels: lib, value: s.counts.tags }]);
    storageMetrics(w, s.library, s.storage);
    w.metric('immich_storage_in_place_bytes', 'gauge', 'Bytes of originals imported in place (outside the library).', [{ labels: lib, value: s.storage.inPlaceBytes }]);
    if (s.database.sizeBytes !== null) {
        w.metric('immich_database_size_bytes', 'gauge', 'Database size (pg_database_size).', [{ labels: { ...lib, kind: s.database.kind }, value: s.database.sizeBytes }]);
    }
    w.metric('immich_queue_jobs', 'gauge', 'Jobs per stage and status (database: asset_job_status; redis: BullMQ queues).', s.queues.flatMap((q) => Object.entries(q.counts).map(([status, n]) => ({ labels: { ...lib, stage: q.stage, status, source: q.source }, value: n }))));
    w.metric('immich_stage_duration_seconds', 'summary', 'Job duration per stage over the last finished jobs (skipped jobs excluded).', s.stages.flatMap((t) => [
        { labels: { ...lib, stage: t.stage, quantile: '0.5' }, value: t.p50Ms / 1000 },
        { labels: { ...lib, stage: t.stage, quantile: '0.95' }, value: t.p95Ms / 1000 },
        { suffix: '_sum', labels: { ...lib, stage: t.stage }, value: (t.meanMs * (t.runs - t.skipped)) / 1000 },
        { suffix: '_count', labels: { ...lib, stage: t.stage }, value: t.runs - t.skipped },
    ]));
    w.metric('immich_stage_throughput_jobs_per_second', 'gauge', 'Jobs finished per second over the last finished jobs of the stage.', s.stages.map((t) => ({ labels: { ...lib, stage: t.stage }, value: t.perSecond })));
    w.metric('immich_jobs_total', 'counter', 'Finished jobs by stage and status since the library was created.', s.totals.map((t) => ({ labels: { ...lib, stage: t.stage, status: t.status }, value: t.count })));
    w.metric('immich_job_seconds_total', 'counter', 'Time spent in finished jobs by stage and status.', s.totals.map((t) => ({ labels: { ...lib, stage: t.stage, status: t.status }, value: t.seconds })));
    w.metric('immich_stats_database_up', 'gauge', '1 when the database could be read for these figures, 0 when not (storage figures only).', [{ labels: lib, value: 1 }]);
    w.metric('immich_stats_generated_timestamp_seconds', 'gauge', 'When these figures were collected (Unix time).', [{ labels: lib, value: Math.floor(Date.parse(s.generatedAt) / 1000) }]);
    return w.toString();
}
function storageMetrics(w, library, st) {
    const lib = { library };
    w.metric('immich_storage_bytes', 'gauge', 'Bytes used per library folder.', st.folders.map((f) => ({ labels: { ...lib, folder: f.folder }, value: f.bytes })));
    w.metric('immich_storage_files', 'gauge', 'Files per library folder.', st.folders.map((f) => ({ labels: { ...lib, folder: f.folder }, value: f.files })));
    if (st.filesystem) {
        w.metric('immich_filesystem_free_bytes', 'gauge', 'Free bytes on the library filesystem (available to this user).', [{ labels: lib, value: st.filesystem.freeBytes }]);
        w.metric('immich_filesystem_size_bytes', 'gauge', 'Size of the library filesystem in bytes.', [{ labels: lib, value: st.filesystem.sizeBytes }]);
    }
}
/**
 * What can be said without the database (in use by a long `immich index` on the embedded
 * database, or the server down): storage and free space, and immich_stats_database_up 0, so an
 * alert can tell "no data" from "empty".
 */
export function storageOnlyPrometheus(library, st, at = new Date()) {
    const w = new PromWriter();
    storageMetrics(w, library, st);
    w.metric('immich_stats_database_up', 'gauge', '1 when the database could be read for these figures, 0 when not (storage figures only).', [{ labels: { library }, value: 0 }]);
    w.metric('immich_stats_generated_timestamp_seconds', 'gauge', 'When these figures were collected (Unix time).', [{ labels: { library }, value: Math.floor(at.getTime() / 1000) }]);
    return w.toString();
}
/**
 * Write the metrics so the textfile collector never reads half a file: a temp file in the same
 * folder whose name does not end in .prom (the collector only reads *.prom), fsync, rename.
 */
export async function writePrometheusFile(file, text) {
    const dir = path.dirname(path.resolve(file));
    await fsp.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
    const fh = await fsp.open(tmp, 'w', 0o644);
    try {
        await fh.writeFile(text);
        await fh.sync();
    }
    finally {
        await fh.close();
    }
    try {
        await fsp.rename(tmp, file);
    }
    catch (err) {
        await fsp.rm(tmp, { force: true });
        throw err;
    }
}
//# sourceMappingURL=stats.js.map