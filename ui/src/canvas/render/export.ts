/**
 * PNG export of canvas elements (D9), off screen: the elements are drawn in z order into a
 * render texture the size `exportSize` chose, mapped from their world bounds — no dot grid,
 * no selection chrome, transparent where the canvas is empty — then extracted and encoded.
 *
 * Elements are drawn in batches of `BATCH`: each batch's textures are loaded (the original
 * file when the element is large in the export, the thumbnail otherwise; videos show their
 * poster frame), drawn, and freed before the next, so exporting thousands of images never
 * holds them all on the GPU. The visible scene and its texture cache are left untouched.
 */
import { Container, Matrix, RenderTexture, Texture, type Renderer } from 'pixi.js';
import type { AssetVariant } from '../../backend/backend';
import type { Element } from '../../backend/types';
import type { ExportSize } from '../math/export';
import type { Box, Rect } from '../math/geometry';
import { chooseLod, screenExtent } from '../math/lod';
import { ElementNode } from './node';
import type { CanvasTheme } from './theme';

/** Elements drawn (and textures held) at once. */
const BATCH = 24;

export interface ExportScene {
  /** What to draw, bottom first. */
  elements: readonly Element[];
  box(id: string): Box | null;
  /** World region the export covers. */
  bounds: Rect;
  theme: CanvasTheme;
  isAvailable(assetId: string): boolean;
  assetUrl(assetId: string, variant: AssetVariant): string;
}

/** The largest texture side the GPU takes (a render target cannot be larger). */
export function maxTextureSide(renderer: Renderer): number {
  const gl = (renderer as unknown as { gl?: WebGLRenderingContext }).gl;
  const n = gl ? Number(gl.getParameter(gl.MAX_TEXTURE_SIZE)) : NaN;
  return Number.isFinite(n) && n > 0 ? n : 4096;
}

/** Draws `scene` at `size` and encodes it as PNG; null when the browser cannot encode. */
export async function renderPng(renderer: Renderer, scene: ExportScene, size: ExportSize): Promise<Uint8Array | null> {
  const target = RenderTexture.create({ width: size.width, height: size.height, resolution: 1, antialias: true });
  const transform = new Matrix().translate(-scene.bounds.x, -scene.bounds.y).scale(size.scale, size.scale);
  try {
    renderer.render({ container: new Container(), target, clear: true, clearColor: [0, 0, 0, 0] });
    for (let i = 0; i < scene.elements.length; i += BATCH) {
      await drawBatch(renderer, scene, scene.elements.slice(i, i + BATCH), target, transform, size.scale);
    }
    const canvas = renderer.extract.canvas(target) as HTMLCanvasElement;
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
    return blob ? new Uint8Array(await blob.arrayBuffer()) : null;
  } finally {
    target.destroy(true);
  }
}

async function drawBatch(renderer: Renderer, scene: ExportScene, batch: readonly Element[], target: RenderTexture, transform: Matrix, scale: number): Promise<void> {
  const layer = new Container();
  const loaded = await Promise.all(batch.map((el) => loadTexture(scene, el, scale)));
  try {
    batch.forEach((el, i) => {
      const box = scene.box(el.id);
      if (!box) return;
      const node = new ElementNode(el.id);
      node.layout(box);
      const tex = loaded[i];
      if (tex) node.showTexture(tex.texture, box);
      else node.showPlaceholder('missing', box, scene.theme);
      layer.addChild(node.root);
    });
    renderer.render({ container: layer, target, clear: false, transform });
  } finally {
    layer.destroy({ children: true, texture: false, textureSource: false });
    for (const t of loaded) t?.free();
  }
}

/** An element's picture for the export, or null to draw the "missing asset" placeholder. */
async function loadTexture(scene: ExportScene, el: Element, scale: number): Promise<{ texture: Texture; free: () => void } | null> {
  const id = el.assetId;
  if (!id || !scene.isAvailable(id)) return null;
  const lod = chooseLod(screenExtent(el.width, el.height, scale, 1), null);
  const variant: AssetVariant = el.kind === 'image' && lod === 'full' ? 'full' : 'thumb';
  const url = scene.assetUrl(id, variant);
  if (!url) return null;
  const img = new Image();
  img.decoding = 'async';
  img.crossOrigin = 'anonymous';
  img.src = url;
  try {
    await img.decode();
  } catch {
    return null;
  }
  const texture = Texture.from(img, true);
  texture.source.scaleMode = 'linear';
  texture.source.autoGenerateMipmaps = true;
  return {
    texture,
    free: () => {
      texture.destroy(true);
      img.src = '';
    },
  };
}
