/**
 * The screen-space layer over the world: selection outlines, the transform frame with its 8
 * resize handles and rotation handle, hover outline, marquee and the size label. Drawn in CSS
 * pixels so lines stay crisp at every zoom.
 */
import { Container, Graphics, Text } from 'pixi.js';
import { type Camera, boxToScreen, worldToScreen } from '../math/camera';
import { type Box, type Rect, corners } from '../math/geometry';
import { HANDLES, HANDLE_PX, ROTATE_OFFSET_PX, SMALL_FRAME_PX, handlePoints, rotationHandlePoint } from '../math/transform';
import type { CanvasTheme } from './theme';


export interface OverlayState {
  camera: Camera;
  selected: Box[];
  frame: Box | null;
  /** Handles are hidden for locked selections and during gestures. */
  handles: boolean;
  hover: Box | null;
  marquee: Rect | null;
  sizeLabel: string | null;
  /** New elements highlighted for a moment, with the highlight's strength (1 → 0). */
  flashes?: { box: Box; strength: number }[];
}

export class Overlay {
  readonly layer = new Container();
  private readonly g = new Graphics();
  private readonly label: Text;
  private readonly labelBg = new Graphics();

  constructor(private theme: CanvasTheme) {
    this.label = new Text({ text: '', style: { fontFamily: theme.fontFamily, fontSize: 11, fontWeight: '500', fill: 0xffffff }, resolution: 2 });
    this.label.anchor.set(0.5, 0);
    this.layer.addChild(this.g, this.labelBg, this.label);
  }

  setTheme(theme: CanvasTheme): void {
    this.theme = theme;
  }

  draw(s: OverlayState): void {
    const g = this.g;
    const accent = this.theme.accent;
    g.clear();
    for (const f of s.flashes ?? []) {
      const b = boxToScreen(s.camera, f.box);
      this.outline(grow(b, 5), { width: 6, color: accent, alpha: 0.22 * f.strength });
      this.outline(b, { width: 2.5, color: accent, alpha: f.strength });
    }
    if (s.hover) this.outline(boxToScreen(s.camera, s.hover), { width: 1.5, color: accent, alpha: 0.7 });
    for (const b of s.selected) this.outline(boxToScreen(s.camera, b), { width: 1.5, color: accent, alpha: 1 });
    this.labelBg.clear();
    this.label.visible = false;
    if (s.frame) {
      const f = boxToScreen(s.camera, s.frame);
      if (s.selected.length > 1) this.outline(f, { width: 1, color: accent, alpha: 0.9 });
      if (s.handles) this.handles(f);
      if (s.sizeLabel) this.sizeLabel(f, s.sizeLabel);
    }
    if (s.marquee) {
      const tl = worldToScreen(s.camera, s.marquee);
      const w = s.marquee.width * s.camera.scale;
      const h = s.marquee.height * s.camera.scale;
      g.rect(tl.x, tl.y, w, h).fill({ color: accent, alpha: 0.08 }).stroke({ width: 1, color: accent, alpha: 0.9 });
    }
  }

  private outline(b: Box, stroke: { width: number; color: number; alpha: number }): void {
    const pts = corners(b).flatMap((p) => [p.x, p.y]);
    this.g.poly(pts, true).stroke({ ...stroke, alignment: 0.5 });
  }

  private handles(f: Box): void {
    const g = this.g;
    const small = Math.min(f.width, f.height) < SMALL_FRAME_PX;
    const pts = handlePoints(f);
    const top = rotationHandlePoint(f, 0);
    const rot = rotationHandlePoint(f, ROTATE_OFFSET_PX);
    g.moveTo(top.x, top.y).lineTo(rot.x, rot.y).stroke({ width: 1, color: this.theme.accent });
    g.circle(rot.x, rot.y, 5).fill({ color: this.theme.handleFill }).stroke({ width: 1.5, color: this.theme.accent });
    for (const h of HANDLES) {
      if (small && h.length === 1) continue;
      const p = pts[h];
      const c = Math.cos(f.rotation);
      const sn = Math.sin(f.rotation);
      const r = HANDLE_PX;
      const quad = [
        [-r, -r],
        [r, -r],
        [r, r],
        [-r, r],
      ].flatMap(([x, y]) => [p.x + x! * c - y! * sn, p.y + x! * sn + y! * c]);
      g.poly(quad, true).fill({ color: this.theme.handleFill }).stroke({ width: 1.5, color: this.theme.accent });
    }
  }

  private sizeLabel(f: Box, text: string): void {
    const bottom = corners(f).reduce((m, p) => (p.y > m.y ? p : m));
    const cx = corners(f).reduce((s, p) => s + p.x, 0) / 4;
    this.label.text = text;
    this.label.visible = true;
    const y = bottom.y + 10;
    this.label.position.set(cx, y + 3);
    const w = this.label.width + 12;
    this.labelBg.roundRect(cx - w / 2, y, w, this.label.height + 6, 4).fill({ color: this.theme.accent });
    this.label.style.fill = 0x1a0e07;
  }
}

/** `b` grown by `d` pixels on every side (the centre and rotation stay: `x, y` is unrotated). */
function grow(b: Box, d: number): Box {
  return { x: b.x - d, y: b.y - d, width: b.width + 2 * d, height: b.height + 2 * d, rotation: b.rotation };
}
