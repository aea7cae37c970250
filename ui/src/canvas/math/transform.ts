/**
 * Resize and rotate maths for the selection: the 8 handles, resizing a (rotated) box with the
 * opposite handle anchored and aspect lock, scaling a multi-selection through its bounds, and
 * rotating about a centre with optional 15° snapping.
 *
 * Resizing works in the box's own frame (see `toLocal`), so a rotated image resizes along its
 * own edges and the anchored corner does not move in world space.
 */
import { type Box, type Point, type Rect, center, rotatePoint, toLocal } from './geometry';

export type Handle = 'nw' | 'n' | 'ne' | 'e' | 'se' | 's' | 'sw' | 'w';

export const HANDLES: readonly Handle[] = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

/** Smallest size, in world units, a resize can produce. */
export const MIN_SIZE = 4;
/** Screen distance of the rotation handle above the frame's top edge. */
export const ROTATE_OFFSET_PX = 26;
/** Half-size of a resize handle square, in screen pixels. */
export const HANDLE_PX = 4.5;
/** Frames smaller than this on screen only get corner handles. */
export const SMALL_FRAME_PX = 40;
/** Rotation snapping step with shift held (15°). */
export const ROTATION_SNAP = Math.PI / 12;

/** Direction of a handle from the box centre: −1, 0 or 1 on each axis. */
export function handleSign(h: Handle): { sx: -1 | 0 | 1; sy: -1 | 0 | 1 } {
  const sx = h.includes('w') ? -1 : h.includes('e') ? 1 : 0;
  const sy = h.startsWith('n') ? -1 : h.startsWith('s') ? 1 : 0;
  return { sx, sy };
}

export function isCorner(h: Handle): boolean {
  return h.length === 2;
}

/** World position of each handle of a box. */
export function handlePoints(b: Box): Record<Handle, Point> {
  const c = center(b);
  const out = {} as Record<Handle, Point>;
  for (const h of HANDLES) {
    const { sx, sy } = handleSign(h);
    out[h] = rotatePoint({ x: c.x + (sx * b.width) / 2, y: c.y + (sy * b.height) / 2 }, c, b.rotation);
  }
  return out;
}

/** World position of the rotation handle: `offset` world units above the top edge's middle. */
export function rotationHandlePoint(b: Box, offset: number): Point {
  const c = center(b);
  return rotatePoint({ x: c.x, y: b.y - offset }, c, b.rotation);
}

export interface ResizeOptions {
  /** Keep width:height (the default for images; shift frees it). */
  keepAspect: boolean;
  /** Grow symmetrically about the centre (alt). */
  fromCenter?: boolean;
  minSize?: number;
}

/**
 * The box after dragging `handle` of `start` to the world point `pointer`. The opposite handle
 * stays fixed (or the centre, with `fromCenter`); sizes never go below `minSize`.
 */
export function resizeBox(start: Box, handle: Handle, pointer: Point, opts: ResizeOptions): Box {
  const min = opts.minSize ?? MIN_SIZE;
  const { sx, sy } = handleSign(handle);
  const p = toLocal(start, pointer);
  const half = { x: start.width / 2, y: start.height / 2 };
  const anchor = opts.fromCenter ? { x: 0, y: 0 } : { x: -sx * half.x, y: -sy * half.y };
  const reach = opts.fromCenter ? 2 : 1;

  let w = sx !== 0 ? Math.max(min, (p.x - anchor.x) * sx * reach) : start.width;
  let h = sy !== 0 ? Math.max(min, (p.y - anchor.y) * sy * reach) : start.height;

  if (opts.keepAspect && start.width > 0 && start.height > 0) {
    const ratio = start.width / start.height;
    let s: number;
    if (sx !== 0 && sy !== 0) s = Math.max(w / start.width, h / start.height);
    else if (sx !== 0) s = w / start.width;
    else s = h / start.height;
    s = Math.max(s, min / Math.min(start.width, start.height));
    w = start.width * s;
    h = w / ratio;
  }

  const cx = opts.fromCenter || sx === 0 ? 0 : anchor.x + (sx * w) / 2;
  const cy = opts.fromCenter || sy === 0 ? 0 : anchor.y + (sy * h) / 2;
  const c0 = center(start);
  const c = rotatePoint({ x: c0.x + cx, y: c0.y + cy }, c0, start.rotation);
  return { x: c.x - w / 2, y: c.y - h / 2, width: w, height: h, rotation: start.rotation };
}

/**
 * Maps every box from the selection bounds `from` to `to` (a multi-selection resize): centres
 * move proportionally, sizes scale by the same factors, rotations are kept.
 */
export function scaleBoxes(boxes: readonly Box[], from: Rect, to: Rect): Box[] {
  const fx = from.width > 0 ? to.width / from.width : 1;
  const fy = from.height > 0 ? to.height / from.height : 1;
  return boxes.map((b) => {
    const c = center(b);
    const nc = { x: to.x + (c.x - from.x) * fx, y: to.y + (c.y - from.y) * fy };
    const w = Math.max(MIN_SIZE, b.width * fx);
    const h = Math.max(MIN_SIZE, b.height * fy);
    return { x: nc.x - w / 2, y: nc.y - h / 2, width: w, height: h, rotation: b.rotation };
  });
}

/**
 * Rotation delta of a drag about `pivot` from `startPointer` to `pointer`, snapped so the final
 * angle `base + delta` lands on a multiple of 15° when `snap` is set.
 */
export function rotationDelta(pivot: Point, startPointer: Point, pointer: Point, base: number, snap: boolean): number {
  const a0 = Math.atan2(startPointer.y - pivot.y, startPointer.x - pivot.x);
  const a1 = Math.atan2(pointer.y - pivot.y, pointer.x - pivot.x);
  const delta = a1 - a0;
  if (!snap) return delta;
  return Math.round((base + delta) / ROTATION_SNAP) * ROTATION_SNAP - base;
}

/** Rotates boxes about `pivot` by `delta`: their centres orbit, their own rotation adds up. */
export function rotateBoxes(boxes: readonly Box[], pivot: Point, delta: number): Box[] {
  return boxes.map((b) => {
    const c = rotatePoint(center(b), pivot, delta);
    return { ...b, x: c.x - b.width / 2, y: c.y - b.height / 2, rotation: b.rotation + delta };
  });
}

/** Moves boxes by a world delta. */
export function translateBoxes(boxes: readonly Box[], dx: number, dy: number): Box[] {
  return boxes.map((b) => ({ ...b, x: b.x + dx, y: b.y + dy }));
}

/** CSS resize cursor for a handle of a box turned by `rotation` (cursors come in 45° steps). */
export function handleCursor(h: Handle, rotation: number): string {
  const base: Record<Handle, number> = { e: 0, se: 45, s: 90, sw: 135, w: 180, nw: 225, n: 270, ne: 315 };
  const deg = (((base[h] + (rotation * 180) / Math.PI) % 360) + 360) % 360;
  const idx = Math.round(deg / 45) % 4;
  return ['ew-resize', 'nwse-resize', 'ns-resize', 'nesw-resize'][idx]!;
}
