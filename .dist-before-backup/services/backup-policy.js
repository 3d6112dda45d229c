// Retention policy for `immich backup forget`, after restic's ApplyPolicy: a pure function from
// snapshots and a policy to the snapshots kept (with the reasons) and the ones removed. No I/O.
export function policyIsEmpty(p) {
    return !Object.values(p).some((n) => typeof n === 'number' && n > 0);
}
const pad = (n, w = 2) => String(n).padStart(w, '0');
/** ISO-8601 week: the year that owns the week and its number. */
function isoWeek(d) {
    // Local calendar date, computed in UTC arithmetic to avoid DST shifts.
    const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
    const dayNum = t.getUTCDay() || 7; // Monday = 1 .. Sunday = 7
    t.setUTCDate(t.getUTCDate() + 4 - dayNum); // the Thursday of this week decides the year
    const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
    const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
    return `${t.getUTCFullYear()}-W${pad(week)}`;
}
/** Buckets use local time, like restic: "daily" means calendar days where the backup runs. */
const BUCKETS = [
    { name: 'hourly', label: 'hourly', key: (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}` },
    { name: 'daily', label: 'daily', key: (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` },
    { name: 'weekly', label: 'weekly', key: isoWeek },
    { name: 'monthly', label: 'monthly', key: (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}` },
    { name: 'yearly', label: 'yearly', key: (d) => `${d.getFullYear()}` },
];
/**
 * Keep the newest `last` snapshots, and for each of hourly/daily/weekly/monthly/yearly the newest
 * snapshot in each of the N most recent periods that have one. Everything else is removed.
 * An empty policy keeps everything (the caller refuses to run one).
 */
export function applyPolicy(snapshots, policy) {
    const sorted = [...snapshots].sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
    if (policyIsEmpty(policy))
        return { keep: sorted.map((s) => ({ snapshot: s, reasons: ['no policy'] })), remove: [] };
    const reasons = new Map();
    const add = (s, r) => {
        const list = reasons.get(s.id) ?? [];
        list.push(r);
        reasons.set(s.id, list);
    };
    sorted.slice(0, Math.max(0, policy.last ?? 0)).forEach((s) => add(s, 'last'));
    for (const b of BUCKETS) {
        let left = policy[b.name] ?? 0;
        let lastKey;
        for (const s of sorted) {
            if (left <= 0)
                break;
            const k = b.key(new Date(s.time));
            if (k === lastKey)
                continue;
            lastKey = k;
            add(s, `${b.label} ${k}`);
            left--;
        }
    }
    const keep = [];
    const remove = [];
    for (const s of sorted) {
        const r = reasons.get(s.id);
        if (r)
            keep.push({ snapshot: s, reasons: r });
        else
            remove.push(s);
    }
    return { keep, remove };
}
//# sourceMappingURL=backup-policy.js.map