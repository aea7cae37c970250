/**
 * The canvas camera: world ↔ screen transforms, zoom around a point, pan, fit to bounds.
 *
 * A camera is the saved `Viewport` of a project: `(x, y)` is the world point at the top-left
 * corner of the view and `scale` is screen pixels per world unit, so
 * `screen = (world − (x, y)) × scale`. Pure functions; the renderer and the gesture controller
 * both use them, and the tests pin the invariants (the point under the cursor stays put).
 */
import type { Box, Point, Rect, Size } from './geometry';

export interface Camera {
  x: number;
  y: number;
  scale: number;
}

/** Smallest zoom (2 %): thousands of images fit on one screen. */
export const MIN_SCALE = 0.02;
/** Largest zoom (3200 %), like Figma's. */
export const MAX_SCALE = 32;
/** Zoom levels the zoom-in/out buttons and shortcuts step through. */
export const ZOOM_STEPS = [0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32];

export const DEFAULT_CAMERA: Camera = { x: 0, y: 0, scale: 1 };

export function clampScale(scale: number): number {
  if (!Number.isFinite(scale) || scale <= 0) return 1;
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
}

export function worldToScreen(cam: Camera, p: Point): Point {
  return { x: (p.x - cam.x) * cam.scale, y: (p.y - cam.y) * cam.scale };
}

export function screenToWorld(cam: Camera, p: Point): Point {
  return { x: p.x / cam.scale + cam.x, y: p.y / cam.scale + cam.y };
}

export function worldRectToScreen(cam: Camera, r: Rect): Rect {
  const p = worldToScreen(cam, r);
  return { x: p.x, y: p.y, width: r.width * cam.scale, height: r.height * cam.scale };
}

/** A world box as a box in screen pixels (same rotation). */
export function boxToScreen(cam: Camera, b: Box): Box {
  const p = worldToScreen(cam, b);
  return { x: p.x, y: p.y, width: b.width * cam.scale, height: b.height * cam.scale, rotation: b.rotation };
}

/** The world rect the view shows. */
export function visibleWorldRect(cam: Camera, view: Size): Rect {
  return { x: cam.x, y: cam.y, width: view.width / cam.scale, height: view.height / cam.scale };
}

/** Camera at `scale` (clamped) that keeps the world point under `screenPoint` where it is. */
export function zoomAt(cam: Camera, screenPoint: Point, scale: number): Camera {
  const s = clampScale(scale);
  const w = screenToWorld(cam, screenPoint);
  return { x: w.x - screenPoint.x / s, y: w.y - screenPoint.y / s, scale: s };
}

/** Moves the view by a screen-space delta (content follows the pointer). */
export function panBy(cam: Camera, dx: number, dy: number): Camera {
  return { x: cam.x - dx / cam.scale, y: cam.y - dy / cam.scale, scale: cam.scale };
}

/**
 * Zoom factor for a wheel/pinch delta. Trackpad pinches arrive as ctrl+wheel with small
 * fractional deltas, mouse wheels as ±100-ish steps: an exponential keeps both smooth and makes
 * zooming in then out by the same delta return to the same scale.
 */
export function wheelZoomFactor(deltaY: number, deltaMode = 0): number {
  const px = deltaMode === 1 ? deltaY * 16 : deltaMode === 2 ? deltaY * 400 : deltaY;
  const clamped = Math.max(-120, Math.min(120, px));
  return Math.exp(-clamped * 0.0075);
}

/** Next zoom level up (+1) or down (−1) from `scale` in ZOOM_STEPS. */
export function stepZoom(scale: number, direction: 1 | -1): number {
  const eps = 1e-6;
  if (direction > 0) return ZOOM_STEPS.find((s) => s > scale + eps) ?? MAX_SCALE;
  for (let i = ZOOM_STEPS.length - 1; i >= 0; i--) {
    const s = ZOOM_STEPS[i]!;
    if (s < scale - eps) return s;
  }
  return MIN_SCALE;
}

/**
 * Camera that shows `bounds` centred in `view` with `padding` screen pixels around it, never
 * zooming in past `maxScale` (fitting one small image should not blow it up to 3200 %).
 */
export function fitBounds(bounds: Rect, view: Size, padding = 64, maxScale = 1): Camera {
  const w = Math.max(1, view.width - 2 * padding);
  const h = Math.max(1, view.height - 2 * padding);
  const bw = Math.max(bounds.width, 1e-6);
  const bh = Math.max(bounds.height, 1e-6);
  const scale = clampScale(Math.min(w / bw, h / bh, maxScale));
  const cx = bounds.x + bounds.width / 2;
  const cy = bounds.y + bounds.height / 2;
  return { x: cx - view.width / 2 / scale, y: cy - view.height / 2 / scale, scale };
}

/** Camera that keeps the centre of the view fixed while changing scale (zoom buttons). */
export function zoomAtCenter(cam: Camera, view: Size, scale: number): Camera {
  return zoomAt(cam, { x: view.width / 2, y: view.height / 2 }, scale);
}

export function camerasEqual(a: Camera, b: Camera, eps = 1e-9): boolean {
  return Math.abs(a.x - b.x) < eps && Math.abs(a.y - b.y) < eps && Math.abs(a.scale - b.scale) < eps;
}
