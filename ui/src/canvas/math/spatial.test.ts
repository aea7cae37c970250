import { describe, expect, it } from 'vitest';
import { SpatialGrid } from './spatial';

describe('SpatialGrid', () => {
  it('finds exactly the intersecting entries', () => {
    const g = new SpatialGrid(100);
    g.set('a', { x: 0, y: 0, width: 50, height: 50 });
    g.set('b', { x: 500, y: 500, width: 50, height: 50 });
    g.set('c', { x: 90, y: 90, width: 30, height: 30 });
    expect([...g.query({ x: 0, y: 0, width: 60, height: 60 })].sort()).toEqual(['a']);
    expect([...g.query({ x: 80, y: 80, width: 20, height: 20 })].sort()).toEqual(['c']);
    expect(g.query({ x: 1000, y: 1000, width: 5, height: 5 }).size).toBe(0);
  });

  it('moves and deletes entries', () => {
    const g = new SpatialGrid(100);
    g.set('a', { x: 0, y: 0, width: 10, height: 10 });
    g.set('a', { x: 1000, y: 1000, width: 10, height: 10 });
    expect(g.query({ x: 0, y: 0, width: 20, height: 20 }).size).toBe(0);
    expect(g.query({ x: 995, y: 995, width: 20, height: 20 }).has('a')).toBe(true);
    g.delete('a');
    expect(g.size).toBe(0);
    expect(g.query({ x: 995, y: 995, width: 20, height: 20 }).size).toBe(0);
  });

  it('handles negative coordinates, huge elements and huge queries', () => {
    const g = new SpatialGrid(10);
    g.set('neg', { x: -35, y: -35, width: 5, height: 5 });
    g.set('huge', { x: -1e6, y: -1e6, width: 2e6, height: 2e6 });
    for (let i = 0; i < 100; i++) g.set(`e${i}`, { x: i * 20, y: 0, width: 10, height: 10 });
    expect(g.query({ x: -34, y: -34, width: 1, height: 1 })).toEqual(new Set(['neg', 'huge']));
    expect(g.query({ x: -1e5, y: -1e5, width: 2e5, height: 2e5 }).size).toBe(102);
    g.delete('huge');
    expect(g.query({ x: 5000, y: 5000, width: 1, height: 1 }).size).toBe(0);
  });

  it('stays correct over many random updates', () => {
    const g = new SpatialGrid(64);
    const rects = new Map<string, { x: number; y: number; width: number; height: number }>();
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2000 - 1000;
    for (let i = 0; i < 2000; i++) {
      const id = `e${i % 300}`;
      const r = { x: rnd(), y: rnd(), width: Math.abs(rnd()) / 5, height: Math.abs(rnd()) / 5 };
      rects.set(id, r);
      g.set(id, r);
    }
    const q = { x: -200, y: -100, width: 400, height: 300 };
    const expected = [...rects].filter(([, r]) => r.x <= q.x + q.width && q.x <= r.x + r.width && r.y <= q.y + q.height && q.y <= r.y + r.height).map(([id]) => id);
    expect([...g.query(q)].sort()).toEqual(expected.sort());
  });

  it('answers a far-out query from the coarse cells, exactly', () => {
    const g = new SpatialGrid(50);
    const rects = new Map<string, { x: number; y: number; width: number; height: number }>();
    for (let i = 0; i < 5000; i++) {
      const r = { x: (i % 100) * 200, y: Math.floor(i / 100) * 400, width: 150, height: 150 };
      rects.set(`e${i}`, r);
      g.set(`e${i}`, r);
    }
    // 200 × 200 fine cells: too many; 13 × 13 coarse ones.
    const q = { x: 5000, y: 3000, width: 10000, height: 10000 };
    const expected = [...rects].filter(([, r]) => r.x <= q.x + q.width && q.x <= r.x + r.width && r.y <= q.y + q.height && q.y <= r.y + r.height).map(([id]) => id);
    expect(expected.length).toBeGreaterThan(1000);
    expect([...g.query(q)].sort()).toEqual(expected.sort());
    g.set('e0', { x: 9000, y: 9000, width: 10, height: 10 });
    expect(g.query(q).has('e0')).toBe(true);
    g.delete('e0');
    expect(g.query(q).has('e0')).toBe(false);
  });
});
