/**
 * A uniform spatial grid over world space: which elements might be inside a rect, in time
 * proportional to the cells the rect covers rather than to the number of elements. The
 * renderer culls with it every frame the camera moves, and hit testing and marquee selection
 * use it to test only nearby elements — what keeps thousands of images smooth.
 */
import type { Rect } from './geometry';

/** Cell size in world units; a typical image (≈ 512–1024 units) covers a few cells. */
export const DEFAULT_CELL = 512;
/** A query covering more cells than this scans all entries instead (zoomed far out). */
const MAX_QUERY_CELLS = 4096;

export class SpatialGrid<Id = string> {
  private readonly cells = new Map<string, Set<Id>>();
  private readonly entries = new Map<Id, { rect: Rect; keys: string[] }>();
  /** Elements too large to index by cell (they cover > MAX_QUERY_CELLS cells): always tested. */
  private readonly oversized = new Set<Id>();

  constructor(private readonly cell = DEFAULT_CELL) {}

  get size(): number {
    return this.entries.size;
  }

  has(id: Id): boolean {
    return this.entries.has(id);
  }

  /** Inserts or moves `id` to cover `rect`. */
  set(id: Id, rect: Rect): void {
    const prev = this.entries.get(id);
    const keys = this.keysFor(rect);
    if (prev && prev.keys.length === keys.length && prev.keys.every((k, i) => k === keys[i])) {
      prev.rect = rect;
      return;
    }
    if (prev) this.unlink(id, prev.keys);
    this.oversized.delete(id);
    if (keys.length === 0) this.oversized.add(id);
    for (const k of keys) {
      let set = this.cells.get(k);
      if (!set) this.cells.set(k, (set = new Set()));
      set.add(id);
    }
    this.entries.set(id, { rect, keys });
  }

  delete(id: Id): void {
    const prev = this.entries.get(id);
    if (!prev) return;
    this.unlink(id, prev.keys);
    this.oversized.delete(id);
    this.entries.delete(id);
  }

  clear(): void {
    this.cells.clear();
    this.entries.clear();
    this.oversized.clear();
  }

  /** Ids whose rect intersects `rect` (exactly, not just by cell). */
  query(rect: Rect): Set<Id> {
    const out = new Set<Id>();
    const [x0, y0, x1, y1] = this.range(rect);
    const cellCount = (x1 - x0 + 1) * (y1 - y0 + 1);
    if (cellCount > MAX_QUERY_CELLS || cellCount > this.cells.size * 2) {
      for (const [id, e] of this.entries) if (intersects(e.rect, rect)) out.add(id);
      return out;
    }
    for (const id of this.oversized) {
      const e = this.entries.get(id);
      if (e && intersects(e.rect, rect)) out.add(id);
    }
    for (let cx = x0; cx <= x1; cx++) {
      for (let cy = y0; cy <= y1; cy++) {
        const set = this.cells.get(`${cx},${cy}`);
        if (!set) continue;
        for (const id of set) {
          if (out.has(id)) continue;
          const e = this.entries.get(id);
          if (e && intersects(e.rect, rect)) out.add(id);
        }
      }
    }
    return out;
  }

  private range(r: Rect): [number, number, number, number] {
    const c = this.cell;
    return [Math.floor(r.x / c), Math.floor(r.y / c), Math.floor((r.x + r.width) / c), Math.floor((r.y + r.height) / c)];
  }

  private keysFor(r: Rect): string[] {
    const [x0, y0, x1, y1] = this.range(r);
    // Pathologically large elements are rare: they get no cells and sit in `oversized`.
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_QUERY_CELLS) return [];
    const keys: string[] = [];
    for (let cx = x0; cx <= x1; cx++) {
      for (let cy = y0; cy <= y1; cy++) keys.push(`${cx},${cy}`);
    }
    return keys;
  }

  private unlink(id: Id, keys: readonly string[]): void {
    for (const k of keys) {
      const set = this.cells.get(k);
      if (!set) continue;
      set.delete(id);
      if (set.size === 0) this.cells.delete(k);
    }
  }
}

function intersects(a: Rect, b: Rect): boolean {
  return a.x <= b.x + b.width && b.x <= a.x + a.width && a.y <= b.y + b.height && b.y <= a.y + a.height;
}
