import { describe, expect, it } from 'vitest';
import {
  aabb,
  boxIntersectsRect,
  corners,
  normalizeAngle,
  pointInBox,
  rectContains,
  rectFromPoints,
  rectsIntersect,
  toLocal,
  unionRects,
} from './geometry';

const square = { x: 0, y: 0, width: 100, height: 100, rotation: 0 };
const diamond = { ...square, rotation: Math.PI / 4 };

describe('rotated boxes', () => {
  it('computes corners and bounds of a rotated box', () => {
    const b = aabb({ x: 0, y: 0, width: 200, height: 100, rotation: Math.PI / 2 });
    expect(b.x).toBeCloseTo(50);
    expect(b.y).toBeCloseTo(-50);
    expect(b.width).toBeCloseTo(100);
    expect(b.height).toBeCloseTo(200);
    const [tl] = corners({ x: 0, y: 0, width: 200, height: 100, rotation: Math.PI / 2 });
    expect(tl.x).toBeCloseTo(150);
    expect(tl.y).toBeCloseTo(-50);
  });

  it('hit-tests points inside the rotated shape, not its bounds', () => {
    expect(pointInBox({ x: 50, y: 50 }, diamond)).toBe(true);
    // Near a corner of the unrotated square: inside the bounds, outside the diamond.
    expect(pointInBox({ x: 2, y: 2 }, diamond)).toBe(false);
    expect(pointInBox({ x: 2, y: 2 }, square)).toBe(true);
    expect(pointInBox({ x: -3, y: 50 }, square)).toBe(false);
    expect(pointInBox({ x: -3, y: 50 }, square, 4)).toBe(true);
  });

  it('expresses points in the box frame', () => {
    const l = toLocal({ x: 0, y: 0, width: 100, height: 50, rotation: Math.PI }, { x: 100, y: 50 });
    expect(l.x).toBeCloseTo(-50);
    expect(l.y).toBeCloseTo(-25);
  });
});

describe('marquee intersection', () => {
  it('uses the exact rotated shape', () => {
    const corner = { x: -10, y: -10, width: 15, height: 15 };
    expect(rectsIntersect(aabb(diamond), corner)).toBe(true);
    expect(boxIntersectsRect(diamond, corner)).toBe(false);
    expect(boxIntersectsRect(diamond, { x: 40, y: -20, width: 20, height: 30 })).toBe(true);
  });

  it('treats touching and containing as intersecting', () => {
    expect(boxIntersectsRect(square, { x: 100, y: 0, width: 10, height: 10 })).toBe(true);
    expect(boxIntersectsRect(square, { x: -50, y: -50, width: 500, height: 500 })).toBe(true);
    expect(boxIntersectsRect(square, { x: 101, y: 0, width: 10, height: 10 })).toBe(false);
  });
});

describe('rects', () => {
  it('normalises drags in any direction', () => {
    expect(rectFromPoints({ x: 10, y: 20 }, { x: 0, y: 5 })).toEqual({ x: 0, y: 5, width: 10, height: 15 });
  });

  it('unions and containment', () => {
    const u = unionRects([
      { x: 0, y: 0, width: 10, height: 10 },
      { x: 20, y: -5, width: 5, height: 5 },
    ]);
    expect(u).toEqual({ x: 0, y: -5, width: 25, height: 15 });
    expect(rectContains(u, { x: 1, y: 1, width: 2, height: 2 })).toBe(true);
    expect(rectContains(u, { x: 1, y: 1, width: 200, height: 2 })).toBe(false);
    expect(unionRects([])).toEqual({ x: 0, y: 0, width: 0, height: 0 });
  });

  it('normalises angles', () => {
    expect(normalizeAngle(3 * Math.PI)).toBeCloseTo(Math.PI);
    expect(normalizeAngle(-Math.PI / 2 - 2 * Math.PI)).toBeCloseTo(-Math.PI / 2);
  });
});
