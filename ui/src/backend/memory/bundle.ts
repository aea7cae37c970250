/**
 * The `.iskra` bundle of `MemoryBackend`: JSON with the project's name, viewport and elements
 * (in z order), and the ids of the assets they show. The page keeps no asset files, so a demo
 * bundle carries none: imported elements show their asset while it is in the library, the
 * "missing asset" placeholder otherwise. The desktop writes the real bundle — a zip with the
 * files (`src-tauri/engine/src/bundle.rs`) — which the demo refuses, as the desktop refuses
 * a demo bundle.
 */
import { BackendError } from '../backend';
import type { Element, Viewport } from '../types';

export const DEMO_BUNDLE_FORMAT = 'iskra-demo-bundle';
export const DEMO_BUNDLE_VERSION = 1;

/** An element as a bundle keeps it: no id, no z key (both are new on import). */
export type BundledElement = Omit<Element, 'id' | 'z'>;

export interface DemoBundle {
  format: typeof DEMO_BUNDLE_FORMAT;
  version: number;
  name: string;
  viewport: Viewport;
  elements: BundledElement[];
  assets: string[];
}

/** A bundle of a canvas: `elements` in z order (bottom first). */
export function encodeBundle(name: string, viewport: Viewport, elements: readonly Element[]): Uint8Array {
  const bundled: BundledElement[] = elements.map(({ id: _id, z: _z, ...rest }) => ({ ...rest }));
  const assets = [...new Set(elements.flatMap((e) => (e.assetId ? [e.assetId] : [])))];
  const bundle: DemoBundle = { format: DEMO_BUNDLE_FORMAT, version: DEMO_BUNDLE_VERSION, name, viewport, elements: bundled, assets };
  return new TextEncoder().encode(JSON.stringify(bundle));
}

/** Reads a bundle back; a file that is not one (or of a newer version) is refused by name. */
export function decodeBundle(bytes: Uint8Array, fileName: string): DemoBundle {
  const refuse = (why: string) => new BackendError('unsupportedFile', `${fileName} is not an .iskra project bundle${why}`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw refuse('');
  }
  const b = value as Partial<DemoBundle> | null;
  if (!b || typeof b !== 'object' || b.format !== DEMO_BUNDLE_FORMAT) throw refuse('');
  if (typeof b.version !== 'number' || b.version > DEMO_BUNDLE_VERSION) throw refuse(' this version can read');
  if (typeof b.name !== 'string' || !Array.isArray(b.elements) || !b.viewport) throw refuse(': it is incomplete');
  return { format: DEMO_BUNDLE_FORMAT, version: b.version, name: b.name, viewport: b.viewport, elements: b.elements, assets: b.assets ?? [] };
}
