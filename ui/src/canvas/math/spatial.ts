/**
 * A uniform spatial grid over world space: which elements might be inside a rect, in time
 * proportional to the cells the rect covers rather than to the number of elements. The
 * renderer culls with it every frame the camera moves, and hit testing and marquee selection
 * use it to test only nearby elements — what keeps thousands of images smooth.
 */
import type { Rect } from './geometry';

/** Cell size in world units; a typical image (≈ 512–1024 units) covers a few cells. */
export const DEFAULT_CELL = 512;
/** The coarse level's cells are this many fine cells across (zoomed far out, one query reads few). */
const COARSE = 16;
/** A query covering more cells than this at every level scans all entries instead. */
const MAX_QUERY_CELLS = 4096;

/** One level of the grid: cells of `size` world units, each the set of ids touching it. */
class Level<Id> {
  readonly cells = new Map<string, Set<Id>>();

  constructor(readonly size: number) {}

  range(r: Rect): [number, number, number, number] {
    const c = this.size;
    return [Math.floor(r.x / c), Math.floor(r.y / c), Math.floor((r.x + r.width) / c), Math.floor((r.y + r.height) / c)];
  }

  /** Cells `r` covers at this level; none when it covers more than MAX_QUERY_CELLS. */
  keysFor(r: Rect): string[] {
    const [x0, y0, x1, y1] = this.range(r);
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_QUERY_CELLS) return [];
    const keys: string[] = [];
    for (let cx = x0; cx <= x1; cx++) {
      for (let cy = y0; cy <= y1; cy++) keys.push(`${cx},${cy}`);
    }
    return keys;
  }

  link(id: Id, keys: readonly string[]): void {
    for (const k of keys) {
      let set = this.cells.get(k);
      if (!set) this.cells.set(k, (set = new Set()));
      set.add(id);
    }
  }

  unlink(id: Id, keys: readonly string[]): void {
    for (const k of keys) {
      const set = this.cells.get(k);
      if (!set) continue;
      set.delete(id);
      if (set.size === 0) this.cells.delete(k);
    }
  }
}

interface Entry {
  rect: Rect;
  /** Cell keys per level (fine, coarse); empty at the fine level: the element is oversized. */
  keys: [string[], string[]];
}

export class SpatialGrid<Id = string> {
  private readonly levels: [Level<Id>, Level<Id>];
  private readonly entries = new Map<Id, Entry>();
  /** Elements too large to index by fine cell (they cover > MAX_QUERY_CELLS cells): always tested. */
  private readonly oversized = new Set<Id>();

  constructor(cell = DEFAULT_CELL) {
    this.levels = [new Level(cell), new Level(cell * COARSE)];
  }

  get size(): number {
    return this.entries.size;
  }

  has(id: Id): boolean {
    return this.entries.has(id);
  }

  /** Inserts or moves `id` to cover `rect`. */
  set(id: Id, rect: Rect): void {
    const prev = this.entries.get(id);
    const fine = this.levels[0].keysFor(rect);
    // The same fine cells mean the same coarse ones (or, none, still oversized).
    if (prev && sameKeys(prev.keys[0], fine)) {
      prev.rect = rect;
      return;
    }
    if (prev) this.unlink(id, prev);
    // Oversized elements are in neither level's cells: every query tests them.
    const keys: [string[], string[]] = fine.length === 0 ? [[], []] : [fine, this.levels[1].keysFor(rect)];
    if (fine.length === 0) this.oversized.add(id);
    this.levels[0].link(id, keys[0]);
    this.levels[1].link(id, keys[1]);
    this.entries.set(id, { rect, keys });
  }

  delete(id: Id): void {
    const prev = this.entries.get(id);
    if (!prev) return;
    this.unlink(id, prev);
    this.entries.delete(id);
  }

  clear(): void {
    for (const l of this.levels) l.cells.clear();
    this.entries.clear();
    this.oversized.clear();
  }

  /** Ids whose rect intersects `rect` (exactly, not just by cell). */
  query(rect: Rect): Set<Id> {
    const out = new Set<Id>();
    // The finest level whose cells the query covers few enough of; else every entry.
    const level = this.levels.find((l) => {
      const [x0, y0, x1, y1] = l.range(rect);
      const count = (x1 - x0 + 1) * (y1 - y0 + 1);
      return count <= MAX_QUERY_CELLS && count <= l.cells.size * 2;
    });
    if (!level) {
      for (const [id, e] of this.entries) if (intersects(e.rect, rect)) out.add(id);
      return out;
    }
    for (const id of this.oversized) {
      const e = this.entries.get(id);
      if (e && intersects(e.rect, rect)) out.add(id);
    }
    const [x0, y0, x1, y1] = level.range(rect);
    for (let cx = x0; cx <= x1; cx++) {
      for (let cy = y0; cy <= y1; cy++) {
        const set = level.cells.get(`${cx},${cy}`);
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

  private unlink(id: Id, e: Entry): void {
    this.levels[0].unlink(id, e.keys[0]);
    this.levels[1].unlink(id, e.keys[1]);
    this.oversized.delete(id);
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

function intersects(a: Rect, b: Rect): boolean {
  return a.x <= b.x + b.width && b.x <= a.x + a.width && a.y <= b.y + b.height && b.y <= a.y + a.height;
}
