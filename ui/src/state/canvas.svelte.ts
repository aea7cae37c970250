/**
 * The open canvas as the panels see it: reactive mirrors of the doc (counts, selection,
 * undo/redo availability, zoom) and every canvas intent — commit a gesture, delete,
 * duplicate, z-order, lock, nudge, add files or library assets, undo/redo, video playback.
 *
 * Each intent goes to the engine through `Backend`; the doc changes only when the engine's
 * `CanvasDelta` comes back (the engine is the source of truth; D3: an edit is reported kept
 * only once it is durable). Viewport and selection are saved debounced.
 */
import type { Backend } from '../backend/backend';
import type { CanvasDelta, Element, ElementPatch, FileSource, OpenCanvas, Playback, Viewport, ZOrderMove } from '../backend/types';
import { CanvasDoc } from '../canvas/doc';
import type { CanvasEngine, VideoOverlay } from '../canvas/engine';
import type { Tool } from '../canvas/input/controller';
import type { Camera } from '../canvas/math/camera';
import type { Box, Point } from '../canvas/math/geometry';
import { toasts } from './toasts.svelte';

/** Offset of duplicates from their originals, world units. */
export const DUPLICATE_OFFSET = 32;
/** Debounce of viewport and selection saves. */
const SAVE_VIEW_MS = 400;
/** A project tile thumbnail is re-rendered this long after the last edit. */
const THUMBNAIL_MS = 2500;

export class CanvasState {
  readonly doc = new CanvasDoc();
  engine: CanvasEngine | null = null;
  projectId = $state<string | null>(null);
  elementCount = $state(0);
  selectionCount = $state(0);
  /** The selected elements, bottom to top (the generation panel's source image). */
  selection = $state.raw<Element[]>([]);
  selectionLocked = $state(false);
  canUndo = $state(false);
  canRedo = $state(false);
  zoom = $state(1);
  tool = $state<Tool>('select');
  videos = $state<VideoOverlay[]>([]);
  dropping = $state(false);
  /** The viewport of the loaded project, for an engine attached after the load. */
  private viewport: Viewport | null = null;
  private viewTimer: ReturnType<typeof setTimeout> | null = null;
  private selectionTimer: ReturnType<typeof setTimeout> | null = null;
  private thumbTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly backend: Backend) {
    this.doc.events.on('elements', () => {
      this.elementCount = this.doc.size;
      this.refreshSelection();
    });
    this.doc.events.on('selection', () => this.refreshSelection());
  }

  // ── Lifecycle ───────────────────────────────────────────────────────────────────────────────

  load(open: OpenCanvas): void {
    // Close the old project's players first: they save their playback to the old project.
    this.engine?.clearScene();
    this.projectId = open.project.id;
    this.doc.load(open);
    this.canUndo = open.canUndo;
    this.canRedo = open.canRedo;
    this.viewport = open.viewport;
    this.engine?.showProject(open.viewport);
    // Refresh the tile image once the canvas has drawn (it may be stale or missing).
    this.scheduleThumbnail(open.project.id);
  }

  attach(engine: CanvasEngine): void {
    this.engine = engine;
    engine.setTool(this.tool);
    if (this.viewport) engine.showProject(this.viewport);
  }

  /** Writes pending viewport/selection saves and the tile thumbnail now (before a switch). */
  async flush(): Promise<void> {
    const pid = this.projectId;
    if (!pid || !this.engine) return;
    if (this.viewTimer) this.saveViewport(pid);
    if (this.selectionTimer) this.saveSelection(pid);
    if (this.thumbTimer) await this.saveThumbnail(pid);
  }

  // ── Engine callbacks ────────────────────────────────────────────────────────────────────────

  cameraChanged(cam: Camera): void {
    this.zoom = cam.scale;
    const pid = this.projectId;
    if (!pid) return;
    if (this.viewTimer) clearTimeout(this.viewTimer);
    this.viewTimer = setTimeout(() => this.saveViewport(pid), SAVE_VIEW_MS);
  }

  selectionChanged(): void {
    const pid = this.projectId;
    if (!pid) return;
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    this.selectionTimer = setTimeout(() => this.saveSelection(pid), SAVE_VIEW_MS);
  }

  commitBoxes(boxes: Map<string, Box>): void {
    const patches: ElementPatch[] = [...boxes].map(([id, b]) => ({
      id,
      props: { x: b.x, y: b.y, width: b.width, height: b.height, rotation: b.rotation },
    }));
    void this.edit((pid) => this.backend.updateElements(pid, patches)).then(() => this.doc.clearPreview(boxes.keys()));
  }

  // ── Intents ─────────────────────────────────────────────────────────────────────────────────

  setTool(tool: Tool): void {
    this.tool = tool;
    this.engine?.setTool(tool);
  }

  selectAll(): void {
    this.doc.setSelection(this.doc.ordered().map((e) => e.id));
    this.selectionChanged();
  }

  clearSelection(): void {
    this.doc.setSelection([]);
    this.selectionChanged();
  }

  async deleteSelection(): Promise<void> {
    const ids = [...this.doc.selection].filter((id) => !this.doc.get(id)?.locked);
    if (ids.length === 0) return;
    const ok = await this.edit((pid) => this.backend.deleteElements(pid, ids));
    if (ok) toasts.show(ids.length === 1 ? 'Deleted 1 element' : `Deleted ${ids.length} elements`, 'info', { label: 'Undo', run: () => void this.undo() });
  }

  duplicateSelection(): Promise<boolean> {
    const ids = [...this.doc.selection];
    if (ids.length === 0) return Promise.resolve(false);
    return this.edit((pid) => this.backend.duplicateElements(pid, ids, { x: DUPLICATE_OFFSET, y: DUPLICATE_OFFSET }));
  }

  reorder(move: ZOrderMove): Promise<boolean> {
    const ids = [...this.doc.selection];
    if (ids.length === 0) return Promise.resolve(false);
    return this.edit((pid) => this.backend.reorderElements(pid, ids, move));
  }

  /** Locks the selection, or unlocks it when everything selected is locked already. */
  toggleLock(): Promise<boolean> {
    const els = this.doc.selectedElements();
    if (els.length === 0) return Promise.resolve(false);
    const locked = !els.every((e) => e.locked);
    return this.edit((pid) => this.backend.updateElements(pid, els.map((e) => ({ id: e.id, props: { locked } }))));
  }

  nudge(dx: number, dy: number): Promise<boolean> {
    const els = this.doc.selectedElements().filter((e) => !e.locked);
    if (els.length === 0) return Promise.resolve(false);
    return this.edit((pid) => this.backend.updateElements(pid, els.map((e) => ({ id: e.id, props: { x: e.x + dx, y: e.y + dy } }))));
  }

  undo(): Promise<boolean> {
    return this.edit((pid) => this.backend.undo(pid));
  }

  redo(): Promise<boolean> {
    return this.edit((pid) => this.backend.redo(pid));
  }

  /** Places files (dropped, pasted or picked) centred at `at`, or at the view centre. */
  async addFiles(files: File[], at?: Point): Promise<void> {
    const media = files.filter((f) => f.type.startsWith('image/') || f.type.startsWith('video/'));
    if (media.length < files.length) toasts.show(`${files.length - media.length} file(s) skipped: only images and videos can be placed`, 'error');
    if (media.length === 0) return;
    const sources: FileSource[] = await Promise.all(
      media.map(async (f) => ({ kind: 'bytes' as const, name: f.name, mimeType: f.type, bytes: new Uint8Array(await f.arrayBuffer()) })),
    );
    const spot = at ?? this.engine?.viewCenter() ?? { x: 0, y: 0 };
    await this.edit((pid) => this.backend.addFiles(pid, sources, spot));
  }

  /** Places files by path (Tauri's native drop). */
  addPaths(paths: string[], at?: Point): Promise<boolean> {
    const spot = at ?? this.engine?.viewCenter() ?? { x: 0, y: 0 };
    return this.edit((pid) => this.backend.addFiles(pid, paths.map((path) => ({ kind: 'path' as const, path })), spot));
  }

  addAssets(assetIds: string[], at?: Point): Promise<boolean> {
    const spot = at ?? this.engine?.viewCenter() ?? { x: 0, y: 0 };
    return this.edit((pid) => this.backend.addAssets(pid, assetIds, spot));
  }

  /** Applies the delta of a command run elsewhere (a generation's placeholder). */
  applyDelta(delta: CanvasDelta): void {
    if (!this.doc.applyDelta(delta)) return;
    this.afterDelta(delta);
    if (delta.selection) this.selectionChanged();
  }

  /** A delta the UI did not ask for (another device, hot folder). */
  applyRemote(delta: CanvasDelta): void {
    const { selection: _ignored, ...rest } = delta;
    if (this.doc.applyDelta(rest)) this.afterDelta(rest);
  }

  // ── Video playback (not undo steps) ─────────────────────────────────────────────────────────

  async togglePlay(id: string): Promise<void> {
    const p = this.engine?.video(id);
    if (!p) return;
    await p.toggle();
    const state = p.playback;
    if (state) this.savePlayback(id, state);
  }

  toggleMute(id: string): void {
    const p = this.engine?.video(id);
    if (!p) return;
    p.setMuted(!p.video.muted);
    const state = p.playback;
    if (state) this.savePlayback(id, state);
  }

  seek(id: string, t: number): void {
    const p = this.engine?.video(id);
    if (!p) return;
    p.seek(t);
    const state = p.playback;
    if (state) this.savePlayback(id, { ...state, currentTime: t });
  }

  savePlayback(id: string, playback: Playback): void {
    const pid = this.projectId;
    const el = this.doc.get(id);
    if (!pid || !el) return;
    const prev = el.playback;
    if (prev && prev.playing === playback.playing && prev.muted === playback.muted && Math.abs(prev.currentTime - playback.currentTime) < 0.05) return;
    this.doc.applyDelta({ projectId: pid, upserted: [{ ...el, playback }], deleted: [], canUndo: this.canUndo, canRedo: this.canRedo });
    this.backend.setPlayback(pid, { elementId: id, playback }).catch((e: unknown) => toasts.error(e));
  }

  // ── Internals ───────────────────────────────────────────────────────────────────────────────

  /** Runs an edit command and applies its delta; false (and a toast) when it failed. */
  private async edit(run: (projectId: string) => Promise<CanvasDelta>): Promise<boolean> {
    const pid = this.projectId;
    if (!pid) return false;
    try {
      const delta = await run(pid);
      this.doc.applyDelta(delta);
      // Only the committed elements: a gesture started meanwhile keeps its preview.
      this.doc.clearPreview([...delta.upserted.map((e) => e.id), ...delta.deleted]);
      this.afterDelta(delta);
      if (delta.selection) this.selectionChanged();
      return true;
    } catch (e) {
      this.doc.clearPreview();
      toasts.error(e);
      return false;
    }
  }

  private afterDelta(delta: CanvasDelta): void {
    this.canUndo = delta.canUndo;
    this.canRedo = delta.canRedo;
    if (this.projectId) this.scheduleThumbnail(this.projectId);
  }

  private scheduleThumbnail(pid: string): void {
    if (this.thumbTimer) clearTimeout(this.thumbTimer);
    this.thumbTimer = setTimeout(() => void this.saveThumbnail(pid), THUMBNAIL_MS);
  }

  private refreshSelection(): void {
    const sel = this.doc.selectedElements();
    this.selection = sel;
    this.selectionCount = sel.length;
    this.selectionLocked = sel.length > 0 && sel.every((e) => e.locked);
  }

  private saveViewport(pid: string): void {
    if (this.viewTimer) clearTimeout(this.viewTimer);
    this.viewTimer = null;
    const cam = this.engine?.cameraState;
    if (cam && pid === this.projectId) this.backend.setViewport(pid, { ...cam }).catch(() => undefined);
  }

  private saveSelection(pid: string): void {
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    this.selectionTimer = null;
    if (pid === this.projectId) this.backend.setSelection(pid, [...this.doc.selection]).catch(() => undefined);
  }

  private async saveThumbnail(pid: string): Promise<void> {
    if (this.thumbTimer) clearTimeout(this.thumbTimer);
    this.thumbTimer = null;
    if (pid !== this.projectId || !this.engine) return;
    try {
      const png = await this.engine.thumbnail();
      if (png) await this.backend.saveProjectThumbnail(pid, png);
    } catch {
      // A missing tile image is cosmetic; the canvas itself is already saved.
    }
  }
}
