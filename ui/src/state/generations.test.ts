import { afterEach, describe, expect, it } from 'vitest';
import type { OutputMaker } from '../backend/memory/generations';
import type { MediaProbe } from '../backend/memory/media';
import { MemoryBackend } from '../backend/memory/memoryBackend';
import type { FileSource, LocalGeneration, LocalGenerationStatus } from '../backend/types';
import { AppState } from './app.svelte';
import { toasts } from './toasts.svelte';

const probe: MediaProbe = async (bytes, mimeType) => {
  const [w, h] = new TextDecoder().decode(bytes).split('x').map(Number);
  return { type: mimeType.startsWith('video/') ? 'video' : 'image', width: w ?? 1, height: h ?? 1, durationMs: null, url: 'u', thumbUrl: 't' };
};
const output: OutputMaker = async ({ width, height, seed }) => ({ bytes: new TextEncoder().encode(`${width}x${height}x${seed}`), mimeType: 'image/png' });

let backend: MemoryBackend;

async function app(signedIn = true): Promise<AppState> {
  backend = new MemoryBackend({ probe, syncDelayMs: 0, generationTiming: { queueMs: 2, runMs: 2 }, generationOutput: output });
  if (signedIn) await backend.signIn();
  const a = new AppState(backend);
  await a.start();
  await a.generations.refreshModels();
  return a;
}

function file(spec: string, mimeType = 'image/png'): FileSource {
  return { kind: 'bytes', name: `${spec}.png`, mimeType, bytes: new TextEncoder().encode(spec) };
}

function until(id: string, status: LocalGenerationStatus): Promise<LocalGeneration> {
  return new Promise((resolve) => {
    const off = backend.on('generationChanged', (g) => {
      if (g.id === id && g.status === status) {
        off();
        // Let the app's own listeners run first.
        setTimeout(() => resolve(g), 0);
      }
    });
  });
}

afterEach(() => {
  backend?.dispose();
  toasts.items = [];
});

describe('the generation panel state (D7)', () => {
  it('signed out: nothing to offer but signing in', async () => {
    const a = await app(false);
    expect(a.generations.models).toEqual([]);
    a.generations.form.prompt = 'a fox';
    expect(a.generations.problem).toBe('Sign in to generate');
    expect(await a.generations.submit()).toBe(false);
    await a.signIn();
    await a.generations.refreshModels();
    expect(a.generations.problem).toBeNull();
  });

  it('preselects the default model and size of each kind, and keeps the count in range', async () => {
    const a = await app();
    const g = a.generations;
    expect(g.form).toMatchObject({ kind: 'text-to-image', model: 'fal-ai/flux/schnell', size: 'square_hd', count: 1 });
    g.setCount(9);
    expect(g.form.count).toBe(4);
    g.setModel('fal-ai/recraft-v3');
    expect(g.maxCount).toBe(1);
    expect(g.form.count).toBe(1);
    g.setSize('landscape_4_3');
    g.setModel('fal-ai/flux/dev');
    expect(g.form.size).toBe('landscape_4_3'); // offered by both: kept
    g.setKind('image-to-video');
    expect(g.form).toMatchObject({ model: 'fal-ai/kling-video/v2/master/image-to-video', size: '16:9' });
    expect(g.kindModels.map((m) => m.id)).toEqual(['fal-ai/kling-video/v2/master/image-to-video']);
  });

  it('image-to-* needs exactly one selected image', async () => {
    const a = await app();
    const g = a.generations;
    const pid = a.project!.id;
    const d = await backend.addFiles(pid, [file('400x300'), file('200x200')], { x: 0, y: 0 });
    a.canvas.applyDelta({ ...d, selection: [] });
    a.canvas.clearSelection();
    g.setKind('image-to-image');
    g.form.prompt = 'as a watercolour';
    expect(g.problem).toBe('Select an image on the canvas to start from');
    a.canvas.selectAll();
    expect(g.problem).toBe('Select just one image — 2 elements are selected');
    a.canvas.doc.setSelection([d.upserted[0]!.id]);
    expect(g.source.ok).toBe(true);
    expect(g.problem).toBeNull();
  });

  it('places the placeholder beside the source, clear of other elements', async () => {
    const a = await app();
    const g = a.generations;
    const pid = a.project!.id;
    const d = await backend.addFiles(pid, [file('400x400')], { x: 0, y: 0 });
    a.canvas.applyDelta(d);
    const src = d.upserted[0]!;
    a.canvas.doc.setSelection([src.id]);
    g.setKind('image-to-image');
    g.form.prompt = 'night version';
    expect(await g.submit()).toBe(true);
    const placeholder = a.canvas.doc.ordered().find((e) => e.kind === 'generation')!;
    expect(placeholder.x).toBeGreaterThanOrEqual(src.x + src.width);
    expect(placeholder.y + placeholder.height / 2).toBeCloseTo(src.y + src.height / 2);
    // The card knows its generation by the placeholder's element id.
    expect(g.card(placeholder)).toMatchObject({ title: expect.stringMatching(/Queued|Generating/), prompt: 'night version', caption: 'Image to image' });
  });

  it('on a full view, new placeholders at least do not cover each other', async () => {
    const a = await app();
    const g = a.generations;
    const pid = a.project!.id;
    const [asset] = (await backend.addFiles(pid, [file('2400x1000')], { x: 5000, y: 5000 })).upserted;
    backend.seedElements(pid, [{ kind: 'image', assetId: asset!.assetId, x: -1200, y: -500, width: 2400, height: 1000, rotation: 0, locked: false, playback: null, generationId: null }]);
    await a.openProject(pid);
    // A view of exactly the covered area, as the engine would report it.
    a.canvas.engine = {
      viewCenter: () => ({ x: 0, y: 0 }),
      visibleRect: () => ({ x: -1200, y: -500, width: 2400, height: 1000 }),
      isAvailable: () => true,
      generationsChanged: () => undefined,
      assetsOnServer: () => undefined,
      bringIntoView: () => undefined,
      flash: () => undefined,
    } as unknown as NonNullable<typeof a.canvas.engine>;
    g.form.prompt = 'one';
    await g.submit();
    g.form.prompt = 'two';
    await g.submit();
    const [p1, p2] = a.canvas.doc.ordered().filter((e) => e.kind === 'generation');
    expect(p1!.x).toBeCloseTo(-256);
    const overlap = Math.abs(p1!.x - p2!.x) < 512 && Math.abs(p1!.y - p2!.y) < 512;
    expect(overlap).toBe(false);
    a.canvas.engine = null;
  });

  it('keeps the row the outputs will fill clear of other elements', async () => {
    const a = await app();
    const g = a.generations;
    const pid = a.project!.id;
    const [asset] = (await backend.addFiles(pid, [file('400x400')], { x: 5000, y: 5000 })).upserted;
    backend.seedElements(pid, [{ kind: 'image', assetId: asset!.assetId, x: 700, y: -200, width: 400, height: 400, rotation: 0, locked: false, playback: null, generationId: null }]);
    await a.openProject(pid);
    a.canvas.engine = {
      viewCenter: () => ({ x: 0, y: 0 }),
      visibleRect: () => ({ x: -4000, y: -4000, width: 8000, height: 8000 }),
      isAvailable: () => true,
      generationsChanged: () => undefined,
      assetsOnServer: () => undefined,
      bringIntoView: () => undefined,
      flash: () => undefined,
    } as unknown as NonNullable<typeof a.canvas.engine>;
    g.form.prompt = 'two of them';
    g.setCount(2);
    await g.submit();
    const p = a.canvas.doc.ordered().find((e) => e.kind === 'generation')!;
    // The engine's placeholder is 1024 square (square_hd); two outputs span 2 × 1024 + 24.
    const left = p.x + p.width / 2 - 512;
    const row = { x: left, y: p.y + p.height / 2 - 512, width: 2072, height: 1024 };
    const overlaps = row.x < 1100 && 700 < row.x + row.width && row.y < 200 && -200 < row.y + row.height;
    expect(overlaps).toBe(false);
    a.canvas.engine = null;
  });

  it('with no room in view, goes beside what is there and zooms out to show it', async () => {
    const a = await app();
    const g = a.generations;
    const pid = a.project!.id;
    const [asset] = (await backend.addFiles(pid, [file('1200x1200')], { x: 5000, y: 5000 })).upserted;
    backend.seedElements(pid, [{ kind: 'image', assetId: asset!.assetId, x: -600, y: -600, width: 1200, height: 1200, rotation: 0, locked: false, playback: null, generationId: null }]);
    await a.openProject(pid);
    const shown: { x: number; y: number; width: number; height: number }[] = [];
    // The view fits the image with a little margin, as after Shift+1.
    a.canvas.engine = {
      viewCenter: () => ({ x: 0, y: 0 }),
      visibleRect: () => ({ x: -1300, y: -700, width: 2600, height: 1400 }),
      isAvailable: () => true,
      generationsChanged: () => undefined,
      assetsOnServer: () => undefined,
      bringIntoView: (r: { x: number; y: number; width: number; height: number }) => shown.push(r),
      flash: () => undefined,
    } as unknown as NonNullable<typeof a.canvas.engine>;
    g.form.prompt = 'beside it';
    await g.submit();
    const p = a.canvas.doc.ordered().find((e) => e.kind === 'generation')!;
    // Where the engine's 1024 square stands (the demo backend draws it smaller, same centre).
    const cx = p.x + p.width / 2;
    const cy = p.y + p.height / 2;
    const covers = cx - 512 < 600 && -600 < cx + 512 && cy - 512 < 600 && -600 < cy + 512;
    expect(covers).toBe(false);
    expect(shown).toEqual([{ x: cx - 512, y: cy - 512, width: 1024, height: 1024 }]);
    a.canvas.engine = null;
  });

  it('follows a generation to completion: list, card, outputs on the canvas', async () => {
    const a = await app();
    const g = a.generations;
    g.form.prompt = 'a red fox in snow';
    g.setCount(2);
    expect(await g.submit()).toBe(true);
    const [first] = g.list;
    expect(first).toMatchObject({ prompt: 'a red fox in snow', status: 'queued' });
    expect(g.forElement(first!.elementId)?.id).toBe(first!.id);
    const done = await until(first!.id, 'completed');
    expect(g.list[0]).toMatchObject({ id: first!.id, status: 'completed', outputs: done.outputs });
    const images = a.canvas.doc.ordered().filter((e) => e.kind === 'image');
    expect(images.map((e) => e.assetId).sort()).toEqual([...done.outputs].sort());
    expect(a.canvas.doc.get(first!.elementId)).toBeUndefined();
  });

  it('shows the limit the newest failure ran into, and retries', async () => {
    const a = await app();
    const g = a.generations;
    backend.setGenerationMode('limit');
    g.form.prompt = 'a fox';
    await g.submit();
    const failed = await until(g.list[0]!.id, 'failed');
    expect(g.limited?.id).toBe(failed.id);
    expect(g.card(a.canvas.doc.get(failed.elementId)!).title).toBe('Failed: Hourly image limit reached');
    backend.setGenerationMode('normal');
    await g.retry(failed.id);
    await until(failed.id, 'completed');
    expect(g.limited).toBeNull();
  });

  it('offline: the request waits, says so, and goes when back online', async () => {
    const a = await app();
    const g = a.generations;
    backend.setOnline(false);
    g.form.prompt = 'a fox';
    expect(await g.submit()).toBe(true);
    expect(g.list[0]!.status).toBe('waiting');
    expect(g.card(a.canvas.doc.get(g.list[0]!.elementId)!).title).toBe('Waiting to send — offline');
    expect(toasts.items.at(-1)?.message).toContain('outbox');
    const id = g.list[0]!.id;
    const done = until(id, 'completed');
    backend.setOnline(true);
    await done;
    expect(g.list[0]!.status).toBe('completed');
  });

  it('an event newer than a command answer wins', async () => {
    const a = await app();
    const g = a.generations;
    backend.generations.timing.queueMs = 10_000;
    const emit = (x: LocalGeneration) => (backend as unknown as { events: { emit(k: string, v: unknown): void } }).events.emit('generationChanged', x);
    const real = backend.generate.bind(backend);
    backend.generate = async (pid, req) => {
      const out = await real(pid, req);
      emit({ ...out.generation, status: 'running', queuePosition: null });
      return out; // still says queued
    };
    g.form.prompt = 'race';
    await g.submit();
    expect(g.list[0]!.status).toBe('running');
  });

  it('cancels, and forgets the list of the project it left', async () => {
    const a = await app();
    const g = a.generations;
    backend.generations.timing.queueMs = 10_000;
    g.form.prompt = 'slow one';
    await g.submit();
    await g.cancel(g.list[0]!.id);
    expect(g.list[0]!.status).toBe('canceled');
    await a.createProject();
    await new Promise((r) => setTimeout(r, 0));
    expect(g.list).toEqual([]);
  });
});
