/**
 * Media handling of the in-memory backend: content hashes, probing dimensions, thumbnails and
 * the layout of newly placed media — what the engine does with the `image` crate and
 * `imagesize`, done here with browser APIs so the demo behaves like the app.
 *
 * Probing is injectable (`MediaProbe`) so tests run in Node without decoding anything.
 */
import type { AssetType, Placement } from '../types';
import { ensureDuration } from '../../lib/videoDuration';

export interface ProbedMedia {
  type: AssetType;
  width: number;
  height: number;
  durationMs: number | null;
  /** URL of the full file and of a small thumbnail (same URL when no thumbnail is made). */
  url: string;
  thumbUrl: string;
}

export type MediaProbe = (bytes: Uint8Array, mimeType: string) => Promise<ProbedMedia>;

/** Longest side of a thumbnail, in pixels (the engine caches the same size). */
export const THUMB_SIZE = 320;
/** Longest side, in world units, of media placed on the canvas. */
export const MAX_PLACED_SIDE = 720;
/** Gap between several files placed in one drop. */
export const PLACEMENT_GAP = 32;

export const IMAGE_MIME = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
export const VIDEO_MIME = ['video/mp4', 'video/webm', 'video/quicktime'];

export function mediaTypeOf(mimeType: string): AssetType | null {
  if (IMAGE_MIME.includes(mimeType)) return 'image';
  if (VIDEO_MIME.includes(mimeType)) return 'video';
  return null;
}

/** Lower-case hex SHA-256: asset ids are content hashes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as BufferSource);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Size on the canvas for media of natural size `w`×`h`. */
export function placedSize(w: number, h: number): { width: number; height: number } {
  const s = Math.min(1, MAX_PLACED_SIDE / Math.max(w, h, 1));
  return { width: Math.max(1, w * s), height: Math.max(1, h * s) };
}

/**
 * Top-left corners for items laid out in one row centred on `at` (a multi-file drop), so a
 * drop of three images lands as three images side by side under the cursor.
 */
export function layoutRow(sizes: readonly { width: number; height: number }[], at: Placement): Placement[] {
  const total = sizes.reduce((sum, s) => sum + s.width, 0) + PLACEMENT_GAP * Math.max(0, sizes.length - 1);
  let x = at.x - total / 2;
  return sizes.map((s) => {
    const p = { x, y: at.y - s.height / 2 };
    x += s.width + PLACEMENT_GAP;
    return p;
  });
}

/** Browser probe: decodes images with createImageBitmap, videos through a <video> element. */
export const browserProbe: MediaProbe = async (bytes, mimeType) => {
  const type = mediaTypeOf(mimeType);
  if (!type) throw new Error(`Unsupported file type ${mimeType || 'unknown'}`);
  const blob = new Blob([bytes as BlobPart], { type: mimeType });
  const url = URL.createObjectURL(blob);
  if (type === 'image') {
    const bmp = await createImageBitmap(blob);
    const thumbUrl = await thumbnailUrl(bmp, bmp.width, bmp.height);
    const out = { type, width: bmp.width, height: bmp.height, durationMs: null, url, thumbUrl };
    bmp.close();
    return out;
  }
  const video = document.createElement('video');
  video.muted = true;
  video.preload = 'auto';
  video.src = url;
  await new Promise<void>((resolve, reject) => {
    video.onloadeddata = () => resolve();
    video.onerror = () => reject(new Error('This video could not be read'));
  });
  const width = video.videoWidth || 640;
  const height = video.videoHeight || 360;
  const duration = await ensureDuration(video);
  // The poster frame: a little way in, past a possible black first frame.
  await new Promise((resolve) => {
    video.addEventListener('seeked', resolve, { once: true });
    setTimeout(resolve, 2000);
    video.currentTime = Math.min(0.5, duration / 2);
  });
  const thumbUrl = await thumbnailUrl(video, width, height);
  return { type, width, height, durationMs: Math.round(duration * 1000), url, thumbUrl };
};

/** A JPEG thumbnail (longest side THUMB_SIZE) of a decoded image or video frame. */
export async function thumbnailUrl(src: CanvasImageSource, w: number, h: number): Promise<string> {
  const s = Math.min(1, THUMB_SIZE / Math.max(w, h, 1));
  const canvas = new OffscreenCanvas(Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s)));
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('2D canvas unavailable');
  ctx.drawImage(src, 0, 0, canvas.width, canvas.height);
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.82 });
  return URL.createObjectURL(blob);
}
