/**
 * Platform details for shortcuts: which modifier is "primary" (⌘ on macOS, Ctrl elsewhere)
 * and how shortcut hints are written in tooltips and menus.
 */

export const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

/** True when the platform's primary modifier is held. */
export function primary(e: KeyboardEvent | MouseEvent | WheelEvent): boolean {
  return isMac ? e.metaKey : e.ctrlKey;
}

/** `mod+shift+z` → `⌘⇧Z` on macOS, `Ctrl+Shift+Z` elsewhere. */
export function shortcutLabel(spec: string): string {
  const parts = spec.split('+');
  const names: Record<string, [string, string]> = {
    mod: ['⌘', 'Ctrl'],
    shift: ['⇧', 'Shift'],
    alt: ['⌥', 'Alt'],
    del: ['⌫', 'Del'],
    space: ['Space', 'Space'],
    enter: ['↩', 'Enter'],
  };
  const out = parts.map((p) => names[p]?.[isMac ? 0 : 1] ?? (p.length === 1 ? p.toUpperCase() : p));
  return isMac ? out.join('') : out.join('+');
}

/** True when keyboard input goes to a text field (shortcuts must stay out of the way). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}
