/**
 * The numbers behind the API key usage chart (S9): a report's rows as one bar per day of its
 * range (days without use are zero bars; one key or every key summed), a round top for the
 * scale, and the short day labels under the bars.
 */
import type { KeyUsage, UsageReport } from '../backend/types';

/** What a bar counts. */
export type UsageMetric = 'requests' | 'generations' | 'images';

export interface DayBar {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  value: number;
}

const DAY_MS = 86_400_000;

/** Every day of `report`'s range with `metric`'s value for `keyId` (null: every key summed). */
export function dailyBars(report: UsageReport, keyId: string | null, metric: UsageMetric): DayBar[] {
  const byDay = new Map<string, number>();
  for (const row of report.items) {
    if (keyId !== null && row.keyId !== keyId) continue;
    byDay.set(row.day, (byDay.get(row.day) ?? 0) + row[metric]);
  }
  const bars: DayBar[] = [];
  const last = Date.parse(`${report.to}T00:00:00Z`);
  for (let t = Date.parse(`${report.from}T00:00:00Z`); t <= last; t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    bars.push({ day, value: byDay.get(day) ?? 0 });
  }
  return bars;
}

/** The sum of `metric` over a report's rows for `keyId` (null: every key). */
export function totalOf(report: UsageReport, keyId: string | null, metric: keyof KeyUsage): number {
  return report.items.reduce((n, row) => n + (keyId === null || row.keyId === keyId ? row[metric] : 0), 0);
}

/** The top of the scale: the smallest 1, 2 or 5 × 10ⁿ at or above `max` (at least 1, so an empty chart has a scale). */
export function niceMax(max: number): number {
  if (max <= 1) return 1;
  const pow = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * pow >= max) return step * pow;
  }
  return 10 * pow;
}

/** `Nov 3`: a UTC day as a short label. */
export function dayLabel(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}
