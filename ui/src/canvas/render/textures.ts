/**
 * GPU textures of assets at two levels of detail, loaded on demand and released when unused.
 *
 * The scene asks for `(assetId, lod)` every time it draws a visible element; a miss starts a
 * load (at most `MAX_CONCURRENT` at once, thumbnails first so something shows quickly) and
 * the scene is told when it lands. Textures nobody has used for `IDLE_MS`, or beyond the idle
 * budget, are destroyed — panning away from a thousand images frees their GPU memory, panning
 * back within a few seconds finds them still there. A load that has not landed after
 * `LOAD_TIMEOUT_MS` is abandoned and asked for again by the next frame that needs it: WebKit
 * sometimes never settles an image's `decode()`, and six such loads would stall every other
 * texture behind them.
 */
import { Texture } from 'pixi.js';
import type { AssetVariant } from '../../backend/backend';
import { type Lod, MICRO_SIZE } from '../math/lod';

export type { Lod } from '../math/lod';

/** The file a level is made from: micro textures are shrunk from the thumbnail on the client. */
function variantOf(lod: Lod): AssetVariant {
  return lod === 'full' ? 'full' : 'thumb';
}

/** Loads running at once (decode is the bottleneck; more only competes for the CPU). */
export const MAX_CONCURRENT = 6;
/** A load that neither lands nor fails in this long is abandoned (and retried if still needed). */
export const LOAD_TIMEOUT_MS = 10000;
/** A texture unused this long is destroyed. */
export const IDLE_MS = 8000;
/** Idle textures kept at most, per level (full-size ones are large). */
const IDLE_BUDGET: Record<Lod, number> = { micro: 20000, thumb: 400, full: 16 };
const LODS: readonly Lod[] = ['micro', 'thumb', 'full'];

type State = 'queued' | 'loading' | 'ready' | 'failed';

interface Entry {
  key: string;
  assetId: string;
  lod: Lod;
  state: State;
  texture: Texture | null;
  image: HTMLImageElement | HTMLCanvasElement | null;
  lastUsed: number;
}

export type TextureLookup = Texture | 'loading' | 'failed';

export class TextureCache {
  private readonly entries = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  private loading = 0;
  private usedThisFrame = new Set<string>();

  constructor(
    private readonly urlFor: (assetId: string, variant: AssetVariant) => string,
    private readonly onLoaded: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The texture if ready; otherwise starts (or continues) loading it. Marks it used. */
  get(assetId: string, lod: Lod): TextureLookup {
    const key = `${lod}:${assetId}`;
    let e = this.entries.get(key);
    if (!e) {
      e = { key, assetId, lod, state: 'queued', texture: null, image: null, lastUsed: this.now() };
      this.entries.set(key, e);
      this.enqueue(e);
    }
    e.lastUsed = this.now();
    this.usedThisFrame.add(key);
    if (e.state === 'ready' && e.texture) return e.texture;
    return e.state === 'failed' ? 'failed' : 'loading';
  }

  /** Ready texture without starting a load (a fallback while the other level loads). */
  peek(assetId: string, lod: Lod): Texture | null {
    const e = this.entries.get(`${lod}:${assetId}`);
    if (e?.state !== 'ready' || !e.texture) return null;
    e.lastUsed = this.now();
    this.usedThisFrame.add(e.key);
    return e.texture;
  }

  /** Forgets everything about an asset (deleted, or its file changed). */
  invalidate(assetId: string): void {
    for (const lod of LODS) {
      const e = this.entries.get(`${lod}:${assetId}`);
      if (e) this.destroy(e);
    }
  }

  /**
   * Called once per rendered frame: destroys textures idle too long or beyond the budget,
   * never one drawn in this frame.
   */
  sweep(): void {
    const now = this.now();
    const idle: Record<Lod, Entry[]> = { micro: [], thumb: [], full: [] };
    for (const e of this.entries.values()) {
      if (this.usedThisFrame.has(e.key) || e.state === 'loading') continue;
      if (e.state === 'queued') {
        // Requested but scrolled away before its turn: drop it from the queue.
        if (now - e.lastUsed > 250) this.destroy(e);
        continue;
      }
      if (now - e.lastUsed > IDLE_MS) this.destroy(e);
      else idle[e.lod].push(e);
    }
    for (const lod of LODS) {
      const list = idle[lod];
      if (list.length <= IDLE_BUDGET[lod]) continue;
      list.sort((a, b) => a.lastUsed - b.lastUsed);
      for (const e of list.slice(0, list.length - IDLE_BUDGET[lod])) this.destroy(e);
    }
    this.usedThisFrame = new Set();
  }

  stats(): { ready: number; loading: number; queued: number } {
    let ready = 0;
    for (const e of this.entries.values()) if (e.state === 'ready') ready++;
    return { ready, loading: this.loading, queued: this.queue.length };
  }

  destroyAll(): void {
    for (const e of [...this.entries.values()]) this.destroy(e);
    this.queue.length = 0;
  }

  private enqueue(e: Entry): void {
    // Small levels jump the queue: a rough picture everywhere beats a sharp one somewhere.
    if (e.lod !== 'full') {
      const firstFull = this.queue.findIndex((q) => q.lod === 'full');
      this.queue.splice(firstFull === -1 ? this.queue.length : firstFull, 0, e);
    } else this.queue.push(e);
    this.pump();
  }

  private pump(): void {
    while (this.loading < MAX_CONCURRENT && this.queue.length > 0) {
      const e = this.queue.shift()!;
      if (this.entries.get(e.key) !== e || e.state !== 'queued') continue;
      void this.load(e);
    }
  }

  private async load(e: Entry): Promise<void> {
    const url = this.urlFor(e.assetId, variantOf(e.lod));
    e.state = 'loading';
    this.loading++;
    try {
      if (!url) throw new Error('missing');
      const img = new Image();
      img.decoding = 'async';
      img.crossOrigin = 'anonymous';
      img.src = url;
      if (!(await settlesWithin(img.decode(), LOAD_TIMEOUT_MS))) {
        img.src = '';
        // Forget it: the next frame that still shows the element queues it afresh.
        if (this.entries.get(e.key) === e) this.destroy(e);
        return;
      }
      if (this.entries.get(e.key) !== e) return; // invalidated meanwhile
      e.image = e.lod === 'micro' ? shrink(img) : img;
      if (e.lod === 'micro') img.src = '';
      e.texture = Texture.from(e.image, true);
      e.texture.source.autoGenerateMipmaps = true;
      e.texture.source.scaleMode = 'linear';
      e.state = 'ready';
    } catch {
      if (this.entries.get(e.key) === e) e.state = 'failed';
    } finally {
      this.loading--;
      this.pump();
      this.onLoaded();
    }
  }

  private destroy(e: Entry): void {
    this.entries.delete(e.key);
    const i = this.queue.indexOf(e);
    if (i !== -1) this.queue.splice(i, 1);
    if (e.texture) e.texture.destroy(true);
    if (e.image instanceof HTMLImageElement) e.image.src = '';
    e.texture = null;
    e.image = null;
  }
}

/** Whether `p` resolves within `ms` (a rejection is passed on). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A copy of `img` at most MICRO_SIZE px on its longest side (16 KB of GPU memory, not 400). */
function shrink(img: HTMLImageElement): HTMLCanvasElement {
  const s = Math.min(1, MICRO_SIZE / Math.max(img.naturalWidth, img.naturalHeight, 1));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(img.naturalWidth * s));
  c.height = Math.max(1, Math.round(img.naturalHeight * s));
  c.getContext('2d')?.drawImage(img, 0, 0, c.width, c.height);
  return c;
}
