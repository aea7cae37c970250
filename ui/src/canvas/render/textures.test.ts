import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Textures are opaque to the cache: a stand-in that records being destroyed.
vi.mock('pixi.js', () => ({
  Texture: {
    from: () => ({ destroyed: false, source: {}, destroy(this: { destroyed: boolean }) { this.destroyed = true; } }),
  },
}));

import type { Texture } from 'pixi.js';
import { IDLE_MS, LOAD_TIMEOUT_MS, MAX_CONCURRENT, TextureCache } from './textures';

/** Images whose `decode()` the test settles by hand (or never, like a stuck WebKit load). */
class FakeImage {
  static all: FakeImage[] = [];
  src = '';
  decoding = '';
  crossOrigin = '';
  naturalWidth = 240;
  naturalHeight = 180;
  resolve: () => void = () => undefined;
  reject: (e: unknown) => void = () => undefined;
  constructor() {
    FakeImage.all.push(this);
  }
  decode(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** Lets pending promise callbacks run. */
const flush = () => new Promise<void>((r) => setImmediate(r));

describe('TextureCache', () => {
  let now = 0;
  let cache: TextureCache;
  let loaded = 0;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    FakeImage.all = [];
    vi.stubGlobal('Image', FakeImage);
    vi.stubGlobal('HTMLImageElement', FakeImage);
    now = 0;
    loaded = 0;
    cache = new TextureCache(
      (id, variant) => `iskra-asset://localhost/${variant}/${id}`,
      () => loaded++,
      { now: () => now },
    );
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('loads at most MAX_CONCURRENT at once and hands out the texture once decoded', async () => {
    for (let i = 0; i < 10; i++) expect(cache.get(`a${i}`, 'thumb')).toBe('loading');
    expect(cache.stats()).toEqual({ ready: 0, loading: MAX_CONCURRENT, queued: 10 - MAX_CONCURRENT });
    FakeImage.all[0]!.resolve();
    await flush();
    expect(cache.stats()).toEqual({ ready: 1, loading: MAX_CONCURRENT, queued: 10 - MAX_CONCURRENT - 1 });
    expect(typeof cache.get('a0', 'thumb')).toBe('object');
    expect(loaded).toBe(1);
  });

  it('abandons a load that never settles, frees its slot and asks again when still needed', async () => {
    for (let i = 0; i < MAX_CONCURRENT + 1; i++) cache.get(`a${i}`, 'thumb');
    // None of the six running decodes ever settles.
    vi.advanceTimersByTime(LOAD_TIMEOUT_MS);
    await flush();
    // The six slots are free: the queued one started, the stuck ones are forgotten.
    expect(cache.stats()).toEqual({ ready: 0, loading: 1, queued: 0 });
    expect(FakeImage.all[0]!.src).toBe('');
    expect(loaded).toBe(MAX_CONCURRENT);
    // The next frame still shows a0: it is queued again with a fresh image, which lands.
    expect(cache.get('a0', 'thumb')).toBe('loading');
    const retry = FakeImage.all.at(-1)!;
    expect(retry.src).toContain('/thumb/a0');
    retry.resolve();
    await flush();
    expect(typeof cache.get('a0', 'thumb')).toBe('object');
  });

  it('marks a load that fails as failed and does not retry it', async () => {
    cache.get('bad', 'full');
    FakeImage.all[0]!.reject(new Error('404'));
    await flush();
    expect(cache.get('bad', 'full')).toBe('failed');
    expect(FakeImage.all).toHaveLength(1);
  });

  it('destroys textures left unused for IDLE_MS, never one drawn this frame', async () => {
    cache.get('a', 'thumb');
    cache.get('b', 'thumb');
    FakeImage.all.forEach((i) => i.resolve());
    await flush();
    const a = cache.get('a', 'thumb') as unknown as { destroyed: boolean };
    cache.sweep();
    now += IDLE_MS + 1;
    cache.get('a', 'thumb');
    cache.sweep();
    expect(cache.stats().ready).toBe(1);
    expect(a.destroyed).toBe(false);
    expect(cache.peek('b', 'thumb')).toBeNull();
  });

  it('puts dot images into atlas cells, waits while the atlas is full and gives cells back', async () => {
    const free = [1, 2];
    const filled: number[] = [];
    const cells = {
      reserve: () => free.shift() ?? null,
      fill: (cell: number) => {
        filled.push(cell);
        return { cell, destroy: () => { throw new Error('an atlas cell is not destroyed'); } } as unknown as Texture;
      },
      release: (cell: number) => free.push(cell),
    };
    vi.stubGlobal('document', { createElement: () => ({ width: 0, height: 0, getContext: () => null }) });
    const dots = new TextureCache((id, v) => `iskra-asset://localhost/${v}/${id}`, () => loaded++, { cells, now: () => now });
    for (const id of ['a', 'b', 'c']) expect(dots.get(id, 'dot')).toBe('loading');
    // Two cells: two loads, the third waits for a cell.
    expect(dots.stats()).toEqual({ ready: 0, loading: 2, queued: 1 });
    expect(FakeImage.all.map((i) => i.src)).toEqual(['iskra-asset://localhost/thumb/a', 'iskra-asset://localhost/thumb/b']);
    FakeImage.all.forEach((i) => i.resolve());
    await flush();
    expect(filled).toEqual([1, 2]);
    expect(dots.get('a', 'dot')).toMatchObject({ cell: 1 });
    dots.sweep();
    // a and b idle past IDLE_MS while c is still wanted: their cells go to c.
    now += IDLE_MS + 1;
    dots.get('c', 'dot');
    dots.sweep();
    expect(dots.stats()).toEqual({ ready: 0, loading: 1, queued: 0 });
    FakeImage.all.at(-1)!.reject(new Error('404'));
    await flush();
    expect(dots.get('c', 'dot')).toBe('failed');
    // A failed load keeps no cell.
    expect(free.sort()).toEqual([1, 2]);
  });
});
