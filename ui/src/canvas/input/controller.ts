/**
 * Pointer and wheel input of the canvas: a small state machine of gestures — pan, marquee,
 * move, resize, rotate — over DOM pointer events on the canvas element.
 *
 * Hit testing uses the doc's spatial grid and the pure maths, not Pixi's per-object event
 * system (which would walk thousands of display objects on every move). During a gesture the
 * doc holds previews; on release the controller commits them as ONE edit (one undo step).
 */
import type { CanvasDoc } from '../doc';
import { type Camera, boxToScreen, panBy, screenToWorld, wheelZoomFactor, zoomAt } from '../math/camera';
import { type Box, type Point, type Size, center, distance, rectFromPoints } from '../math/geometry';
import {
  type Handle,
  HANDLES,
  HANDLE_PX,
  ROTATE_OFFSET_PX,
  SMALL_FRAME_PX,
  handleCursor,
  handlePoints,
  resizeBox,
  rotateBoxes,
  rotationDelta,
  rotationHandlePoint,
  scaleBoxes,
  translateBoxes,
} from '../math/transform';
import { clickRelease, marqueeSelect, pressSelect } from '../selection';

export type Tool = 'select' | 'hand';

/** Screen pixels a press must travel before it becomes a drag. */
const DRAG_THRESHOLD = 3;
/** Extra screen pixels around handles and elements that still count as a hit. */
const HIT_SLOP = 4;

export interface ControllerHost {
  doc: CanvasDoc;
  camera(): Camera;
  setCamera(cam: Camera): void;
  view(): Size;
  tool(): Tool;
  setCursor(cursor: string): void;
  invalidate(): void;
  /** Commits the boxes as one edit; the doc's previews are cleared when the answer lands. */
  commit(boxes: Map<string, Box>): void;
  selectionChanged(): void;
}

type Gesture =
  | { kind: 'pan'; last: Point }
  | { kind: 'marquee'; start: Point; base: Set<string>; shift: boolean }
  | { kind: 'move'; start: Point; startScreen: Point; boxes: Map<string, Box>; dragged: boolean; hit: string; shift: boolean }
  | { kind: 'resize'; handle: Handle; frame: Box; boxes: Map<string, Box> }
  | { kind: 'rotate'; pivot: Point; start: Point; base: number; boxes: Map<string, Box> };

export type HandleHit = { kind: 'resize'; handle: Handle } | { kind: 'rotate' };

export class Controller {
  hover: string | null = null;
  marquee: ReturnType<typeof rectFromPoints> | null = null;
  spaceHeld = false;
  private gesture: Gesture | null = null;
  private pointerId: number | null = null;

  constructor(private readonly host: ControllerHost) {}

  get busy(): boolean {
    return this.gesture !== null && this.gesture.kind !== 'pan';
  }

  get panning(): boolean {
    return this.gesture?.kind === 'pan';
  }

  /** Editable (unlocked) selected ids. */
  editable(): string[] {
    const { doc } = this.host;
    return [...doc.selection].filter((id) => doc.get(id)?.locked === false);
  }

  /** The resize/rotate handle under a screen point, if the selection shows handles. */
  handleAt(p: Point): HandleHit | null {
    const ids = this.editable();
    if (ids.length === 0 || ids.length !== this.host.doc.selection.size) return null;
    const frame = this.host.doc.frameOf(ids);
    if (!frame) return null;
    const f = boxToScreen(this.host.camera(), frame);
    if (distance(p, rotationHandlePoint(f, ROTATE_OFFSET_PX)) <= 6 + HIT_SLOP) return { kind: 'rotate' };
    const small = Math.min(f.width, f.height) < SMALL_FRAME_PX;
    const pts = handlePoints(f);
    for (const h of HANDLES) {
      if (small && h.length === 1) continue;
      if (distance(p, pts[h]) <= HANDLE_PX + HIT_SLOP) return { kind: 'resize', handle: h };
    }
    return null;
  }

  pointerDown(e: PointerEvent, at: Point): void {
    if (this.gesture) return;
    const { doc } = this.host;
    const panButton = e.button === 1 || (e.button === 0 && (this.spaceHeld || this.host.tool() === 'hand'));
    if (panButton) {
      this.begin(e, { kind: 'pan', last: at });
      this.host.setCursor('grabbing');
      return;
    }
    if (e.button !== 0) return;
    const world = screenToWorld(this.host.camera(), at);
    const handle = this.handleAt(at);
    if (handle) {
      const ids = this.editable();
      const boxes = this.boxesOf(ids);
      const frame = doc.frameOf(ids)!;
      if (handle.kind === 'resize') this.begin(e, { kind: 'resize', handle: handle.handle, frame, boxes });
      else this.begin(e, { kind: 'rotate', pivot: center(frame), start: world, base: frame.rotation, boxes });
      return;
    }
    const hit = doc.hitTest(world, HIT_SLOP / this.host.camera().scale);
    const next = pressSelect(doc.selection, hit, e.shiftKey);
    doc.setSelection(next);
    if (hit && next.has(hit)) {
      const boxes = this.boxesOf(this.editable());
      this.begin(e, { kind: 'move', start: world, startScreen: at, boxes, dragged: false, hit, shift: e.shiftKey });
    } else if (!hit) {
      this.begin(e, { kind: 'marquee', start: world, base: new Set(doc.selection), shift: e.shiftKey });
    }
    this.host.invalidate();
  }

  pointerMove(e: PointerEvent, at: Point): void {
    const g = this.gesture;
    if (!g) {
      this.updateHover(at);
      return;
    }
    if (e.pointerId !== this.pointerId) return;
    const { doc } = this.host;
    const cam = this.host.camera();
    const world = screenToWorld(cam, at);
    switch (g.kind) {
      case 'pan':
        this.host.setCamera(panBy(cam, at.x - g.last.x, at.y - g.last.y));
        g.last = at;
        return;
      case 'marquee': {
        this.marquee = rectFromPoints(g.start, world);
        doc.setSelection(marqueeSelect(g.base, doc.inRect(this.marquee), g.shift));
        break;
      }
      case 'move': {
        if (!g.dragged && distance(at, g.startScreen) < DRAG_THRESHOLD) return;
        g.dragged = true;
        if (g.boxes.size === 0) return;
        const moved = translateBoxes([...g.boxes.values()], world.x - g.start.x, world.y - g.start.y);
        doc.setPreview(new Map([...g.boxes.keys()].map((id, i) => [id, moved[i]!])));
        this.host.setCursor('move');
        break;
      }
      case 'resize': {
        const opts = { keepAspect: !e.shiftKey, fromCenter: e.altKey };
        const next = resizeBox(g.frame, g.handle, world, opts);
        const ids = [...g.boxes.keys()];
        const out = g.boxes.size === 1 ? [next] : scaleBoxes([...g.boxes.values()], g.frame, next);
        doc.setPreview(new Map(ids.map((id, i) => [id, out[i]!])));
        break;
      }
      case 'rotate': {
        const delta = rotationDelta(g.pivot, g.start, world, g.base, e.shiftKey);
        const out = rotateBoxes([...g.boxes.values()], g.pivot, delta);
        doc.setPreview(new Map([...g.boxes.keys()].map((id, i) => [id, out[i]!])));
        break;
      }
    }
    this.host.invalidate();
  }

  pointerUp(e: PointerEvent, at: Point): void {
    const g = this.gesture;
    if (!g || e.pointerId !== this.pointerId) return;
    this.gesture = null;
    this.pointerId = null;
    const { doc } = this.host;
    switch (g.kind) {
      case 'pan':
        break;
      case 'marquee':
        this.marquee = null;
        this.host.selectionChanged();
        break;
      case 'move':
        if (!g.dragged) {
          doc.setSelection(clickRelease(doc.selection, g.hit, g.shift, false));
          this.host.selectionChanged();
          break;
        }
        this.commitPreview(g.boxes);
        this.host.selectionChanged();
        break;
      case 'resize':
      case 'rotate':
        this.commitPreview(g.boxes);
        break;
    }
    this.updateHover(at);
    this.host.invalidate();
  }

  /** Abandons the gesture in progress (Escape, lost capture). */
  cancel(): void {
    if (!this.gesture) return;
    this.gesture = null;
    this.pointerId = null;
    this.marquee = null;
    this.host.doc.clearPreview();
    this.host.invalidate();
  }

  wheel(e: WheelEvent, at: Point): void {
    const cam = this.host.camera();
    if (e.ctrlKey || e.metaKey) {
      this.host.setCamera(zoomAt(cam, at, cam.scale * wheelZoomFactor(e.deltaY, e.deltaMode)));
      return;
    }
    const k = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? this.host.view().height : 1;
    let dx = e.deltaX * k;
    let dy = e.deltaY * k;
    if (e.shiftKey && dx === 0) [dx, dy] = [dy, 0];
    this.host.setCamera(panBy(cam, -dx, -dy));
  }

  /** Space held or released: the hand cursor. */
  setSpace(held: boolean): void {
    this.spaceHeld = held;
    if (!this.gesture) this.host.setCursor(held ? 'grab' : this.host.tool() === 'hand' ? 'grab' : 'default');
  }

  private begin(e: PointerEvent, g: Gesture): void {
    this.gesture = g;
    this.pointerId = e.pointerId;
    (e.target as Element | null)?.setPointerCapture?.(e.pointerId);
  }

  private boxesOf(ids: string[]): Map<string, Box> {
    const out = new Map<string, Box>();
    for (const id of ids) {
      const b = this.host.doc.box(id);
      if (b) out.set(id, b);
    }
    return out;
  }

  private commitPreview(starts: Map<string, Box>): void {
    const { doc } = this.host;
    const changed = new Map<string, Box>();
    for (const [id, b0] of starts) {
      const b = doc.box(id);
      if (b && (b.x !== b0.x || b.y !== b0.y || b.width !== b0.width || b.height !== b0.height || b.rotation !== b0.rotation)) {
        changed.set(id, b);
      }
    }
    if (changed.size === 0) doc.clearPreview();
    else this.host.commit(changed);
  }

  private updateHover(at: Point): void {
    const handle = this.handleAt(at);
    const tool = this.host.tool();
    if (this.spaceHeld || tool === 'hand') {
      this.host.setCursor('grab');
    } else if (handle?.kind === 'rotate') {
      this.host.setCursor('crosshair');
    } else if (handle?.kind === 'resize') {
      const frame = this.host.doc.frameOf(this.editable());
      this.host.setCursor(handleCursor(handle.handle, frame?.rotation ?? 0));
    } else {
      this.host.setCursor('default');
    }
    const cam = this.host.camera();
    const hit = handle ? null : this.host.doc.hitTest(screenToWorld(cam, at), HIT_SLOP / cam.scale);
    if (hit !== this.hover) {
      this.hover = hit;
      this.host.invalidate();
    }
  }
}
