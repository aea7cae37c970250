/**
 * Credits (S8) inside `MemoryBackend`: a small ledger with the server's default plans and
 * pricing formula (`base(kind) × size × model × count`, videos by seconds, rounded up), so the
 * demo and the tests see the same numbers the server gives. A generation reserves its price
 * when the server takes it (refused with `INSUFFICIENT_CREDITS` when short), is charged what
 * it made when it completes, and gives everything back when it fails or is canceled. A new
 * plan (after Checkout) starts a period with the plan's allocation.
 */
import type { Credits, CreditShortfall, GenerationKind, Tier } from '../types';

/** Credits allocated per period, by plan (the server's defaults). */
export const PLAN_CREDITS: Record<Tier, number> = { free: 100, pro: 2_000, enterprise: 10_000 };

/** The server's default pricing factors. */
const BASE: Record<GenerationKind, number> = { 'text-to-image': 2, 'image-to-image': 3, 'image-to-video': 8 };
const SIZE: Record<string, number> = { square: 1, square_hd: 1.5, portrait_4_3: 1.25, portrait_16_9: 1.25, landscape_4_3: 1.25, landscape_16_9: 1.25 };
/** Seconds of video priced when a request names no duration. */
const DEFAULT_VIDEO_SECONDS = 5;

/** What a generation is priced on. */
export interface PriceInput {
  kind: GenerationKind;
  imageSize: string | null;
  /** Outputs (images); ignored for videos. */
  count: number;
  durationS: number | null;
}

/** The price in whole credits (at least 1 for anything produced). */
export function priceOf(p: PriceInput): number {
  const units = p.kind === 'image-to-video' ? (p.count === 0 ? 0 : (p.durationS ?? DEFAULT_VIDEO_SECONDS)) : p.count;
  if (units <= 0) return 0;
  const raw = BASE[p.kind] * (p.imageSize ? (SIZE[p.imageSize] ?? 1) : 1) * units;
  return Math.max(1, Math.ceil(Math.round(raw * 1000) / 1000));
}

/** The first instant of the next UTC month (when a period's allocation renews). */
function nextPeriod(now: Date): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
}

export class CreditLedger {
  private plan: Tier = 'free';
  private allocation = PLAN_CREDITS.free;
  private grants = 0;
  private periodEndsAt: string;
  /** Held credits by generation id: what came from the allocation and from grants. */
  private readonly held = new Map<string, { allocation: number; grants: number }>();

  constructor(
    private readonly now: () => Date,
    private readonly changed: (c: Credits) => void,
  ) {
    this.periodEndsAt = nextPeriod(now());
  }

  balance(): Credits {
    this.renewIfDue();
    let reserved = 0;
    for (const h of this.held.values()) reserved += h.allocation + h.grants;
    return {
      available: this.allocation + this.grants,
      reserved,
      allocation: this.allocation,
      grants: this.grants,
      monthlyAllocation: PLAN_CREDITS[this.plan],
      periodEndsAt: this.periodEndsAt,
      plan: this.plan,
    };
  }

  /** Holds `amount` for generation `id`; the shortfall instead when there is not enough. */
  reserve(id: string, amount: number): CreditShortfall | null {
    this.renewIfDue();
    const available = this.allocation + this.grants;
    if (amount > available) return { required: amount, available };
    const fromAllocation = Math.min(this.allocation, amount);
    this.allocation -= fromAllocation;
    this.grants -= amount - fromAllocation;
    this.held.set(id, { allocation: fromAllocation, grants: amount - fromAllocation });
    this.announce();
    return null;
  }

  /** Generation `id` made what cost `spent`: that much is charged, the rest of its hold comes back. */
  charge(id: string, spent: number): void {
    const h = this.held.get(id);
    if (!h) return;
    this.held.delete(id);
    let back = Math.max(0, h.allocation + h.grants - spent);
    const toGrants = Math.min(back, h.grants);
    this.grants += toGrants;
    back -= toGrants;
    this.allocation += back;
    this.announce();
  }

  /** Generation `id` ended without output: its whole hold comes back. */
  release(id: string): void {
    this.charge(id, 0);
  }

  /** Credits given outright (they roll over). */
  grant(amount: number): void {
    this.grants += Math.max(0, Math.round(amount));
    this.announce();
  }

  /** A new plan (a paid invoice): a new period with the plan's allocation. */
  setPlan(plan: Tier): void {
    this.plan = plan;
    this.allocation = PLAN_CREDITS[plan];
    this.periodEndsAt = nextPeriod(this.now());
    this.announce();
  }

  /** Sets what is left of the period's allocation (demo and tests: a nearly spent month). */
  setAllocationLeft(amount: number): void {
    this.allocation = Math.max(0, Math.min(PLAN_CREDITS[this.plan], Math.round(amount)));
    this.announce();
  }

  private renewIfDue(): void {
    if (Date.parse(this.periodEndsAt) > this.now().getTime()) return;
    this.allocation = PLAN_CREDITS[this.plan];
    this.periodEndsAt = nextPeriod(this.now());
  }

  private announce(): void {
    this.changed(this.balance());
  }
}
