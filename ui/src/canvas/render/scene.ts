/**
 * The world layer: GPU nodes for the elements in view and nothing else.
 *
 * Each `cull` pass asks the doc's spatial grid what intersects the view (plus a margin),
 * creates nodes for newcomers, destroys nodes that left, lays out the rest, and picks each
 * node's texture level from its size on screen. Video elements large enough get a live
 * player. Off-screen elements therefore cost no GPU memory and no draw calls, which is what
 * keeps a canvas of thousands of images smooth.
 */
import { Container } from 'pixi.js';
import type { Element, Playback } from '../../backend/types';
import type { CanvasDoc } from '../doc';
import { type Camera, visibleWorldRect } from '../math/camera';
import { type Box, expandRect, type Size } from '../math/geometry';
import { chooseLod, screenExtent } from '../math/lod';
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
  private orderDirty = true;
  /** Cards in view that show progress, ticked by the engine's animation frames. */
  private animated: GenerationCard[] = [];

  constructor(private readonly host: SceneHost) {}

  get visibleCount(): number {
    return this.nodes.size;
  }

  markOrderDirty(): void {
    this.orderDirty = true;
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
    const area = expandRect(vis, Math.max(vis.width, vis.height) * MARGIN);
    const ids = doc.query(area);
    this.animated = [];

    for (const [id, node] of this.nodes) {
      if (!ids.has(id) || !doc.get(id)) this.dropNode(id, node);
    }
    for (const id of ids) {
      const el = doc.get(id);
      const box = doc.box(id);
      if (!el || !box) continue;
      let node = this.nodes.get(id);
      if (!node) {
        node = new ElementNode(id);
        this.nodes.set(id, node);
        this.world.addChild(node.root);
        this.orderDirty = true;
      }
      node.layout(box);
      const px = screenExtent(box.width, box.height, cam.scale, dpr);
      node.lod = chooseLod(px, node.lod);
      this.paint(node, el, box, box.width * cam.scale);
    }
    if (this.orderDirty) {
      for (const [id, node] of this.nodes) node.root.zIndex = doc.zRank(id);
      this.orderDirty = false;
    }
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
    this.animated = [];
  }

  destroy(): void {
    this.clear();
    this.world.destroy({ children: true });
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
