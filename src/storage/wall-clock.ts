// Wall-clock capture times: a local date and time read through a Date's UTC fields. Shared by import
// (dated folders) and the templates (export, the storage template); no dependencies.

export interface CalendarDate {
  year: number;
  month: number; // 1-12
  day: number;
}

/** The wall-clock capture time as a Date read through its UTC fields ('2019-07-04T10:00:00.000' → 10:00Z). */
export function wallClockOf(value: string | Date | null | undefined): Date | undefined {
  if (value === null || value === undefined) return undefined;
  const d = value instanceof Date ? value : new Date(`${value.replace(/^(\d{4}):(\d{2}):(\d{2})/, '$1-$2-$3').replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) || !calendarDateOf(d) ? undefined : d;
}

/** The calendar date of a wall-clock timestamp string ('2019-03-01T10:00:00', '2019:03:01 10:00:00'). */
export function calendarDateOf(value: string | Date | null | undefined): CalendarDate | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return undefined;
    return { year: value.getUTCFullYear(), month: value.getUTCMonth() + 1, day: value.getUTCDate() };
  }
  const m = /^(\d{4})[-:](\d{2})[-:](\d{2})/.exec(value);
  if (!m) return undefined;
  const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  return validDate(d) ? d : undefined;
}

export function validDate(d: CalendarDate): boolean {
  return d.year >= 1800 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= 31;
}
