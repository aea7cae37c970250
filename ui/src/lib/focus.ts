/**
 * Focus management for modals and popovers: `trapFocus` keeps Tab inside a dialog, focuses
 * its first field (or the element marked `data-autofocus`) and gives focus back to whatever
 * had it when the dialog closes. `onOutside` closes popovers on a press outside them.
 */

const FOCUSABLE = [
  'a[href]',
  'button:not([disabled])',
  'input:not([disabled]):not([type="hidden"])',
  'select:not([disabled])',
  'textarea:not([disabled])',
  '[tabindex]:not([tabindex="-1"])',
].join(',');

export function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
}

/** Svelte action: traps Tab/Shift+Tab inside `node` while it is mounted. */
export function trapFocus(node: HTMLElement): { destroy(): void } {
  const previous = document.activeElement as HTMLElement | null;
  const first = node.querySelector<HTMLElement>('[data-autofocus]') ?? focusables(node)[0] ?? node;
  queueMicrotask(() => first.focus());
  const keydown = (e: KeyboardEvent): void => {
    if (e.key !== 'Tab') return;
    const list = focusables(node);
    if (list.length === 0) {
      e.preventDefault();
      return;
    }
    const i = list.indexOf(document.activeElement as HTMLElement);
    const next = e.shiftKey ? (i <= 0 ? list.length - 1 : i - 1) : i === list.length - 1 ? 0 : i + 1;
    e.preventDefault();
    list[next]!.focus();
  };
  node.addEventListener('keydown', keydown);
  return {
    destroy() {
      node.removeEventListener('keydown', keydown);
      if (previous && document.contains(previous)) previous.focus({ preventScroll: true });
    },
  };
}

/** Svelte action: calls `close` on a pointer press outside `node` (and outside `ignore`). */
export function onOutside(node: HTMLElement, params: { close: () => void; ignore?: HTMLElement | null }): { update(p: typeof params): void; destroy(): void } {
  let p = params;
  const down = (e: PointerEvent): void => {
    const t = e.target as Node;
    if (node.contains(t) || p.ignore?.contains(t)) return;
    p.close();
  };
  document.addEventListener('pointerdown', down, true);
  return {
    update(next) {
      p = next;
    },
    destroy() {
      document.removeEventListener('pointerdown', down, true);
    },
  };
}

/** Svelte action: calls `handler` when Escape is pressed while focus is inside `node`. */
export function onEscape(node: HTMLElement, handler: () => void): { update(h: () => void): void; destroy(): void } {
  let h = handler;
  const keydown = (e: KeyboardEvent): void => {
    if (e.key !== 'Escape' || e.defaultPrevented) return;
    e.stopPropagation();
    h();
  };
  node.addEventListener('keydown', keydown);
  return {
    update(next) {
      h = next;
    },
    destroy() {
      node.removeEventListener('keydown', keydown);
    },
  };
}
