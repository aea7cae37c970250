/**
 * A short eased camera animation (fit to content, zoom to selection, zoom buttons): zooming
 * interpolates the scale logarithmically and keeps the view centre on a straight path, so
 * the motion reads as one smooth move instead of a zoom followed by a pan.
 */
import type { Camera } from './math/camera';

/** Length of a camera animation. */
export const TWEEN_MS = 220;

function easeOutCubic(t: number): number {
  return 1 - (1 - t) ** 3;
}

export class CameraTween {
  private from: Camera | null = null;
  private to: Camera | null = null;
  private started = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get active(): boolean {
    return this.to !== null;
  }

  start(from: Camera, to: Camera): void {
    this.from = { ...from };
    this.to = { ...to };
    this.started = this.now();
  }

  stop(): void {
    this.from = null;
    this.to = null;
  }

  /**
   * The camera for this frame, or null when idle. Works on view-centre-independent terms: the
   * world point at the top-left moves linearly in the eased, log-scaled parameter.
   */
  step(): Camera | null {
    if (!this.from || !this.to) return null;
    const t = Math.min(1, (this.now() - this.started) / TWEEN_MS);
    const e = easeOutCubic(t);
    const a = this.from;
    const b = this.to;
    const scale = Math.exp(Math.log(a.scale) + (Math.log(b.scale) - Math.log(a.scale)) * e);
    const cam = { x: a.x + (b.x - a.x) * e, y: a.y + (b.y - a.y) * e, scale };
    if (t >= 1) this.stop();
    return t >= 1 ? { ...b } : cam;
  }
}
