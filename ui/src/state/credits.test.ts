/**
 * Credits in the app state against the memory backend (S8): the form's price asked for once
 * the form rests and shown with the balance after it, the balance following a generation live
 * (held, charged, given back), the insufficient-credits state before a click and after a 402,
 * and the upgrade flow (plan choice → Checkout in the browser → the new plan's credits).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OutputMaker } from '../backend/memory/generations';
import type { MediaProbe } from '../backend/memory/media';
import { MemoryBackend } from '../backend/memory/memoryBackend';
import type { LocalGeneration, LocalGenerationStatus } from '../backend/types';
import { activeShortfall, estimateKey, estimateRequest, priceLine } from '../lib/credits';
import { AppState } from './app.svelte';
import { ESTIMATE_DEBOUNCE_MS } from './credits.svelte';
import { toasts } from './toasts.svelte';

const probe: MediaProbe = async (bytes, mimeType) => {
  const [w, h] = new TextDecoder().decode(bytes).split('x').map(Number);
  return { type: mimeType.startsWith('video/') ? 'video' : 'image', width: w ?? 1, height: h ?? 1, durationMs: null, url: 'u', thumbUrl: 't' };
};
const output: OutputMaker = async ({ width, height, seed }) => ({ bytes: new TextEncoder().encode(`${width}x${height}x${seed}`), mimeType: 'image/png' });

let backend: MemoryBackend;

async function app(): Promise<AppState> {
  backend = new MemoryBackend({ probe, syncDelayMs: 0, generationTiming: { queueMs: 2, runMs: 2 }, generationOutput: output });
  await backend.signIn();
  const a = new AppState(backend);
  await a.start();
  await a.generations.refreshModels();
  return a;
}

function until(id: string, status: LocalGenerationStatus): Promise<LocalGeneration> {
  return new Promise((resolve) => {
    const off = backend.on('generationChanged', (g) => {
      if (g.id === id && g.status === status) {
        off();
        setTimeout(() => resolve(g), 0);
      }
    });
  });
}

/** Waits until the form as it stands is priced (or its price is known to be unavailable). */
async function priced(a: AppState): Promise<void> {
  const key = estimateKey(estimateRequest(a.generations.form));
  await vi.waitFor(
    () => {
      if (a.credits.estimate?.key !== key && a.credits.estimateError === null) throw new Error('not priced yet');
    },
    { timeout: 5_000, interval: 10 },
  );
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  backend?.dispose();
  toasts.items = [];
});

describe('credits in the app (S8)', () => {
  it('shows the balance once signed in', async () => {
    const a = await app();
    expect(a.credits.balance).toMatchObject({ available: 100, allocation: 100, monthlyAllocation: 100, plan: 'free' });
  });

  it('asks for the price once the form rests, and shows it with the balance after it', async () => {
    const a = await app();
    const spy = vi.spyOn(backend, 'estimateGeneration');
    vi.useFakeTimers();
    const g = a.generations;
    g.form.prompt = 'a fox';
    // Changing the count three times quickly asks once, for the last form.
    for (const n of [1, 3, 2]) {
      g.setCount(n);
      a.credits.requestEstimate(estimateRequest(g.form));
      vi.advanceTimersByTime(ESTIMATE_DEBOUNCE_MS / 2);
    }
    expect(spy).not.toHaveBeenCalled();
    vi.advanceTimersByTime(ESTIMATE_DEBOUNCE_MS);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0]).toMatchObject({ kind: 'text-to-image', model: 'fal-ai/flux/schnell', numImages: 2, imageSize: 'square_hd' });
    vi.useRealTimers();
    await Promise.resolve();
    await Promise.resolve();
    const req = estimateRequest(g.form);
    // text-to-image 2 × square_hd 1.5 × 2 outputs = 6 credits.
    expect(a.credits.priceFor(req)).toBe(6);
    expect(priceLine(a.credits.priceFor(req)!, a.credits.available!)).toEqual({ price: '6 credits', after: '94 left', short: false });
    // The same form again asks nothing; another form has no price until its answer comes.
    a.credits.requestEstimate(req);
    g.setCount(4);
    expect(a.credits.priceFor(estimateRequest(g.form))).toBeNull();
  });

  it('drops an answer for a form that changed meanwhile', async () => {
    const a = await app();
    const g = a.generations;
    let answer: (v: { credits: number; available: number; model: string }) => void = () => undefined;
    vi.spyOn(backend, 'estimateGeneration').mockImplementationOnce(() => new Promise((r) => (answer = r)));
    a.credits.requestEstimate(estimateRequest(g.form));
    await vi.waitFor(() => expect(backend.estimateGeneration).toHaveBeenCalledTimes(1), { timeout: 5_000, interval: 10 });
    g.setCount(3);
    a.credits.requestEstimate(estimateRequest(g.form));
    answer({ credits: 999, available: 100, model: 'x' });
    await priced(a);
    expect(a.credits.estimate?.credits).toBe(9);
  });

  it('the balance follows a generation: held when taken, charged when done', async () => {
    const a = await app();
    const g = a.generations;
    g.form.prompt = 'a fox';
    g.setCount(2);
    const done = new Promise<LocalGeneration>((resolve) => backend.on('generationChanged', (x) => x.status === 'completed' && setTimeout(() => resolve(x), 0)));
    expect(await g.submit()).toBe(true);
    expect(g.list[0]!.status).toBe('queued');
    expect(a.credits.balance).toMatchObject({ available: 94, reserved: 6 });
    await done;
    expect(a.credits.balance).toMatchObject({ available: 94, reserved: 0 });
  });

  it('a failed generation gives its credits back', async () => {
    const a = await app();
    backend.setGenerationMode('fail');
    a.generations.form.prompt = 'a fox';
    await a.generations.submit();
    await until(a.generations.list[0]!.id, 'failed');
    expect(a.credits.balance).toMatchObject({ available: 100, reserved: 0 });
  });

  it('short before the click: the price says so and Generate is held back', async () => {
    const a = await app();
    backend.ledger.setAllocationLeft(5);
    const g = a.generations;
    g.form.prompt = 'a fox';
    g.setCount(2);
    a.credits.requestEstimate(estimateRequest(g.form));
    await priced(a);
    const req = estimateRequest(g.form);
    expect(a.credits.shortFor(req)).toBe(true);
    expect(priceLine(a.credits.priceFor(req)!, a.credits.available!)).toEqual({ price: '6 credits', after: 'you have 5', short: true });
    expect(g.problem).toBe('Not enough credits for this generation');
    expect(await g.submit()).toBe(false);
    g.setCount(1);
    a.credits.requestEstimate(estimateRequest(g.form));
    await priced(a);
    expect(a.credits.shortFor(estimateRequest(g.form))).toBe(false);
    expect(g.problem).toBeNull();
  });

  it('refused with 402: the generation fails with the numbers until an upgrade covers it', async () => {
    const a = await app();
    backend.ledger.setAllocationLeft(5);
    const g = a.generations;
    g.form.prompt = 'a fox';
    g.setCount(2);
    // Not priced yet (the ask was not answered): the server refuses instead.
    expect(await g.submit()).toBe(true);
    const failed = await until(g.list[0]!.id, 'failed');
    expect(failed.error).toMatchObject({ code: 'INSUFFICIENT_CREDITS', credits: { required: 6, available: 5 } });
    expect(activeShortfall(g.list, a.credits.balance)?.id).toBe(failed.id);
    expect(a.credits.balance?.available).toBe(5);

    // Upgrade: the plan choice, then Checkout in the browser.
    a.credits.choosePlan();
    expect(a.credits.choosing).toBe(true);
    expect(await a.credits.upgrade('pro')).toBe(true);
    expect(backend.opened).toEqual(['https://checkout.stripe.com/c/pay/cs_demo_pro']);
    expect(a.credits.choosing).toBe(false);
    // Stripe confirms: the plan and its credits arrive live.
    backend.completeCheckout('pro');
    await Promise.resolve();
    expect(a.account).toMatchObject({ tier: 'pro', billingStatus: 'active' });
    expect(a.credits.balance).toMatchObject({ available: 2000, plan: 'pro' });
    expect(activeShortfall(g.list, a.credits.balance)).toBeNull();
  });

  it('the billing portal needs a subscription', async () => {
    const a = await app();
    expect(await a.credits.manageBilling()).toBe(false);
    expect(toasts.items.at(-1)?.message).toMatch(/no subscription/i);
    backend.completeCheckout('enterprise');
    expect(await a.credits.manageBilling()).toBe(true);
    expect(backend.opened.at(-1)).toBe('https://billing.stripe.com/p/session/demo');
  });

  it('offline there is no price, and signed out no balance', async () => {
    const a = await app();
    backend.setOnline(false);
    a.credits.requestEstimate(estimateRequest(a.generations.form));
    await priced(a);
    expect(a.credits.estimate).toBeNull();
    expect(a.credits.estimateError).toMatch(/online/);
    expect(a.credits.balance?.available, 'the kept balance stays').toBe(100);
    await a.signOut(false);
    expect(a.credits.balance).toBeNull();
  });
});
