/**
 * How the Gallery and the share actions word things: a model's name (its catalogue label when
 * known, else the last part of its id), an image size, counts, and which canvas elements can be
 * shared (one image or video with its asset).
 */
import type { Element, ModelInfo } from '../backend/types';

/** The catalogue's label of `id`, else its id without the provider's prefix (`fal-ai/flux/dev` → `flux/dev`). */
export function modelName(id: string, models: readonly ModelInfo[] = []): string {
  const known = models.find((m) => m.id === id);
  if (known) return known.label;
  const parts = id.split('/').filter(Boolean);
  return parts.length > 1 ? parts.slice(1).join('/') : id || 'Unknown model';
}

/** `1024x768` → `1024 × 768` (anything else as given). */
export function sizeLabel(size: string): string {
  const m = /^(\d+)x(\d+)$/.exec(size);
  return m ? `${m[1]} × ${m[2]}` : size;
}

/** `1 view`, `12 downloads`. */
export function countLabel(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** The asset a selection can share: exactly one image or video element showing an asset. */
export function shareableAsset(selection: readonly Element[]): string | null {
  if (selection.length !== 1) return null;
  const el = selection[0]!;
  return (el.kind === 'image' || el.kind === 'video') && el.assetId ? el.assetId : null;
}
