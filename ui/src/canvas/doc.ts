/**
 * `CanvasDoc`: the UI's copy of the open canvas — elements as the engine last reported them,
 * the selection, transient gesture previews and a spatial index for culling and hit testing.
 *
 * It is not reactive on purpose: the WebGL scene reads it every frame and thousands of
 * elements would make a proxy-based store the bottleneck. Listeners hear which ids changed.
 * The engine stays the source of truth: the doc changes only through `load`, `applyDelta`
 * (answers and `canvas-changed` events) and previews that a gesture commits or drops.
 */
import type { CanvasDelta, Element, OpenCanvas } from '../backend/types';
import { Emitter } from '../lib/emitter';
import { compareZ } from '../backend/memory/zorder';
import { type Box, type Point, type Rect, aabb, boxIntersectsRect, expandRect, pointInBox, unionRects } from './math/geometry';
import { SpatialGrid } from './math/spatial';
import { sameSelection } from './selection';

export interface DocEvents extends Record<string, unknown> {
  /** Elements were added, changed or removed (ids of each); `all` after a load. */
  elements: { changed: string[]; deleted: string[]; all: boolean };
  selection: ReadonlySet<string>;
  /** Preview boxes changed (ids whose preview was set or cleared). */
  preview: string[];
}

export function boxOf(e: Element): Box {
  return { x: e.x, y: e.y, width: e.width, height: e.height, rotation: e.rotation };
}

export class CanvasDoc {
  readonly events = new Emitter<DocEvents>();
  projectId: string | null = null;
  private readonly elements = new Map<string, Element>();
  private readonly grid = new SpatialGrid<string>();
  private readonly previews = new Map<string, Box>();
  private sorted: Element[] | null = null;
  private rank = new Map<string, number>();
  private selected: Set<string> = new Set();

  get size(): number {
    return this.elements.size;
  }

  get selection(): ReadonlySet<string> {
    return this.selected;
  }

  load(open: OpenCanvas): void {
    this.projectId = open.project.id;
    this.elements.clear();
    this.grid.clear();
    this.previews.clear();
    for (const e of open.elements) this.put(e);
    this.sorted = null;
    this.selected = new Set(open.selection.filter((id) => this.elements.has(id)));
    this.events.emit('elements', { changed: [], deleted: [], all: true });
    this.events.emit('selection', this.selected);
  }

  /** Applies an engine delta (idempotent); returns false when it is for another project. */
  applyDelta(d: CanvasDelta): boolean {
    if (d.projectId !== this.projectId) return false;
    for (const e of d.upserted) this.put(e);
    for (const id of d.deleted) {
      this.elements.delete(id);
      this.grid.delete(id);
      this.previews.delete(id);
    }
    this.sorted = null;
    this.events.emit('elements', { changed: d.upserted.map((e) => e.id), deleted: d.deleted, all: false });
    const sel = d.selection ? new Set(d.selection) : new Set(this.selected);
    for (const id of sel) if (!this.elements.has(id)) sel.delete(id);
    this.setSelection(sel);
    return true;
  }

  get(id: string): Element | undefined {
    return this.elements.get(id);
  }

  /** Elements bottom to top. */
  ordered(): readonly Element[] {
    if (!this.sorted) {
      this.sorted = [...this.elements.values()].sort(compareZ);
      this.rank = new Map(this.sorted.map((e, i) => [e.id, i]));
    }
    return this.sorted;
  }

  /** Stacking position (0 = bottom). */
  zRank(id: string): number {
    this.ordered();
    return this.rank.get(id) ?? 0;
  }

  setSelection(ids: Iterable<string>): void {
    const next = new Set([...ids].filter((id) => this.elements.has(id)));
    if (sameSelection(next, this.selected)) return;
    this.selected = next;
    this.events.emit('selection', this.selected);
  }

  selectedElements(): Element[] {
    return this.ordered().filter((e) => this.selected.has(e.id));
  }

  // ── Geometry ────────────────────────────────────────────────────────────────────────────────

  /** Box of an element as shown now (its gesture preview, if any). */
  box(id: string): Box | null {
    const p = this.previews.get(id);
    if (p) return p;
    const e = this.elements.get(id);
    return e ? boxOf(e) : null;
  }

  /** `box` for an element already in hand: its preview, or the element itself (no copy). */
  shownBox(e: Element): Box {
    return this.previews.size > 0 ? (this.previews.get(e.id) ?? e) : e;
  }

  setPreview(boxes: ReadonlyMap<string, Box>): void {
    const ids = [...boxes.keys()];
    for (const [id, b] of boxes) this.previews.set(id, b);
    this.events.emit('preview', ids);
  }

  /** Drops previews (of `only` these ids, or all): a gesture was committed or abandoned. */
  clearPreview(only?: Iterable<string>): void {
    if (this.previews.size === 0) return;
    const ids = only ? [...only].filter((id) => this.previews.has(id)) : [...this.previews.keys()];
    if (ids.length === 0) return;
    for (const id of ids) this.previews.delete(id);
    this.events.emit('preview', ids);
  }

  hasPreview(id: string): boolean {
    return this.previews.has(id);
  }

  /** Ids whose bounds intersect `rect` (unordered; previews are not indexed). */
  query(rect: Rect): Set<string> {
    const out = this.grid.query(rect);
    for (const [id, b] of this.previews) if (boxIntersectsRect(b, rect)) out.add(id);
    return out;
  }

  /** Topmost element under a world point, within `tolerance` world units. */
  hitTest(p: Point, tolerance = 0): string | null {
    const candidates = this.query(expandRect({ x: p.x, y: p.y, width: 0, height: 0 }, tolerance));
    let best: string | null = null;
    let bestRank = -1;
    for (const id of candidates) {
      const b = this.box(id);
      if (!b || !pointInBox(p, b, tolerance)) continue;
      const r = this.zRank(id);
      if (r > bestRank) {
        best = id;
        bestRank = r;
      }
    }
    return best;
  }

  /** Ids of elements whose exact (rotated) shape touches `rect`: the marquee. */
  inRect(rect: Rect): string[] {
    return [...this.query(rect)].filter((id) => {
      const b = this.box(id);
      return b !== null && boxIntersectsRect(b, rect);
    });
  }

  boundsOf(ids: Iterable<string>): Rect | null {
    const rects: Rect[] = [];
    for (const id of ids) {
      const b = this.box(id);
      if (b) rects.push(aabb(b));
    }
    return rects.length > 0 ? unionRects(rects) : null;
  }

  /**
   * The transform frame of a selection: the element's own (rotated) box for one element, the
   * axis-aligned bounds for several. Handles sit on it; resizing maps it.
   */
  frameOf(ids: Iterable<string>): Box | null {
    const list = [...ids];
    if (list.length === 1) return this.box(list[0]!);
    const r = this.boundsOf(list);
    return r ? { ...r, rotation: 0 } : null;
  }

  contentBounds(): Rect | null {
    return this.boundsOf(this.elements.keys());
  }

  private put(e: Element): void {
    this.elements.set(e.id, { ...e });
    this.grid.set(e.id, aabb(boxOf(e)));
  }
}
