/**
 * `CanvasEngine`: the PixiJS canvas as one object the app can hold — it owns the WebGL
 * renderer, the camera, the scene, the overlay and the input controller, and renders on demand
 * (nothing is drawn while nothing changes; frames run continuously only while a video plays or
 * the camera animates).
 *
 * The app store talks to it through a few methods (load, fit, zoom, tool) and hears back
 * through `EngineCallbacks` (commits, selection, camera, drops, video playback).
 */
import { Application, Container, Rectangle } from 'pixi.js';
import type { Backend } from '../backend/backend';
import type { Element, Playback, Viewport } from '../backend/types';
import type { CanvasDoc } from './doc';
import { type Camera, DEFAULT_CAMERA, camerasEqual, clampScale, fitBounds, screenToWorld, stepZoom, visibleWorldRect, zoomAtCenter } from './math/camera';
import { MAX_EXPORT_SIDE, exportSize } from './math/export';
import type { Box, Point, Rect, Size } from './math/geometry';
import { Controller, type Tool } from './input/controller';
import { bindInput } from './input/dom';
import { maxTextureSide, renderPng } from './render/export';
import { DotGrid } from './render/grid';
import { Overlay } from './render/overlay';
import { Scene } from './render/scene';
import type { CardInfo } from './render/generationCard';
import { TextureCache } from './render/textures';
import { DotAtlas } from './render/atlas';
import { type CanvasTheme, readCanvasTheme } from './render/theme';
import type { VideoState } from './render/video';
import { CameraTween } from './camera-tween';

/** A renderer made ahead of the canvas view (`CanvasEngine.prewarm`), until a view takes it. */
let warm: Promise<Application> | null = null;

/** The PixiJS application the canvas draws with, initialised for a `width` × `height` view. */
async function makeApplication(backend: Backend, width: number, height: number): Promise<Application> {
  const software = backend.softwareRendering().catch(() => false);
  const app = new Application();
  await app.init({
    background: readCanvasTheme().background,
    antialias: false,
    autoDensity: true,
    resolution: Math.min(window.devicePixelRatio || 1, 2),
    autoStart: false,
    preference: 'webgl',
    width,
    height,
  });
  // On a software rasterizer every branch of the many-texture batch shader runs for every
  // pixel: one texture per batch is ~15× faster there (set before the first batch is made).
  if (await software) (app.renderer as unknown as { limits: { maxBatchableTextures: number } }).limits.maxBatchableTextures = 1;
  app.canvas.setAttribute('aria-hidden', 'true');
  app.canvas.style.display = 'block';
  return app;
}

export interface VideoOverlay extends VideoState {
  /** Screen rect of the element (CSS pixels, relative to the canvas host). */
  rect: { x: number; y: number; width: number; height: number };
  rotation: number;
}

export interface EngineCallbacks {
  cameraChanged(cam: Camera): void;
  commit(boxes: Map<string, Box>): void;
  selectionChanged(ids: string[]): void;
  dropFiles(files: File[], at: Point): void;
  dropAssets(ids: string[], at: Point): void;
  playbackChanged(id: string, playback: Playback): void;
  videosChanged(videos: VideoOverlay[]): void;
  /** What a generation's placeholder says (its status, prompt and kind). */
  generationCard(el: Element): CardInfo;
}

/** Pause between frames that only animate cards (ms): ~25 fps with the frame wait, cheap and smooth enough. */
const CARD_FRAME_MS = 28;
/** How long new elements (a generation's outputs) stay highlighted (ms). */
export const FLASH_MS = 1600;

export class CanvasEngine {
  readonly controller: Controller;
  tool: Tool = 'select';
  private camera: Camera = { ...DEFAULT_CAMERA };
  private size: Size = { width: 1, height: 1 };
  private theme: CanvasTheme;
  private readonly scene: Scene;
  private readonly overlay: Overlay;
  private readonly grid: DotGrid;
  private readonly textures: TextureCache;
  private readonly atlas: DotAtlas;
  private readonly tween = new CameraTween();
  private available: Set<string> | null = null;
  /**
   * Assets known to be on the server though not (yet) in this device's cache — generation
   * outputs: they are drawn (and download on first use) like the cached ones.
   */
  private readonly onServer = new Set<string>();
  private frame = 0;
  /** Something changed since the last full frame (else an animation frame only ticks cards). */
  private dirty = false;
  private cardTimer: ReturnType<typeof setTimeout> | null = null;
  /** Highlighted element ids → when their highlight started (performance.now()). */
  private readonly flashes = new Map<string, number>();
  private readonly cleanup: (() => void)[] = [];
  /** Called after each drawn frame with its CPU time in ms (benchmarks listen here). */
  onFrame: ((ms: number) => void) | null = null;

  private constructor(
    private readonly app: Application,
    private readonly host: HTMLElement,
    readonly doc: CanvasDoc,
    private readonly backend: Backend,
    private readonly cb: EngineCallbacks,
  ) {
    this.theme = readCanvasTheme();
    this.atlas = new DotAtlas(app.renderer, () => maxTextureSide(app.renderer));
    this.textures = new TextureCache((id, v) => backend.assetUrl(id, v), () => this.invalidate(), { cells: this.atlas });
    this.scene = new Scene({
      doc,
      textures: this.textures,
      atlas: this.atlas,
      theme: this.theme,
      isAvailable: (id) => this.isAvailable(id),
      assetUrl: (id) => backend.assetUrl(id, 'full'),
      onVideoChange: () => this.invalidate(),
      onPlayerClosed: (id, playback) => this.cb.playbackChanged(id, playback),
      generationCard: (el) => this.cb.generationCard(el),
    });
    this.overlay = new Overlay(this.theme);
    this.grid = new DotGrid(this.theme);
    const screen = new Container();
    screen.addChild(this.grid.view);
    app.stage.addChild(screen, this.scene.world, this.overlay.layer);
    this.controller = new Controller({
      doc,
      camera: () => this.camera,
      setCamera: (c) => this.setCamera(c),
      view: () => this.size,
      tool: () => this.tool,
      setCursor: (c) => (this.host.style.cursor = c),
      invalidate: () => this.invalidate(),
      commit: (boxes) => this.cb.commit(boxes),
      selectionChanged: () => this.cb.selectionChanged([...doc.selection]),
    });
    this.cleanup.push(
      bindInput(app.canvas, host, this.controller, {
        files: (files, at) => this.cb.dropFiles(files, screenToWorld(this.camera, at)),
        assets: (ids, at) => this.cb.dropAssets(ids, screenToWorld(this.camera, at)),
      }),
      doc.events.on('elements', () => this.invalidate()),
      doc.events.on('selection', () => this.invalidate()),
      doc.events.on('preview', () => this.invalidate()),
    );
    const ro = new ResizeObserver(() => this.resize());
    ro.observe(host);
    this.cleanup.push(() => ro.disconnect());
    this.resize();
  }

  /**
   * Starts making the renderer now, before any canvas view exists: at start-up the app asks the
   * shell for the account and the recent project first, and the renderer's set-up (a WebGL
   * context, on a software rasterizer tens of milliseconds) runs meanwhile instead of after.
   * The next `create` takes it.
   */
  static prewarm(backend: Backend): void {
    warm ??= makeApplication(backend, window.innerWidth, window.innerHeight);
  }

  static async create(host: HTMLElement, doc: CanvasDoc, backend: Backend, cb: EngineCallbacks): Promise<CanvasEngine> {
    const pending = warm;
    warm = null;
    // A prewarm that failed is tried again here, so its error is the one the view reports.
    const app =
      (pending ? await pending.catch(() => null) : null) ??
      (await makeApplication(backend, Math.max(1, host.clientWidth), Math.max(1, host.clientHeight)));
    host.prepend(app.canvas);
    return new CanvasEngine(app, host, doc, backend, cb);
  }

  get cameraState(): Camera {
    return this.camera;
  }

  get viewSize(): Size {
    return this.size;
  }

  /** Drops every GPU node and video player (before another project loads). */
  clearScene(): void {
    this.scene.clear();
  }

  /** Shows a freshly loaded doc through its saved viewport. */
  showProject(viewport: Viewport): void {
    this.tween.stop();
    this.scene.clear();
    this.camera = { x: viewport.x, y: viewport.y, scale: clampScale(viewport.scale) };
    this.cb.cameraChanged(this.camera);
    this.invalidate();
  }

  setCamera(cam: Camera, animate = false): void {
    if (animate) {
      this.tween.start(this.camera, cam);
      this.invalidate();
      return;
    }
    this.tween.stop();
    if (camerasEqual(cam, this.camera)) return;
    this.camera = cam;
    this.cb.cameraChanged(cam);
    this.invalidate();
  }

  setTool(tool: Tool): void {
    this.tool = tool;
    this.host.style.cursor = tool === 'hand' ? 'grab' : 'default';
  }

  fitContent(): void {
    const b = this.doc.contentBounds();
    if (b) this.setCamera(fitBounds(b, this.size, 72, 1), true);
    else this.setCamera({ x: -this.size.width / 2, y: -this.size.height / 2, scale: 1 }, true);
  }

  zoomToSelection(): void {
    const b = this.doc.boundsOf(this.doc.selection);
    if (b) this.setCamera(fitBounds(b, this.size, 96, 8), true);
  }

  /** Zooms out (animated) just enough to show `r` along with what the view shows now. */
  bringIntoView(r: Rect): void {
    const v = this.visibleRect();
    if (r.x >= v.x && r.y >= v.y && r.x + r.width <= v.x + v.width && r.y + r.height <= v.y + v.height) return;
    const x = Math.min(v.x, r.x);
    const y = Math.min(v.y, r.y);
    const both = { x, y, width: Math.max(v.x + v.width, r.x + r.width) - x, height: Math.max(v.y + v.height, r.y + r.height) - y };
    this.setCamera(fitBounds(both, this.size, 24, this.camera.scale), true);
  }

  zoomStep(direction: 1 | -1): void {
    this.setCamera(zoomAtCenter(this.camera, this.size, stepZoom(this.camera.scale, direction)), true);
  }

  zoomTo(scale: number): void {
    this.setCamera(zoomAtCenter(this.camera, this.size, scale), true);
  }

  /** World point under a point given in window (client) coordinates. */
  worldAtClient(x: number, y: number): Point {
    const r = this.host.getBoundingClientRect();
    return screenToWorld(this.camera, { x: x - r.left, y: y - r.top });
  }

  /** The world rect the view shows. */
  visibleRect(): Rect {
    return visibleWorldRect(this.camera, this.size);
  }

  /** World point at the centre of the view (where pasted media lands). */
  viewCenter(): Point {
    return screenToWorld(this.camera, { x: this.size.width / 2, y: this.size.height / 2 });
  }

  /**
   * Which assets exist; elements of other ids render as "missing asset". Textures of assets
   * that went away are freed, and ids that (re)appear get a fresh load instead of an earlier
   * failure.
   */
  setAvailableAssets(ids: Set<string>): void {
    const before = this.available;
    if (before) {
      // An asset on the server that reaches the cache keeps the texture it is drawn with.
      for (const id of before) if (!ids.has(id) && !this.onServer.has(id)) this.textures.invalidate(id);
      for (const id of ids) if (!before.has(id) && !this.onServer.has(id)) this.textures.invalidate(id);
    }
    this.available = ids;
    this.invalidate();
  }

  /** Assets the server has (generation outputs): drawn even before they are in the cache. */
  assetsOnServer(ids: Iterable<string>): void {
    let added = false;
    for (const id of ids) {
      if (this.onServer.has(id)) continue;
      this.onServer.add(id);
      added = true;
    }
    if (added) this.invalidate();
  }

  /** One asset was deleted: its elements turn into placeholders now. */
  assetRemoved(id: string): void {
    // Unknown availability (null): the texture reload fails and shows the placeholder anyway.
    this.available?.delete(id);
    this.onServer.delete(id);
    this.textures.invalidate(id);
    this.invalidate();
  }

  applyTheme(): void {
    this.theme = readCanvasTheme();
    this.app.renderer.background.color = this.theme.background;
    this.grid.setTheme(this.theme);
    this.overlay.setTheme(this.theme);
    this.scene.setTheme(this.theme);
    this.invalidate();
  }

  video(id: string) {
    return this.scene.player(id);
  }

  /** A PNG of the current view without selection chrome, `width` px wide (project tiles). */
  async thumbnail(width = 480, height = 300): Promise<Uint8Array | null> {
    if (this.doc.size === 0) return null;
    this.overlay.layer.visible = false;
    this.renderNow();
    const src = this.app.renderer.extract.canvas({ target: this.app.stage, frame: new Rectangle(0, 0, this.size.width, this.size.height) }) as HTMLCanvasElement;
    this.overlay.layer.visible = true;
    this.invalidate();
    const out = document.createElement('canvas');
    out.width = width;
    out.height = height;
    const ctx = out.getContext('2d');
    if (!ctx) return null;
    const s = Math.max(width / src.width, height / src.height);
    ctx.drawImage(src, (width - src.width * s) / 2, (height - src.height * s) / 2, src.width * s, src.height * s);
    const blob = await new Promise<Blob | null>((r) => out.toBlob(r, 'image/png'));
    return blob ? new Uint8Array(await blob.arrayBuffer()) : null;
  }

  /**
   * A PNG of the elements in `ids` (the selection), or of the whole canvas, cropped to their
   * bounds at the export scale within the export limits (`math/export.ts`), drawn off screen
   * (`render/export.ts`); null when there is nothing to draw.
   */
  async exportPng(ids?: ReadonlySet<string>): Promise<Uint8Array | null> {
    // Placeholders of generations in progress are not part of a picture.
    const elements = this.doc.ordered().filter((e) => (!ids || ids.has(e.id)) && e.kind !== 'generation');
    const bounds = this.doc.boundsOf(elements.map((e) => e.id));
    const renderer = this.app.renderer;
    const size = bounds && exportSize(bounds, { maxSide: Math.min(MAX_EXPORT_SIDE, maxTextureSide(renderer)) });
    if (!bounds || !size) return null;
    return renderPng(renderer, {
      elements,
      box: (id) => this.doc.box(id),
      bounds,
      theme: this.theme,
      isAvailable: (id) => this.isAvailable(id),
      assetUrl: (id, variant) => this.backend.assetUrl(id, variant),
    }, size);
  }

  /** Whether an asset exists (deleted ones render as "missing asset"); unknown: assumed so. */
  isAvailable(assetId: string): boolean {
    return this.available === null || this.available.has(assetId) || this.onServer.has(assetId);
  }

  /** A generation changed: its placeholder card is laid out again on the next frame. */
  generationsChanged(): void {
    this.invalidate();
  }

  /** Highlights elements for a moment (a generation's outputs arriving). */
  flash(ids: Iterable<string>): void {
    const now = performance.now();
    for (const id of ids) this.flashes.set(id, now);
    this.invalidate();
  }

  invalidate(): void {
    this.dirty = true;
    this.requestFrame();
  }

  private requestFrame(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.dirty) {
        this.dirty = false;
        this.renderNow();
      } else {
        // Only cards animate: tick them and draw, without culling or laying anything out.
        this.scene.tick(performance.now());
        this.atlas.flush();
        this.app.render();
      }
      if (this.tween.active || this.scene.anyPlaying() || this.flashes.size > 0) this.invalidate();
      else if (this.scene.animating) this.scheduleCardFrame();
    });
  }

  private scheduleCardFrame(): void {
    if (this.cardTimer) return;
    this.cardTimer = setTimeout(() => {
      this.cardTimer = null;
      this.requestFrame();
    }, CARD_FRAME_MS);
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    if (this.cardTimer) clearTimeout(this.cardTimer);
    for (const c of this.cleanup) c();
    this.scene.destroy();
    this.grid.destroy();
    this.textures.destroyAll();
    this.atlas.destroy();
    this.app.destroy({ removeView: true }, { children: true });
  }

  /** Whether the camera is still easing towards a fit or zoom target. */
  get cameraMoving(): boolean {
    return this.tween.active;
  }

  /** What the renderer holds now: elements, how many are drawn, textures, the GPU's name. */
  stats(): { elements: number; visible: number; textures: { ready: number; loading: number; queued: number }; renderer: string } {
    return { elements: this.doc.size, visible: this.scene.visibleCount, textures: this.textures.stats(), renderer: this.rendererName() };
  }

  private rendererName(): string {
    const r = this.app.renderer as unknown as { gl?: WebGLRenderingContext; name?: string };
    const gl = r.gl;
    if (!gl) return r.name ?? 'unknown';
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    return String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  }

  private renderNow(): void {
    const started = performance.now();
    const next = this.tween.step();
    if (next) {
      this.camera = next;
      this.cb.cameraChanged(next);
    }
    const dpr = this.app.renderer.resolution;
    this.scene.cull(this.camera, this.size, dpr);
    this.scene.tick(started);
    this.grid.update(this.camera, this.size.width, this.size.height);
    const c = this.controller;
    const sel = [...this.doc.selection];
    const boxes = sel.map((id) => this.doc.box(id)).filter((b): b is Box => b !== null);
    const editable = c.editable();
    const frame = this.doc.frameOf(sel);
    const single = sel.length === 1 ? this.doc.get(sel[0]!) : undefined;
    this.overlay.draw({
      camera: this.camera,
      selected: boxes,
      frame,
      handles: !c.busy && !c.panning && editable.length > 0 && editable.length === sel.length,
      hover: c.hover && !this.doc.selection.has(c.hover) && !c.busy ? this.doc.box(c.hover) : null,
      marquee: c.marquee,
      sizeLabel: frame && sel.length > 0 ? sizeLabel(single ? this.doc.box(single.id) : frame) : null,
      flashes: this.flashBoxes(started),
    });
    this.atlas.flush();
    this.app.render();
    this.cb.videosChanged(this.videoOverlays());
    this.onFrame?.(performance.now() - started);
  }

  /** Highlighted boxes with their fading strength (1 → 0); expired ones are forgotten. */
  private flashBoxes(now: number): { box: Box; strength: number }[] {
    const out: { box: Box; strength: number }[] = [];
    for (const [id, start] of this.flashes) {
      const t = (now - start) / FLASH_MS;
      const box = this.doc.box(id);
      if (t >= 1 || !box) {
        this.flashes.delete(id);
        continue;
      }
      out.push({ box, strength: 1 - t * t });
    }
    return out;
  }

  private videoOverlays(): VideoOverlay[] {
    const out: VideoOverlay[] = [];
    for (const v of this.scene.videoStates()) {
      const b = this.doc.box(v.id);
      if (!b) continue;
      const s = this.camera.scale;
      out.push({ ...v, rect: { x: (b.x - this.camera.x) * s, y: (b.y - this.camera.y) * s, width: b.width * s, height: b.height * s }, rotation: b.rotation });
    }
    return out;
  }

  private resize(): void {
    const w = Math.max(1, this.host.clientWidth);
    const h = Math.max(1, this.host.clientHeight);
    if (w === this.size.width && h === this.size.height) return;
    this.size = { width: w, height: h };
    this.app.renderer.resize(w, h);
    this.invalidate();
  }
}

function sizeLabel(b: Box | null): string | null {
  if (!b) return null;
  return `${Math.round(b.width)} × ${Math.round(b.height)}`;
}
