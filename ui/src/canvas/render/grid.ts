/**
 * The dotted background of the infinite canvas: dot spacing follows the zoom in powers of 4
 * (so dots never crowd into noise nor drift apart into nothing) and the dots follow the camera.
 * Drawn in screen space under the world.
 *
 * Each dot is a particle (one small textured quad, one draw call for all): the pixels drawn
 * are the dots' own, not the whole view. A full-screen tiling sprite cost ~190 ms a frame on
 * a software renderer (Mesa llvmpipe), where fill rate is what runs out.
 */
import { Particle, ParticleContainer, Texture } from 'pixi.js';
import type { Camera } from '../math/camera';
import type { CanvasTheme } from './theme';

/** Dot spacing at 100 %, world units. */
const BASE_SPACING = 24;
/** The spacing the dot texture is drawn for (px): a dot is scaled by spacing / TILE. */
const TILE = 64;
/** Side of the dot texture (px at TILE spacing); the dot is a 2.5 px radius disc at its centre. */
const DOT = 8;

/** World spacing between dots at `scale`: the base spacing ×4ⁿ so dots stay 12–48 px apart. */
export function dotSpacing(scale: number): number {
  let spacing = BASE_SPACING;
  while (spacing * scale < 12) spacing *= 4;
  while (spacing * scale > 48 && spacing > BASE_SPACING / 64) spacing /= 4;
  return spacing;
}

/** Screen positions of the dots of a view `width`×`height` at `cam`: per axis, first and step. */
export function dotLattice(cam: Camera, width: number, height: number): { x0: number; y0: number; step: number; cols: number; rows: number } {
  const step = dotSpacing(cam.scale) * cam.scale;
  // Dots sit at the centres of world cells `spacing` wide; the world origin is at −cam·scale.
  const first = (origin: number) => ((((origin + step / 2) % step) + step) % step);
  const x0 = first(-cam.x * cam.scale);
  const y0 = first(-cam.y * cam.scale);
  return { x0, y0, step, cols: Math.max(0, Math.ceil((width - x0) / step)), rows: Math.max(0, Math.ceil((height - y0) / step)) };
}

export class DotGrid {
  readonly view: ParticleContainer;
  private texture: Texture;
  private readonly dots: Particle[] = [];
  /** The lattice the dots were last laid out for: frames that only load textures skip the loop. */
  private laidOut = '';

  constructor(theme: CanvasTheme) {
    this.texture = makeDotTexture(theme);
    this.view = new ParticleContainer({ texture: this.texture, dynamicProperties: { position: true, vertex: true } });
  }

  setTheme(theme: CanvasTheme): void {
    const old = this.texture;
    this.texture = makeDotTexture(theme);
    this.view.texture = this.texture;
    for (const d of this.dots) d.texture = this.texture;
    this.view.update();
    old.destroy(true);
  }

  update(cam: Camera, width: number, height: number): void {
    const { x0, y0, step, cols, rows } = dotLattice(cam, width, height);
    this.view.alpha = Math.min(1, Math.max(0.35, cam.scale * 2));
    const key = `${x0} ${y0} ${step} ${cols} ${rows}`;
    if (key === this.laidOut) return;
    this.laidOut = key;
    const count = cols * rows;
    while (this.dots.length < count) {
      const d = new Particle({ texture: this.texture, anchorX: 0.5, anchorY: 0.5 });
      this.dots.push(d);
      this.view.addParticle(d);
    }
    if (this.dots.length > count) {
      this.view.removeParticles(count, this.dots.length);
      this.dots.length = count;
    }
    const k = step / TILE;
    let i = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const d = this.dots[i++]!;
        d.x = x0 + c * step;
        d.y = y0 + r * step;
        d.scaleX = k;
        d.scaleY = k;
      }
    }
  }

  destroy(): void {
    this.view.destroy();
    this.texture.destroy(true);
  }
}

function makeDotTexture(theme: CanvasTheme): Texture {
  const c = document.createElement('canvas');
  c.width = DOT;
  c.height = DOT;
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = `#${theme.dot.toString(16).padStart(6, '0')}`;
  ctx.globalAlpha = theme.dotAlpha;
  ctx.beginPath();
  ctx.arc(DOT / 2, DOT / 2, 2.5, 0, Math.PI * 2);
  ctx.fill();
  const t = Texture.from(c, true);
  t.source.scaleMode = 'linear';
  return t;
}
