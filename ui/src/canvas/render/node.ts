/**
 * One element on the GPU: a container at the element's centre turned by its rotation, holding
 * either a sprite (image, video frame) or a placeholder — "loading" (a quiet tile),
 * "missing asset" (the file was deleted or cannot be read: an icon and a label, D5) or a
 * generation's card (D7: its status and prompt until the outputs replace it).
 */
import { Container, Graphics, Sprite, Text, type Texture } from 'pixi.js';
import type { Box } from '../math/geometry';
import type { Lod } from '../math/lod';
import { type CardInfo, GenerationCard } from './generationCard';
import type { CanvasTheme } from './theme';

export type NodeLook = 'texture' | 'loading' | 'missing' | 'generation';

export class ElementNode {
  readonly root = new Container();
  lod: Lod | null = null;
  private readonly sprite = new Sprite();
  private placeholder: Graphics | null = null;
  private label: Text | null = null;
  private card: GenerationCard | null = null;
  private look: NodeLook | null = null;
  private drawnSize = '';
  private theme: CanvasTheme | null = null;

  constructor(readonly id: string) {
    this.sprite.anchor.set(0.5);
    this.root.addChild(this.sprite);
    this.root.cullable = false;
  }

  /** Position, size and rotation (world units). */
  layout(b: Box): void {
    this.root.position.set(b.x + b.width / 2, b.y + b.height / 2);
    this.root.rotation = b.rotation;
    if (this.look === 'texture') this.sprite.setSize(b.width, b.height);
    const size = `${b.width}x${b.height}`;
    if (this.look !== 'texture' && size !== this.drawnSize) this.redrawPlaceholder(b.width, b.height);
  }

  showTexture(tex: Texture, b: Box): void {
    if (this.sprite.texture !== tex) this.sprite.texture = tex;
    this.sprite.visible = true;
    this.sprite.setSize(b.width, b.height);
    if (this.look !== 'texture') {
      this.look = 'texture';
      if (this.placeholder) this.placeholder.visible = false;
      if (this.label) this.label.visible = false;
      if (this.card) this.card.view.visible = false;
    }
  }

  showPlaceholder(look: 'loading' | 'missing', b: Box, theme: CanvasTheme): void {
    this.sprite.visible = false;
    if (this.card) this.card.view.visible = false;
    if (this.look === look && `${b.width}x${b.height}` === this.drawnSize) return;
    this.look = look;
    this.theme = theme;
    this.redrawPlaceholder(b.width, b.height);
  }

  /** A generation's card; laid out again only when `info`, the size or the theme changed. */
  showGeneration(info: CardInfo, b: Box, theme: CanvasTheme, widthPx: number): void {
    if (this.look !== 'generation') {
      this.look = 'generation';
      this.sprite.visible = false;
      if (this.placeholder) this.placeholder.visible = false;
      if (this.label) this.label.visible = false;
    }
    if (!this.card) {
      this.card = new GenerationCard(theme);
      this.root.addChild(this.card.view);
    }
    this.card.view.visible = true;
    this.theme = theme;
    this.card.update(info, b.width, b.height, theme);
    this.card.setScreenSide((widthPx * Math.min(b.width, b.height)) / Math.max(b.width, 1e-9));
  }

  /** The card, when this node shows one that is progressing (the scene ticks it). */
  get animatedCard(): GenerationCard | null {
    return this.look === 'generation' && this.card?.animated ? this.card : null;
  }

  setTheme(theme: CanvasTheme): void {
    this.theme = theme;
    this.drawnSize = '';
    this.card?.invalidate();
  }

  destroy(): void {
    // Textures belong to the cache or the video player: keep them alive.
    this.root.destroy({ children: true, texture: false, textureSource: false });
  }

  private redrawPlaceholder(w: number, h: number): void {
    const theme = this.theme;
    if (!theme || (this.look !== 'loading' && this.look !== 'missing')) return;
    this.drawnSize = `${w}x${h}`;
    if (!this.placeholder) {
      this.placeholder = new Graphics();
      this.root.addChild(this.placeholder);
    }
    const g = this.placeholder;
    g.visible = true;
    g.clear();
    const m = Math.min(w, h);
    g.rect(-w / 2, -h / 2, w, h).fill({ color: this.look === 'missing' ? theme.placeholder : theme.loading });
    if (this.look === 'loading') {
      if (this.label) this.label.visible = false;
      return;
    }
    const line = Math.max(m * 0.006, 0.5);
    g.rect(-w / 2, -h / 2, w, h).stroke({ width: line, color: theme.placeholderInk, alpha: 0.35, alignment: 1 });
    // An "image off" glyph: a framed picture with a mountain, struck through.
    const s = m * 0.16;
    const cy = -m * 0.06;
    const ink = { width: Math.max(s * 0.08, 0.6), color: theme.placeholderInk, cap: 'round' as const, join: 'round' as const };
    g.roundRect(-s, cy - s * 0.8, s * 2, s * 1.6, s * 0.2).stroke(ink);
    g.moveTo(-s * 0.75, cy + s * 0.5)
      .lineTo(-s * 0.2, cy - s * 0.1)
      .lineTo(s * 0.2, cy + s * 0.3)
      .lineTo(s * 0.45, cy + s * 0.05)
      .lineTo(s * 0.75, cy + s * 0.5)
      .stroke(ink);
    g.circle(s * 0.45, cy - s * 0.35, s * 0.14).stroke(ink);
    g.moveTo(-s * 1.25, cy - s * 1.1).lineTo(s * 1.25, cy + s * 1.1).stroke({ ...ink, color: theme.placeholder, width: ink.width * 3 });
    g.moveTo(-s * 1.25, cy - s * 1.1).lineTo(s * 1.25, cy + s * 1.1).stroke(ink);
    if (!this.label) {
      this.label = new Text({
        text: 'Missing asset',
        style: { fontFamily: theme.fontFamily, fontSize: 32, fontWeight: '500', fill: theme.placeholderInk },
        resolution: 2,
      });
      this.label.anchor.set(0.5, 0);
      this.root.addChild(this.label);
    }
    this.label.style.fill = theme.placeholderInk;
    this.label.visible = true;
    const fontScale = (m * 0.075) / 32;
    this.label.scale.set(fontScale);
    this.label.position.set(0, cy + s * 1.2);
  }
}
