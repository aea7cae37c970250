/**
 * One project's canvas inside `MemoryBackend`: elements, viewport, selection and undo/redo.
 *
 * It mirrors the engine's model (src-tauri/engine/src/engine/edits.rs): every user action is a
 * list of element operations; applying them yields their inverse, which is the undo step;
 * undoing applies that inverse as new operations and records ITS inverse as the redo step.
 * Viewport, selection and video playback are saved state but never undo steps.
 */
import { BackendError } from '../backend';
import type { CanvasDelta, Element, ElementPatch, Placement, Viewport, ZOrderMove } from '../types';
import { keysOnTop, reorder, sortByZ } from './zorder';

/** One change to one element, as the engine's `Edit`. */
export type ElementOp =
  | { type: 'create'; element: Element }
  | { type: 'set'; id: string; props: Partial<Element> }
  | { type: 'delete'; id: string };

/** Undo steps kept per project. */
export const HISTORY_LIMIT = 500;

export class MemoryCanvas {
  readonly elements = new Map<string, Element>();
  viewport: Viewport = { x: 0, y: 0, scale: 1 };
  selection: string[] = [];
  private readonly undoStack: ElementOp[][] = [];
  private readonly redoStack: ElementOp[][] = [];

  constructor(
    readonly projectId: string,
    private readonly newId: () => string,
  ) {}

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  ordered(): Element[] {
    return sortByZ(this.elements.values());
  }

  /** Applies a user action as one undo step; clears redo. */
  edit(ops: ElementOp[], selection?: string[]): CanvasDelta {
    const { inverse, delta } = this.apply(ops);
    if (inverse.length > 0) {
      this.undoStack.push(inverse);
      if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
      this.redoStack.length = 0;
    }
    if (selection) this.selection = selection;
    return this.finish(delta, selection);
  }

  undo(): CanvasDelta {
    return this.travel(this.undoStack, this.redoStack);
  }

  redo(): CanvasDelta {
    return this.travel(this.redoStack, this.undoStack);
  }

  /** Applies ops that are not an undo step (video playback state). */
  applyQuiet(ops: ElementOp[]): CanvasDelta {
    return this.finish(this.apply(ops).delta);
  }

  /**
   * Removes `remove` and adds `add` on top without an undo step: what the server does to a
   * canvas on its own (a generation's placeholder appears, its outputs replace it).
   */
  replaceQuiet(remove: readonly string[], add: Omit<Element, 'id' | 'z'>[]): CanvasDelta {
    const keys = keysOnTop(this.elements.values(), add.length);
    const ops: ElementOp[] = [
      ...remove.filter((id) => this.elements.has(id)).map((id): ElementOp => ({ type: 'delete', id })),
      ...add.map((e, i): ElementOp => ({ type: 'create', element: { ...e, id: this.newId(), z: keys[i]! } })),
    ];
    return this.applyQuiet(ops);
  }

  /** Forgets undo/redo history (a freshly seeded or imported canvas starts clean). */
  resetHistory(): void {
    this.undoStack.length = 0;
    this.redoStack.length = 0;
  }

  // ── Operations for the Backend methods ────────────────────────────────────────────────────

  create(elements: Omit<Element, 'id' | 'z'>[]): CanvasDelta {
    const keys = keysOnTop(this.elements.values(), elements.length);
    const created = elements.map((e, i) => ({ ...e, id: this.newId(), z: keys[i]! }));
    return this.edit(
      created.map((element) => ({ type: 'create', element })),
      created.map((e) => e.id),
    );
  }

  update(patches: ElementPatch[]): CanvasDelta {
    const ops: ElementOp[] = [];
    for (const p of patches) {
      const el = this.elements.get(p.id);
      if (!el) continue;
      // A locked element only accepts unlocking (and the lock flag itself).
      if (el.locked && Object.keys(p.props).some((k) => k !== 'locked')) continue;
      ops.push({ type: 'set', id: p.id, props: { ...p.props } });
    }
    return this.edit(ops);
  }

  remove(ids: string[]): CanvasDelta {
    const ops: ElementOp[] = ids.filter((id) => this.elements.has(id)).map((id) => ({ type: 'delete', id }));
    return this.edit(ops, this.selection.filter((id) => !ids.includes(id)));
  }

  duplicate(ids: string[], offset: Placement): CanvasDelta {
    const sources = this.ordered().filter((e) => ids.includes(e.id));
    const keys = keysOnTop(this.elements.values(), sources.length);
    const copies = sources.map((e, i) => ({
      ...e,
      id: this.newId(),
      z: keys[i]!,
      x: e.x + offset.x,
      y: e.y + offset.y,
      locked: false,
      playback: e.playback ? { ...e.playback, playing: false } : null,
    }));
    return this.edit(
      copies.map((element) => ({ type: 'create', element })),
      copies.map((e) => e.id),
    );
  }

  reorder(ids: string[], move: ZOrderMove): CanvasDelta {
    const keys = reorder([...this.elements.values()], new Set(ids), move);
    return this.edit([...keys].map(([id, z]) => ({ type: 'set', id, props: { z } })));
  }

  // ── Internals ───────────────────────────────────────────────────────────────────────────────

  private travel(from: ElementOp[][], to: ElementOp[][]): CanvasDelta {
    const step = from.pop();
    if (!step) return this.finish({ upserted: new Set(), deleted: new Set() });
    const { inverse, delta } = this.apply(step);
    to.push(inverse);
    const touched = [...delta.upserted];
    this.selection = touched;
    return this.finish(delta, touched);
  }

  /** Applies ops in order; the inverse list undoes them in reverse order. */
  private apply(ops: ElementOp[]): { inverse: ElementOp[]; delta: { upserted: Set<string>; deleted: Set<string> } } {
    const inverse: ElementOp[] = [];
    const upserted = new Set<string>();
    const deleted = new Set<string>();
    for (const op of ops) {
      switch (op.type) {
        case 'create': {
          this.elements.set(op.element.id, { ...op.element });
          inverse.unshift({ type: 'delete', id: op.element.id });
          upserted.add(op.element.id);
          deleted.delete(op.element.id);
          break;
        }
        case 'set': {
          const el = this.elements.get(op.id);
          if (!el) break;
          const before: Partial<Element> = {};
          for (const key of Object.keys(op.props) as (keyof Element)[]) {
            (before as Record<string, unknown>)[key] = el[key];
          }
          this.elements.set(op.id, { ...el, ...op.props, id: el.id });
          inverse.unshift({ type: 'set', id: op.id, props: before });
          upserted.add(op.id);
          break;
        }
        case 'delete': {
          const el = this.elements.get(op.id);
          if (!el) break;
          this.elements.delete(op.id);
          inverse.unshift({ type: 'create', element: el });
          upserted.delete(op.id);
          deleted.add(op.id);
          break;
        }
      }
    }
    return { inverse, delta: { upserted, deleted } };
  }

  private finish(d: { upserted: Set<string>; deleted: Set<string> }, selection?: string[]): CanvasDelta {
    const out: CanvasDelta = {
      projectId: this.projectId,
      upserted: [...d.upserted].map((id) => ({ ...this.elements.get(id)! })),
      deleted: [...d.deleted],
      canUndo: this.canUndo,
      canRedo: this.canRedo,
    };
    if (selection) out.selection = selection;
    return out;
  }
}

/** Refuses geometry the wire would refuse (docs/api.md: finite numbers, width/height > 0). */
export function validatePatch(patch: ElementPatch): void {
  const { props } = patch;
  for (const k of ['x', 'y', 'rotation', 'width', 'height'] as const) {
    const v = props[k];
    if (v === undefined) continue;
    if (!Number.isFinite(v)) throw new BackendError('validation', `${k} must be a finite number`);
    if ((k === 'width' || k === 'height') && v <= 0) throw new BackendError('validation', `${k} must be greater than 0`);
  }
}
