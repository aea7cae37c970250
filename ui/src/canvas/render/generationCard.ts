/**
 * The placeholder of a generation on the canvas (D7): a card with what it is making, its
 * status — "Waiting to send — offline", "Queued · #3", "Generating…", "Failed: <reason>",
 * "Canceled" — and the prompt, with a spinner and a light band sweeping across while it is
 * queued or running.
 *
 * Cheap by construction: everything is laid out in `update`, which does nothing unless the
 * status, the words, the size or the theme changed (no text layout per frame). Animation is
 * `tick`: a rotation and a tile offset, no redraw; the scene ticks only a few cards, large
 * enough on screen to see it. The sweep is one tiling sprite over a shared 256×1 gradient.
 */
import { Container, Graphics, Text, Texture, TilingSprite } from 'pixi.js';
import type { LocalGenerationStatus } from '../../backend/types';
import { truncate } from '../../lib/generation';
import type { CanvasTheme } from './theme';

export interface CardInfo {
  /** null: a placeholder whose generation this device does not know (yet). */
  status: LocalGenerationStatus | null;
  /** The status line ("Queued · #3"). */
  title: string;
  prompt: string;
  /** What it makes ("Text to image"). */
  caption: string;
}

/** Base font size of the card's texts; they are scaled to the card. */
const FONT_PX = 44;
/** One sweep across the card (ms). */
const SWEEP_MS = 1800;
/** One spinner turn (ms). */
const TURN_MS = 1100;

let sweep: Texture | null = null;

/** The shared gradient of the sweep: clear, a soft band in the middle, clear. */
function sweepTexture(): Texture {
  if (sweep && !sweep.destroyed) return sweep;
  const c = document.createElement('canvas');
  c.width = 256;
  c.height = 1;
  const ctx = c.getContext('2d')!;
  const g = ctx.createLinearGradient(0, 0, 256, 0);
  g.addColorStop(0, 'rgba(255,255,255,0)');
  g.addColorStop(0.38, 'rgba(255,255,255,0)');
  g.addColorStop(0.5, 'rgba(255,255,255,1)');
  g.addColorStop(0.62, 'rgba(255,255,255,0)');
  g.addColorStop(1, 'rgba(255,255,255,0)');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, 256, 1);
  sweep = Texture.from(c);
  return sweep;
}

export function isAnimated(status: LocalGenerationStatus | null): boolean {
  return status === null || status === 'queued' || status === 'running';
}

export class GenerationCard {
  readonly view = new Container();
  private readonly bg = new Graphics();
  private shimmer: TilingSprite | null = null;
  private readonly glyph = new Graphics();
  private readonly spinner = new Graphics();
  private readonly caption: Text;
  private readonly title: Text;
  private readonly prompt: Text;
  private key = '';
  private w = 1;
  private animatedNow = false;
  /** What the layout leaves room for (before hiding small text on screen). */
  private fits = { caption: false, prompt: false };
  private h = 1;
  private fill = 0;
  private tint: number | null = null;
  private edgeColor = { color: 0, alpha: 1 };
  /** log2 of the edge width in world units, in half steps. */
  private edgeStep = 0;
  private detail: 0 | 1 | 2 | 3 = 3;

  constructor(theme: CanvasTheme) {
    const style = { fontFamily: theme.fontFamily, fontSize: FONT_PX, fill: theme.text, align: 'center' as const };
    this.caption = new Text({ text: '', style: { ...style, fontWeight: '600', letterSpacing: 2 }, resolution: 2 });
    this.title = new Text({ text: '', style: { ...style, fontWeight: '600', wordWrap: true, breakWords: true, lineHeight: FONT_PX * 1.25 }, resolution: 2 });
    this.prompt = new Text({ text: '', style: { ...style, fontWeight: '400', wordWrap: true, breakWords: true, lineHeight: FONT_PX * 1.4 }, resolution: 2 });
    this.caption.anchor.set(0, 0);
    this.title.anchor.set(0.5, 0);
    this.prompt.anchor.set(0.5, 0);
    this.view.addChild(this.bg, this.glyph, this.spinner, this.caption, this.title, this.prompt);
  }

  /** Whether the card shows progress (spinner and sweep): worth ticking. */
  get animated(): boolean {
    return this.animatedNow;
  }

  /** Lays the card out for `info` at `w`×`h` world units; nothing when nothing changed. */
  update(info: CardInfo, w: number, h: number, theme: CanvasTheme): void {
    const key = `${info.status}\u0000${info.title}\u0000${info.prompt}\u0000${info.caption}\u0000${w}x${h}`;
    if (key === this.key) return;
    this.key = key;
    this.w = w;
    this.draw(info, w, h, theme);
  }

  /**
   * How much text to show for the card's shorter side on screen (CSS px), so zoomed out it
   * shows no unreadable specks: the status from 110 px, the prompt from 200, the kind from 230.
   */
  setScreenSide(px: number): void {
    // The edge stays about 1.5 px on screen: redrawn when the zoom crosses a half-octave.
    const scale = px / Math.max(1e-9, Math.min(this.w, this.h));
    const step = Math.round(Math.log2(1.5 / Math.max(scale, 1e-6)) * 2);
    if (step !== this.edgeStep) {
      this.edgeStep = step;
      this.drawEdge();
    }
    const detail = px < 110 ? 0 : px < 200 ? 1 : px < 230 ? 2 : 3;
    if (detail === this.detail) return;
    this.detail = detail;
    this.applyDetail();
  }

  /** The card's fill and its edge, `edgeStep` wide (about 1.5 px on screen). */
  private drawEdge(): void {
    const { w, h } = this;
    const bg = this.bg;
    bg.clear();
    bg.rect(-w / 2, -h / 2, w, h).fill({ color: this.fill });
    if (this.tint !== null) bg.rect(-w / 2, -h / 2, w, h).fill({ color: this.tint, alpha: 0.07 });
    const width = Math.min(Math.min(w, h) * 0.02, 2 ** (this.edgeStep / 2));
    bg.rect(-w / 2, -h / 2, w, h).stroke({ width, ...this.edgeColor, alignment: 1 });
  }

  private applyDetail(): void {
    this.title.visible = this.detail >= 1;
    this.prompt.visible = this.detail >= 2 && this.fits.prompt;
    this.caption.visible = this.detail >= 3 && this.fits.caption;
  }

  /** A new theme: the next `update` redraws. */
  invalidate(): void {
    this.key = '';
  }

  /** Advances the animation to time `t` (ms). */
  tick(t: number): void {
    if (!this.animatedNow) return;
    this.spinner.rotation = ((t % TURN_MS) / TURN_MS) * Math.PI * 2;
    if (this.shimmer) this.shimmer.tilePosition.x = ((t % SWEEP_MS) / SWEEP_MS) * this.w * 2 - this.w;
  }

  private draw(info: CardInfo, w: number, h: number, theme: CanvasTheme): void {
    const m = Math.min(w, h);
    const u = m / 100;
    const failed = info.status === 'failed';
    const waiting = info.status === 'waiting';
    this.animatedNow = isAnimated(info.status);

    // The card and its edge: the accent while running, danger when failed, quiet ink else.
    this.edgeColor = failed ? { color: theme.danger, alpha: 0.85 } : info.status === 'running' ? { color: theme.accent, alpha: 0.7 } : { color: theme.placeholderInk, alpha: 0.45 };
    this.tint = failed ? theme.danger : null;
    this.fill = theme.loading;
    this.h = h;
    this.drawEdge();

    // The sweep while it progresses.
    if (this.animatedNow) {
      if (!this.shimmer) {
        this.shimmer = new TilingSprite({ texture: sweepTexture(), width: 1, height: 1 });
        this.view.addChildAt(this.shimmer, 1);
      }
      const s = this.shimmer;
      s.visible = true;
      s.width = w;
      s.height = h;
      s.position.set(-w / 2, -h / 2);
      s.tileScale.set((w * 2) / 256, h);
      s.tint = theme.accent;
      s.alpha = 0.12;
    } else if (this.shimmer) {
      this.shimmer.visible = false;
    }

    // The glyph: a spinner, a clock (waiting for the connection), an alert or a stop sign.
    const r = u * 6.5;
    const cy = -u * 9;
    const stroke = Math.max(u * 1.1, 0.6);
    const g = this.glyph;
    g.clear();
    g.position.set(0, cy);
    const sp = this.spinner;
    sp.clear();
    sp.position.set(0, cy);
    sp.rotation = 0;
    const ink = theme.placeholderInk;
    if (this.animatedNow) {
      g.circle(0, 0, r).stroke({ width: stroke, color: ink, alpha: 0.22 });
      sp.arc(0, 0, r, -Math.PI / 2, Math.PI * 0.15).stroke({ width: stroke, color: theme.accent, cap: 'round' });
    } else if (waiting) {
      g.circle(0, 0, r).stroke({ width: stroke, color: ink, alpha: 0.8 });
      g.moveTo(0, -r * 0.55).lineTo(0, 0).lineTo(r * 0.4, r * 0.25).stroke({ width: stroke, color: ink, alpha: 0.8, cap: 'round', join: 'round' });
    } else if (failed) {
      g.circle(0, 0, r).fill({ color: theme.danger, alpha: 0.16 }).stroke({ width: stroke, color: theme.dangerInk });
      g.moveTo(0, -r * 0.5).lineTo(0, r * 0.12).stroke({ width: stroke * 1.2, color: theme.dangerInk, cap: 'round' });
      g.circle(0, r * 0.45, stroke * 0.75).fill({ color: theme.dangerInk });
    } else {
      g.circle(0, 0, r).stroke({ width: stroke, color: ink, alpha: 0.7 });
      g.moveTo(-r * 0.7, r * 0.7).lineTo(r * 0.7, -r * 0.7).stroke({ width: stroke, color: ink, alpha: 0.7, cap: 'round' });
    }

    // The kind, top left.
    const c = this.caption;
    c.text = info.caption.toUpperCase();
    c.style.fill = ink;
    const cs = (u * 3.1) / FONT_PX;
    c.scale.set(cs);
    c.alpha = 0.85;
    c.position.set(-w / 2 + u * 4.5, -h / 2 + u * 4);
    this.fits.caption = w > u * 60;

    // The status line, then as much of the prompt as fits.
    const t = this.title;
    const ts = (u * 5.6) / FONT_PX;
    t.style.fill = failed ? theme.dangerInk : theme.text;
    t.style.wordWrapWidth = (w * 0.86) / ts;
    t.text = truncate(info.title, 90);
    t.scale.set(ts);
    t.position.set(0, cy + r + u * 4);

    const p = this.prompt;
    const ps = (u * 3.9) / FONT_PX;
    const top = t.y + t.height + u * 2.5;
    const room = h / 2 - u * 5 - top;
    const lineH = FONT_PX * 1.4 * ps;
    const lines = Math.max(0, Math.min(4, Math.floor(room / lineH)));
    // Roughly how many characters fit: an average glyph is about half the font size wide.
    const perLine = Math.max(8, Math.floor((w * 0.8) / (FONT_PX * 0.5 * ps)));
    p.style.fill = ink;
    p.style.wordWrapWidth = (w * 0.8) / ps;
    p.text = lines > 0 ? truncate(info.prompt, Math.max(0, perLine * lines - 4)) : '';
    p.scale.set(ps);
    p.position.set(0, top);
    this.fits.prompt = lines > 0;
    this.applyDetail();
  }
}
