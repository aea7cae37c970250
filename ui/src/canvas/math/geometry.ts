/**
 * Plane geometry of canvas elements: points, axis-aligned rects and rotated boxes.
 *
 * An element's box is `{x, y, width, height, rotation}`: (x, y) is the top-left corner of the
 * UNROTATED box in world units and `rotation` (radians, clockwise on screen because y points
 * down) turns it about its centre. Everything here is pure so hit testing and marquee selection
 * are unit-tested without a GPU.
 */

export interface Point {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

/** Axis-aligned rectangle. */
export interface Rect extends Point, Size {}

/** Element geometry: a rect turned by `rotation` radians about its centre. */
export interface Box extends Rect {
  rotation: number;
}

export const EMPTY_RECT: Rect = { x: 0, y: 0, width: 0, height: 0 };

export function center(r: Rect): Point {
  return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
}

/** Rotates `p` by `angle` radians about `origin`. */
export function rotatePoint(p: Point, origin: Point, angle: number): Point {
  if (angle === 0) return { x: p.x, y: p.y };
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const dx = p.x - origin.x;
  const dy = p.y - origin.y;
  return { x: origin.x + dx * c - dy * s, y: origin.y + dx * s + dy * c };
}

/** The four corners of a box in world space: top-left, top-right, bottom-right, bottom-left. */
export function corners(b: Box): [Point, Point, Point, Point] {
  const c = center(b);
  const pts: Point[] = [
    { x: b.x, y: b.y },
    { x: b.x + b.width, y: b.y },
    { x: b.x + b.width, y: b.y + b.height },
    { x: b.x, y: b.y + b.height },
  ].map((p) => rotatePoint(p, c, b.rotation));
  return pts as [Point, Point, Point, Point];
}

/** Smallest axis-aligned rect containing all `points` (EMPTY_RECT for none). */
export function boundsOfPoints(points: readonly Point[]): Rect {
  if (points.length === 0) return { ...EMPTY_RECT };
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of points) {
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x);
    maxY = Math.max(maxY, p.y);
  }
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}

/** Axis-aligned bounds of a (possibly rotated) box. */
export function aabb(b: Box): Rect {
  if (b.rotation === 0) return { x: b.x, y: b.y, width: b.width, height: b.height };
  return boundsOfPoints(corners(b));
}

/** Union of rects (EMPTY_RECT for none). */
export function unionRects(rects: readonly Rect[]): Rect {
  if (rects.length === 0) return { ...EMPTY_RECT };
  return boundsOfPoints(
    rects.flatMap((r) => [
      { x: r.x, y: r.y },
      { x: r.x + r.width, y: r.y + r.height },
    ]),
  );
}

/** Normalised rect spanned by two points (a drag from `a` to `b`). */
export function rectFromPoints(a: Point, b: Point): Rect {
  return {
    x: Math.min(a.x, b.x),
    y: Math.min(a.y, b.y),
    width: Math.abs(a.x - b.x),
    height: Math.abs(a.y - b.y),
  };
}

export function rectsIntersect(a: Rect, b: Rect): boolean {
  return a.x <= b.x + b.width && b.x <= a.x + a.width && a.y <= b.y + b.height && b.y <= a.y + a.height;
}

/** True when `inner` lies completely inside `outer`. */
export function rectContains(outer: Rect, inner: Rect): boolean {
  return (
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height
  );
}

export function expandRect(r: Rect, by: number): Rect {
  return { x: r.x - by, y: r.y - by, width: r.width + 2 * by, height: r.height + 2 * by };
}

/** `p` expressed in the box's own frame: origin at its centre, axes along its edges. */
export function toLocal(b: Box, p: Point): Point {
  const c = center(b);
  const r = rotatePoint(p, c, -b.rotation);
  return { x: r.x - c.x, y: r.y - c.y };
}

/** True when `p` is inside the box, grown by `tolerance` world units on every side. */
export function pointInBox(p: Point, b: Box, tolerance = 0): boolean {
  const l = toLocal(b, p);
  return Math.abs(l.x) <= b.width / 2 + tolerance && Math.abs(l.y) <= b.height / 2 + tolerance;
}

/** Projects a polygon onto an axis; returns [min, max]. */
function project(points: readonly Point[], axis: Point): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const p of points) {
    const d = p.x * axis.x + p.y * axis.y;
    min = Math.min(min, d);
    max = Math.max(max, d);
  }
  return [min, max];
}

/**
 * Separating-axis test between a rotated box and an axis-aligned rect (the marquee): true when
 * they overlap at all. Exact for rotated elements, unlike a bounds test.
 */
export function boxIntersectsRect(b: Box, r: Rect): boolean {
  if (!rectsIntersect(aabb(b), r)) return false;
  if (b.rotation === 0) return true;
  const boxPts = corners(b);
  const rectPts = corners({ ...r, rotation: 0 });
  const axes: Point[] = [
    { x: 1, y: 0 },
    { x: 0, y: 1 },
    { x: Math.cos(b.rotation), y: Math.sin(b.rotation) },
    { x: -Math.sin(b.rotation), y: Math.cos(b.rotation) },
  ];
  for (const axis of axes) {
    const [a0, a1] = project(boxPts, axis);
    const [b0, b1] = project(rectPts, axis);
    if (a1 < b0 || b1 < a0) return false;
  }
  return true;
}

/** Distance between two points. */
export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/** Angle normalised to (-π, π]. */
export function normalizeAngle(a: number): number {
  let r = a % (2 * Math.PI);
  if (r <= -Math.PI) r += 2 * Math.PI;
  if (r > Math.PI) r -= 2 * Math.PI;
  return r;
}
