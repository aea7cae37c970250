/**
 * DOM wiring of the canvas input: pointer, wheel, drag-and-drop of files and context-menu
 * suppression on the canvas element, translated into `Controller` calls with positions
 * relative to the canvas host. Returns one function that removes every listener.
 */
import type { Point } from '../math/geometry';
import type { Controller } from './controller';

/** Drag data type of an asset dragged from the library (its id). */
export const ASSET_DRAG_TYPE = 'application/x-iskra-asset';

export interface DropHandlers {
  files(files: File[], at: Point): void;
  assets(ids: string[], at: Point): void;
}

export function bindInput(
  canvas: HTMLCanvasElement,
  host: HTMLElement,
  controller: Controller,
  onDrop: DropHandlers,
): () => void {
  const local = (e: MouseEvent): Point => {
    const r = host.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const down = (e: PointerEvent): void => {
    if (e.button === 1) e.preventDefault();
    host.focus({ preventScroll: true });
    controller.pointerDown(e, local(e));
  };
  const move = (e: PointerEvent): void => controller.pointerMove(e, local(e));
  const up = (e: PointerEvent): void => controller.pointerUp(e, local(e));
  const cancel = (): void => controller.cancel();
  const wheel = (e: WheelEvent): void => {
    e.preventDefault();
    controller.wheel(e, local(e));
  };
  const over = (e: DragEvent): void => {
    const types = e.dataTransfer?.types ?? [];
    if (!e.dataTransfer || !(types.includes('Files') || types.includes(ASSET_DRAG_TYPE))) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    host.dataset.dropping = 'true';
  };
  const leave = (e: DragEvent): void => {
    if (e.relatedTarget instanceof Node && host.contains(e.relatedTarget)) return;
    delete host.dataset.dropping;
  };
  const drop = (e: DragEvent): void => {
    delete host.dataset.dropping;
    const asset = e.dataTransfer?.getData(ASSET_DRAG_TYPE);
    if (asset) {
      e.preventDefault();
      onDrop.assets([asset], local(e));
      return;
    }
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length === 0) return;
    e.preventDefault();
    onDrop.files(files, local(e));
  };
  const menu = (e: MouseEvent): void => e.preventDefault();

  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointercancel', cancel);
  canvas.addEventListener('lostpointercapture', up as EventListener);
  canvas.addEventListener('wheel', wheel, { passive: false });
  canvas.addEventListener('contextmenu', menu);
  host.addEventListener('dragover', over);
  host.addEventListener('dragleave', leave);
  host.addEventListener('drop', drop);
  // Safari's pinch gesture events would zoom the page; the canvas zooms itself on ctrl+wheel.
  const gesture = (e: Event): void => e.preventDefault();
  host.addEventListener('gesturestart', gesture);
  return () => {
    canvas.removeEventListener('pointerdown', down);
    canvas.removeEventListener('pointermove', move);
    canvas.removeEventListener('pointerup', up);
    canvas.removeEventListener('pointercancel', cancel);
    canvas.removeEventListener('lostpointercapture', up as EventListener);
    canvas.removeEventListener('wheel', wheel);
    canvas.removeEventListener('contextmenu', menu);
    host.removeEventListener('dragover', over);
    host.removeEventListener('dragleave', leave);
    host.removeEventListener('drop', drop);
    host.removeEventListener('gesturestart', gesture);
  };
}
