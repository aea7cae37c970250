/**
 * API keys (S9) as the Settings dialog sees them: the account's keys with today's use, the
 * last 30 days of use for the chart (every key or one), making a key — whose secret is held
 * only until the "copy it now" box is closed, then dropped — and revoking one after a confirm
 * step. The most keys an account may hold (409) is a sentence next to the form, not a toast.
 *
 * One instance lives as long as the dialog's API keys section: closing the dialog forgets the
 * shown key with everything else.
 */
import { BackendError, type Backend } from '../backend/backend';
import type { ApiKeyInfo, ApiKeyScope, NewApiKeyCreated, UsageReport } from '../backend/types';
import { copyText } from '../lib/clipboard';
import { dailyBars, type DayBar, type UsageMetric } from '../lib/usageChart';
import { toasts } from './toasts.svelte';

/** Most active keys per account (the server's default; the server has the last word). */
export const MAX_KEYS = 20;
/** What the section says at the limit. */
export const LIMIT_TEXT = `You have ${MAX_KEYS} API keys, the most an account may have. Revoke one you no longer use to make another.`;

/** What the section says when the server cannot be reached (keys live on the server only). */
export const OFFLINE_TEXT = 'Iskra cannot reach the server right now: API keys are managed online. Try again once you’re connected.';

/** A refusal in words for the section: the engine's own sentence, or the offline one. */
function say(e: unknown): string {
  const err = BackendError.from(e);
  return err.kind === 'network' ? OFFLINE_TEXT : err.message;
}

export class ApiKeysState {
  keys = $state.raw<ApiKeyInfo[]>([]);
  state = $state<'idle' | 'loading' | 'ready' | 'error'>('idle');
  /** Why the list could not be loaded (offline, refused). */
  loadError = $state<string | null>(null);
  /** The last 30 days of use of every key (null until loaded). */
  report = $state.raw<UsageReport | null>(null);
  /** The key the chart shows (null: every key summed). */
  chartKey = $state<string | null>(null);
  metric = $state<UsageMetric>('requests');

  /** The form of a new key. */
  name = $state('');
  scopes = $state<Record<ApiKeyScope, boolean>>({ 'images:generate': true, 'images:read': true });
  creating = $state(false);
  /** Why the last key could not be made (a name the server refuses, the limit). */
  createError = $state<string | null>(null);
  /** True when the server said the account holds the most keys allowed. */
  limitReached = $state(false);

  /** The key just made, with its secret: shown once, dropped by `dismissCreated`. */
  created = $state.raw<NewApiKeyCreated | null>(null);
  copied = $state(false);

  /** The key whose revoke waits for a confirmation. */
  confirming = $state<string | null>(null);
  revoking = $state<string | null>(null);

  /** Puts text on the clipboard; false when the system refused. */
  clipboard: (text: string) => Promise<boolean> = copyText;

  constructor(private readonly backend: Backend) {}

  /** The scopes ticked in the form, in the server's order. */
  get chosenScopes(): ApiKeyScope[] {
    return (['images:generate', 'images:read'] as const).filter((s) => this.scopes[s]);
  }

  get canCreate(): boolean {
    return this.name.trim().length > 0 && this.chosenScopes.length > 0 && !this.creating && !this.atLimit;
  }

  get atLimit(): boolean {
    return this.limitReached || this.keys.length >= MAX_KEYS;
  }

  /** The chart's bars: one per day of the report's range. */
  get bars(): DayBar[] {
    return this.report ? dailyBars(this.report, this.chartKey, this.metric) : [];
  }

  keyName(id: string | null): string {
    return id === null ? 'All keys' : (this.keys.find((k) => k.id === id)?.name ?? 'Revoked key');
  }

  /** Loads the keys and the last 30 days of use. */
  async load(): Promise<void> {
    if (this.state !== 'ready') this.state = 'loading';
    try {
      const [keys, report] = await Promise.all([
        this.backend.listApiKeys(),
        this.backend.apiKeyUsage({ from: null, to: null, keyId: null }),
      ]);
      this.keys = keys;
      this.report = report;
      this.limitReached = false;
      if (this.chartKey !== null && !keys.some((k) => k.id === this.chartKey)) this.chartKey = null;
      this.loadError = null;
      this.state = 'ready';
    } catch (e) {
      this.loadError = say(e);
      this.state = 'error';
    }
  }

  /** Makes a key from the form; on success its secret is `created` until dismissed. */
  async create(): Promise<void> {
    if (!this.canCreate) return;
    this.creating = true;
    this.createError = null;
    try {
      const made = await this.backend.createApiKey(this.name.trim(), this.chosenScopes);
      this.created = made;
      this.copied = false;
      this.name = '';
      const { key: _secret, ...info } = made;
      this.keys = [...this.keys, info];
    } catch (e) {
      const err = BackendError.from(e);
      if (err.kind === 'conflict') {
        this.limitReached = true;
        this.createError = LIMIT_TEXT;
      } else {
        this.createError = say(err);
      }
    } finally {
      this.creating = false;
    }
  }

  /** Copies the shown key. */
  async copy(): Promise<void> {
    if (!this.created) return;
    this.copied = await this.clipboard(this.created.key);
    if (!this.copied) toasts.show('Could not copy: select the key and copy it by hand', 'error');
  }

  /** Closes the "copy it now" box: the key is gone from here on. */
  dismissCreated(): void {
    this.created = null;
    this.copied = false;
  }

  askRevoke(id: string): void {
    this.confirming = id;
  }

  cancelRevoke(): void {
    this.confirming = null;
  }

  /** Revokes the key waiting for confirmation. */
  async revoke(): Promise<void> {
    const id = this.confirming;
    if (id === null) return;
    const name = this.keyName(id);
    this.revoking = id;
    try {
      await this.backend.revokeApiKey(id);
      this.afterRevoke(id);
      toasts.show(`“${name}” was revoked: apps using it are refused from now on`, 'success');
    } catch (e) {
      const err = BackendError.from(e);
      // Revoked elsewhere meanwhile: it is gone either way.
      if (err.kind === 'notFound') this.afterRevoke(id);
      else toasts.error(err);
    } finally {
      this.revoking = null;
      this.confirming = null;
    }
  }

  private afterRevoke(id: string): void {
    this.keys = this.keys.filter((k) => k.id !== id);
    this.limitReached = false;
    this.createError = null;
    if (this.chartKey === id) this.chartKey = null;
  }
}
