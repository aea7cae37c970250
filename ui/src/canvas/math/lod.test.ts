import { describe, expect, it } from 'vitest';
import { MICRO_SIZE, THUMB_PX, chooseLod, screenExtent } from './lod';

describe('level of detail', () => {
  it('picks micro, thumb and full by size on screen', () => {
    expect(chooseLod(20, null)).toBe('micro');
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
  });

  it('measures device pixels', () => {
    expect(screenExtent(1000, 500, 0.5, 2)).toBe(1000);
  });
});
