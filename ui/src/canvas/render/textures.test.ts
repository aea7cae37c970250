import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Textures are opaque to the cache: a stand-in that records being destroyed.
vi.mock('pixi.js', () => ({
  Texture: {
    from: () => ({ destroyed: false, source: {}, destroy(this: { destroyed: boolean }) { this.destroyed = true; } }),
  },
}));

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
      () => now,
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
});
