import { describe, expect, it, vi } from 'vitest';

// Containers and particles as plain records: the layer's bookkeeping is what is tested.
vi.mock('pixi.js', () => {
  class Particle {
    texture: unknown;
    tint = 0xffffff;
    x = 0;
    y = 0;
    scaleX = 1;
    scaleY = 1;
    rotation = 0;
    constructor(o: { texture: unknown }) {
      this.texture = o.texture;
    }
  }
  class ParticleContainer {
    particleChildren: Particle[] = [];
    zIndex = 0;
    visible = true;
    updates = 0;
    destroyed = false;
    update() {
      this.updates++;
    }
    destroy() {
      this.destroyed = true;
    }
  }
  class Container {
    children: ParticleContainer[] = [];
    addChild(c: ParticleContainer) {
      this.children.push(c);
    }
  }
  return { Container, Particle, ParticleContainer };
});

import { Container, type Texture } from 'pixi.js';
import { DotLayer } from './dots';

const tex = (name: string) => ({ name, width: 30, height: 30 }) as unknown as Texture;
const box = (x: number) => ({ x, y: 0, width: 60, height: 30, rotation: 0 });
type Run = { particleChildren: { x: number; scaleX: number; texture: unknown }[]; zIndex: number; visible: boolean; updates: number };

describe('DotLayer', () => {
  it('draws consecutive dots as one run, and starts a new run after anything else', () => {
    const world = new Container();
    const layer = new DotLayer(world, () => tex('atlas'));
    const a = tex('a');
    layer.begin();
    layer.add(box(0), a, 0xffffff, 3);
    layer.add(box(100), a, 0xffffff, 4);
    layer.interrupt(); // a node at rank 5
    layer.add(box(200), a, 0xffffff, 6);
    layer.end();
    const runs = (world as unknown as { children: Run[] }).children;
    expect(runs).toHaveLength(2);
    expect(runs.map((r) => [r.zIndex, r.particleChildren.length])).toEqual([[3, 2], [6, 1]]);
    // Centred on the box, scaled from the cell to the box.
    expect(runs[0]!.particleChildren[1]).toMatchObject({ x: 130, scaleX: 2, texture: a });
    expect(layer.count).toBe(3);
  });

  it('reuses particles, rebuilds a run only when it changed, and empties runs no longer used', () => {
    const world = new Container();
    const layer = new DotLayer(world, () => tex('atlas'));
    const a = tex('a');
    const b = tex('b');
    const pass = (texture: Texture, n: number) => {
      layer.begin();
      for (let i = 0; i < n; i++) layer.add(box(i * 100), texture, 0xffffff, i);
      layer.end();
    };
    pass(a, 3);
    const run = (world as unknown as { children: Run[] }).children[0]!;
    const first = run.particleChildren[0];
    const updates = run.updates;
    pass(a, 3);
    expect(run.updates).toBe(updates);
    pass(b, 3);
    expect(run.updates).toBe(updates + 1);
    expect(run.particleChildren[0]).toBe(first);
    expect(first?.texture).toBe(b);
    pass(b, 1);
    expect(run.particleChildren).toHaveLength(1);
    pass(b, 0);
    expect(run.visible).toBe(false);
    expect(layer.count).toBe(0);
  });
});
