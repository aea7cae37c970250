/**
 * The world layer: GPU nodes for the elements in view and nothing else.
 *
 * Each `cull` pass asks the doc's spatial grid what intersects the view (plus a margin), walks
 * it bottom to top, creates nodes for newcomers, destroys nodes that left, lays out the rest,
 * and picks each element's texture level from its size on screen. Elements at the `dot` level
 * (a few pixels across, zoomed far out) get no node: they are particles of the atlas in the
 * far layer (`dots.ts`). Video elements large enough get a live player. Off-screen elements
 * therefore cost no GPU memory and no draw calls, which is what keeps a canvas of a hundred
 * thousand images smooth.
 */
import { Container } from 'pixi.js';
import type { Element, Playback } from '../../backend/types';
import type { CanvasDoc } from '../doc';
import { type Camera, visibleWorldRect } from '../math/camera';
import { type Box, boxIntersectsRect, expandRect, type Size } from '../math/geometry';
import { type Lod, chooseLod, screenExtent } from '../math/lod';
import type { DotAtlas } from './atlas';
import { DotLayer } from './dots';
import type { CardInfo, GenerationCard } from './generationCard';
import { ElementNode } from './node';
import type { TextureCache } from './textures';
import type { CanvasTheme } from './theme';
import { VideoPlayer, type VideoState } from './video';

/** Extra view area kept alive around the screen, as a fraction of its size (smooth panning). */
const MARGIN = 0.25;
/** A video plays in place once it is at least this many CSS pixels wide on screen. */
export const VIDEO_MIN_PX = 120;
/** Generation cards animate (spinner, sweep) once this many CSS pixels wide on screen… */
export const CARD_ANIMATE_MIN_PX = 56;
/** …and at most this many at once (the rest show a still frame). */
export const MAX_ANIMATED_CARDS = 8;

export interface SceneHost {
  doc: CanvasDoc;
  textures: TextureCache;
  /** The atlas far-out images are drawn from (cells are taken through `textures`). */
  atlas: DotAtlas;
  theme: CanvasTheme;
  /** Whether the asset still exists (deleted ones render as "missing asset"). */
  isAvailable(assetId: string): boolean;
  assetUrl(assetId: string): string;
  onVideoChange(): void;
  /** A player was closed (scrolled away, asset gone): its last state, to be saved. */
  onPlayerClosed(id: string, playback: Playback): void;
  /** What the placeholder of a generation (element kind `generation`) shows. */
  generationCard(el: Element): CardInfo;
}

export class Scene {
  readonly world = new Container({ sortableChildren: true });
  private readonly nodes = new Map<string, ElementNode>();
  private readonly players = new Map<string, VideoPlayer>();
  private readonly dots: DotLayer;
  /** Elements the last pass drew as dots (their level, for the next pass's hysteresis). */
  private dotIds = new Set<string>();
  /** Cards in view that show progress, ticked by the engine's animation frames. */
  private animated: GenerationCard[] = [];

  constructor(private readonly host: SceneHost) {
    this.dots = new DotLayer(this.world, () => host.atlas.texture);
  }

  /** Elements drawn: nodes and dots. */
  get visibleCount(): number {
    return this.nodes.size + this.dots.count;
  }

  player(id: string): VideoPlayer | undefined {
    return this.players.get(id);
  }

  /** Whether some card in view animates (the engine then keeps ticking, at a low rate). */
  get animating(): boolean {
    return this.animated.length > 0;
  }

  /** Advances the animated cards to time `t` (ms); no layout. */
  tick(t: number): void {
    for (const c of this.animated) c.tick(t);
  }

  anyPlaying(): boolean {
    for (const p of this.players.values()) if (!p.video.paused) return true;
    return false;
  }

  /** Lays out the world for `cam` over a view of `view` CSS pixels. */
  cull(cam: Camera, view: Size, dpr: number): void {
    const { doc, textures } = this.host;
    this.world.position.set(-cam.x * cam.scale, -cam.y * cam.scale);
    this.world.scale.set(cam.scale);
    const vis = visibleWorldRect(cam, view);
    // Zoomed far out (the last pass drew mostly dots), the margin would only hold dots that
    // are not drawn: the query keeps to the view.
    const farOut = this.dots.count > this.nodes.size;
    const ids = doc.query(farOut ? vis : expandRect(vis, Math.max(vis.width, vis.height) * MARGIN));
    this.animated = [];

    for (const [id, node] of this.nodes) {
      if (!ids.has(id) || !doc.get(id)) this.dropNode(id, node);
    }
    // Bottom to top, by the doc's stacking ranks (a typed sort: cheap for tens of thousands).
    const ranks = new Int32Array(ids.size);
    let n = 0;
    for (const id of ids) if (doc.get(id)) ranks[n++] = doc.zRank(id);
    const order = ranks.subarray(0, n).sort();
    const ordered = doc.ordered();
    const wasDot = this.dotIds;
    const nowDot = new Set<string>();
    this.dots.begin();
    for (const rank of order) {
      const el = ordered[rank];
      if (!el) continue;
      const box = doc.shownBox(el);
      const id = el.id;
      const node = this.nodes.get(id);
      const before: Lod | null = wasDot.has(id) ? 'dot' : (node?.lod ?? null);
      const lod = chooseLod(screenExtent(box.width, box.height, cam.scale, dpr), before);
      if (lod === 'dot' && el.kind !== 'generation') {
        if (node) this.dropNode(id, node);
        this.stopPlayer(id);
        // A dot costs nothing to add when it comes into view: only those on screen are drawn.
        if (!boxIntersectsRect(box, vis)) continue;
        nowDot.add(id);
        this.paintDot(el, box, rank);
        continue;
      }
      this.dots.interrupt();
      let shown = node;
      if (!shown) {
        shown = new ElementNode(id);
        this.nodes.set(id, shown);
        this.world.addChild(shown.root);
      }
      shown.root.zIndex = rank;
      shown.layout(box);
      shown.lod = lod;
      this.paint(shown, el, box, box.width * cam.scale);
    }
    this.dots.end();
    this.dotIds = nowDot;
    textures.sweep();
  }

  /** Videos on screen with their screen rects, for the DOM controls. */
  videoStates(): VideoState[] {
    return [...this.players.values()].map((p) => p.state);
  }

  setTheme(theme: CanvasTheme): void {
    this.host.theme = theme;
    for (const n of this.nodes.values()) n.setTheme(theme);
  }

  /** Drops every node and player (project switch). */
  clear(): void {
    for (const [id, node] of this.nodes) this.dropNode(id, node);
    this.dots.begin();
    this.dots.end();
    this.dotIds = new Set();
    this.animated = [];
  }

  destroy(): void {
    this.clear();
    this.dots.destroy();
    this.world.destroy({ children: true });
  }

  /** One element as a dot: its atlas cell once loaded, else the white cell tinted as a loading (or missing) tile. */
  private paintDot(el: Element, box: Box, rank: number): void {
    const { textures, theme, atlas } = this.host;
    const assetId = el.assetId;
    if (!assetId || !this.host.isAvailable(assetId)) {
      this.dots.add(box, atlas.white, theme.placeholder, rank);
      return;
    }
    const t = textures.get(assetId, 'dot');
    if (t === 'failed') this.dots.add(box, atlas.white, theme.placeholder, rank);
    else if (t === 'loading') this.dots.add(box, atlas.white, theme.loading, rank);
    else this.dots.add(box, t, 0xffffff, rank);
  }

  private paint(node: ElementNode, el: Element, box: Box, widthPx: number): void {
    const { textures, theme } = this.host;
    if (el.kind === 'generation') {
      node.showGeneration(this.host.generationCard(el), box, theme, widthPx);
      const card = node.animatedCard;
      if (card && widthPx >= CARD_ANIMATE_MIN_PX && this.animated.length < MAX_ANIMATED_CARDS) this.animated.push(card);
      return;
    }
    const assetId = el.assetId;
    if (!assetId || !this.host.isAvailable(assetId)) {
      this.stopPlayer(el.id);
      node.showPlaceholder('missing', box, theme);
      return;
    }
    if (el.kind === 'video' && el.playback && (widthPx >= VIDEO_MIN_PX || this.players.has(el.id))) {
      let p = this.players.get(el.id);
      if (!p) {
        p = new VideoPlayer(el.id, this.host.assetUrl(assetId), el.playback, () => this.host.onVideoChange());
        this.players.set(el.id, p);
      }
      if (p.state.ready) {
        node.showTexture(p.texture, box);
        return;
      }
    } else if (el.kind === 'video') {
      this.stopPlayer(el.id);
    }
    const lod = el.kind === 'video' && node.lod === 'full' ? 'thumb' : (node.lod ?? 'thumb');
    const t = textures.get(assetId, lod);
    if (t === 'failed') {
      node.showPlaceholder('missing', box, theme);
      return;
    }
    if (t !== 'loading') {
      node.showTexture(t, box);
      return;
    }
    // While the wanted level loads, show any level already there.
    const fallback = textures.peek(assetId, 'thumb') ?? textures.peek(assetId, 'micro') ?? textures.peek(assetId, 'full');
    if (fallback) node.showTexture(fallback, box);
    else node.showPlaceholder('loading', box, theme);
  }

  private dropNode(id: string, node: ElementNode): void {
    this.stopPlayer(id);
    this.world.removeChild(node.root);
    node.destroy();
    this.nodes.delete(id);
  }

  private stopPlayer(id: string): void {
    const p = this.players.get(id);
    if (!p) return;
    this.players.delete(id);
    const last = p.playback;
    // A closed player was paused by closing; what is saved is where it was.
    if (last) this.host.onPlayerClosed(id, { ...last, playing: false });
    p.destroy();
    this.host.onVideoChange();
  }
}

