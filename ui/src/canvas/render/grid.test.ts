import { describe, expect, it, vi } from 'vitest';

vi.mock('pixi.js', () => ({ Particle: class {}, ParticleContainer: class {}, Texture: {} }));

import { dotLattice, dotSpacing } from './grid';

describe('dot grid', () => {
  it('keeps dots 12–48 px apart at any zoom', () => {
    for (const scale of [0.01, 0.1, 0.25, 0.5, 1, 2, 4, 16]) {
      const px = dotSpacing(scale) * scale;
      expect(px).toBeGreaterThanOrEqual(12);
      expect(px).toBeLessThanOrEqual(48);
    }
  });

  it('puts dots at the centres of world cells, following the camera', () => {
    // At 100 %, spacing 24: world cell centres 12, 36, … ; camera at x = 100 shows 108 at 8 px.
    const l = dotLattice({ x: 100, y: 0, scale: 1 }, 240, 48);
    expect(l.step).toBe(24);
    expect(l.x0).toBeCloseTo(8);
    expect(l.y0).toBeCloseTo(12);
    expect(l.cols).toBe(10); // 8, 32, …, 224
    expect(l.rows).toBe(2); // 12, 36
    // Panning by exactly one cell shows the same lattice.
    const moved = dotLattice({ x: 124, y: 0, scale: 1 }, 240, 48);
    expect(moved.x0).toBeCloseTo(l.x0);
  });

  it('covers the view with a bounded number of dots', () => {
    const l = dotLattice({ x: -3.7, y: 12.2, scale: 0.37 }, 1440, 900);
    expect(l.x0).toBeGreaterThanOrEqual(0);
    expect(l.x0).toBeLessThan(l.step);
    expect(l.x0 + (l.cols - 1) * l.step).toBeLessThan(1440);
    expect(l.x0 + l.cols * l.step).toBeGreaterThanOrEqual(1440);
    expect(l.cols * l.rows).toBeLessThanOrEqual(Math.ceil(1440 / 12) * Math.ceil(900 / 12));
  });
});
