import { describe, expect, it } from 'vitest';
import { clickRelease, marqueeSelect, pressSelect, sameSelection } from './selection';

const s = (...ids: string[]) => new Set(ids);

describe('selection rules', () => {
  it('plain press selects only the hit element, or keeps a group it belongs to', () => {
    expect(pressSelect(s('a', 'b'), 'c', false)).toEqual(s('c'));
    expect(pressSelect(s('a', 'b'), 'a', false)).toEqual(s('a', 'b'));
    expect(pressSelect(s('a'), null, false)).toEqual(s());
  });

  it('shift toggles and never clears', () => {
    expect(pressSelect(s('a'), 'b', true)).toEqual(s('a', 'b'));
    expect(pressSelect(s('a', 'b'), 'a', true)).toEqual(s('b'));
    expect(pressSelect(s('a'), null, true)).toEqual(s('a'));
  });

  it('a click without drag narrows a group to the clicked element', () => {
    expect(clickRelease(s('a', 'b'), 'a', false, false)).toEqual(s('a'));
    expect(clickRelease(s('a', 'b'), 'a', false, true)).toEqual(s('a', 'b'));
    expect(clickRelease(s('a', 'b'), 'a', true, false)).toEqual(s('a', 'b'));
  });

  it('marquee replaces, or toggles against the start selection with shift', () => {
    expect(marqueeSelect(s('x'), ['a', 'b'], false)).toEqual(s('a', 'b'));
    expect(marqueeSelect(s('a', 'x'), ['a', 'b'], true)).toEqual(s('x', 'b'));
    expect(sameSelection(s('a', 'b'), s('b', 'a'))).toBe(true);
    expect(sameSelection(s('a'), s('b'))).toBe(false);
  });
});
