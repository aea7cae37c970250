import { afterEach, describe, expect, it } from 'vitest';
import type { OutputMaker } from '../backend/memory/generations';
import type { MediaProbe } from '../backend/memory/media';
import { MemoryBackend } from '../backend/memory/memoryBackend';
import { AppState } from './app.svelte';
import { toasts } from './toasts.svelte';

const probe: MediaProbe = async (bytes, mimeType) => {
  const [w, h] = new TextDecoder().decode(bytes).split('x').map(Number);
  return { type: mimeType.startsWith('video/') ? 'video' : 'image', width: w ?? 1, height: h ?? 1, durationMs: null, url: 'u', thumbUrl: 't' };
};
const output: OutputMaker = async ({ width, height, seed }) => ({ bytes: new TextEncoder().encode(`${width}x${height}x${seed}`), mimeType: 'image/png' });

let backend: MemoryBackend;

async function signedOut(): Promise<AppState> {
  backend = new MemoryBackend({ probe, syncDelayMs: 0, generationTiming: { queueMs: 2, runMs: 2 }, generationOutput: output });
  const a = new AppState(backend);
  await a.start();
  return a;
}

afterEach(() => {
  backend?.dispose();
  toasts.items = [];
});

describe('the free image before sign-in (S6)', () => {
  it('lands on the local canvas in place of its placeholder; a second one the same day is refused until midnight UTC', async () => {
    const a = await signedOut();
    const kinds: string[][] = [];
    backend.on('canvasChanged', (d) => kinds.push(d.upserted.map((e) => e.kind)));
    a.generations.form.prompt = 'a lighthouse at dusk';
    const first = a.generations.submitFree();
    expect(a.generations.free.phase).toBe('working');
    await first;
    expect(a.generations.free).toEqual({ phase: 'done', error: null });
    // The placeholder came first, then the image replaced it.
    expect(kinds[0]).toEqual(['generation']);
    const els = a.canvas.doc.ordered();
    expect(els.map((e) => e.kind)).toEqual(['image']);
    expect(els[0]?.assetId).toBeTruthy();

    await a.generations.submitFree();
    const { phase, error } = a.generations.free;
    expect(phase).toBe('refused');
    expect(error?.code).toBe('ANONYMOUS_QUOTA_EXCEEDED');
    expect(error?.limit?.window).toBe('day');
    const resets = new Date(error?.limit?.resetsAt ?? '');
    expect(resets.getUTCHours() + resets.getUTCMinutes() + resets.getUTCSeconds()).toBe(0);
    expect(resets.getTime()).toBeGreaterThan(Date.now());
    expect(a.canvas.doc.ordered()).toHaveLength(1);
  });

  it('is not offered once signed in, nor without a prompt', async () => {
    const a = await signedOut();
    await a.generations.submitFree();
    expect(a.generations.free.phase).toBe('idle');
    await a.signIn();
    a.generations.form.prompt = 'a fox';
    await a.generations.submitFree();
    expect(a.generations.free.phase).toBe('idle');
    expect(a.canvas.doc.ordered()).toHaveLength(0);
  });
});
