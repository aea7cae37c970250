/**
 * Renders a project tile image in 2D from element boxes and asset thumbnails — used by the
 * demo for projects that were never opened in this session (the real app renders tiles from
 * the WebGL canvas when a project is open).
 */
import type { Element } from '../backend/types';
import { fitBounds, worldToScreen } from '../canvas/math/camera';
import { aabb, unionRects } from '../canvas/math/geometry';

export async function collagePng(elements: Element[], thumbUrl: (assetId: string) => string, background: string, w = 480, h = 300): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, w, h);
  const bounds = unionRects(elements.map((e) => aabb(e)));
  const cam = fitBounds(bounds, { width: w, height: h }, 18, 1);
  for (const e of elements) {
    if (!e.assetId) continue;
    const img = new Image();
    img.src = thumbUrl(e.assetId);
    try {
      await img.decode();
    } catch {
      continue;
    }
    const c = worldToScreen(cam, { x: e.x + e.width / 2, y: e.y + e.height / 2 });
    ctx.save();
    ctx.translate(c.x, c.y);
    ctx.rotate(e.rotation);
    ctx.drawImage(img, (-e.width * cam.scale) / 2, (-e.height * cam.scale) / 2, e.width * cam.scale, e.height * cam.scale);
    ctx.restore();
  }
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return new Uint8Array(await blob.arrayBuffer());
}
