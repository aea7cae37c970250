import { describe, expect, it } from 'vitest';
import { EXPORT_SCALE, MAX_EXPORT_PIXELS, MAX_EXPORT_SIDE, exportSize } from './export';

describe('export size', () => {
  it('draws a small region at the export scale', () => {
    expect(exportSize({ width: 640, height: 360 })).toEqual({ scale: EXPORT_SCALE, width: 1280, height: 720 });
  });

  it('caps the longest side and keeps the aspect ratio', () => {
    const s = exportSize({ width: 100_000, height: 1000 })!;
    expect(s.width).toBe(MAX_EXPORT_SIDE);
    expect(s.height).toBe(Math.floor(1000 * (MAX_EXPORT_SIDE / 100_000)));
    expect(exportSize({ width: 20_000, height: 500 }, { maxSide: 4096 })!.width).toBe(4096);
  });

  it('caps the area of a huge square canvas', () => {
    const s = exportSize({ width: 50_000, height: 50_000 })!;
    expect(s.width * s.height).toBeLessThanOrEqual(MAX_EXPORT_PIXELS);
    expect(s.width).toBe(s.height);
    expect(s.width).toBeLessThanOrEqual(MAX_EXPORT_SIDE);
  });

  it('gives at least one pixel, and nothing for an empty region', () => {
    expect(exportSize({ width: 0.1, height: 0.1 })).toMatchObject({ width: 1, height: 1 });
    expect(exportSize({ width: 0, height: 10 })).toBeNull();
    expect(exportSize({ width: Number.NaN, height: 10 })).toBeNull();
  });
});
