import { describe, expect, it } from 'vitest';
import type { UsageReport } from '../backend/types';
import { dailyBars, dayLabel, niceMax, totalOf } from './usageChart';

const row = (keyId: string, day: string, requests: number, images = 0) => ({ keyId, day, requests, generations: images > 0 ? 1 : 0, images, creditsCharged: 0 });
const report: UsageReport = {
  from: '2026-11-28',
  to: '2026-12-01',
  items: [row('a', '2026-11-29', 3, 2), row('b', '2026-11-29', 4), row('a', '2026-12-01', 1)],
  total: { requests: 8, generations: 1, images: 2, creditsCharged: 0 },
};

describe('the usage chart’s numbers (S9)', () => {
  it('has one bar per day of the range, zero where nothing happened, per key or summed', () => {
    expect(dailyBars(report, null, 'requests')).toEqual([
      { day: '2026-11-28', value: 0 },
      { day: '2026-11-29', value: 7 },
      { day: '2026-11-30', value: 0 },
      { day: '2026-12-01', value: 1 },
    ]);
    expect(dailyBars(report, 'a', 'images').map((b) => b.value)).toEqual([0, 2, 0, 0]);
    expect(dailyBars({ ...report, from: '2026-11-02', items: [] }, null, 'requests')).toHaveLength(30);
    expect(totalOf(report, 'b', 'requests')).toBe(4);
    expect(totalOf(report, null, 'requests')).toBe(8);
  });

  it('rounds the scale up to 1, 2 or 5 × 10ⁿ and labels days shortly', () => {
    expect([0, 1, 3, 7, 10, 11, 180, 501].map(niceMax)).toEqual([1, 1, 5, 10, 10, 20, 200, 1000]);
    expect(dayLabel('2026-12-01')).toBe('Dec 1');
  });
});
