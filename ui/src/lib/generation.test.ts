import { describe, expect, it } from 'vitest';
import type { Element, LocalGeneration, ModelInfo } from '../backend/types';
import {
  activeLimit,
  activeStorageFailure,
  buildRequest,
  checkSource,
  defaultModel,
  defaultSize,
  failureReason,
  freeSpot,
  formProblem,
  limitMessage,
  maxOutputs,
  modelsFor,
  placementFor,
  placeholderSize,
  promptCounter,
  resetsText,
  sizeAspect,
  sizeLabel,
  statusText,
  storageMessage,
  truncate,
  type GenerationForm,
} from './generation';

const MODELS: ModelInfo[] = [
  { id: 'dev', kind: 'text-to-image', label: 'Dev', default: false, maxImages: 4, sizes: ['square_hd', 'landscape_16_9'] },
  { id: 'schnell', kind: 'text-to-image', label: 'Schnell', default: true, maxImages: 2, sizes: ['portrait_4_3', 'square_hd'] },
  { id: 'remix', kind: 'image-to-image', label: 'Remix', default: true, maxImages: 4, sizes: ['square'] },
  { id: 'kling', kind: 'image-to-video', label: 'Kling', default: true, maxImages: 1, sizes: ['16:9', '9:16'] },
];

function el(over: Partial<Element> = {}): Element {
  return { id: 'e1', kind: 'image', assetId: 'a'.repeat(64), x: 0, y: 0, width: 400, height: 200, rotation: 0, z: 'a0', locked: false, playback: null, generationId: null, ...over };
}

function form(over: Partial<GenerationForm> = {}): GenerationForm {
  return { kind: 'text-to-image', prompt: 'a red fox', model: 'schnell', size: 'square_hd', count: 1, ...over };
}

function gen(over: Partial<LocalGeneration> = {}): LocalGeneration {
  return { id: 'g', serverId: 's', projectId: 'p', elementId: 'e', kind: 'text-to-image', prompt: 'p', model: 'm', params: {}, status: 'queued', queuePosition: null, error: null, outputs: [], createdAt: '2025-03-01T10:00:00Z', ...over };
}

const LIMIT = { window: 'hour' as const, limit: 15, used: 15, remaining: 0, resetsAt: '', tier: 'free', upgradeUrl: 'https://iskra.app/pricing' };

describe('models and sizes', () => {
  it('filters by kind with the default first, and prefers square HD', () => {
    expect(modelsFor(MODELS, 'text-to-image').map((m) => m.id)).toEqual(['schnell', 'dev']);
    expect(defaultModel(MODELS, 'image-to-video')?.id).toBe('kling');
    expect(defaultModel([], 'text-to-image')).toBeNull();
    expect(defaultSize(MODELS[1]!)).toBe('square_hd');
    expect(defaultSize(MODELS[3]!)).toBe('16:9');
    expect(defaultSize(null)).toBeNull();
  });

  it('names sizes for people', () => {
    expect(sizeLabel('square_hd')).toBe('Square HD');
    expect(sizeLabel('landscape_16_9')).toBe('Landscape 16:9');
    expect(sizeLabel('portrait_16_9')).toBe('Portrait 9:16');
    expect(sizeLabel('portrait_4_3')).toBe('Portrait 3:4');
    expect(sizeLabel('landscape_21_9')).toBe('Landscape 21:9');
    expect(sizeLabel('9:16')).toBe('9:16');
    expect(sizeLabel('1024x768')).toBe('1024 × 768');
    expect(sizeLabel('extra_wide')).toBe('Extra wide');
  });

  it('knows the aspect of each size', () => {
    expect(sizeAspect('landscape_16_9')).toBeCloseTo(16 / 9);
    expect(sizeAspect('portrait_4_3')).toBeCloseTo(3 / 4);
    expect(sizeAspect('9:16')).toBeCloseTo(9 / 16);
    expect(sizeAspect('portrait_21_9')).toBeCloseTo(9 / 21);
    expect(sizeAspect(null)).toBe(1);
  });

  it('caps outputs by the model, and videos at one', () => {
    expect(maxOutputs(MODELS[0]!, 'text-to-image')).toBe(4);
    expect(maxOutputs(MODELS[1]!, 'text-to-image')).toBe(2);
    expect(maxOutputs(MODELS[3]!, 'image-to-video')).toBe(1);
    expect(maxOutputs(null, 'text-to-image')).toBe(1);
  });
});

describe('the source of image-to-image and image-to-video', () => {
  it('needs nothing for text-to-image', () => {
    expect(checkSource('text-to-image', [])).toEqual({ ok: true, element: null });
    expect(checkSource('text-to-image', [el(), el({ id: 'e2' })])).toEqual({ ok: true, element: null });
  });

  it('needs exactly one image with its file', () => {
    expect(checkSource('image-to-image', [])).toEqual({ ok: false, reason: 'Select an image on the canvas to start from' });
    expect(checkSource('image-to-video', [])).toEqual({ ok: false, reason: 'Select an image on the canvas to animate' });
    expect(checkSource('image-to-image', [el(), el({ id: 'e2' })])).toMatchObject({ ok: false, reason: 'Select just one image — 2 elements are selected' });
    expect(checkSource('image-to-video', [el({ kind: 'video' })])).toMatchObject({ ok: false, reason: expect.stringContaining('video can’t be the source') });
    expect(checkSource('image-to-image', [el({ kind: 'generation', assetId: null })])).toMatchObject({ ok: false, reason: expect.stringContaining('still generating') });
    expect(checkSource('image-to-image', [el()], () => false)).toMatchObject({ ok: false, reason: expect.stringContaining('missing') });
    const one = el();
    expect(checkSource('image-to-image', [one])).toEqual({ ok: true, element: one });
  });

  it('sizes a placeholder as the engine does: the requested size, else the source, else 1024 square', () => {
    expect(placeholderSize('landscape_16_9', null)).toEqual({ width: 1024, height: 576 });
    expect(placeholderSize('640x480', { width: 10, height: 10 })).toEqual({ width: 640, height: 480 });
    expect(placeholderSize(null, { width: 400, height: 200 })).toEqual({ width: 400, height: 200 });
    expect(placeholderSize('16:9', null)).toEqual({ width: 1024, height: 1024 });
  });

  it('places the result beside the source, or at the view centre', () => {
    expect(placementFor(null, { x: 5, y: 6 })).toEqual({ x: 5, y: 6 });
    // Source 400×200 at (0,0): a square result of the same height sits 48 to its right.
    expect(placementFor(el(), { x: 5, y: 6 }, 1)).toEqual({ x: 400 + 48 + 100, y: 100 });
  });

  it('moves a placeholder off existing elements to the nearest free spot', () => {
    const taken = [{ x: -300, y: -300, width: 600, height: 600 }];
    const hits = (r: { x: number; y: number; width: number; height: number }) =>
      taken.some((t) => r.x < t.x + t.width && r.x + r.width > t.x && r.y < t.y + t.height && r.y + r.height > t.y);
    // Free already: stays.
    expect(freeSpot({ x: 2000, y: 0 }, { width: 512, height: 512 }, hits)).toEqual({ x: 2000, y: 0 });
    const spot = freeSpot({ x: 0, y: 0 }, { width: 200, height: 200 }, hits, null, 40);
    expect(hits({ x: spot.x - 120, y: spot.y - 120, width: 240, height: 240 })).toBe(false);
    // The nearest free cell is beside the taken square, level with it (horizontal moves first).
    expect(spot.y).toBe(0);
    expect(Math.abs(spot.x)).toBeLessThan(600);
    // Only inside the view: a view just around the square has no room, so the wanted point.
    expect(freeSpot({ x: 0, y: 0 }, { width: 200, height: 200 }, hits, { x: -350, y: -350, width: 700, height: 700 }, 40)).toEqual({ x: 0, y: 0 });
    const inView = freeSpot({ x: 0, y: 0 }, { width: 200, height: 200 }, hits, { x: -1000, y: -400, width: 2000, height: 800 }, 40);
    expect(inView.y - 120).toBeGreaterThanOrEqual(-400);
    expect(hits({ x: inView.x - 120, y: inView.y - 120, width: 240, height: 240 })).toBe(false);
    // Nothing free within reach: the wanted point.
    expect(freeSpot({ x: 0, y: 0 }, { width: 10, height: 10 }, () => true)).toEqual({ x: 0, y: 0 });
  });
});

describe('the form', () => {
  const ok = checkSource('text-to-image', []);

  it('counts the prompt in characters', () => {
    expect(promptCounter('')).toBe('0 / 4,000');
    expect(promptCounter('🦊🦊')).toBe('2 / 4,000');
    expect(promptCounter('x'.repeat(4000))).toBe('4,000 / 4,000');
  });

  it('validates the prompt: 1–4,000 characters', () => {
    expect(formProblem(form({ prompt: '  \n ' }), MODELS, ok)).toBe('Describe what to generate');
    expect(formProblem(form({ prompt: 'x'.repeat(4000) }), MODELS, ok)).toBeNull();
    expect(formProblem(form({ prompt: '🦊'.repeat(4000) }), MODELS, ok)).toBeNull();
    expect(formProblem(form({ prompt: 'x'.repeat(4012) }), MODELS, ok)).toBe('The prompt is 12 characters too long (4,000 at most)');
    expect(formProblem(form({ prompt: 'a\u0007b' }), MODELS, ok)).toBe('The prompt contains control characters');
    expect(formProblem(form({ prompt: 'line one\nline two\tok' }), MODELS, ok)).toBeNull();
  });

  it('checks the model, size and count against the catalogue', () => {
    expect(formProblem(form({ model: 'kling' }), MODELS, ok)).toBe('Choose a model for this kind');
    expect(formProblem(form({ size: 'landscape_16_9' }), MODELS, ok)).toBe('Choose one of the model’s sizes');
    expect(formProblem(form({ count: 3 }), MODELS, ok)).toBe('Choose 1 to 2 outputs');
    expect(formProblem(form({ model: 'dev', size: 'landscape_16_9', count: 4 }), MODELS, ok)).toBeNull();
    expect(formProblem(form({ kind: 'image-to-video', model: 'kling', size: '16:9', count: 2 }), MODELS, checkSource('image-to-video', [el()]))).toBe('This model makes one output');
    // No catalogue yet (never fetched): the engine takes its defaults.
    expect(formProblem(form({ model: null, size: null }), [], ok)).toBeNull();
  });

  it('reports a missing source before anything about models', () => {
    expect(formProblem(form({ kind: 'image-to-image', model: 'remix', size: 'square' }), MODELS, checkSource('image-to-image', []))).toBe('Select an image on the canvas to start from');
  });

  it('builds the request of the contract', () => {
    const source = el({ id: 'src' });
    expect(buildRequest(form({ prompt: '  a fox  ', count: 2 }), null, { x: 1, y: 2 })).toEqual({
      kind: 'text-to-image',
      model: 'schnell',
      prompt: 'a fox',
      imageSize: 'square_hd',
      numImages: 2,
      seed: null,
      durationS: null,
      sourceElementId: null,
      at: { x: 1, y: 2 },
    });
    const video = buildRequest(form({ kind: 'image-to-video', model: 'kling', size: '16:9', count: 1 }), source, { x: 0, y: 0 });
    expect(video).toMatchObject({ kind: 'image-to-video', numImages: null, sourceElementId: 'src' });
  });
});

describe('status words', () => {
  it('says what a placeholder is doing', () => {
    expect(statusText(gen({ status: 'waiting' }))).toBe('Waiting to send — offline');
    expect(statusText(gen({ status: 'queued', queuePosition: 3 }))).toBe('Queued · #3');
    expect(statusText(gen({ status: 'queued', queuePosition: null }))).toBe('Queued');
    expect(statusText(gen({ status: 'running' }))).toBe('Generating…');
    expect(statusText(gen({ status: 'canceled' }))).toBe('Canceled');
    expect(statusText(gen({ status: 'failed', error: { code: 'FAL_FAILED', message: 'the prompt was flagged.', limit: null, storage: null, credits: null } }))).toBe('Failed: The prompt was flagged');
    expect(statusText(gen({ status: 'failed', error: { code: 'RATE_LIMITED', message: 'x', limit: LIMIT, storage: null, credits: null } }))).toBe('Failed: Hourly image limit reached');
    expect(failureReason(gen({ kind: 'image-to-video', error: { code: 'RATE_LIMITED', message: 'x', limit: { ...LIMIT, window: 'day' }, storage: null, credits: null } }))).toBe('Daily video limit reached');
    expect(failureReason(gen({ error: { code: 'STORAGE_QUOTA_EXCEEDED', message: 'x', limit: null, storage: null, credits: null } }))).toBe('Storage is full');
    expect(statusText(gen({ status: 'failed', error: { code: 'INSUFFICIENT_CREDITS', message: 'not enough credits', limit: null, storage: null, credits: { required: 12, available: 5 } } }))).toBe('Failed: Not enough credits');
  });

  it('shortens long prompts on a word boundary', () => {
    expect(truncate('a red fox', 20)).toBe('a red fox');
    expect(truncate('a red fox jumping over the lazy dog in the snow', 20)).toBe('a red fox jumping…');
    expect(truncate('  many\n\nspaces  ', 20)).toBe('many spaces');
  });
});

describe('throttling and quota', () => {
  const now = new Date(2025, 2, 1, 13, 20, 0);

  it('says when a window resets', () => {
    expect(resetsText(new Date(2025, 2, 1, 14, 0).toISOString(), now)).toBe('resets at 14:00');
    expect(resetsText(new Date(2025, 2, 1, 13, 20, 42).toISOString(), now)).toBe('resets in 42 s');
    expect(resetsText(new Date(2025, 2, 2, 0, 0).toISOString(), now)).toBe('resets tomorrow at 00:00');
    expect(resetsText(new Date(2025, 2, 5, 0, 0).toISOString(), now)).toBe('resets on 5 Mar');
    expect(resetsText(new Date(2025, 2, 1, 13, 0).toISOString(), now)).toBe('resets now');
  });

  it('explains a rate limit: window, use, what is left, the reset and the upgrade', () => {
    const m = limitMessage({ ...LIMIT, resetsAt: new Date(2025, 2, 1, 14, 0).toISOString() }, 'text-to-image', now);
    expect(m).toEqual({
      title: 'Hourly image limit reached: 15 of 15 used — resets at 14:00',
      detail: 'No images left this hour.',
      upgradeUrl: 'https://iskra.app/pricing',
    });
    const video = limitMessage({ ...LIMIT, window: 'day', limit: 3, used: 2, remaining: 1, tier: 'pro', resetsAt: new Date(2025, 2, 2, 0, 0).toISOString() }, 'image-to-video', now);
    expect(video).toEqual({ title: 'Daily video limit reached: 2 of 3 used — resets tomorrow at 00:00', detail: '1 video left today.', upgradeUrl: null });
    const minute = limitMessage({ ...LIMIT, window: 'minute', limit: 1200, used: 1200, tier: null, resetsAt: new Date(2025, 2, 1, 13, 20, 30).toISOString() }, 'image-to-image', now);
    expect(minute.title).toBe('Per-minute image limit reached: 1,200 of 1,200 used — resets in 30 s');
    expect(minute.upgradeUrl).toBe('https://iskra.app/pricing');
  });

  it('shows the newest limit until its window resets', () => {
    const limited = (id: string, createdAt: string, resetsAt: Date) =>
      gen({ id, createdAt, status: 'failed', error: { code: 'RATE_LIMITED', message: '', limit: { ...LIMIT, resetsAt: resetsAt.toISOString() }, storage: null, credits: null } });
    const old = limited('old', '2025-03-01T09:00:00Z', new Date(2025, 2, 1, 10, 0));
    const fresh = limited('fresh', '2025-03-01T13:00:00Z', new Date(2025, 2, 1, 14, 0));
    expect(activeLimit([old, gen()], now)).toBeNull();
    expect(activeLimit([old, fresh, gen()], now)?.id).toBe('fresh');
  });

  it('words a full storage and forgets it after a success', () => {
    const storage = { usedBytes: 500_000_000, limitBytes: 500_000_000, images: 40, imagesLimit: 100, videos: 2, videosLimit: 20, overLimit: true };
    expect(storageMessage(storage)).toBe('Storage is full: 500 MB of 500 MB used');
    expect(storageMessage({ ...storage, usedBytes: 10, images: 100 })).toBe('Storage is full: 100 of 100 images used');
    const full = gen({ id: 'full', status: 'failed', createdAt: '2025-03-01T10:00:00Z', error: { code: 'STORAGE_QUOTA_EXCEEDED', message: '', limit: null, storage, credits: null } });
    expect(activeStorageFailure([full])?.id).toBe('full');
    expect(activeStorageFailure([full, gen({ status: 'completed', createdAt: '2025-03-01T11:00:00Z' })])).toBeNull();
  });
});
