import { describe, expect, it } from 'vitest';
import { BackendError } from '../backend';
import { MemoryBackend } from './memoryBackend';
import { MAX_KEYS, MemoryApiKeys } from './apiKeys';

const at = (iso: string) => () => new Date(iso);

function keys(iso = '2026-12-01T09:00:00Z'): MemoryApiKeys {
  let n = 0;
  return new MemoryApiKeys(at(iso), () => `k${++n}`);
}

async function refusal(p: () => unknown): Promise<BackendError> {
  try {
    await p();
  } catch (e) {
    return BackendError.from(e);
  }
  throw new Error('expected a refusal');
}

describe('the memory API keys (S9)', () => {
  it('shows the key once, in the server’s form, and lists it without it', () => {
    const k = keys();
    const made = k.create('  Render farm ', ['images:read']);
    expect(made.key).toMatch(/^isk_[0-9A-Za-z]{38}$/);
    expect(made).toMatchObject({ id: 'k1', name: 'Render farm', prefix: made.key.slice(0, 8), scopes: ['images:read'], lastUsedAt: null });
    expect(k.create('ci', null).scopes).toEqual(['images:generate', 'images:read']);
    const listed = k.list();
    expect(listed.map((i) => i.name)).toEqual(['Render farm', 'ci']);
    expect(JSON.stringify(listed)).not.toContain(made.key);
  });

  it('refuses bad names and scopes, and more than the limit with a conflict', async () => {
    const k = keys();
    for (const [name, scopes] of [['  ', null], ['x'.repeat(101), null], ['ok', []], ['ok', ['admin']], ['ok', ['images:read', 'images:read']]] as const) {
      expect((await refusal(() => k.create(name, scopes as never))).kind).toBe('invalidInput');
    }
    for (let i = 0; i < MAX_KEYS; i++) k.create(`key ${i}`, null);
    const full = await refusal(() => k.create('one more', null));
    expect(full.kind).toBe('conflict');
    expect(full.message).toContain('revoke one first');
    k.revoke('k1');
    expect(k.create('one more', null).name).toBe('one more');
  });

  it('counts requests of an active key; a revoked key is refused and gone from the list', async () => {
    const k = keys();
    const made = k.create('app', null);
    expect(k.request(made.key)).toBe(200);
    expect(k.request(made.key)).toBe(200);
    expect(k.list()[0]).toMatchObject({ lastUsedAt: '2026-12-01T09:00:00.000Z', usageToday: { requests: 2 } });
    k.revoke(made.id);
    expect(k.request(made.key)).toBe(401);
    expect(k.list()).toEqual([]);
    expect((await refusal(() => k.revoke(made.id))).kind).toBe('notFound');
    // Its use stays reportable.
    expect(k.usage({ from: null, to: null, keyId: made.id }).total.requests).toBe(2);
  });

  it('reports the 30 days to today by default, by day then key, with bad ranges refused', async () => {
    const k = keys();
    const a = k.create('a', null);
    const b = k.create('b', null);
    k.record(b.id, '2026-11-20', { requests: 4, generations: 1, images: 2 });
    k.record(a.id, '2026-11-20', { requests: 1 });
    k.record(a.id, '2026-11-01', { requests: 9 }); // before the window
    k.request(a.key);
    const r = k.usage({ from: null, to: null, keyId: null });
    expect([r.from, r.to]).toEqual(['2026-11-02', '2026-12-01']);
    expect(r.items.map((i) => [i.day, i.keyId, i.requests])).toEqual([
      ['2026-11-20', a.id, 1],
      ['2026-11-20', b.id, 4],
      ['2026-12-01', a.id, 1],
    ]);
    expect(r.total).toEqual({ requests: 6, generations: 1, images: 2, creditsCharged: 0 });
    expect(k.usage({ from: '2026-11-01', to: '2026-11-01', keyId: a.id }).total.requests).toBe(9);
    expect((await refusal(() => k.usage({ from: '2026-12-02', to: '2026-12-01', keyId: null }))).kind).toBe('invalidInput');
    expect((await refusal(() => k.usage({ from: '2024-01-01', to: '2026-12-01', keyId: null }))).kind).toBe('invalidInput');
    expect((await refusal(() => k.usage({ from: '2026-02-30', to: null, keyId: null }))).kind).toBe('invalidInput');
    expect((await refusal(() => k.usage({ from: null, to: null, keyId: 'nope' }))).kind).toBe('notFound');
  });

  it('needs an account and the server in MemoryBackend', async () => {
    const backend = new MemoryBackend({ syncDelayMs: 0 });
    expect((await refusal(() => backend.listApiKeys())).kind).toBe('auth');
    await backend.signIn();
    const made = await backend.createApiKey('demo', null);
    expect((await backend.listApiKeys()).map((k) => k.id)).toEqual([made.id]);
    backend.sync.setOnline(false);
    expect((await refusal(() => backend.createApiKey('offline', null))).kind).toBe('network');
  });
});
