import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../backend/memory/memoryBackend';
import { LocalOffer } from './localOffer.svelte';
import { toasts } from './toasts.svelte';

let backend: MemoryBackend;

/** Signed out: `n` projects; then signed in. */
async function signedOutProjects(n: number): Promise<{ offer: LocalOffer; ids: string[] }> {
  backend = new MemoryBackend({ syncDelayMs: 0 });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await backend.createProject(null)).id);
  await backend.signIn();
  return { offer: new LocalOffer(backend), ids };
}

afterEach(() => {
  backend?.dispose();
  toasts.items = [];
});

describe('the offer after signing in (D6)', () => {
  it('is made when projects wait, comes back after "later", and goes once answered', async () => {
    const { offer } = await signedOutProjects(7);
    await offer.check();
    expect(offer.offer?.count).toBe(7);
    expect(offer.offer?.names).toHaveLength(7);
    expect(offer.deviceOnly.size).toBe(7);
    offer.later();
    expect(offer.offer).toBeNull();
    await offer.check(); // the next sign-in
    expect(offer.offer?.count).toBe(7);

    await offer.answer(false);
    expect(offer.offer).toBeNull();
    expect(offer.deviceOnly.size).toBe(0);
    expect(toasts.items.at(-1)).toMatchObject({ tone: 'success', message: 'Added 7 projects to your account' });
    await offer.check();
    expect(offer.offer).toBeNull();
  });

  it('keeps them on this device, then adds one from its menu', async () => {
    const { offer, ids } = await signedOutProjects(2);
    await offer.check();
    await offer.answer(true);
    expect(toasts.items.at(-1)?.message).toBe('Kept 2 projects on this device only');
    expect([...offer.deviceOnly].sort()).toEqual([...ids].sort());
    const [project] = await backend.listProjects({ query: '', sort: 'name', order: 'asc' });
    await offer.addToAccount(project!);
    expect(offer.deviceOnly.has(project!.id)).toBe(false);
    expect(offer.deviceOnly.size).toBe(1);
    expect(toasts.items.at(-1)?.message).toContain('now syncs with your account');
  });

  it('offers nothing when every project was made signed in', async () => {
    backend = new MemoryBackend({ syncDelayMs: 0 });
    await backend.signIn();
    await backend.createProject(null);
    const offer = new LocalOffer(backend);
    await offer.check();
    expect(offer.offer).toBeNull();
  });
});
