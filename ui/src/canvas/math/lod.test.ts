import { describe, expect, it } from 'vitest';
import { DOT_SIZE, MICRO_SIZE, THUMB_PX, chooseLod, screenExtent } from './lod';

describe('level of detail', () => {
  it('picks dot, micro, thumb and full by size on screen', () => {
    expect(chooseLod(10, null)).toBe('dot');
    expect(chooseLod(50, null)).toBe('micro');
    expect(chooseLod(200, null)).toBe('thumb');
    expect(chooseLod(2000, null)).toBe('full');
  });

  it('does not flicker at the thresholds', () => {
    const nearThumbEdge = THUMB_PX * 1.2;
    expect(chooseLod(nearThumbEdge, 'thumb')).toBe('thumb');
    expect(chooseLod(nearThumbEdge, 'full')).toBe('full');
    const nearMicroEdge = MICRO_SIZE * 1.1;
    expect(chooseLod(nearMicroEdge, 'micro')).toBe('micro');
    expect(chooseLod(nearMicroEdge, 'thumb')).toBe('thumb');
    const nearDotEdge = DOT_SIZE * 1.1;
    expect(chooseLod(nearDotEdge, 'dot')).toBe('dot');
    expect(chooseLod(nearDotEdge, 'micro')).toBe('micro');
    expect(chooseLod(nearDotEdge, null)).toBe('micro');
  });

  it('measures device pixels', () => {
    expect(screenExtent(1000, 500, 0.5, 2)).toBe(1000);
  });
});
