import { describe, expect, it } from 'vitest';
import type { Credits } from '../types';
import { CreditLedger, PLAN_CREDITS, priceOf } from './credits';

describe('the memory credit ledger (S8)', () => {
  it('prices like the server: base × size × count, videos by seconds, rounded up', () => {
    expect(priceOf({ kind: 'text-to-image', imageSize: 'square_hd', count: 2, durationS: null })).toBe(6);
    expect(priceOf({ kind: 'text-to-image', imageSize: 'landscape_4_3', count: 1, durationS: null })).toBe(3); // 2.5 → 3
    expect(priceOf({ kind: 'image-to-image', imageSize: 'square', count: 3, durationS: null })).toBe(9);
    expect(priceOf({ kind: 'image-to-video', imageSize: '16:9', count: 1, durationS: null })).toBe(40);
    expect(priceOf({ kind: 'image-to-video', imageSize: null, count: 1, durationS: 2 })).toBe(16);
    expect(priceOf({ kind: 'text-to-image', imageSize: null, count: 0, durationS: null })).toBe(0);
  });

  it('holds, charges and gives back; never below zero; a new plan starts a period', () => {
    const seen: Credits[] = [];
    const ledger = new CreditLedger(() => new Date('2025-02-10T10:00:00Z'), (c) => seen.push(c));
    expect(ledger.balance()).toMatchObject({ available: 100, allocation: 100, plan: 'free', periodEndsAt: '2025-03-01T00:00:00.000Z' });
    ledger.grant(10);
    expect(ledger.reserve('a', 105)).toBeNull();
    expect(ledger.balance()).toMatchObject({ available: 5, reserved: 105, allocation: 0, grants: 5 });
    expect(ledger.reserve('b', 6)).toEqual({ required: 6, available: 5 });
    expect(ledger.balance().available).toBe(5);
    ledger.charge('a', 100);
    expect(ledger.balance()).toMatchObject({ available: 10, reserved: 0, grants: 10, allocation: 0 });
    expect(ledger.reserve('c', 4)).toBeNull();
    ledger.release('c');
    ledger.release('c');
    expect(ledger.balance()).toMatchObject({ available: 10, reserved: 0 });
    ledger.setPlan('pro');
    expect(ledger.balance()).toMatchObject({ available: PLAN_CREDITS.pro + 10, monthlyAllocation: 2000, plan: 'pro' });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)?.plan).toBe('pro');
  });
});
