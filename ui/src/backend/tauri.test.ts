/**
 * The real Tauri adapter against a mocked IPC (`@tauri-apps/api/mocks`): each generation
 * method sends the command name and argument object of the contract, answers come back
 * typed, failures become `BackendError`, and the `generation-changed` event reaches `on`.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateRequest, LocalGeneration } from './types';

// The Tauri API reads `window.__TAURI_INTERNALS__`: Node's global object stands in for it.
(globalThis as unknown as { window: typeof globalThis }).window ??= globalThis;

const mocks = await import('@tauri-apps/api/mocks');
const { emit } = await import('@tauri-apps/api/event');
const { TauriBackend } = await import('./tauri');
const { BackendError } = await import('./backend');

type Call = { cmd: string; args: unknown };
let calls: Call[] = [];

function gen(over: Partial<LocalGeneration> = {}): LocalGeneration {
  return {
    id: 'local-1',
    serverId: null,
    projectId: 'p1',
    elementId: 'e1',
    kind: 'text-to-image',
    prompt: 'a red fox',
    model: 'fal-ai/flux/schnell',
    params: { numImages: 1 },
    status: 'waiting',
    queuePosition: null,
    error: null,
    outputs: [],
    createdAt: '2025-01-01T00:00:00Z',
    ...over,
  };
}

/** Answers each command with `answers[cmd]` (a function of the args, or a value). */
function ipc(answers: Record<string, unknown>): void {
  calls = [];
  mocks.mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args });
      if (!(cmd in answers)) throw { kind: 'unknown_command', message: `no mock for ${cmd}` };
      const a = answers[cmd];
      return typeof a === 'function' ? (a as (x: unknown) => unknown)(args) : a;
    },
    { shouldMockEvents: true },
  );
}

beforeAll(() => {
  mocks.mockWindows('main');
});
afterEach(() => mocks.clearMocks());

describe('TauriBackend: generation commands', () => {
  const backend = new TauriBackend();

  it('list_models takes no arguments and returns the catalogue', async () => {
    const models = [{ id: 'fal-ai/flux/schnell', kind: 'text-to-image', label: 'FLUX', default: true, maxImages: 4, sizes: ['square_hd'] }];
    ipc({ list_models: models });
    await expect(backend.listModels()).resolves.toEqual(models);
    expect(calls).toEqual([{ cmd: 'list_models', args: {} }]);
  });

  it('generate sends { projectId, request } and returns the generation and its delta', async () => {
    const request: GenerateRequest = {
      kind: 'image-to-image',
      model: null,
      prompt: 'as a watercolour',
      imageSize: 'square_hd',
      numImages: 2,
      seed: null,
      durationS: null,
      sourceElementId: 'src-1',
      at: { x: 10, y: -20 },
    };
    const answer = {
      generation: gen({ kind: 'image-to-image', status: 'queued', serverId: 's1', queuePosition: 3 }),
      delta: { projectId: 'p1', upserted: [{ id: 'e1', kind: 'generation', assetId: null, x: 0, y: 0, width: 1, height: 1, rotation: 0, z: 'a0', locked: false, playback: null, generationId: 's1' }], deleted: [], canUndo: false, canRedo: false },
    };
    ipc({ generate: answer });
    await expect(backend.generate('p1', request)).resolves.toEqual(answer);
    expect(calls).toEqual([{ cmd: 'generate', args: { projectId: 'p1', request } }]);
  });

  it('list_generations passes the project id, or null for every project', async () => {
    ipc({ list_generations: (args: { projectId: string | null }) => (args.projectId === null ? [gen(), gen({ id: 'local-2', projectId: 'p2' })] : [gen()]) });
    expect(await backend.listGenerations('p1')).toHaveLength(1);
    expect(await backend.listGenerations(null)).toHaveLength(2);
    expect(calls.map((c) => c.args)).toEqual([{ projectId: 'p1' }, { projectId: null }]);
  });

  it('cancel_generation and retry_generation send { id }', async () => {
    ipc({ cancel_generation: gen({ status: 'canceled' }), retry_generation: gen({ status: 'queued' }) });
    expect((await backend.cancelGeneration('local-1')).status).toBe('canceled');
    expect((await backend.retryGeneration('local-1')).status).toBe('queued');
    expect(calls).toEqual([
      { cmd: 'cancel_generation', args: { id: 'local-1' } },
      { cmd: 'retry_generation', args: { id: 'local-1' } },
    ]);
  });

  it('a refused command becomes a BackendError with its kind and message', async () => {
    ipc({
      generate: () => {
        throw { kind: 'unauthenticated', message: 'Sign in to generate images and videos' };
      },
    });
    const err = await backend.generate('p1', { kind: 'text-to-image', model: null, prompt: 'x', imageSize: null, numImages: null, seed: null, durationS: null, sourceElementId: null, at: { x: 0, y: 0 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ kind: 'unauthenticated', message: 'Sign in to generate images and videos' });
  });

  it('generation-changed events reach on("generationChanged")', async () => {
    ipc({});
    const seen: LocalGeneration[] = [];
    const off = backend.on('generationChanged', (g) => seen.push(g));
    // listen() registers asynchronously.
    await new Promise((r) => setTimeout(r, 0));
    const failed = gen({
      status: 'failed',
      error: { code: 'RATE_LIMITED', message: 'hour limit of 15 reached', limit: { window: 'hour', limit: 15, used: 15, remaining: 0, resetsAt: '2025-01-01T14:00:00Z', tier: 'free', upgradeUrl: 'https://iskra.app/pricing' }, storage: null, credits: null },
    });
    await emit('generation-changed', failed);
    expect(seen).toEqual([failed]);
    off();
    await new Promise((r) => setTimeout(r, 0));
    await emit('generation-changed', gen());
    expect(seen).toHaveLength(1);
  });
});

describe('TauriBackend: credits and billing commands', () => {
  const backend = new TauriBackend();
  const credits = { available: 88, reserved: 6, allocation: 88, grants: 0, monthlyAllocation: 100, periodEndsAt: '2025-03-01T00:00:00Z', plan: 'free' };

  it('get_credits, estimate_generation, open_checkout and open_billing_portal send the contract', async () => {
    const request = { kind: 'text-to-image' as const, model: 'fal-ai/flux/dev', numImages: 2, imageSize: 'square_hd', durationS: null };
    ipc({
      get_credits: credits,
      estimate_generation: { credits: 6, available: 88, model: 'fal-ai/flux/dev' },
      open_checkout: (args: { plan: string }) => `https://checkout.stripe.com/c/pay/${args.plan}`,
      open_billing_portal: 'https://billing.stripe.com/p/session/x',
    });
    await expect(backend.credits()).resolves.toEqual(credits);
    await expect(backend.estimateGeneration(request)).resolves.toEqual({ credits: 6, available: 88, model: 'fal-ai/flux/dev' });
    await expect(backend.openCheckout('pro')).resolves.toBe('https://checkout.stripe.com/c/pay/pro');
    await expect(backend.openBillingPortal()).resolves.toBe('https://billing.stripe.com/p/session/x');
    expect(calls).toEqual([
      { cmd: 'get_credits', args: {} },
      { cmd: 'estimate_generation', args: { request } },
      { cmd: 'open_checkout', args: { plan: 'pro' } },
      { cmd: 'open_billing_portal', args: {} },
    ]);
  });

  it('a server without billing answers with kind "unavailable"', async () => {
    ipc({
      open_checkout: () => {
        throw { kind: 'unavailable', message: 'Billing is not available on this server' };
      },
    });
    await expect(backend.openCheckout('enterprise')).rejects.toMatchObject({ kind: 'unavailable', message: 'Billing is not available on this server' });
  });

  it('credits-changed events reach on("creditsChanged")', async () => {
    ipc({});
    const seen: unknown[] = [];
    const off = backend.on('creditsChanged', (c) => seen.push(c));
    await new Promise((r) => setTimeout(r, 0));
    await emit('credits-changed', credits);
    await emit('credits-changed', null);
    expect(seen).toEqual([credits, null]);
    off();
  });
});
