import { describe, expect, it } from 'vitest';
import { center, corners } from './geometry';
import {
  MIN_SIZE,
  handleCursor,
  handlePoints,
  resizeBox,
  rotateBoxes,
  rotationDelta,
  rotationHandlePoint,
  scaleBoxes,
} from './transform';

const box = { x: 0, y: 0, width: 200, height: 100, rotation: 0 };

describe('resize', () => {
  it('frees the aspect ratio when asked (shift)', () => {
    const r = resizeBox(box, 'se', { x: 300, y: 300 }, { keepAspect: false });
    expect(r).toEqual({ x: 0, y: 0, width: 300, height: 300, rotation: 0 });
  });

  it('keeps the aspect ratio by default', () => {
    const r = resizeBox(box, 'se', { x: 400, y: 120 }, { keepAspect: true });
    expect(r.width / r.height).toBeCloseTo(2);
    expect(r.width).toBeCloseTo(400);
    expect(r.x).toBe(0);
    expect(r.y).toBe(0);
  });

  it('anchors the opposite corner when dragging nw', () => {
    const r = resizeBox(box, 'nw', { x: -100, y: -50 }, { keepAspect: true });
    expect(r.x + r.width).toBeCloseTo(200);
    expect(r.y + r.height).toBeCloseTo(100);
    expect(r.width).toBeCloseTo(300);
  });

  it('edge handles with aspect lock grow about the perpendicular centre', () => {
    const r = resizeBox(box, 'e', { x: 400, y: 999 }, { keepAspect: true });
    expect(r.width).toBeCloseTo(400);
    expect(r.height).toBeCloseTo(200);
    expect(r.x).toBeCloseTo(0);
    expect(center(r).y).toBeCloseTo(50);
    const free = resizeBox(box, 'e', { x: 400, y: 999 }, { keepAspect: false });
    expect(free.height).toBe(100);
  });

  it('keeps the anchored corner fixed in world space for rotated boxes', () => {
    const rotated = { ...box, rotation: Math.PI / 3 };
    const anchorBefore = corners(rotated)[0]; // top-left is opposite se
    const r = resizeBox(rotated, 'se', { x: 50, y: 400 }, { keepAspect: false });
    const anchorAfter = corners(r)[0];
    expect(anchorAfter.x).toBeCloseTo(anchorBefore.x);
    expect(anchorAfter.y).toBeCloseTo(anchorBefore.y);
    expect(r.rotation).toBe(rotated.rotation);
  });

  it('never goes below the minimum size or flips', () => {
    const r = resizeBox(box, 'se', { x: -500, y: -500 }, { keepAspect: false });
    expect(r.width).toBe(MIN_SIZE);
    expect(r.height).toBe(MIN_SIZE);
    expect(r.x).toBe(0);
    const locked = resizeBox(box, 'se', { x: -500, y: -500 }, { keepAspect: true });
    expect(Math.min(locked.width, locked.height)).toBeCloseTo(MIN_SIZE);
    expect(locked.width / locked.height).toBeCloseTo(2);
  });

  it('resizes from the centre with alt', () => {
    const r = resizeBox(box, 'e', { x: 250, y: 50 }, { keepAspect: false, fromCenter: true });
    expect(center(r)).toEqual(center(box));
    expect(r.width).toBeCloseTo(300);
  });
});

describe('multi-selection scale and rotation', () => {
  it('scales boxes through the selection bounds', () => {
    const boxes = [
      { x: 0, y: 0, width: 100, height: 100, rotation: 0 },
      { x: 100, y: 100, width: 100, height: 100, rotation: 0.5 },
    ];
    const out = scaleBoxes(boxes, { x: 0, y: 0, width: 200, height: 200 }, { x: 0, y: 0, width: 400, height: 400 });
    expect(out[0]).toEqual({ x: 0, y: 0, width: 200, height: 200, rotation: 0 });
    expect(out[1]!.x).toBeCloseTo(200);
    expect(out[1]!.rotation).toBe(0.5);
  });

  it('rotates boxes about a pivot', () => {
    const out = rotateBoxes([{ x: 100, y: -10, width: 20, height: 20, rotation: 0 }], { x: 0, y: 0 }, Math.PI / 2);
    const c = center(out[0]!);
    expect(c.x).toBeCloseTo(0);
    expect(c.y).toBeCloseTo(110);
    expect(out[0]!.rotation).toBeCloseTo(Math.PI / 2);
  });

  it('snaps rotation to 15° steps with shift', () => {
    const pivot = { x: 0, y: 0 };
    const d = rotationDelta(pivot, { x: 10, y: 0 }, { x: 10, y: 3 }, 0, true);
    expect(d).toBeCloseTo(Math.PI / 12);
    const d2 = rotationDelta(pivot, { x: 10, y: 0 }, { x: 10, y: 3 }, 0.1, true);
    expect((0.1 + d2) / (Math.PI / 12)).toBeCloseTo(Math.round((0.1 + d2) / (Math.PI / 12)));
    expect(rotationDelta(pivot, { x: 10, y: 0 }, { x: 0, y: 10 }, 0, false)).toBeCloseTo(Math.PI / 2);
  });
});

describe('handles', () => {
  it('places handles on corners and edge midpoints', () => {
    const h = handlePoints(box);
    expect(h.nw).toEqual({ x: 0, y: 0 });
    expect(h.se).toEqual({ x: 200, y: 100 });
    expect(h.n).toEqual({ x: 100, y: 0 });
    expect(h.w).toEqual({ x: 0, y: 50 });
    expect(rotationHandlePoint(box, 20)).toEqual({ x: 100, y: -20 });
  });

  it('turns resize cursors with the box', () => {
    expect(handleCursor('e', 0)).toBe('ew-resize');
    expect(handleCursor('se', 0)).toBe('nwse-resize');
    expect(handleCursor('e', Math.PI / 2)).toBe('ns-resize');
    expect(handleCursor('n', Math.PI / 4)).toBe('nesw-resize');
  });
});
