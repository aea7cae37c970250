import { describe, expect, it } from 'vitest';
import {
  MAX_SCALE,
  MIN_SCALE,
  clampScale,
  fitBounds,
  panBy,
  screenToWorld,
  stepZoom,
  visibleWorldRect,
  wheelZoomFactor,
  worldToScreen,
  zoomAt,
  zoomAtCenter,
} from './camera';

const cam = { x: 100, y: -50, scale: 2 };

describe('camera transforms', () => {
  it('maps world to screen and back', () => {
    const w = { x: 130, y: 10 };
    const s = worldToScreen(cam, w);
    expect(s).toEqual({ x: 60, y: 120 });
    expect(screenToWorld(cam, s)).toEqual(w);
  });

  it('zooms around the cursor: the world point under it stays put', () => {
    const cursor = { x: 400, y: 300 };
    const before = screenToWorld(cam, cursor);
    const z = zoomAt(cam, cursor, 5);
    expect(z.scale).toBe(5);
    const after = screenToWorld(z, cursor);
    expect(after.x).toBeCloseTo(before.x, 9);
    expect(after.y).toBeCloseTo(before.y, 9);
  });

  it('clamps zoom to the supported range', () => {
    expect(zoomAt(cam, { x: 0, y: 0 }, 1000).scale).toBe(MAX_SCALE);
    expect(zoomAt(cam, { x: 0, y: 0 }, 0).scale).toBe(1);
    expect(clampScale(0.0001)).toBe(MIN_SCALE);
    expect(clampScale(Number.NaN)).toBe(1);
  });

  it('pans so content follows the pointer', () => {
    const p = panBy(cam, 20, -10);
    const w = { x: 150, y: 0 };
    const s0 = worldToScreen(cam, w);
    const s1 = worldToScreen(p, w);
    expect(s1.x - s0.x).toBeCloseTo(20);
    expect(s1.y - s0.y).toBeCloseTo(-10);
  });

  it('wheel zoom is symmetric and bounded', () => {
    expect(wheelZoomFactor(100) * wheelZoomFactor(-100)).toBeCloseTo(1, 12);
    expect(wheelZoomFactor(-5)).toBeGreaterThan(1);
    expect(wheelZoomFactor(10_000)).toBe(wheelZoomFactor(120));
    expect(wheelZoomFactor(3, 1)).toBe(wheelZoomFactor(48));
  });

  it('steps through zoom levels', () => {
    expect(stepZoom(1, 1)).toBe(1.5);
    expect(stepZoom(1, -1)).toBe(0.75);
    expect(stepZoom(0.8, -1)).toBe(0.75);
    expect(stepZoom(MAX_SCALE, 1)).toBe(MAX_SCALE);
    expect(stepZoom(MIN_SCALE, -1)).toBe(MIN_SCALE);
  });
});

describe('fit to bounds', () => {
  const view = { width: 1000, height: 600 };

  it('centres the bounds with padding', () => {
    const b = { x: 0, y: 0, width: 2000, height: 1000 };
    const c = fitBounds(b, view, 50);
    expect(c.scale).toBeCloseTo(Math.min(900 / 2000, 500 / 1000));
    const centre = worldToScreen(c, { x: 1000, y: 500 });
    expect(centre.x).toBeCloseTo(500);
    expect(centre.y).toBeCloseTo(300);
    const vis = visibleWorldRect(c, view);
    expect(vis.x).toBeLessThanOrEqual(b.x);
    expect(vis.x + vis.width).toBeGreaterThanOrEqual(b.x + b.width);
  });

  it('does not blow small content up past maxScale', () => {
    expect(fitBounds({ x: 0, y: 0, width: 10, height: 10 }, view, 50, 1).scale).toBe(1);
    expect(fitBounds({ x: 0, y: 0, width: 10, height: 10 }, view, 50, 4).scale).toBe(4);
  });

  it('zooms about the view centre', () => {
    const c = zoomAtCenter(cam, view, 4);
    const before = screenToWorld(cam, { x: 500, y: 300 });
    const after = screenToWorld(c, { x: 500, y: 300 });
    expect(after.x).toBeCloseTo(before.x);
    expect(after.y).toBeCloseTo(before.y);
  });
});
