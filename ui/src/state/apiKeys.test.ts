/**
 * The API keys section's state against the memory backend (S9): a key made from the form is
 * shown once and dropped on dismiss, copied through the clipboard, listed with today's use;
 * the limit is a sentence, not a toast; revoke waits for a confirmation; the chart follows the
 * chosen key and metric.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../backend/memory/memoryBackend';
import { ApiKeysState, LIMIT_TEXT, MAX_KEYS, OFFLINE_TEXT } from './apiKeys.svelte';

async function signedIn(): Promise<{ backend: MemoryBackend; keys: ApiKeysState }> {
  const backend = new MemoryBackend({ syncDelayMs: 0, now: () => new Date('2026-12-01T09:00:00Z') });
  await backend.signIn();
  const keys = new ApiKeysState(backend);
  await keys.load();
  return { backend, keys };
}

describe('API keys in Settings (S9)', () => {
  it('shows a new key once, copies it, and forgets it when dismissed', async () => {
    const { backend, keys } = await signedIn();
    expect(keys.state).toBe('ready');
    expect(keys.canCreate).toBe(false);
    keys.name = '  CI ';
    keys.scopes['images:generate'] = false;
    expect(keys.chosenScopes).toEqual(['images:read']);
    await keys.create();
    const made = keys.created!;
    expect(made.key).toMatch(/^isk_/);
    expect(made.scopes).toEqual(['images:read']);
    expect(keys.name).toBe('');
    expect(keys.keys.map((k) => k.name)).toEqual(['CI']);
    expect(JSON.stringify(keys.keys)).not.toContain(made.key);

    const copied: string[] = [];
    keys.clipboard = async (t) => (copied.push(t), true);
    await keys.copy();
    expect(copied).toEqual([made.key]);
    expect(keys.copied).toBe(true);

    keys.dismissCreated();
    expect(keys.created).toBeNull();
    expect(keys.copied).toBe(false);
    expect(backend.apiKeys.request(made.key)).toBe(200);
    await keys.load();
    expect(keys.keys[0]!.usageToday.requests).toBe(1);
  });

  it('says the limit plainly once the account holds the most keys', async () => {
    const { backend, keys } = await signedIn();
    for (let i = 0; i < MAX_KEYS - 1; i++) await backend.createApiKey(`k${i}`, null);
    // Another device makes the 20th meanwhile: the server's 409 is the sentence.
    await keys.load();
    await backend.createApiKey('elsewhere', null);
    keys.name = 'one more';
    await keys.create();
    expect(keys.created).toBeNull();
    expect(keys.limitReached).toBe(true);
    expect(keys.createError).toBe(LIMIT_TEXT);
    expect(keys.canCreate).toBe(false);
    await keys.load();
    expect(keys.atLimit).toBe(true);
    keys.askRevoke(keys.keys[0]!.id);
    await keys.revoke();
    expect(keys.atLimit).toBe(false);
    expect(keys.createError).toBeNull();
  });

  it('revokes only after the confirmation; the key is refused from then on', async () => {
    const { backend, keys } = await signedIn();
    keys.name = 'farm';
    await keys.create();
    const { id, key } = keys.created!;
    keys.dismissCreated();
    keys.askRevoke(id);
    keys.cancelRevoke();
    await keys.revoke();
    expect(keys.keys).toHaveLength(1);
    keys.askRevoke(id);
    expect(keys.confirming).toBe(id);
    await keys.revoke();
    expect(keys.keys).toEqual([]);
    expect(keys.confirming).toBeNull();
    expect(backend.apiKeys.request(key)).toBe(401);
  });

  it('charts the last 30 days of every key or one, by the chosen metric', async () => {
    const { backend, keys } = await signedIn();
    const a = await backend.createApiKey('a', null);
    const b = await backend.createApiKey('b', null);
    backend.apiKeys.record(a.id, '2026-11-30', { requests: 5, generations: 2, images: 3 });
    backend.apiKeys.record(b.id, '2026-11-30', { requests: 2 });
    await keys.load();
    expect(keys.bars).toHaveLength(30);
    expect(keys.bars.at(-2)).toEqual({ day: '2026-11-30', value: 7 });
    keys.chartKey = a.id;
    keys.metric = 'images';
    expect(keys.bars.at(-2)!.value).toBe(3);
    expect(keys.keyName(a.id)).toBe('a');
    keys.askRevoke(a.id);
    await keys.revoke();
    expect(keys.chartKey).toBeNull();
  });

  it('signed out or offline, loading fails with a sentence to show', async () => {
    const backend = new MemoryBackend({ syncDelayMs: 0 });
    const keys = new ApiKeysState(backend);
    await keys.load();
    expect(keys.state).toBe('error');
    expect(keys.loadError).toContain('sign in');

    await backend.signIn();
    backend.sync.setOnline(false);
    await keys.load();
    expect(keys.loadError).toBe(OFFLINE_TEXT);
    backend.sync.setOnline(true);
    await keys.load();
    expect(keys.state).toBe('ready');
  });
});
