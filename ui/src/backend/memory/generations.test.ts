import { afterEach, describe, expect, it } from 'vitest';
import type { MediaProbe } from './media';
import { MemoryBackend } from './memoryBackend';
import type { OutputMaker } from './generations';
import type { CanvasDelta, FileSource, GenerateRequest, LocalGeneration, LocalGenerationStatus } from '../types';

/** Reads "width x height x seed" from the bytes instead of decoding anything. */
const probe: MediaProbe = async (bytes, mimeType) => {
  const [w, h] = new TextDecoder().decode(bytes).split('x').map(Number);
  const video = mimeType.startsWith('video/');
  return { type: video ? 'video' : 'image', width: w ?? 1, height: h ?? 1, durationMs: video ? 4000 : null, url: 'u', thumbUrl: 't' };
};

/** Distinct bytes per output (assets are deduplicated by content). */
const output: OutputMaker = async ({ kind, width, height, seed }) => ({
  bytes: new TextEncoder().encode(`${width}x${height}x${seed}`),
  mimeType: kind === 'image-to-video' ? 'video/mp4' : 'image/png',
});

let counter = 0;
let backend: MemoryBackend;

function make(): MemoryBackend {
  counter = 0;
  backend = new MemoryBackend({
    probe,
    syncDelayMs: 0,
    newId: () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`,
    generationTiming: { queueMs: 2, runMs: 2 },
    generationOutput: output,
  });
  return backend;
}

afterEach(() => backend?.dispose());

function request(over: Partial<GenerateRequest> = {}): GenerateRequest {
  return { kind: 'text-to-image', model: null, prompt: 'a red fox in snow', imageSize: null, numImages: null, seed: 7, durationS: null, sourceElementId: null, at: { x: 100, y: 50 }, ...over };
}

/** Records every generationChanged and canvasChanged event. */
function record(b: MemoryBackend): { changes: LocalGeneration[]; deltas: CanvasDelta[] } {
  const out = { changes: [] as LocalGeneration[], deltas: [] as CanvasDelta[] };
  b.on('generationChanged', (g) => out.changes.push(g));
  b.on('canvasChanged', (d) => out.deltas.push(d));
  return out;
}

/** Resolves when generation `id` reaches `status`. */
function until(b: MemoryBackend, id: string, status: LocalGenerationStatus): Promise<LocalGeneration> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${status}`)), 2000);
    const off = b.on('generationChanged', (g) => {
      if (g.id !== id || g.status !== status) return;
      clearTimeout(timer);
      off();
      resolve(g);
    });
  });
}

async function signedInProject(): Promise<{ b: MemoryBackend; pid: string }> {
  const b = make();
  await b.signIn();
  const p = await b.createProject(null);
  return { b, pid: p.id };
}

function file(spec: string, mimeType = 'image/png'): FileSource {
  return { kind: 'bytes', name: `${spec}.png`, mimeType, bytes: new TextEncoder().encode(spec) };
}

describe('generation in the memory backend (D7)', () => {
  it('offers models only when signed in, and refuses to generate signed out', async () => {
    const b = make();
    const p = await b.createProject(null);
    expect(await b.listModels()).toEqual([]);
    await expect(b.generate(p.id, request())).rejects.toMatchObject({ kind: 'unauthenticated' });
    await b.signIn();
    const models = await b.listModels();
    expect(new Set(models.map((m) => m.kind))).toEqual(new Set(['text-to-image', 'image-to-image', 'image-to-video']));
    for (const kind of ['text-to-image', 'image-to-image', 'image-to-video'] as const) {
      expect(models.filter((m) => m.kind === kind && m.default)).toHaveLength(1);
    }
  });

  it('adds a placeholder, goes queued → running → completed, and replaces it with the outputs', async () => {
    const { b, pid } = await signedInProject();
    const seen = record(b);
    const { generation: g, delta } = await b.generate(pid, request({ numImages: 2, imageSize: 'landscape_16_9' }));
    expect(delta.upserted).toHaveLength(1);
    const placeholder = delta.upserted[0]!;
    expect(placeholder).toMatchObject({ kind: 'generation', assetId: null, generationId: g.serverId });
    expect(placeholder.x + placeholder.width / 2).toBeCloseTo(100);
    expect(placeholder.y + placeholder.height / 2).toBeCloseTo(50);
    expect(placeholder.width / placeholder.height).toBeCloseTo(16 / 9);
    expect(g).toMatchObject({ elementId: placeholder.id, projectId: pid, status: 'queued', model: 'fal-ai/flux/schnell', params: { numImages: 2, imageSize: 'landscape_16_9', seed: 7 } });
    // The placeholder is no undo step.
    expect(delta.canUndo).toBe(false);

    const done = await until(b, g.id, 'completed');
    expect(done.outputs).toHaveLength(2);
    expect(seen.changes.map((c) => c.status)).toEqual(expect.arrayContaining(['queued', 'running', 'completed']));
    const replace = seen.deltas.at(-1)!;
    expect(replace.deleted).toEqual([placeholder.id]);
    expect(replace.upserted.map((e) => e.assetId)).toEqual(done.outputs);
    expect(replace.upserted.every((e) => e.kind === 'image' && e.generationId === g.serverId)).toBe(true);

    const open = await b.openProject(pid);
    expect(open.elements.map((e) => e.kind)).toEqual(['image', 'image']);
    const assets = await b.listAssets({ sort: 'created', order: 'desc', type: null });
    expect(assets).toHaveLength(2);
    expect(assets[0]).toMatchObject({ source: 'generation', generation: { prompt: 'a red fox in snow', model: 'fal-ai/flux/schnell' } });
    expect((await b.listGenerations(pid))[0]).toMatchObject({ id: g.id, status: 'completed' });
  });

  it('image-to-video starts from the selected image and lands beside it as a video', async () => {
    const { b, pid } = await signedInProject();
    const src = (await b.addFiles(pid, [file('800x400')], { x: 0, y: 0 })).upserted[0]!;
    await expect(b.generate(pid, request({ kind: 'image-to-video' }))).rejects.toThrow('needs a source image');
    const { generation: g, delta } = await b.generate(pid, request({ kind: 'image-to-video', sourceElementId: src.id, at: { x: 900, y: 0 } }));
    expect(g.params.numImages).toBeUndefined();
    expect(delta.upserted[0]!.width / delta.upserted[0]!.height).toBeCloseTo(2);
    const done = await until(b, g.id, 'completed');
    const open = await b.openProject(pid);
    expect(open.elements.find((e) => e.assetId === done.outputs[0])).toMatchObject({ kind: 'video', playback: { playing: false } });
  });

  it('validates like the server', async () => {
    const { b, pid } = await signedInProject();
    await expect(b.generate(pid, request({ prompt: '   ' }))).rejects.toThrow('must not be empty');
    await expect(b.generate(pid, request({ prompt: 'x'.repeat(4001) }))).rejects.toThrow('at most 4000');
    await expect(b.generate(pid, request({ numImages: 5 }))).rejects.toThrow('from 1 to 4');
    await expect(b.generate(pid, request({ model: 'fal-ai/kling-video/v2/master/image-to-video' }))).rejects.toThrow('is not a text-to-image model');
    await expect(b.generate(pid, request({ imageSize: '21:9' }))).rejects.toThrow('not a size');
    // 4,000 characters count code points, not UTF-16 units.
    await expect(b.generate(pid, request({ prompt: '🦊'.repeat(4000) }))).resolves.toBeTruthy();
  });

  it('waits in the outbox while offline, then is sent when back online', async () => {
    const { b, pid } = await signedInProject();
    b.setOnline(false);
    const { generation: g, delta } = await b.generate(pid, request());
    expect(g).toMatchObject({ status: 'waiting', serverId: null });
    expect(delta.upserted[0]!.generationId).toBeNull();
    await new Promise((r) => setTimeout(r, 20));
    expect((await b.listGenerations(pid))[0]!.status).toBe('waiting');
    const seen = record(b);
    b.setOnline(true);
    const done = await until(b, g.id, 'completed');
    expect(done.serverId).not.toBeNull();
    // The placeholder learned its server id through a canvas change.
    expect(seen.deltas[0]!.upserted[0]).toMatchObject({ id: g.elementId, generationId: done.serverId });
  });

  it('fails with the reason, and retry keeps the placeholder', async () => {
    const { b, pid } = await signedInProject();
    b.setGenerationMode('fail');
    const { generation: g } = await b.generate(pid, request());
    const failed = await until(b, g.id, 'failed');
    expect(failed.error).toMatchObject({ code: 'FAL_FAILED', limit: null, storage: null });
    expect((await b.openProject(pid)).elements.map((e) => e.id)).toEqual([g.elementId]);
    await expect(b.cancelGeneration(g.id)).rejects.toThrow('Only a waiting');
    b.setGenerationMode('normal');
    const retried = await b.retryGeneration(g.id);
    expect(retried.error).toBeNull();
    expect(retried.elementId).toBe(g.elementId);
    await until(b, g.id, 'completed');
    await expect(b.retryGeneration(g.id)).rejects.toThrow('Only a failed');
  });

  it('reports the rate limit window when throttled (429)', async () => {
    const { b, pid } = await signedInProject();
    // The free tier makes 15 images an hour: 4 + 4 + 4 + 3 fit, the next is refused.
    for (const n of [4, 4, 4, 3]) {
      const { generation } = await b.generate(pid, request({ numImages: n }));
      await until(b, generation.id, 'completed');
    }
    const { generation: g } = await b.generate(pid, request({ numImages: 1 }));
    const failed = await until(b, g.id, 'failed');
    expect(failed.error?.code).toBe('RATE_LIMITED');
    expect(failed.error?.limit).toMatchObject({ window: 'hour', limit: 15, used: 15, remaining: 0, tier: 'free', upgradeUrl: 'https://iskra.app/pricing' });
    expect(Date.parse(failed.error!.limit!.resetsAt)).toBeGreaterThan(Date.now());
  });

  it('refuses when storage is full, with the quota', async () => {
    const { b, pid } = await signedInProject();
    b.remoteUsage = { bytes: 500_000_000, images: 0, videos: 0 };
    const { generation: g } = await b.generate(pid, request());
    const failed = await until(b, g.id, 'failed');
    expect(failed.error).toMatchObject({ code: 'STORAGE_QUOTA_EXCEEDED', limit: null, storage: { overLimit: true, limitBytes: 500_000_000 } });
  });

  it('cancels a queued generation and keeps its placeholder', async () => {
    backend = new MemoryBackend({ probe, syncDelayMs: 0, generationTiming: { queueMs: 10_000, runMs: 10_000 }, generationOutput: output });
    await backend.signIn();
    const p = await backend.createProject(null);
    const { generation: g } = await backend.generate(p.id, request());
    const second = await backend.generate(p.id, request({ prompt: 'second' }));
    expect(second.generation.queuePosition).toBe(2);
    const canceled = await backend.cancelGeneration(g.id);
    expect(canceled.status).toBe('canceled');
    expect((await backend.openProject(p.id)).elements.map((e) => e.id)).toContain(g.elementId);
    const list = await backend.listGenerations(p.id);
    expect(list.map((x) => x.prompt)).toEqual(['second', 'a red fox in snow']);
    expect(await backend.listGenerations(null)).toHaveLength(2);
  });
});
