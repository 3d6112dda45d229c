// The trash's settings: IMMICH_TRASH_DAYS, the test clock IMMICH_NOW, and --older-than ages.
import { describe, expect, it } from 'vitest';
import { clockNow, parseAge, trashDays } from '../../src/services/trash.js';

describe('trash settings', () => {
  it('reads IMMICH_TRASH_DAYS (default 30, 0 = no trash) and refuses anything else', () => {
    expect(trashDays({ raw: {} })).toBe(30);
    expect(trashDays({ raw: { IMMICH_TRASH_DAYS: '0' } })).toBe(0);
    expect(trashDays({ raw: { IMMICH_TRASH_DAYS: '7' } })).toBe(7);
    for (const bad of ['-1', '1.5', 'soon']) expect(() => trashDays({ raw: { IMMICH_TRASH_DAYS: bad } }), bad).toThrow(/IMMICH_TRASH_DAYS/);
  });

  it('takes the clock from IMMICH_NOW when set', () => {
    expect(clockNow({ raw: { IMMICH_NOW: '2024-02-05T00:00:00Z' } }).toISOString()).toBe('2024-02-05T00:00:00.000Z');
    expect(Math.abs(clockNow({ raw: {} }).getTime() - Date.now())).toBeLessThan(1000);
    expect(() => clockNow({ raw: { IMMICH_NOW: 'tomorrow' } })).toThrow(/IMMICH_NOW/);
  });

  it('parses --older-than ages', () => {
    expect(parseAge('30d')).toBe(30 * 86_400_000);
    expect(parseAge('12h')).toBe(12 * 3_600_000);
    expect(parseAge('2w')).toBe(14 * 86_400_000);
    expect(parseAge('5')).toBe(5 * 86_400_000);
    expect(() => parseAge('yesterday')).toThrow(/--older-than/);
  });
});
