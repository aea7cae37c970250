import { describe, expect, it } from 'vitest';
import type { Element } from '../../backend/types';
import { CanvasDoc } from '../doc';
import type { Camera } from '../math/camera';
import type { Box } from '../math/geometry';
import { Controller, type Tool } from './controller';

function el(id: string, z: string, x: number, extra: Partial<Element> = {}): Element {
  return { id, kind: 'image', assetId: null, x, y: 0, width: 100, height: 100, rotation: 0, z, locked: false, playback: null, generationId: null, ...extra };
}

function setup(tool: Tool = 'select') {
  const doc = new CanvasDoc();
  const project = { id: 'p', name: 'P', createdAt: '', updatedAt: '', imageCount: 0, videoCount: 0, thumbnailAssetId: null };
  doc.load({ project, elements: [el('a', 'a0', 0), el('b', 'a1', 200), el('locked', 'a2', 400, { locked: true })], viewport: { x: 0, y: 0, scale: 1 }, selection: [], canUndo: false, canRedo: false });
  let camera: Camera = { x: -50, y: -50, scale: 1 };
  const commits: Map<string, Box>[] = [];
  let selectionSaves = 0;
  const c = new Controller({
    doc,
    camera: () => camera,
    setCamera: (cam) => (camera = cam),
    view: () => ({ width: 800, height: 600 }),
    tool: () => tool,
    setCursor: () => undefined,
    invalidate: () => undefined,
    commit: (b) => commits.push(b),
    selectionChanged: () => selectionSaves++,
  });
  const ev = (extra: Partial<PointerEvent> = {}) =>
    ({ button: 0, pointerId: 1, shiftKey: false, altKey: false, target: null, ...extra }) as PointerEvent;
  const drag = (from: [number, number], to: [number, number], extra: Partial<PointerEvent> = {}) => {
    c.pointerDown(ev(extra), { x: from[0], y: from[1] });
    c.pointerMove(ev(extra), { x: (from[0] + to[0]) / 2, y: (from[1] + to[1]) / 2 });
    c.pointerMove(ev(extra), { x: to[0], y: to[1] });
    c.pointerUp(ev(extra), { x: to[0], y: to[1] });
  };
  return { c, doc, commits, drag, ev, camera: () => camera, saves: () => selectionSaves };
}

describe('Controller', () => {
  it('click selects, shift-click adds, click on empty clears', () => {
    const { c, doc, ev } = setup();
    const click = (x: number, y: number, shift = false) => {
      c.pointerDown(ev({ shiftKey: shift }), { x, y });
      c.pointerUp(ev({ shiftKey: shift }), { x, y });
    };
    click(100, 100); // world (50, 50): a
    expect([...doc.selection]).toEqual(['a']);
    click(300, 100, true); // b
    expect([...doc.selection].sort()).toEqual(['a', 'b']);
    click(100, 100); // plain click in a group narrows it
    expect([...doc.selection]).toEqual(['a']);
    click(20, 400);
    expect(doc.selection.size).toBe(0);
  });

  it('drags a selection as one commit, never moving locked elements', () => {
    const { doc, commits, drag } = setup();
    doc.setSelection(['a', 'locked']);
    drag([100, 100], [150, 130]);
    expect(commits).toHaveLength(1);
    const moved = commits[0]!;
    expect([...moved.keys()]).toEqual(['a']);
    expect(moved.get('a')).toMatchObject({ x: 50, y: 30 });
  });

  it('ignores jitter below the drag threshold', () => {
    const { c, commits, ev } = setup();
    c.pointerDown(ev(), { x: 100, y: 100 });
    c.pointerMove(ev(), { x: 101, y: 101 });
    c.pointerUp(ev(), { x: 101, y: 101 });
    expect(commits).toHaveLength(0);
  });

  it('selects with a marquee and saves the selection once', () => {
    const { doc, drag, saves } = setup();
    drag([10, 10], [320, 120]); // world (-40,-40)→(270,70): a and b
    expect([...doc.selection].sort()).toEqual(['a', 'b']);
    expect(saves()).toBe(1);
  });

  it('resizes with the corner handle keeping the aspect ratio', () => {
    const { doc, commits, drag } = setup();
    doc.setSelection(['a']);
    // se handle of a at world (100,100) = screen (150,150).
    drag([150, 150], [250, 200]);
    const b = commits[0]!.get('a')!;
    expect(b.x).toBe(0);
    expect(b.width).toBeCloseTo(200);
    expect(b.height).toBeCloseTo(200);
  });

  it('rotates with the rotation handle', () => {
    const { doc, commits, drag } = setup();
    doc.setSelection(['a']);
    // Rotation handle 26 px above the top-centre: screen (100, 24). Drag to the right of the centre.
    drag([100, 24], [300, 100], { shiftKey: true });
    expect(commits[0]!.get('a')!.rotation).toBeCloseTo(Math.PI / 2);
  });

  it('pans with the hand tool and zooms with ctrl+wheel around the cursor', () => {
    const { c, drag, camera } = setup('hand');
    drag([100, 100], [150, 80]);
    expect(camera()).toMatchObject({ x: -100, y: -30 });
    c.wheel({ ctrlKey: true, metaKey: false, deltaY: -100, deltaX: 0, deltaMode: 0, shiftKey: false } as WheelEvent, { x: 0, y: 0 });
    expect(camera().scale).toBeGreaterThan(1);
    expect(camera()).toMatchObject({ x: -100, y: -30 });
  });
});
