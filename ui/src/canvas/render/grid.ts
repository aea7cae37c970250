/**
 * The dotted background of the infinite canvas: one tiling sprite whose tile spacing follows
 * the zoom in powers of 4 (so dots never crowd into noise nor drift apart into nothing) and
 * whose offset follows the camera. Drawn in screen space under the world.
 */
import { Texture, TilingSprite } from 'pixi.js';
import type { Camera } from '../math/camera';
import type { CanvasTheme } from './theme';

/** Dot spacing at 100 %, world units. */
const BASE_SPACING = 24;
/** Tile texture size in pixels (one dot per tile). */
const TILE = 64;

/** World spacing between dots at `scale`: the base spacing ×4ⁿ so dots stay 12–48 px apart. */
export function dotSpacing(scale: number): number {
  let spacing = BASE_SPACING;
  while (spacing * scale < 12) spacing *= 4;
  while (spacing * scale > 48 && spacing > BASE_SPACING / 64) spacing /= 4;
  return spacing;
}

export class DotGrid {
  readonly sprite: TilingSprite;
  private texture: Texture;

  constructor(theme: CanvasTheme) {
    this.texture = makeDotTexture(theme);
    this.sprite = new TilingSprite({ texture: this.texture, width: 1, height: 1 });
  }

  setTheme(theme: CanvasTheme): void {
    const old = this.texture;
    this.texture = makeDotTexture(theme);
    this.sprite.texture = this.texture;
    old.destroy(true);
  }

  update(cam: Camera, width: number, height: number): void {
    const spacingPx = dotSpacing(cam.scale) * cam.scale;
    const k = spacingPx / TILE;
    this.sprite.width = width;
    this.sprite.height = height;
    this.sprite.tileScale.set(k, k);
    // World origin on screen is at −cam·scale; tiles repeat every spacingPx.
    this.sprite.tilePosition.set(-cam.x * cam.scale, -cam.y * cam.scale);
    this.sprite.alpha = Math.min(1, Math.max(0.35, cam.scale * 2));
  }

  destroy(): void {
    this.sprite.destroy();
    this.texture.destroy(true);
  }
}

function makeDotTexture(theme: CanvasTheme): Texture {
  const c = document.createElement('canvas');
  c.width = TILE;
  c.height = TILE;
  const ctx = c.getContext('2d')!;
  ctx.fillStyle = `#${theme.dot.toString(16).padStart(6, '0')}`;
  ctx.globalAlpha = theme.dotAlpha;
  ctx.beginPath();
  ctx.arc(TILE / 2, TILE / 2, 2.5, 0, Math.PI * 2);
  ctx.fill();
  const t = Texture.from(c, true);
  t.source.scaleMode = 'linear';
  return t;
}
