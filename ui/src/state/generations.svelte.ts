/**
 * Generation (D7) as the panel and the canvas see it: the model catalogue, the form (kind,
 * prompt, model, size, count), the generations of the open project kept in step with the
 * engine's `generationChanged` events, and the index the canvas reads to draw each
 * placeholder (element id → generation; a placeholder links to its generation by the
 * generation's `elementId`).
 *
 * Submitting places the placeholder at the view centre — or beside the source image for
 * image-to-image and image-to-video — and applies the engine's delta like any canvas edit.
 * When a generation completes, the elements showing its outputs are highlighted for a moment
 * (whichever arrives first: the `canvasChanged` delta or the `generationChanged` event).
 */
import type { Backend } from '../backend/backend';
import type { CanvasDelta, Element, GenerationKind, LocalGeneration, LocalGenerationError, ModelInfo, Placement } from '../backend/types';
import type { Rect } from '../canvas/math/geometry';
import type { CardInfo } from '../canvas/render/generationCard';
import {
  type GenerationForm,
  type SourceCheck,
  KIND_LABELS,
  activeLimit,
  activeStorageFailure,
  buildRequest,
  checkSource,
  defaultModel,
  defaultSize,
  SOURCE_GAP,
  formProblem,
  freeSpot,
  makesVideo,
  maxOutputs,
  modelsFor,
  placementFor,
  placeholderSize,
  statusText,
} from '../lib/generation';
import type { CanvasState } from './canvas.svelte';
import { toasts } from './toasts.svelte';

/** Where the free image before sign-in is: not asked for, being made, on the canvas, refused, failed. */
export type FreePhase = 'idle' | 'working' | 'done' | 'refused' | 'failed';

/** Space the server leaves between outputs it sets side by side (world units). */
const OUTPUT_GAP = 24;
/** How long outputs of a completed generation wait for their elements to highlight (ms). */
const OUTPUT_WATCH_MS = 30_000;

export interface GenerationsDeps {
  backend: Backend;
  canvas: CanvasState;
  signedIn(): boolean;
  online(): boolean;
  /** Whether the form, as priced, costs more credits than there are. */
  creditsShort?(): boolean;
}

export class Generations {
  open = $state(false);
  models = $state.raw<ModelInfo[]>([]);
  /** Generations of the open project, newest first. */
  list = $state.raw<LocalGeneration[]>([]);
  form = $state<GenerationForm>({ kind: 'text-to-image', prompt: '', model: null, size: null, count: 1 });
  submitting = $state(false);
  /** The free image before sign-in: where it is, and the refusal or failure it ended with. */
  free = $state.raw<{ phase: FreePhase; error: LocalGenerationError | null }>({ phase: 'idle', error: null });
  /**
   * Ticks every 20 s while the panel is open ("2 min ago", limits that reset) — every second
   * while a rate limit counts down its last 90 s ("resets in 42 s").
   */
  now = $state(new Date());

  /** The models of the chosen kind (default first), and the chosen one. */
  readonly kindModels: ModelInfo[] = $derived(modelsFor(this.models, this.form.kind));
  readonly model: ModelInfo | null = $derived(this.kindModels.find((m) => m.id === this.form.model) ?? null);
  readonly maxCount: number = $derived(maxOutputs(this.model, this.form.kind));
  readonly limited: LocalGeneration | null = $derived(activeLimit(this.list, this.now));
  readonly storageFull: LocalGeneration | null = $derived(activeStorageFailure(this.list));

  /** Placeholder element id → its generation (not reactive: the canvas reads it per frame). */
  private readonly byElement = new Map<string, LocalGeneration>();
  /** Output asset ids of recently completed generations → until when to watch for them. */
  private readonly watched = new Map<string, number>();
  /** How many `generationChanged` events each generation had (command answers older than one lose). */
  private readonly events = new Map<string, number>();
  private projectId: string | null = null;
  private loadSeq = 0;
  private clock: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly deps: GenerationsDeps) {
    deps.backend.on('generationChanged', (g) => this.changed(g));
    deps.backend.on('canvasChanged', (d) => this.canvasChanged(d));
  }

  private get canvas(): CanvasState {
    return this.deps.canvas;
  }

  /** What the selection gives the chosen kind as its source image. */
  get source(): SourceCheck {
    return checkSource(this.form.kind, this.canvas.selection, (id) => this.canvas.engine?.isAvailable(id) ?? true);
  }

  /** Why the form cannot be sent now, or null. */
  get problem(): string | null {
    if (!this.deps.signedIn()) return 'Sign in to generate';
    return formProblem(this.form, this.models, this.source) ?? (this.deps.creditsShort?.() ? 'Not enough credits for this generation' : null);
  }

  // ── Loading ─────────────────────────────────────────────────────────────────────────────────

  /** The open project changed: its generations replace the list. */
  async load(projectId: string | null): Promise<void> {
    this.projectId = projectId;
    const seq = ++this.loadSeq;
    this.setList([]);
    if (!projectId) return;
    try {
      const list = await this.deps.backend.listGenerations(projectId);
      if (seq === this.loadSeq) this.setList(list);
    } catch {
      // No list: placeholders show "Generating…" until their generation reports.
    }
  }

  /** Fetches the catalogue (after sign-in, when the panel opens) and fills in the form's defaults. */
  async refreshModels(): Promise<void> {
    try {
      this.models = await this.deps.backend.listModels();
    } catch {
      this.models = [];
    }
    this.fitForm();
  }

  // ── The panel ───────────────────────────────────────────────────────────────────────────────

  toggle(open = !this.open): void {
    this.open = open;
    if (open) {
      this.now = new Date();
      this.clock ??= setInterval(() => this.tick(), 1_000);
      void this.refreshModels();
      if (this.projectId) void this.load(this.projectId);
    } else if (this.clock) {
      clearInterval(this.clock);
      this.clock = null;
    }
  }

  private tick(): void {
    const now = new Date();
    const limit = this.limited?.error?.limit;
    const counting = limit !== undefined && limit !== null && Date.parse(limit.resetsAt) - now.getTime() < 90_000;
    if (counting || now.getTime() - this.now.getTime() >= 20_000) this.now = now;
  }

  setKind(kind: GenerationKind): void {
    if (kind === this.form.kind) return;
    this.form.kind = kind;
    this.form.model = null;
    this.fitForm();
  }

  setModel(id: string): void {
    this.form.model = id;
    this.fitForm();
  }

  setSize(size: string): void {
    this.form.size = size;
  }

  setCount(n: number): void {
    this.form.count = Math.max(1, Math.min(this.maxCount, Math.round(n)));
  }

  /**
   * Keeps the form consistent with the catalogue: a model of the kind (the default when none
   * or another kind's is chosen), one of its sizes, a count it can make.
   */
  fitForm(): void {
    const f = this.form;
    const list = modelsFor(this.models, f.kind);
    const model = list.find((m) => m.id === f.model) ?? defaultModel(this.models, f.kind);
    f.model = model?.id ?? null;
    if (!model) f.size = null;
    else if (f.size === null || !model.sizes.includes(f.size)) f.size = defaultSize(model);
    f.count = Math.max(1, Math.min(maxOutputs(model, f.kind), f.count));
  }

  /** Sends the form; true when the generation started (or waits in the outbox). */
  async submit(): Promise<boolean> {
    const pid = this.projectId;
    if (!pid || this.submitting || this.problem !== null || !this.source.ok) return false;
    const source = this.source.element;
    const count = makesVideo(this.form.kind) ? 1 : this.form.count;
    const { at, row } = this.spotFor(this.form.size, count, source);
    const request = buildRequest($state.snapshot(this.form), source, at);
    this.submitting = true;
    try {
      const { generation, delta } = await this.deps.backend.generate(pid, request);
      this.canvas.applyDelta(delta);
      this.canvas.engine?.bringIntoView(row);
      // Events may have reported progress before this answer came back: they are newer.
      if (!this.list.some((g) => g.id === generation.id)) this.upsert(generation);
      // Every request waits in the outbox until the server takes it; only offline is that news.
      if (generation.status === 'waiting' && !this.deps.online()) toasts.show('You’re offline: the request waits in the outbox and is sent when you’re back online');
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    } finally {
      this.submitting = false;
    }
  }

  /**
   * Asks for the one free image before sign-in (S6) with the form's prompt and size: its
   * placeholder lands on the local canvas, the image in its place once done. Ends `done`,
   * `refused` (the day's free image is used: `free.error.limit` says when it comes back) or
   * `failed`.
   */
  async submitFree(): Promise<void> {
    const pid = this.projectId;
    if (!pid || this.free.phase === 'working' || this.deps.signedIn() || this.form.prompt.trim() === '') return;
    const { at, row } = this.spotFor(this.form.size, 1, null);
    this.free = { phase: 'working', error: null };
    try {
      this.canvas.engine?.bringIntoView(row);
      const outcome = await this.deps.backend.freeGenerate(pid, { prompt: this.form.prompt, imageSize: this.form.size, at });
      this.free = outcome.status === 'completed' ? { phase: 'done', error: null } : { phase: outcome.status, error: outcome.error };
    } catch (e) {
      this.free = { phase: 'idle', error: null };
      toasts.error(e);
    }
  }

  /**
   * Where a new placeholder goes (its centre) and the row its `count` outputs will fill: the
   * placeholder as the engine will size it (the requested image size, else the source's).
   */
  private spotFor(imageSize: string | null, count: number, source: Element | null): { at: Placement; row: Rect } {
    // The server sets the outputs side by side from the placeholder's left edge.
    const size = placeholderSize(imageSize, source);
    const row = { width: count * size.width + (count - 1) * OUTPUT_GAP, height: size.height };
    // Beside the source (its left edge a gap right of it), or at the view centre — moved to the
    // nearest spot where it covers nothing: in view when there is room (the view can hold it),
    // else wherever is nearest, and the view zooms out to show it. Only on a canvas crowded all
    // around does it land in view on images — at least not on another placeholder.
    const want = placementFor(source, this.canvas.engine?.viewCenter() ?? { x: 0, y: 0 }, source ? row.width / source.height : 1);
    const doc = this.canvas.doc;
    const visible = this.canvas.engine?.visibleRect() ?? null;
    const view = visible && visible.width >= row.width + SOURCE_GAP && visible.height >= row.height + SOURCE_GAP ? visible : null;
    const taken = (r: Rect, placeholdersOnly: boolean): boolean => [...doc.query(r)].some((id) => !placeholdersOnly || doc.get(id)?.kind === 'generation');
    const rowAt = (p: Placement): Rect => ({ x: p.x - row.width / 2, y: p.y - row.height / 2, ...row });
    let spot = freeSpot(want, row, (r) => taken(r, false), view);
    if (view && taken(rowAt(spot), false)) spot = freeSpot(want, row, (r) => taken(r, false));
    if (taken(rowAt(spot), false)) spot = freeSpot(want, row, (r) => taken(r, true), view);
    return { at: { x: spot.x - row.width / 2 + size.width / 2, y: spot.y }, row: rowAt(spot) };
  }

  async cancel(id: string): Promise<void> {
    await this.command(id, () => this.deps.backend.cancelGeneration(id));
  }

  async retry(id: string): Promise<void> {
    await this.command(id, () => this.deps.backend.retryGeneration(id));
  }

  /** Runs a command on one generation; its answer counts unless an event was newer. */
  private async command(id: string, run: () => Promise<LocalGeneration>): Promise<void> {
    const seen = this.events.get(id) ?? 0;
    try {
      const g = await run();
      if ((this.events.get(id) ?? 0) === seen) this.upsert(g);
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Selects and shows a generation's placeholder, or its outputs once done. */
  reveal(g: LocalGeneration): void {
    const c = this.canvas;
    const ids = c.doc.get(g.elementId) ? [g.elementId] : c.doc.ordered().filter((e) => e.assetId !== null && g.outputs.includes(e.assetId)).map((e) => e.id);
    if (ids.length === 0) return;
    c.doc.setSelection(ids);
    c.selectionChanged();
    c.engine?.zoomToSelection();
  }

  // ── What the canvas reads ───────────────────────────────────────────────────────────────────

  /** The generation a placeholder element stands for, when this device knows it. */
  forElement(elementId: string): LocalGeneration | undefined {
    return this.byElement.get(elementId);
  }

  /** What a placeholder card says. */
  card(el: Element): CardInfo {
    const g = this.byElement.get(el.id);
    if (!g) return { status: null, title: 'Generating…', prompt: '', caption: 'Generation' };
    return { status: g.status, title: statusText(g), prompt: g.prompt, caption: KIND_LABELS[g.kind] };
  }

  // ── Internals ───────────────────────────────────────────────────────────────────────────────

  private changed(g: LocalGeneration): void {
    this.events.set(g.id, (this.events.get(g.id) ?? 0) + 1);
    if (g.projectId !== this.projectId) return;
    if (this.open) this.now = new Date();
    this.upsert(g);
    if (g.status === 'completed' && g.outputs.length > 0) {
      const until = Date.now() + OUTPUT_WATCH_MS;
      for (const id of g.outputs) this.watched.set(id, until);
      this.flashOutputs(this.canvas.doc.ordered());
    }
  }

  private canvasChanged(d: CanvasDelta): void {
    if (d.projectId !== this.projectId || this.watched.size === 0) return;
    this.flashOutputs(d.upserted);
  }

  /** Highlights those of `elements` that show a watched output. */
  private flashOutputs(elements: readonly Element[]): void {
    const now = Date.now();
    for (const [id, until] of this.watched) if (until < now) this.watched.delete(id);
    const ids = elements.filter((e) => e.assetId !== null && this.watched.has(e.assetId) && e.kind !== 'generation').map((e) => e.id);
    if (ids.length > 0) this.canvas.engine?.flash(ids);
  }

  private upsert(g: LocalGeneration): void {
    if (g.projectId !== this.projectId) return;
    const i = this.list.findIndex((x) => x.id === g.id);
    const next = i < 0 ? [g, ...this.list] : this.list.map((x) => (x.id === g.id ? g : x));
    next.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
    this.setList(next);
  }

  private setList(list: LocalGeneration[]): void {
    this.list = list;
    this.byElement.clear();
    // Oldest first, so the newest generation wins a shared placeholder.
    for (const g of [...list].reverse()) this.byElement.set(g.elementId, g);
    // Outputs are on the server before they are in this device's cache: draw them anyway.
    this.canvas.engine?.assetsOnServer(list.flatMap((g) => (g.status === 'completed' ? g.outputs : [])));
    this.canvas.engine?.generationsChanged();
  }
}
