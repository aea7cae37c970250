/**
 * API keys of `MemoryBackend` (S9), as the server answers them: a key of the server's form
 * (`isk_` and 38 base62 characters) shown only in the creation answer, at most 20 active keys
 * (409 above), the server's name and scope rules, revoking (404 for an unknown or revoked key),
 * and use per key and UTC day — the 30 days to today by default, at most 366, revoked keys
 * included when named. `request` is another program calling the images API with a key (demo
 * and tests): counted when the key is active, refused when not.
 */
import { BackendError } from '../backend';
import type { ApiKeyInfo, ApiKeyScope, KeyUsage, NewApiKeyCreated, UsageQuery, UsageReport, UsageRow } from '../types';

/** Every scope a key may hold, in the server's order (a new key without scopes gets both). */
export const SCOPES: readonly ApiKeyScope[] = ['images:generate', 'images:read'];
/** Most active keys per account (the server's default `api_keys.max_per_user`). */
export const MAX_KEYS = 20;
/** Longest key name, in characters. */
export const MAX_NAME_CHARS = 100;
/** Days of a usage report when none are named, and the most one may cover. */
export const DEFAULT_USAGE_DAYS = 30;
const MAX_USAGE_DAYS = 366;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DAY_MS = 86_400_000;

interface StoredKey {
  info: ApiKeyInfo;
  secret: string;
  revoked: boolean;
}

const zero = (): KeyUsage => ({ requests: 0, generations: 0, images: 0, creditsCharged: 0 });

function add(into: KeyUsage, u: Partial<KeyUsage>): void {
  into.requests += u.requests ?? 0;
  into.generations += u.generations ?? 0;
  into.images += u.images ?? 0;
  into.creditsCharged += u.creditsCharged ?? 0;
}

/** The UTC day of an instant, `YYYY-MM-DD`. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** A `YYYY-MM-DD` day as the epoch ms of its UTC midnight, or null when it is no such day. */
function parseDay(s: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return null;
  const ms = Date.parse(`${s}T00:00:00Z`);
  return Number.isNaN(ms) || utcDay(new Date(ms)) !== s ? null : ms;
}

export class MemoryApiKeys {
  /** Every key ever made, revoked ones too (their use stays reportable), oldest first. */
  private readonly keys: StoredKey[] = [];
  /** Use by `keyId|day`. */
  private readonly use = new Map<string, KeyUsage>();

  constructor(
    private readonly now: () => Date,
    private readonly newId: () => string,
    private readonly random: () => number = Math.random,
  ) {}

  create(name: string, scopes: ApiKeyScope[] | null): NewApiKeyCreated {
    const trimmed = name.trim();
    if (trimmed.length === 0 || [...trimmed].length > MAX_NAME_CHARS) {
      throw new BackendError('invalidInput', `name: must be 1 to ${MAX_NAME_CHARS} characters`);
    }
    const granted = scopes ?? [...SCOPES];
    if (granted.length === 0) throw new BackendError('invalidInput', 'scopes: must name at least one scope');
    for (const [i, s] of granted.entries()) {
      if (!SCOPES.includes(s)) throw new BackendError('invalidInput', `scopes: unknown scope "${s}" (known: ${SCOPES.join(', ')})`);
      if (granted.indexOf(s) !== i) throw new BackendError('invalidInput', `scopes: ${s} is named twice`);
    }
    const active = this.active().length;
    if (active >= MAX_KEYS) {
      throw new BackendError('conflict', `you have ${active} API keys, the most allowed is ${MAX_KEYS}: revoke one first`);
    }
    let secret = 'isk_';
    for (let i = 0; i < 38; i++) secret += BASE62[Math.floor(this.random() * BASE62.length)];
    const info: ApiKeyInfo = {
      id: this.newId(),
      name: trimmed,
      prefix: secret.slice(0, 8),
      scopes: [...granted],
      createdAt: this.now().toISOString(),
      lastUsedAt: null,
      usageToday: zero(),
    };
    this.keys.push({ info, secret, revoked: false });
    return { ...this.view(info), key: secret };
  }

  /** The active keys with today's use, oldest first. */
  list(): ApiKeyInfo[] {
    return this.active().map((k) => this.view(k.info));
  }

  revoke(id: string): void {
    const k = this.keys.find((k) => k.info.id === id && !k.revoked);
    if (!k) throw new BackendError('notFound', 'This API key no longer exists: it may have been revoked on another device');
    k.revoked = true;
  }

  /** Another program's request with `key`: counted today when the key is active; the HTTP status it gets. */
  request(key: string): 200 | 401 {
    const k = this.keys.find((k) => k.secret === key && !k.revoked);
    if (!k) return 401;
    const now = this.now();
    this.record(k.info.id, utcDay(now), { requests: 1 });
    k.info.lastUsedAt = now.toISOString();
    return 200;
  }

  /** Adds use to a key's day (the demo's history; generations a key submitted). */
  record(keyId: string, day: string, usage: Partial<KeyUsage>): void {
    const at = `${keyId}|${day}`;
    const row = this.use.get(at) ?? zero();
    add(row, usage);
    this.use.set(at, row);
  }

  usage(q: UsageQuery): UsageReport {
    const to = q.to === null ? parseDay(utcDay(this.now()))! : parseDay(q.to);
    if (to === null) throw new BackendError('invalidInput', 'to: must be a day, YYYY-MM-DD');
    const from = q.from === null ? to - (DEFAULT_USAGE_DAYS - 1) * DAY_MS : parseDay(q.from);
    if (from === null) throw new BackendError('invalidInput', 'from: must be a day, YYYY-MM-DD');
    if (from > to) throw new BackendError('invalidInput', 'from: must not be after to');
    if ((to - from) / DAY_MS >= MAX_USAGE_DAYS) throw new BackendError('invalidInput', `from: the range may cover at most ${MAX_USAGE_DAYS} days`);
    if (q.keyId !== null && !this.keys.some((k) => k.info.id === q.keyId)) throw new BackendError('notFound', 'API key not found');
    const [first, last] = [utcDay(new Date(from)), utcDay(new Date(to))];
    const items: UsageRow[] = [];
    const total = zero();
    for (const [at, usage] of this.use) {
      const [keyId, day] = at.split('|') as [string, string];
      if (day < first || day > last || (q.keyId !== null && keyId !== q.keyId)) continue;
      items.push({ keyId, day, ...usage });
      add(total, usage);
    }
    items.sort((a, b) => a.day.localeCompare(b.day) || a.keyId.localeCompare(b.keyId));
    return { from: first, to: last, items, total };
  }

  clear(): void {
    this.keys.length = 0;
    this.use.clear();
  }

  private active(): StoredKey[] {
    return this.keys.filter((k) => !k.revoked);
  }

  private view(info: ApiKeyInfo): ApiKeyInfo {
    const today = this.use.get(`${info.id}|${utcDay(this.now())}`);
    return { ...info, scopes: [...info.scopes], usageToday: { ...(today ?? zero()) } };
  }
}
