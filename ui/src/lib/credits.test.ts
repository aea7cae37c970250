import { describe, expect, it } from 'vitest';
import type { Credits, LocalGeneration } from '../backend/types';
import {
  activeShortfall,
  allocationLeft,
  balanceDetail,
  billingWarning,
  creditsText,
  estimateKey,
  estimateRequest,
  hasSubscription,
  priceLine,
  renewsText,
  shortfallMessage,
  upgradesFrom,
} from './credits';

const credits = (over: Partial<Credits> = {}): Credits => ({
  available: 88,
  reserved: 0,
  allocation: 88,
  grants: 0,
  monthlyAllocation: 100,
  periodEndsAt: new Date(2025, 2, 1).toISOString(),
  plan: 'free',
  ...over,
});

const gen = (over: Partial<LocalGeneration> = {}): LocalGeneration => ({
  id: 'g1',
  serverId: null,
  projectId: 'p1',
  elementId: 'e1',
  kind: 'text-to-image',
  prompt: 'a fox',
  model: 'm',
  params: {},
  status: 'completed',
  queuePosition: null,
  error: null,
  outputs: [],
  createdAt: '2025-02-10T10:00:00Z',
  ...over,
});

const refused = (createdAt: string, required = 12, available = 5): LocalGeneration =>
  gen({ id: createdAt, createdAt, status: 'failed', error: { code: 'INSUFFICIENT_CREDITS', message: 'not enough credits', limit: null, storage: null, credits: { required, available } } });

describe('credit words (S8)', () => {
  it('counts credits in words', () => {
    expect(creditsText(1)).toBe('1 credit');
    expect(creditsText(12)).toBe('12 credits');
    expect(creditsText(2000)).toBe('2,000 credits');
    expect(creditsText(-3)).toBe('0 credits');
  });

  it('shows the price and the balance after it, or what there is when short', () => {
    expect(priceLine(12, 100)).toEqual({ price: '12 credits', after: '88 left', short: false });
    expect(priceLine(12, 12)).toEqual({ price: '12 credits', after: '0 left', short: false });
    expect(priceLine(12, 5)).toEqual({ price: '12 credits', after: 'you have 5', short: true });
    expect(priceLine(1, 1500).after).toBe('1,499 left');
  });

  it('prices the form: images by count, a video by itself', () => {
    const form = { kind: 'text-to-image' as const, model: 'fal-ai/flux/dev', size: 'square_hd', count: 2 };
    expect(estimateRequest(form)).toEqual({ kind: 'text-to-image', model: 'fal-ai/flux/dev', numImages: 2, imageSize: 'square_hd', durationS: null });
    expect(estimateRequest({ ...form, kind: 'image-to-video', size: '16:9' }).numImages).toBeNull();
    expect(estimateKey(estimateRequest(form))).toBe(estimateKey(estimateRequest({ ...form })));
    expect(estimateKey(estimateRequest(form))).not.toBe(estimateKey(estimateRequest({ ...form, count: 3 })));
  });

  it('says when the plan credits renew', () => {
    const now = new Date(2025, 1, 10, 9, 0);
    expect(renewsText(new Date(2025, 2, 1).toISOString(), now)).toBe('Renews on 1 Mar');
    expect(renewsText(new Date(2025, 1, 11, 0, 0).toISOString(), now)).toBe('Renews tomorrow');
    expect(renewsText(new Date(2025, 1, 10, 18, 5).toISOString(), now)).toBe('Renews today at 18:05');
    expect(renewsText('nonsense', now)).toBe('');
  });

  it('measures the allocation left and lists what makes the balance', () => {
    expect(allocationLeft(credits())).toBeCloseTo(0.88);
    expect(allocationLeft(credits({ allocation: 150 }))).toBe(1);
    expect(allocationLeft(credits({ monthlyAllocation: 0 }))).toBe(0);
    expect(balanceDetail(credits())).toBe('88 of 100 this month');
    expect(balanceDetail(credits({ grants: 40, reserved: 6 }))).toBe('88 of 100 this month · 40 granted · 6 held');
  });

  it('explains a shortfall with when the credits renew', () => {
    const now = new Date(2025, 1, 10);
    expect(shortfallMessage({ required: 12, available: 5 }, 'text-to-image', credits(), now)).toEqual({
      title: 'Not enough credits',
      detail: 'This needs 12 credits; you have 5. Your credits renew on 1 Mar.',
    });
    expect(shortfallMessage({ required: 40, available: 0 }, 'image-to-video', null, now).detail).toBe('This video needs 40 credits; you have 0.');
  });

  it('keeps showing a refusal for credits until the balance covers it or a later request goes through', () => {
    const old = refused('2025-02-10T10:00:00Z');
    expect(activeShortfall([old], credits({ available: 5 }))?.id).toBe(old.id);
    expect(activeShortfall([old], null)?.id).toBe(old.id);
    expect(activeShortfall([old], credits({ available: 12 })), 'the balance covers it now').toBeNull();
    const later = gen({ id: 'later', createdAt: '2025-02-10T11:00:00Z', status: 'running' });
    expect(activeShortfall([old, later], credits({ available: 5 })), 'a later request went through').toBeNull();
    const canceled = gen({ id: 'c', createdAt: '2025-02-10T11:00:00Z', status: 'canceled' });
    expect(activeShortfall([canceled, old], credits({ available: 5 }))?.id).toBe(old.id);
    expect(activeShortfall([gen()], credits())).toBeNull();
  });

  it('offers the plans above the current one, the portal to subscribers, and warns of a failed payment', () => {
    expect(upgradesFrom('free')).toEqual(['pro', 'enterprise']);
    expect(upgradesFrom('pro')).toEqual(['enterprise']);
    expect(upgradesFrom('enterprise')).toEqual([]);
    expect(hasSubscription('free', 'none')).toBe(false);
    expect(hasSubscription('free', 'payment_failed')).toBe(true);
    expect(hasSubscription('pro', 'active')).toBe(true);
    expect(billingWarning('active')).toBeNull();
    expect(billingWarning('payment_failed')?.title).toBe('Payment failed');
  });
});
