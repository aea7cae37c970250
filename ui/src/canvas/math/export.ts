/**
 * The size of a PNG export (D9): the region's world size at `EXPORT_SCALE` pixels per world
 * unit (as sharp as a 2× screen shows it at 100 %), scaled down so the longest side stays
 * within `MAX_EXPORT_SIDE` (or the GPU's texture limit) and the area within
 * `MAX_EXPORT_PIXELS`: a huge canvas exports smaller instead of exhausting memory.
 */
import type { Size } from './geometry';

/** Pixels per world unit when the region is small enough. */
export const EXPORT_SCALE = 2;
/** Longest side of an export, in pixels. */
export const MAX_EXPORT_SIDE = 8192;
/** Largest export area, in pixels (128 MB of RGBA while it is encoded). */
export const MAX_EXPORT_PIXELS = 32 * 1024 * 1024;

export interface ExportLimits {
  scale?: number;
  maxSide?: number;
  maxPixels?: number;
}

export interface ExportSize {
  /** Pixels per world unit. */
  scale: number;
  width: number;
  height: number;
}

/** The export of a `region` (world units) within `limits`; null for an empty region. */
export function exportSize(region: Size, limits: ExportLimits = {}): ExportSize | null {
  const { width: w, height: h } = region;
  if (!(Number.isFinite(w) && Number.isFinite(h) && w > 0 && h > 0)) return null;
  const maxSide = limits.maxSide ?? MAX_EXPORT_SIDE;
  const maxPixels = limits.maxPixels ?? MAX_EXPORT_PIXELS;
  const scale = Math.min(limits.scale ?? EXPORT_SCALE, maxSide / Math.max(w, h), Math.sqrt(maxPixels / (w * h)));
  const px = (v: number) => Math.max(1, Math.min(maxSide, Math.floor(v * scale)));
  return { scale, width: px(w), height: px(h) };
}
