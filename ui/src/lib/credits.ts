/**
 * The rules and words of credits and plans (S8), as plain functions the profile menu, the
 * generation panel and the tests share: how a number of credits reads, the price line before a
 * click ("12 credits · 88 left"), when the balance is short and what the message says, when the
 * period renews, the plans Checkout sells, and the warning of a failed payment.
 */
import type { BillingStatus, Credits, CreditShortfall, EstimateRequest, GenerationKind, LocalGeneration, PaidPlan, Tier } from '../backend/types';
import { type GenerationForm, makesVideo } from './generation';

/** `1 credit`, `12 credits`, `2,000 credits`. */
export function creditsText(n: number): string {
  const v = Math.max(0, Math.round(n));
  return `${v.toLocaleString('en-US')} ${v === 1 ? 'credit' : 'credits'}`;
}

/** `Free`, `Pro`, `Enterprise`. */
export function planName(tier: Tier): string {
  return tier.charAt(0).toUpperCase() + tier.slice(1);
}

/** What the price line under the form says: the price, then what is left after it (or what there is when short). */
export interface PriceLine {
  /** `12 credits` */
  price: string;
  /** `88 left`, or `you have 5` when the balance is short. */
  after: string;
  short: boolean;
}

/** The price of a generation against the balance: "12 credits · 88 left". */
export function priceLine(price: number, available: number): PriceLine {
  const short = price > available;
  return {
    price: creditsText(price),
    after: short ? `you have ${Math.max(0, available).toLocaleString('en-US')}` : `${(available - price).toLocaleString('en-US')} left`,
    short,
  };
}

/** The estimate request of the generation form (what `GET /v1/credits/estimate` prices). */
export function estimateRequest(form: Pick<GenerationForm, 'kind' | 'model' | 'size' | 'count'>): EstimateRequest {
  const video = makesVideo(form.kind);
  return { kind: form.kind, model: form.model, numImages: video ? null : form.count, imageSize: form.size, durationS: null };
}

/** A stable key of an estimate request (answers for another key are stale). */
export function estimateKey(req: EstimateRequest): string {
  return JSON.stringify([req.kind, req.model, req.numImages, req.imageSize, req.durationS]);
}

/** "Renews today at 14:00", "Renews tomorrow", "Renews on 1 Dec" — when the plan's credits come back. */
export function renewsText(periodEndsAt: string, now: Date = new Date()): string {
  const t = new Date(periodEndsAt);
  if (Number.isNaN(t.getTime())) return '';
  if (t.getTime() <= now.getTime()) return 'Renews now';
  if (t.toDateString() === now.toDateString()) {
    return `Renews today at ${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`;
  }
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  if (t.toDateString() === tomorrow.toDateString()) return 'Renews tomorrow';
  return `Renews on ${t.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })}`;
}

/** Share of the period's allocation still left, 0–1 (for the meter). */
export function allocationLeft(c: Pick<Credits, 'allocation' | 'monthlyAllocation'>): number {
  if (c.monthlyAllocation <= 0) return 0;
  return Math.max(0, Math.min(1, c.allocation / c.monthlyAllocation));
}

/** The balance line of the profile menu: "88 of 100 this month", "+ 40 granted". */
export function balanceDetail(c: Credits): string {
  const parts = [`${c.allocation.toLocaleString('en-US')} of ${c.monthlyAllocation.toLocaleString('en-US')} this month`];
  if (c.grants > 0) parts.push(`${c.grants.toLocaleString('en-US')} granted`);
  if (c.reserved > 0) parts.push(`${c.reserved.toLocaleString('en-US')} held`);
  return parts.join(' · ');
}

/** The explanation of a shortfall, with what to do. */
export interface ShortfallMessage {
  title: string;
  detail: string;
}

/** "Not enough credits" — "This needs 12 credits; you have 5. Your credits renew on 1 Dec." */
export function shortfallMessage(s: CreditShortfall, kind: GenerationKind, credits: Credits | null, now: Date = new Date()): ShortfallMessage {
  const what = makesVideo(kind) ? 'This video needs' : 'This needs';
  const renews = credits ? renewsText(credits.periodEndsAt, now) : '';
  const when = renews ? ` ${renews.replace(/^Renews/, 'Your credits renew')}.` : '';
  return {
    title: 'Not enough credits',
    detail: `${what} ${creditsText(s.required)}; you have ${Math.max(0, s.available).toLocaleString('en-US')}.${when}`,
  };
}

/**
 * The refusal for want of credits to show above the form: the newest generation refused with
 * `INSUFFICIENT_CREDITS`, unless one made after it went through or the balance now covers it.
 */
export function activeShortfall(generations: readonly LocalGeneration[], credits: Credits | null): LocalGeneration | null {
  const newest = [...generations].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  for (const g of newest) {
    if (g.status === 'failed' && g.error?.code === 'INSUFFICIENT_CREDITS') {
      const needed = g.error.credits?.required ?? Infinity;
      return credits && credits.available >= needed ? null : g;
    }
    if (g.status !== 'failed' && g.status !== 'canceled') return null;
  }
  return null;
}

/** What the plan dialog says of each plan Checkout sells. */
export const PLANS: readonly { plan: PaidPlan; name: string; pitch: string; points: readonly string[] }[] = [
  { plan: 'pro', name: 'Pro', pitch: 'For creators who generate every day', points: ['A much larger monthly credit allowance', 'More generations running at once', 'More storage for images and videos'] },
  { plan: 'enterprise', name: 'Enterprise', pitch: 'For studios and teams', points: ['The largest monthly credit allowance', 'The most generations at once', 'The most storage'] },
];

/** The plans above `tier` (what Upgrade offers). */
export function upgradesFrom(tier: Tier): PaidPlan[] {
  if (tier === 'enterprise') return [];
  return tier === 'pro' ? ['enterprise'] : ['pro', 'enterprise'];
}

/** Whether the account has a subscription to manage in the billing portal. */
export function hasSubscription(tier: Tier, status: BillingStatus): boolean {
  return tier !== 'free' || status === 'active' || status === 'payment_failed';
}

/** The warning a billing status calls for, or null. */
export function billingWarning(status: BillingStatus): ShortfallMessage | null {
  if (status !== 'payment_failed') return null;
  return { title: 'Payment failed', detail: 'Your last payment didn’t go through. Update your card to keep your plan.' };
}
