/**
 * Selection rules of the canvas as pure functions: what a click, a shift-click and a marquee
 * do to the current selection. Kept apart from the pointer handling so the rules are tested
 * on their own and read in one place.
 */

export type Selection = ReadonlySet<string>;

/**
 * Selection after pressing on `hit` (null: empty canvas).
 * - plain press on an unselected element selects only it;
 * - plain press on a selected element keeps the selection (so a group can be dragged);
 * - shift-press toggles the element and keeps the rest;
 * - plain press on empty canvas clears, shift-press on empty canvas keeps.
 */
export function pressSelect(current: Selection, hit: string | null, shift: boolean): Set<string> {
  if (hit === null) return shift ? new Set(current) : new Set();
  if (shift) {
    const next = new Set(current);
    if (next.has(hit)) next.delete(hit);
    else next.add(hit);
    return next;
  }
  return current.has(hit) ? new Set(current) : new Set([hit]);
}

/**
 * Selection while a marquee covers `inside`: with shift it toggles each covered element
 * relative to the selection the drag started with (like Figma); without, it is exactly
 * what the marquee covers.
 */
export function marqueeSelect(base: Selection, inside: Iterable<string>, shift: boolean): Set<string> {
  if (!shift) return new Set(inside);
  const next = new Set(base);
  for (const id of inside) {
    if (base.has(id)) next.delete(id);
    else next.add(id);
  }
  return next;
}

/**
 * After a press that did not turn into a drag, a plain click on an element of a multi-
 * selection narrows the selection to that element (the press kept the group for dragging).
 */
export function clickRelease(current: Selection, hit: string | null, shift: boolean, dragged: boolean): Set<string> {
  if (dragged || shift || hit === null || current.size <= 1 || !current.has(hit)) return new Set(current);
  return new Set([hit]);
}

export function sameSelection(a: Selection, b: Selection): boolean {
  if (a.size !== b.size) return false;
  for (const id of a) if (!b.has(id)) return false;
  return true;
}
