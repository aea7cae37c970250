import { describe, expect, it } from 'vitest';
import { CellPool, WHITE_CELL } from './cells';

describe('CellPool', () => {
  it('cuts the atlas into cells and keeps the white one out of reach', () => {
    const pool = new CellPool(128, 32);
    expect(pool.capacity).toBe(16);
    expect(pool.free).toBe(15);
    const cells = new Set<number>();
    for (let c = pool.take(); c !== null; c = pool.take()) cells.add(c);
    expect(cells.size).toBe(15);
    expect(cells.has(WHITE_CELL)).toBe(false);
    expect(pool.take()).toBeNull();
  });

  it('hands a given-back cell out again, once', () => {
    const pool = new CellPool(64, 32);
    const a = pool.take()!;
    pool.take();
    pool.take();
    expect(pool.free).toBe(0);
    pool.give(a);
    pool.give(a);
    pool.give(WHITE_CELL);
    expect(pool.free).toBe(1);
    expect(pool.take()).toBe(a);
    expect(pool.take()).toBeNull();
  });

  it('places cells row by row', () => {
    const pool = new CellPool(4096, 32);
    expect(pool.perRow).toBe(128);
    expect(pool.origin(0)).toEqual({ x: 0, y: 0 });
    expect(pool.origin(129)).toEqual({ x: 32, y: 32 });
  });
});
