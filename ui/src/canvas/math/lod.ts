/**
 * Level-of-detail choice for an element's texture from its size on screen, with hysteresis so
 * an image hovering at a threshold during a zoom does not flip between levels every frame.
 *
 * - `dot`: a 32 px cell of the shared atlas (`render/atlas.ts`), for elements under ~32 px on
 *   screen — zoomed far out over thousands of images, all of them drawn from one texture;
 * - `micro`: a 64 px copy made on the client, for elements a few dozen pixels across (16 KB of
 *   GPU memory each instead of 400 KB);
 * - `thumb`: the engine's cached thumbnail (THUMB_SIZE px);
 * - `full`: the original file, only when the element is large on screen.
 */

export type Lod = 'dot' | 'micro' | 'thumb' | 'full';

/** Side of an atlas cell (a `dot` image, stretched to the square), in pixels. */
export const DOT_SIZE = 32;
/** Longest side of a micro texture, in pixels. */
export const MICRO_SIZE = 64;
/** Longest side of the engine's thumbnails, in pixels. */
export const THUMB_PX = 320;

/** [switch up above, switch down below] in device pixels, for dot→micro, micro→thumb and thumb→full. */
const DOT_BAND: [number, number] = [DOT_SIZE * 1.25, DOT_SIZE];
const MICRO_BAND: [number, number] = [MICRO_SIZE * 1.25, MICRO_SIZE];
const THUMB_BAND: [number, number] = [THUMB_PX * 1.4, THUMB_PX * 1.1];

/** The level for an element `screenPx` device pixels across, given the level it shows now. */
export function chooseLod(screenPx: number, current: Lod | null): Lod {
  const dotUp = current === 'dot' ? DOT_BAND[0] : DOT_BAND[1];
  if (screenPx < dotUp) return 'dot';
  const microUp = current === 'micro' ? MICRO_BAND[0] : MICRO_BAND[1];
  if (screenPx < microUp) return 'micro';
  const thumbUp = current === 'full' ? THUMB_BAND[1] : THUMB_BAND[0];
  return screenPx < thumbUp ? 'thumb' : 'full';
}

/** Device pixels an element of world size `w`×`h` spans at `scale` and `dpr`. */
export function screenExtent(w: number, h: number, scale: number, dpr: number): number {
  return Math.max(w, h) * scale * dpr;
}
