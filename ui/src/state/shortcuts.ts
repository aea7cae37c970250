/**
 * Keyboard shortcuts of the canvas, as data: each has a key spec (also shown in tooltips via
 * `shortcutLabel`), a description and what it does. One window-level listener matches them;
 * it stays out of the way while typing in a field or while a dialog is open.
 */
import { isTyping, primary } from '../lib/platform';
import type { AppState } from './app.svelte';

export interface Shortcut {
  /** `mod+shift+z`, `]`, `delete`… (`mod` is ⌘ on macOS, Ctrl elsewhere). */
  keys: string[];
  label: string;
  run: (app: AppState, e: KeyboardEvent) => void;
}

/** Nudge distance with arrows, and with shift held (world units). */
const NUDGE = 1;
const NUDGE_BIG = 10;

export const SHORTCUTS: Shortcut[] = [
  { keys: ['mod+z'], label: 'Undo', run: (a) => void a.canvas.undo() },
  { keys: ['mod+shift+z', 'mod+y'], label: 'Redo', run: (a) => void a.canvas.redo() },
  { keys: ['mod+d'], label: 'Duplicate', run: (a) => void a.canvas.duplicateSelection() },
  { keys: ['delete', 'backspace'], label: 'Delete', run: (a) => void a.canvas.deleteSelection() },
  { keys: [']'], label: 'Bring forward', run: (a) => void a.canvas.reorder('forward') },
  { keys: ['['], label: 'Send backward', run: (a) => void a.canvas.reorder('backward') },
  { keys: ['mod+]', 'shift+]'], label: 'Bring to front', run: (a) => void a.canvas.reorder('front') },
  { keys: ['mod+[', 'shift+['], label: 'Send to back', run: (a) => void a.canvas.reorder('back') },
  { keys: ['mod+shift+l'], label: 'Lock / unlock', run: (a) => void a.canvas.toggleLock() },
  { keys: ['mod+a'], label: 'Select all', run: (a) => a.canvas.selectAll() },
  {
    keys: ['escape'],
    label: 'Deselect',
    run: (a) => {
      const c = a.canvas.engine?.controller;
      if (c?.busy) c.cancel();
      else a.canvas.clearSelection();
    },
  },
  { keys: ['v'], label: 'Select tool', run: (a) => a.canvas.setTool('select') },
  { keys: ['h'], label: 'Hand tool', run: (a) => a.canvas.setTool('hand') },
  { keys: ['shift+1'], label: 'Fit to content', run: (a) => a.canvas.engine?.fitContent() },
  { keys: ['shift+2'], label: 'Zoom to selection', run: (a) => a.canvas.engine?.zoomToSelection() },
  { keys: ['mod+0', 'shift+0'], label: 'Zoom to 100 %', run: (a) => a.canvas.engine?.zoomTo(1) },
  { keys: ['mod+=', 'mod+plus', '+', '='], label: 'Zoom in', run: (a) => a.canvas.engine?.zoomStep(1) },
  { keys: ['mod+-', '-'], label: 'Zoom out', run: (a) => a.canvas.engine?.zoomStep(-1) },
  { keys: ['g'], label: 'Generate', run: (a) => a.toggleGenerate() },
  { keys: ['mod+o'], label: 'Add media', run: () => document.getElementById('iskra-file-input')?.click() },
  { keys: ['arrowleft', 'shift+arrowleft'], label: 'Nudge left', run: (a, e) => void a.canvas.nudge(e.shiftKey ? -NUDGE_BIG : -NUDGE, 0) },
  { keys: ['arrowright', 'shift+arrowright'], label: 'Nudge right', run: (a, e) => void a.canvas.nudge(e.shiftKey ? NUDGE_BIG : NUDGE, 0) },
  { keys: ['arrowup', 'shift+arrowup'], label: 'Nudge up', run: (a, e) => void a.canvas.nudge(0, e.shiftKey ? -NUDGE_BIG : -NUDGE) },
  { keys: ['arrowdown', 'shift+arrowdown'], label: 'Nudge down', run: (a, e) => void a.canvas.nudge(0, e.shiftKey ? NUDGE_BIG : NUDGE) },
];

/** The first key spec of a shortcut by label (for tooltips). */
export function keysFor(label: string): string | undefined {
  return SHORTCUTS.find((s) => s.label === label)?.keys[0];
}

/** The spec of a key event: modifiers in fixed order + the key (`mod+shift+z`). */
export function eventSpec(e: KeyboardEvent): string {
  const parts: string[] = [];
  if (primary(e)) parts.push('mod');
  if (e.shiftKey) parts.push('shift');
  if (e.altKey) parts.push('alt');
  // With shift, digits arrive as symbols ("!"): use the physical key for those.
  let key = e.key.toLowerCase();
  if (e.shiftKey && /^Digit\d$/.test(e.code)) key = e.code.slice(5);
  if (e.shiftKey && e.code === 'BracketRight') key = ']';
  if (e.shiftKey && e.code === 'BracketLeft') key = '[';
  parts.push(key);
  return parts.join('+');
}

function onCanvas(target: EventTarget | null): boolean {
  return !(target instanceof HTMLElement) || target === document.body || target.closest('.canvas-area') !== null;
}

/** Installs the listener; returns its removal. Space toggles temporary panning. */
export function bindShortcuts(app: AppState): () => void {
  const blocked = (e: KeyboardEvent): boolean =>
    app.view !== 'canvas' || isTyping(e.target) || document.querySelector('[aria-modal="true"]') !== null;
  const down = (e: KeyboardEvent): void => {
    if (e.defaultPrevented || blocked(e)) return;
    if (e.key === ' ') {
      e.preventDefault();
      if (!e.repeat) app.canvas.engine?.controller.setSpace(true);
      return;
    }
    // Keys inside open menus and popovers belong to them.
    if ((e.target as HTMLElement | null)?.closest?.('[role="menu"], [role="dialog"]')) return;
    const spec = eventSpec(e);
    const hit = SHORTCUTS.find((s) => s.keys.includes(spec));
    if (!hit) return;
    // Plain keys (Delete, arrows, ], V…) act on the canvas only while focus is on it, not
    // while it sits on a library card or a top-bar button; modified ones work everywhere.
    if (!spec.startsWith('mod+') && !onCanvas(e.target)) return;
    e.preventDefault();
    hit.run(app, e);
  };
  const up = (e: KeyboardEvent): void => {
    if (e.key === ' ') app.canvas.engine?.controller.setSpace(false);
  };
  const blur = (): void => app.canvas.engine?.controller.setSpace(false);
  window.addEventListener('keydown', down);
  window.addEventListener('keyup', up);
  window.addEventListener('blur', blur);
  return () => {
    window.removeEventListener('keydown', down);
    window.removeEventListener('keyup', up);
    window.removeEventListener('blur', blur);
  };
}
