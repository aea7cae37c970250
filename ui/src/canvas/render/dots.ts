/**
 * The far layer: elements small on screen (`dot` level) drawn as particles of the atlas
 * instead of one sprite each.
 *
 * The scene walks the elements in view bottom to top and hands each one either to a node (a
 * sprite, a card, a placeholder) or here. Consecutive dots form a run, and a run is one
 * `ParticleContainer` placed in the world at the stacking position of its first element, so
 * stacking order holds exactly where dots and nodes overlap. Zoomed far out there is a single
 * run: ten thousand images in view are one container, one texture, a few draw calls.
 *
 * Containers and particles are reused from pass to pass; a container's buffers are rebuilt
 * only when one of its particles changed.
 */
import { Container, Particle, ParticleContainer, type Texture } from 'pixi.js';
import type { Box } from '../math/geometry';

interface Run {
  view: ParticleContainer;
  /** Particles in use this pass (the rest of `view.particleChildren` is dropped at the end). */
  count: number;
  changed: boolean;
}

export class DotLayer {
  private readonly runs: Run[] = [];
  private used = 0;
  private open: Run | null = null;
  private total = 0;

  /** `atlas` is asked for the atlas when the first run is made (it is allocated on first use). */
  constructor(
    private readonly world: Container,
    private readonly atlas: () => Texture,
  ) {}

  /** Dots drawn by the last pass. */
  get count(): number {
    return this.total;
  }

  /** Starts a pass (before the elements in view are handed out, bottom to top). */
  begin(): void {
    this.used = 0;
    this.open = null;
    this.total = 0;
  }

  /** Adds one dot on top of what the pass drew so far; `rank` is its stacking position. */
  add(box: Box, texture: Texture, tint: number, rank: number): void {
    let run = this.open;
    if (!run) {
      run = this.next();
      run.view.zIndex = rank;
      this.open = run;
    }
    const list = run.view.particleChildren as Particle[];
    let p = list[run.count];
    if (!p) {
      p = new Particle({ texture, anchorX: 0.5, anchorY: 0.5 });
      list.push(p);
      run.changed = true;
    }
    run.count++;
    this.total++;
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;
    const sx = box.width / texture.width;
    const sy = box.height / texture.height;
    if (p.texture !== texture || p.tint !== tint || p.x !== x || p.y !== y || p.scaleX !== sx || p.scaleY !== sy || p.rotation !== box.rotation) {
      p.texture = texture;
      p.tint = tint;
      p.x = x;
      p.y = y;
      p.scaleX = sx;
      p.scaleY = sy;
      p.rotation = box.rotation;
      run.changed = true;
    }
  }

  /** Something not a dot comes next in stacking order: the next dot starts a new run. */
  interrupt(): void {
    this.open = null;
  }

  /** Ends a pass: unused particles and runs go. */
  end(): void {
    for (let i = 0; i < this.runs.length; i++) {
      const run = this.runs[i]!;
      const list = run.view.particleChildren;
      const keep = i < this.used ? run.count : 0;
      if (list.length > keep) {
        list.length = keep;
        run.changed = true;
      }
      run.view.visible = keep > 0;
      if (run.changed) run.view.update();
      run.changed = false;
    }
    // Keep a few spare containers; drop the rest.
    while (this.runs.length > Math.max(this.used, 4)) this.runs.pop()!.view.destroy();
  }

  destroy(): void {
    for (const r of this.runs) r.view.destroy();
    this.runs.length = 0;
  }

  private next(): Run {
    let run = this.runs[this.used];
    if (!run) {
      const view = new ParticleContainer({
        texture: this.atlas(),
        // Nothing moves per frame: the camera moves the world, particles change only on edits.
        dynamicProperties: { position: false, rotation: false, vertex: false, uvs: false, color: false },
      });
      this.world.addChild(view);
      run = { view, count: 0, changed: true };
      this.runs.push(run);
    }
    this.used++;
    run.count = 0;
    return run;
  }
}
