/**
 * Credits and billing (S8) as the panels see them: the balance the engine keeps (live through
 * `creditsChanged`), the price of the generation form before a click — asked for a moment after
 * the form stops changing, answers for an older form dropped — and the upgrade flow: the plan
 * choice, Checkout and the billing portal opened in the system browser.
 */
import type { Backend } from '../backend/backend';
import type { Credits, EstimateRequest, PaidPlan } from '../backend/types';
import { estimateKey } from '../lib/credits';
import { toasts } from './toasts.svelte';

/** How long the form must rest before its price is asked for (ms). */
export const ESTIMATE_DEBOUNCE_MS = 250;

/** The price of one form, as the server answered it. */
export interface Estimate {
  key: string;
  credits: number;
  /** The balance when it was priced (the live balance wins when known). */
  available: number;
}

export interface CreditsDeps {
  backend: Backend;
  signedIn(): boolean;
}

export class CreditsState {
  /** The balance (null signed out or before the first fetch). */
  balance = $state.raw<Credits | null>(null);
  /** The price of the form as it stands (null: not known for it yet, or unavailable). */
  estimate = $state.raw<Estimate | null>(null);
  /** Why there is no price for the form (offline, the server refused), or null. */
  estimateError = $state<string | null>(null);
  /** The plan choice of Upgrade is open. */
  choosing = $state(false);
  /** A billing page being asked for (its button shows progress). */
  opening = $state<PaidPlan | 'portal' | null>(null);

  private wanted: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** `creditsChanged` events so far (a fetch answered after a newer event is stale). */
  private events = 0;

  constructor(private readonly deps: CreditsDeps) {
    deps.backend.on('creditsChanged', (c) => {
      this.events++;
      this.balance = c;
    });
  }

  /** What can be spent now (the live balance, else what the last estimate said). */
  get available(): number | null {
    return this.balance?.available ?? this.estimate?.available ?? null;
  }

  /** The price of `key`'s form, when it is the form asked about last. */
  priceFor(req: EstimateRequest | null): number | null {
    if (!req || !this.estimate || this.estimate.key !== estimateKey(req)) return null;
    return this.estimate.credits;
  }

  /** Whether the form costs more than the balance (known only once priced). */
  shortFor(req: EstimateRequest | null): boolean {
    const price = this.priceFor(req);
    const available = this.available;
    return price !== null && available !== null && price > available;
  }

  async refresh(): Promise<void> {
    if (!this.deps.signedIn()) {
      this.balance = null;
      return;
    }
    const seen = this.events;
    try {
      const balance = await this.deps.backend.credits();
      if (this.events === seen) this.balance = balance;
    } catch {
      // Offline with nothing kept: the menu shows no balance.
    }
  }

  /**
   * Asks for the price of `req` once the form has rested for {@link ESTIMATE_DEBOUNCE_MS}; the
   * price shown stays until the new one arrives, and an answer for an older form is dropped.
   * `null` (signed out, panel closed) forgets the price.
   */
  requestEstimate(req: EstimateRequest | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!req || !this.deps.signedIn()) {
      this.wanted = null;
      this.estimate = null;
      this.estimateError = null;
      return;
    }
    const key = estimateKey(req);
    this.wanted = key;
    if (this.estimate?.key === key) return;
    this.timer = setTimeout(() => void this.fetchEstimate(req, key), ESTIMATE_DEBOUNCE_MS);
  }

  private async fetchEstimate(req: EstimateRequest, key: string): Promise<void> {
    this.timer = null;
    try {
      const e = await this.deps.backend.estimateGeneration(req);
      if (this.wanted !== key) return;
      this.estimate = { key, credits: e.credits, available: e.available };
      this.estimateError = null;
    } catch (e) {
      if (this.wanted !== key) return;
      this.estimate = null;
      this.estimateError = e instanceof Error ? e.message : 'The price is not available';
    }
  }

  /** Upgrade: opens the plan choice. */
  choosePlan(): void {
    this.choosing = true;
  }

  /** Opens Stripe Checkout for `plan` in the system browser. */
  async upgrade(plan: PaidPlan): Promise<boolean> {
    return this.open(plan, () => this.deps.backend.openCheckout(plan), 'Checkout opened in your browser');
  }

  /** Opens the Stripe customer portal in the system browser. */
  async manageBilling(): Promise<boolean> {
    return this.open('portal', () => this.deps.backend.openBillingPortal(), 'Billing opened in your browser');
  }

  private async open(what: PaidPlan | 'portal', run: () => Promise<string>, done: string): Promise<boolean> {
    if (this.opening) return false;
    this.opening = what;
    try {
      await run();
      this.choosing = false;
      toasts.show(done, 'success');
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    } finally {
      this.opening = null;
    }
  }
}
