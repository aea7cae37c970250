/**
 * Z-order of canvas elements as fractional indices (the wire's `z`: base-62 strings that sort
 * by plain byte order, the scheme of the `fractional-indexing` library and of Figma).
 *
 * Moving elements rewrites only the moved elements' keys, so a z-order change is a small
 * property-level change that merges cleanly with other devices' edits.
 */
import { generateKeyBetween, generateNKeysBetween } from 'fractional-indexing';
import type { ZOrderMove } from '../types';

export interface Ordered {
  id: string;
  z: string;
}

/** Byte-order comparison of z keys (never localeCompare: "B" < "a" here). */
export function compareZ(a: Ordered, b: Ordered): number {
  if (a.z < b.z) return -1;
  if (a.z > b.z) return 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function sortByZ<T extends Ordered>(items: Iterable<T>): T[] {
  return [...items].sort(compareZ);
}

/** `n` keys above everything in `items`. */
export function keysOnTop(items: Iterable<Ordered>, n: number): string[] {
  let max: string | null = null;
  for (const it of items) if (max === null || it.z > max) max = it.z;
  return generateNKeysBetween(max, null, n);
}

/** The order after a move, bottom to top. */
export function reorderIds(order: readonly string[], moving: ReadonlySet<string>, move: ZOrderMove): string[] {
  const ids = [...order];
  switch (move) {
    case 'front':
      return [...ids.filter((id) => !moving.has(id)), ...ids.filter((id) => moving.has(id))];
    case 'back':
      return [...ids.filter((id) => moving.has(id)), ...ids.filter((id) => !moving.has(id))];
    case 'forward':
      for (let i = ids.length - 2; i >= 0; i--) {
        if (moving.has(ids[i]!) && !moving.has(ids[i + 1]!)) [ids[i], ids[i + 1]] = [ids[i + 1]!, ids[i]!];
      }
      return ids;
    case 'backward':
      for (let i = 1; i < ids.length; i++) {
        if (moving.has(ids[i]!) && !moving.has(ids[i - 1]!)) [ids[i], ids[i - 1]] = [ids[i - 1]!, ids[i]!];
      }
      return ids;
  }
}

/**
 * New z keys for the moved elements so that sorting by z gives `reorderIds(…)`. Elements that
 * stay in place keep their keys; runs of moved elements get keys between their new neighbours.
 */
export function reorder(items: readonly Ordered[], moving: ReadonlySet<string>, move: ZOrderMove): Map<string, string> {
  const sorted = sortByZ(items);
  const keyOf = new Map(sorted.map((it) => [it.id, it.z]));
  const target = reorderIds(
    sorted.map((it) => it.id),
    moving,
    move,
  );
  const out = new Map<string, string>();
  let i = 0;
  while (i < target.length) {
    if (!moving.has(target[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j < target.length && moving.has(target[j]!)) j++;
    const before = i > 0 ? (out.get(target[i - 1]!) ?? keyOf.get(target[i - 1]!)!) : null;
    const after = j < target.length ? keyOf.get(target[j]!)! : null;
    // Already in place (e.g. "front" for what is already on top): keep the keys.
    const run = target.slice(i, j);
    const current = run.map((id) => keyOf.get(id)!);
    const inPlace =
      current.every((k, n) => n === 0 || current[n - 1]! < k) &&
      (before === null || before < current[0]!) &&
      (after === null || current[current.length - 1]! < after);
    if (!inPlace) {
      const keys = generateNKeysBetween(before, after, run.length);
      run.forEach((id, n) => out.set(id, keys[n]!));
    }
    i = j;
  }
  return out;
}

/** A key strictly between two neighbours (either may be null for an open end). */
export function keyBetween(before: string | null, after: string | null): string {
  return generateKeyBetween(before, after);
}
