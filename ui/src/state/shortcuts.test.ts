import { describe, expect, it } from 'vitest';
import { SHORTCUTS, eventSpec, keysFor } from './shortcuts';

function key(k: string, code: string, mods: Partial<KeyboardEvent> = {}): KeyboardEvent {
  return { key: k, code, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods } as KeyboardEvent;
}

describe('shortcuts', () => {
  it('writes key events as specs', () => {
    expect(eventSpec(key('z', 'KeyZ', { ctrlKey: true }))).toBe('mod+z');
    expect(eventSpec(key('Z', 'KeyZ', { ctrlKey: true, shiftKey: true }))).toBe('mod+shift+z');
    expect(eventSpec(key('!', 'Digit1', { shiftKey: true }))).toBe('shift+1');
    expect(eventSpec(key('}', 'BracketRight', { shiftKey: true }))).toBe('shift+]');
    expect(eventSpec(key('Delete', 'Delete'))).toBe('delete');
  });

  it('covers the canvas commands of D1 without clashes', () => {
    const all = SHORTCUTS.flatMap((s) => s.keys);
    expect(new Set(all).size).toBe(all.length);
    for (const label of ['Undo', 'Redo', 'Duplicate', 'Delete', 'Bring to front', 'Send to back', 'Fit to content', 'Zoom to selection', 'Lock / unlock']) {
      expect(keysFor(label)).toBeDefined();
    }
    expect(SHORTCUTS.find((s) => s.label === 'Redo')!.keys).toEqual(['mod+shift+z', 'mod+y']);
    expect(keysFor('Bring forward')).toBe(']');
    expect(keysFor('Send backward')).toBe('[');
  });
});
