import { describe, expect, it } from 'vitest';
import type { Element, OpenCanvas } from '../backend/types';
import { CanvasDoc } from './doc';

function el(id: string, z: string, x: number, y = 0, extra: Partial<Element> = {}): Element {
  return { id, kind: 'image', assetId: null, x, y, width: 100, height: 100, rotation: 0, z, locked: false, playback: null, generationId: null, ...extra };
}

function open(elements: Element[], selection: string[] = []): OpenCanvas {
  const project = { id: 'p', name: 'P', createdAt: '', updatedAt: '', imageCount: 0, videoCount: 0, thumbnailAssetId: null };
  return { project, elements, viewport: { x: 0, y: 0, scale: 1 }, selection, canUndo: false, canRedo: false };
}

describe('CanvasDoc', () => {
  it('hit-tests the topmost element by z, through rotation', () => {
    const d = new CanvasDoc();
    d.load(open([el('low', 'a0', 0), el('high', 'a1', 50), el('diamond', 'a2', 500, 0, { rotation: Math.PI / 4 })]));
    expect(d.hitTest({ x: 75, y: 50 })).toBe('high');
    expect(d.hitTest({ x: 25, y: 50 })).toBe('low');
    expect(d.hitTest({ x: 502, y: 2 })).toBeNull();
    expect(d.hitTest({ x: 550, y: 50 })).toBe('diamond');
    expect(d.hitTest({ x: -3, y: 50 }, 4)).toBe('low');
  });

  it('applies deltas idempotently and drops deleted ids from the selection', () => {
    const d = new CanvasDoc();
    d.load(open([el('a', 'a0', 0), el('b', 'a1', 200)], ['a', 'b']));
    const seen: number[] = [];
    d.events.on('selection', (s) => seen.push(s.size));
    const delta = { projectId: 'p', upserted: [el('a', 'a2', 10)], deleted: ['b'], canUndo: true, canRedo: false };
    expect(d.applyDelta(delta)).toBe(true);
    expect(d.applyDelta(delta)).toBe(true);
    expect(d.ordered().map((e) => e.id)).toEqual(['a']);
    expect([...d.selection]).toEqual(['a']);
    expect(seen).toEqual([1]);
    expect(d.applyDelta({ ...delta, projectId: 'other' })).toBe(false);
  });

  it('selects by marquee using exact shapes and previews', () => {
    const d = new CanvasDoc();
    d.load(open([el('a', 'a0', 0), el('b', 'a1', 300), el('c', 'a2', 600, 0, { rotation: Math.PI / 4 })]));
    expect(d.inRect({ x: -10, y: -10, width: 150, height: 150 }).sort()).toEqual(['a']);
    expect(d.inRect({ x: 590, y: -10, width: 15, height: 15 })).toEqual([]);
    d.setPreview(new Map([['a', { x: 1000, y: 1000, width: 10, height: 10, rotation: 0 }]]));
    expect(d.inRect({ x: 995, y: 995, width: 20, height: 20 })).toEqual(['a']);
    expect(d.boundsOf(['a', 'b'])).toEqual({ x: 300, y: 0, width: 710, height: 1010 });
    d.clearPreview();
    expect(d.contentBounds()!.x).toBe(0);
  });

  it('orders by z with byte comparison', () => {
    const d = new CanvasDoc();
    d.load(open([el('lower', 'Zz', 0), el('upper', 'a0', 0)]));
    expect(d.ordered().map((e) => e.id)).toEqual(['lower', 'upper']);
    expect(d.zRank('upper')).toBe(1);
  });
});
