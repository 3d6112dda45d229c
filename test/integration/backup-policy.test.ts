// The retention policy is a pure function (like restic's ApplyPolicy): tested without any I/O.
import { describe, expect, it } from 'vitest';
import { applyPolicy, policyIsEmpty } from '../../src/services/backup-policy.js';

// Local-time timestamps at noon so day/week/month buckets do not depend on the machine's zone.
const at = (y: number, m: number, d: number, h = 12) => ({ id: `${y}-${m}-${d}-${h}`, time: new Date(y, m - 1, d, h).toISOString() });

/** One snapshot a day for 100 days ending 2024-04-09, plus a second one on the last day. */
function daily() {
  const out = [];
  for (let i = 0; i < 100; i++) {
    const d = new Date(2024, 3, 9, 12);
    d.setDate(d.getDate() - i);
    out.push(at(d.getFullYear(), d.getMonth() + 1, d.getDate()));
  }
  out.push(at(2024, 4, 9, 18));
  return out;
}

describe('applyPolicy', () => {
  it('an empty policy keeps everything (the command refuses to run one)', () => {
    expect(policyIsEmpty({})).toBe(true);
    expect(policyIsEmpty({ daily: 0 })).toBe(true);
    const r = applyPolicy(daily(), {});
    expect(r.remove).toHaveLength(0);
  });

  it('--keep-last keeps the newest n', () => {
    const r = applyPolicy(daily(), { last: 3 });
    expect(r.keep.map((k) => k.snapshot.id)).toEqual(['2024-4-9-18', '2024-4-9-12', '2024-4-8-12']);
    expect(r.remove).toHaveLength(98);
  });

  it('--keep-daily keeps the newest snapshot of each of the last n days', () => {
    const r = applyPolicy(daily(), { daily: 3 });
    expect(r.keep.map((k) => k.snapshot.id)).toEqual(['2024-4-9-18', '2024-4-8-12', '2024-4-7-12']);
    expect(r.keep[0]!.reasons).toEqual(['daily 2024-04-09']);
  });

  it('--keep-weekly uses ISO weeks (Monday start) and --keep-monthly calendar months', () => {
    const r = applyPolicy(daily(), { weekly: 2, monthly: 3 });
    const ids = r.keep.map((k) => k.snapshot.id);
    // 2024-04-09 is a Tuesday in ISO week 15; the newest of week 14 is Sunday 2024-04-07.
    expect(ids).toContain('2024-4-9-18');
    expect(ids).toContain('2024-4-7-12');
    // months: April (04-09 18h), March (03-31), February (02-29)
    expect(ids).toContain('2024-3-31-12');
    expect(ids).toContain('2024-2-29-12');
    expect(ids).toHaveLength(4);
    expect(r.keep.find((k) => k.snapshot.id === '2024-4-9-18')!.reasons).toEqual(['weekly 2024-W15', 'monthly 2024-04']);
  });

  it('ISO week years: 2020-12-31 belongs to 2020-W53, 2021-01-04 to 2021-W01', () => {
    const snaps = [at(2020, 12, 31), at(2021, 1, 3), at(2021, 1, 4)];
    const r = applyPolicy(snaps, { weekly: 3 });
    expect(r.keep.map((k) => k.reasons[0])).toEqual(['weekly 2021-W01', 'weekly 2020-W53']);
    expect(r.remove.map((s) => s.id)).toEqual(['2020-12-31-12']);
  });

  it('rules combine: a snapshot kept by any rule stays; the rest is removed', () => {
    const snaps = daily();
    const r = applyPolicy(snaps, { daily: 7, weekly: 4, monthly: 12 });
    expect(r.keep.length + r.remove.length).toBe(snaps.length);
    expect(new Set([...r.keep.map((k) => k.snapshot.id), ...r.remove.map((s) => s.id)]).size).toBe(snaps.length);
    // 7 days + older weeks + older months (Jan 2024 is the oldest month with a snapshot)
    expect(r.keep.some((k) => k.snapshot.id === '2024-1-31-12')).toBe(true);
    expect(r.remove.some((s) => s.id === '2024-1-30-12')).toBe(true);
  });

  it('fewer periods than asked keeps what exists', () => {
    const r = applyPolicy([at(2024, 1, 1), at(2024, 1, 2)], { daily: 10, yearly: 5 });
    expect(r.remove).toHaveLength(0);
  });
});
