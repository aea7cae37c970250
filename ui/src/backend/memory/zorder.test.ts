import { describe, expect, it } from 'vitest';
import { keysOnTop, reorder, reorderIds, sortByZ } from './zorder';

const items = [
  { id: 'a', z: 'a0' },
  { id: 'b', z: 'a1' },
  { id: 'c', z: 'a2' },
  { id: 'd', z: 'a3' },
];

function orderAfter(moving: string[], move: 'front' | 'back' | 'forward' | 'backward'): string[] {
  const keys = reorder(items, new Set(moving), move);
  return sortByZ(items.map((it) => ({ id: it.id, z: keys.get(it.id) ?? it.z }))).map((it) => it.id);
}

describe('z-order', () => {
  it('moves to front and back keeping relative order', () => {
    expect(orderAfter(['a', 'c'], 'front')).toEqual(['b', 'd', 'a', 'c']);
    expect(orderAfter(['b', 'd'], 'back')).toEqual(['b', 'd', 'a', 'c']);
  });

  it('moves one step forward and backward', () => {
    expect(orderAfter(['a'], 'forward')).toEqual(['b', 'a', 'c', 'd']);
    expect(orderAfter(['d'], 'forward')).toEqual(['a', 'b', 'c', 'd']);
    expect(orderAfter(['c', 'd'], 'backward')).toEqual(['a', 'c', 'd', 'b']);
    expect(reorderIds(['a', 'b', 'c'], new Set(['a', 'b']), 'forward')).toEqual(['c', 'a', 'b']);
  });

  it('rewrites only what moves', () => {
    expect(reorder(items, new Set(['d']), 'front').size).toBe(0);
    expect(reorder(items, new Set(['a']), 'back').size).toBe(0);
    expect([...reorder(items, new Set(['a']), 'front').keys()]).toEqual(['a']);
  });

  it('sorts by byte order and makes keys on top', () => {
    expect(sortByZ([{ id: 'x', z: 'a' }, { id: 'y', z: 'Z' }]).map((i) => i.id)).toEqual(['y', 'x']);
    const top = keysOnTop(items, 2);
    expect(top[0]! > 'a3').toBe(true);
    expect(top[1]! > top[0]!).toBe(true);
    expect(keysOnTop([], 1)).toEqual(['a0']);
    for (const k of top) expect(k).toMatch(/^[0-9A-Za-z]+$/);
  });
});
