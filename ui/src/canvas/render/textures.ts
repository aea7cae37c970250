/**
 * GPU textures of assets at four levels of detail, loaded on demand and released when unused.
 *
 * The scene asks for `(assetId, lod)` every time it draws a visible element; a miss starts a
 * load (at most `MAX_CONCURRENT` at once — `MAX_CONCURRENT_DOTS` for atlas cells — smallest
 * levels first so something shows quickly)
 * and the scene is told when it lands. Textures nobody has used for `IDLE_MS`, or beyond the
 * idle budget, are destroyed — panning away from a thousand images frees their GPU memory,
 * panning back within a few seconds finds them still there. A load that has not landed after
 * `LOAD_TIMEOUT_MS` is abandoned and asked for again by the next frame that needs it: WebKit
 * sometimes never settles an image's `decode()`, and six such loads would stall every other
 * texture behind them.
 *
 * `dot` images are not textures of their own but cells of the shared atlas (`CellStore`): a
 * load reserves a cell before it starts (none free: it waits in its queue), fills it when the
 * image lands and gives it back when the entry goes.
 */
import { Texture } from 'pixi.js';
import type { AssetVariant } from '../../backend/backend';
import { DOT_SIZE, type Lod, MICRO_SIZE } from '../math/lod';
import type { CellStore } from './atlas';

export type { Lod } from '../math/lod';

/** The file a level is made from: dot and micro images are shrunk from the thumbnail on the client. */
function variantOf(lod: Lod): AssetVariant {
  return lod === 'full' ? 'full' : 'thumb';
}

/** Loads running at once (decode is the bottleneck; more only competes for the CPU). */
export const MAX_CONCURRENT = 6;
/**
 * Dot loads running at once, beside the others. A load lands between frames, so with a slow
 * frame (ten thousand images in view on a software renderer) a few slots bound how fast a
 * far-out view fills in: dots are tiny to decode, so they get more.
 */
export const MAX_CONCURRENT_DOTS = 24;
/** A load that neither lands nor fails in this long is abandoned (and retried if still needed). */
export const LOAD_TIMEOUT_MS = 10000;
/** A texture unused this long is destroyed. */
export const IDLE_MS = 8000;
/** Idle textures kept at most, per level (full-size ones are large; dots hold atlas cells). */
const IDLE_BUDGET: Record<Lod, number> = { dot: 2000, micro: 2000, thumb: 400, full: 16 };
/** Levels in the order their loads are served: a rough picture everywhere beats a sharp one somewhere. */
const LODS: readonly Lod[] = ['dot', 'micro', 'thumb', 'full'];

type State = 'queued' | 'loading' | 'ready' | 'failed';

interface Entry {
  assetId: string;
  lod: Lod;
  state: State;
  texture: Texture | null;
  image: HTMLImageElement | HTMLCanvasElement | null;
  /** The atlas cell of a `dot` entry, from the start of its load. */
  cell: number | null;
  lastUsed: number;
  /** The frame (`sweep` count) it was last drawn in. */
  usedFrame: number;
}

/** First-in first-out entries of one level; entries that left the queued state are skipped. */
class Fifo {
  private items: Entry[] = [];
  private head = 0;

  push(e: Entry): void {
    this.items.push(e);
  }

  /** The oldest entry still waiting, left in place. */
  peek(live: (e: Entry) => boolean): Entry | undefined {
    while (this.head < this.items.length && !live(this.items[this.head]!)) this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return this.items[this.head];
  }

  drop(): void {
    this.head++;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export type TextureLookup = Texture | 'loading' | 'failed';

export interface TextureCacheOptions {
  /** The atlas `dot` images go into; without one, `dot` lookups fail. */
  cells?: CellStore;
  now?: () => number;
}

export class TextureCache {
  /** Per level, by asset id (no key strings built for each lookup of each frame). */
  private readonly entries: Record<Lod, Map<string, Entry>> = { dot: new Map(), micro: new Map(), thumb: new Map(), full: new Map() };
  private readonly queues: Record<Lod, Fifo> = { dot: new Fifo(), micro: new Fifo(), thumb: new Fifo(), full: new Fifo() };
  private queued = 0;
  private loading = 0;
  private loadingDots = 0;
  /** Sweeps so far: the current frame's number. */
  private frame = 1;
  /** The clock read once per frame, by the frame's first lookup. */
  private stamp = 0;
  private stampFrame = 0;
  private readonly cells: CellStore | null;
  private readonly now: () => number;

  constructor(
    private readonly urlFor: (assetId: string, variant: AssetVariant) => string,
    private readonly onLoaded: () => void,
    options: TextureCacheOptions = {},
  ) {
    this.cells = options.cells ?? null;
    this.now = options.now ?? (() => performance.now());
  }

  /** The texture if ready; otherwise starts (or continues) loading it. Marks it used. */
  get(assetId: string, lod: Lod): TextureLookup {
    const level = this.entries[lod];
    let e = level.get(assetId);
    if (!e) {
      e = { assetId, lod, state: 'queued', texture: null, image: null, cell: null, lastUsed: 0, usedFrame: 0 };
      level.set(assetId, e);
      if (lod === 'dot' && !this.cells) e.state = 'failed';
      else this.enqueue(e);
    }
    this.use(e);
    if (e.state === 'ready' && e.texture) return e.texture;
    return e.state === 'failed' ? 'failed' : 'loading';
  }

  /** Ready texture without starting a load (a fallback while the other level loads). */
  peek(assetId: string, lod: Lod): Texture | null {
    const e = this.entries[lod].get(assetId);
    if (e?.state !== 'ready' || !e.texture) return null;
    this.use(e);
    return e.texture;
  }

  /** Forgets everything about an asset (deleted, or its file changed). */
  invalidate(assetId: string): void {
    for (const lod of LODS) {
      const e = this.entries[lod].get(assetId);
      if (e) this.destroy(e);
    }
  }

  /**
   * Called once per rendered frame: destroys textures idle too long or beyond the budget,
   * never one drawn in this frame.
   */
  sweep(): void {
    const now = this.now();
    const idle: Record<Lod, Entry[]> = { dot: [], micro: [], thumb: [], full: [] };
    for (const e of this.all()) {
      if (e.usedFrame === this.frame || e.state === 'loading') continue;
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
    this.frame++;
    // Cells given back may let waiting dots start.
    this.pump();
  }

  stats(): { ready: number; loading: number; queued: number } {
    let ready = 0;
    for (const e of this.all()) if (e.state === 'ready') ready++;
    return { ready, loading: this.loading + this.loadingDots, queued: this.queued };
  }

  destroyAll(): void {
    for (const e of [...this.all()]) this.destroy(e);
    for (const lod of LODS) this.queues[lod].clear();
  }

  private *all(): Generator<Entry> {
    for (const lod of LODS) yield* this.entries[lod].values();
  }

  /** Whether `e` is still the cache's entry for its asset and level (not destroyed). */
  private isLive(e: Entry): boolean {
    return this.entries[e.lod].get(e.assetId) === e;
  }

  /** Marks `e` drawn in this frame. */
  private use(e: Entry): void {
    if (this.stampFrame !== this.frame) {
      this.stamp = this.now();
      this.stampFrame = this.frame;
    }
    e.lastUsed = this.stamp;
    e.usedFrame = this.frame;
  }

  private enqueue(e: Entry): void {
    this.queues[e.lod].push(e);
    this.queued++;
    this.pump();
  }

  private pump(): void {
    const live = (e: Entry) => e.state === 'queued' && this.isLive(e);
    for (const lod of LODS) {
      const queue = this.queues[lod];
      while (lod === 'dot' ? this.loadingDots < MAX_CONCURRENT_DOTS : this.loading < MAX_CONCURRENT) {
        const e = queue.peek(live);
        if (!e) break;
        if (lod === 'dot') {
          // A full atlas: dots wait until idle ones give their cells back.
          const cell = this.cells?.reserve() ?? null;
          if (cell === null) break;
          e.cell = cell;
        }
        queue.drop();
        this.queued--;
        void this.load(e);
      }
    }
  }

  private async load(e: Entry): Promise<void> {
    const url = this.urlFor(e.assetId, variantOf(e.lod));
    e.state = 'loading';
    if (e.lod === 'dot') this.loadingDots++;
    else this.loading++;
    try {
      if (!url) throw new Error('missing');
      const img = new Image();
      img.decoding = 'async';
      img.crossOrigin = 'anonymous';
      img.src = url;
      if (!(await settlesWithin(img.decode(), LOAD_TIMEOUT_MS))) {
        img.src = '';
        // Forget it: the next frame that still shows the element queues it afresh.
        if (this.isLive(e)) this.destroy(e);
        return;
      }
      if (!this.isLive(e)) return; // invalidated meanwhile
      if (e.lod === 'dot' && this.cells && e.cell !== null) {
        e.texture = this.cells.fill(e.cell, square(img, DOT_SIZE));
        img.src = '';
      } else {
        e.image = e.lod === 'micro' ? shrink(img) : img;
        if (e.lod === 'micro') img.src = '';
        e.texture = Texture.from(e.image, true);
        e.texture.source.autoGenerateMipmaps = true;
        e.texture.source.scaleMode = 'linear';
      }
      e.state = 'ready';
    } catch {
      if (this.isLive(e)) {
        e.state = 'failed';
        if (e.cell !== null) this.cells?.release(e.cell);
        e.cell = null;
      }
    } finally {
      if (e.lod === 'dot') this.loadingDots--;
      else this.loading--;
      this.pump();
      this.onLoaded();
    }
  }

  private destroy(e: Entry): void {
    if (this.isLive(e)) this.entries[e.lod].delete(e.assetId);
    // Still in its queue: the queue skips it when its turn comes.
    if (e.state === 'queued') this.queued--;
    e.state = 'failed';
    if (e.cell !== null) {
      // The cell's texture belongs to the atlas.
      this.cells?.release(e.cell);
      e.cell = null;
    } else if (e.texture) e.texture.destroy(true);
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

/** `img` stretched to a `side` px square (the atlas cell; the element's box restores its shape). */
function square(img: HTMLImageElement, side: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = side;
  c.height = side;
  const ctx = c.getContext('2d');
  if (ctx) {
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(img, 0, 0, side, side);
  }
  return c;
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
