/**
 * Generation (D7) inside `MemoryBackend`: the model catalogue, the placeholder element, the
 * offline outbox and a server that moves each job `queued → running → completed` on timers —
 * with a failure mode, rate limits per window (HTTP 429 details), the storage quota and credits
 * (the price held when the server takes a job, 402 details when short; charged on completion,
 * given back on failure or cancel) — so the browser demo and the tests exercise the same
 * contract the engine serves.
 *
 * Like the engine: the placeholder is added without an undo step; a request made offline is
 * `waiting` (no server id, the placeholder's `generationId` null) until the connection comes
 * back; on completion the outputs become assets of the library (`source: generation`) and
 * replace the placeholder through an ordinary canvas change (`canvasChanged`), beside which a
 * `generationChanged` reports the outputs. Cancel keeps the placeholder ("Canceled"); retry
 * sends a failed generation again with the same placeholder.
 */
import { BackendError } from '../backend';
import type { AssetGeneration } from '../../generated/AssetGeneration';
import type { CanvasDelta, CreditShortfall, Element, GenerateRequest, Generated, GenerationKind, GenerationLimit, LocalGeneration, ModelInfo, StorageQuota, Tier } from '../types';
import { MAX_PROMPT_CHARS, PLACEHOLDER_SIDE, defaultModel, defaultSize, makesVideo, maxOutputs, needsSource, sizeAspect } from '../../lib/generation';
import type { MemoryCanvas } from './canvasState';
import { priceOf } from './credits';
import { PLACEMENT_GAP } from './media';

/** The catalogue the demo server offers (fal model ids, as `GET /v1/models` lists them). */
export const DEMO_MODELS: ModelInfo[] = [
  { id: 'fal-ai/flux/schnell', kind: 'text-to-image', label: 'FLUX.1 [schnell] — fast', default: true, maxImages: 4, sizes: ['square_hd', 'square', 'portrait_4_3', 'portrait_16_9', 'landscape_4_3', 'landscape_16_9'] },
  { id: 'fal-ai/flux/dev', kind: 'text-to-image', label: 'FLUX.1 [dev] — detailed', default: false, maxImages: 4, sizes: ['square_hd', 'square', 'portrait_4_3', 'portrait_16_9', 'landscape_4_3', 'landscape_16_9'] },
  { id: 'fal-ai/recraft-v3', kind: 'text-to-image', label: 'Recraft V3 — illustration', default: false, maxImages: 1, sizes: ['square_hd', 'portrait_4_3', 'landscape_4_3'] },
  { id: 'fal-ai/flux/dev/image-to-image', kind: 'image-to-image', label: 'FLUX.1 [dev] — remix', default: true, maxImages: 4, sizes: ['square_hd', 'portrait_4_3', 'landscape_4_3', 'landscape_16_9'] },
  { id: 'fal-ai/kling-video/v2/master/image-to-video', kind: 'image-to-video', label: 'Kling 2.0 Master', default: true, maxImages: 1, sizes: ['16:9', '9:16', '1:1'] },
];

/** Outputs' natural longest side (pixels). */
const OUTPUT_SIDE = 1024;

/** Windows of the free and paid tiers (what counts: outputs). */
const TIER_LIMITS: Record<Tier, { image: number; video: number }> = {
  free: { image: 15, video: 3 },
  pro: { image: 300, video: 40 },
  enterprise: { image: 3000, video: 400 },
};

/** How the simulated server answers: normally, failing every job, throttled, or storage full. */
export type GenerationMode = 'normal' | 'fail' | 'limit' | 'storage';

/** Makes the bytes of one output (demo art in a browser; anything in tests). */
export type OutputMaker = (spec: { kind: GenerationKind; prompt: string; width: number; height: number; seed: number }) => Promise<{ bytes: Uint8Array; mimeType: string }>;

/** What the simulator needs of the backend around it. */
export interface GenerationHost {
  now(): Date;
  newId(): string;
  signedIn(): boolean;
  tier(): Tier;
  online(): boolean;
  upgradeUrl: string;
  /** The canvas of a project (throws when it no longer exists). */
  canvas(projectId: string): MemoryCanvas;
  hasProject(projectId: string): boolean;
  storage(): StorageQuota;
  /** Holds a job's price when the server takes it; the shortfall instead when credits are short. */
  reserveCredits(jobId: string, amount: number): CreditShortfall | null;
  /** Charges `spent` of a job's hold and gives the rest back (0: all of it). */
  settleCredits(jobId: string, spent: number): void;
  /** Stores an output as an asset of the library; its id. */
  importOutput(bytes: Uint8Array, mimeType: string, generation: AssetGeneration): Promise<string>;
  /** Bookkeeping after a change the server made to a canvas; `remote`: also emit it. */
  canvasChanged(projectId: string, delta: CanvasDelta, remote: boolean): void;
  generationChanged(g: LocalGeneration): void;
}

export interface GenerationTiming {
  /** Time spent at each queue position, and before a 429 or storage refusal comes back. */
  queueMs: number;
  /** Time fal takes once running. */
  runMs: number;
}

interface Job {
  g: LocalGeneration;
  request: GenerateRequest;
  /** Where the outputs go (the placeholder's box when it was made). */
  box: { x: number; y: number; width: number; height: number };
  timer: ReturnType<typeof setTimeout> | null;
  seed: number;
}

/** One rate-limit window: its limit and what was used since it started. */
interface Window {
  window: GenerationLimit['window'];
  used: number;
  startedAt: number;
}

export class GenerationSim {
  mode: GenerationMode = 'normal';
  /** Outputs counted in the current hourly image window and daily video window. */
  readonly usage: { image: Window; video: Window };
  private readonly jobs = new Map<string, Job>();
  private lastStamp = 0;

  constructor(
    private readonly host: GenerationHost,
    readonly timing: GenerationTiming,
    private readonly makeOutput: OutputMaker,
  ) {
    const t = host.now().getTime();
    this.usage = { image: { window: 'hour', used: 0, startedAt: t }, video: { window: 'day', used: 0, startedAt: t } };
  }

  models(): ModelInfo[] {
    return this.host.signedIn() ? DEMO_MODELS.map((m) => ({ ...m, sizes: [...m.sizes] })) : [];
  }

  list(projectId: string | null): LocalGeneration[] {
    return [...this.jobs.values()]
      .map((j) => j.g)
      .filter((g) => projectId === null || g.projectId === projectId)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
      .map(copy);
  }

  generate(projectId: string, req: GenerateRequest): Generated {
    if (!this.host.signedIn()) throw new BackendError('unauthenticated', 'Generation needs an account: sign in to generate images and videos');
    const canvas = this.host.canvas(projectId);
    const model = this.validate(req, canvas);
    const source = req.sourceElementId ? canvas.elements.get(req.sourceElementId)! : null;
    const size = req.imageSize ?? defaultSize(model);
    const aspect = makesVideo(req.kind) && source && !req.imageSize ? source.width / source.height : sizeAspect(size);
    const side = source ? Math.max(source.width, source.height) : PLACEHOLDER_SIDE;
    const width = aspect >= 1 ? side : side * aspect;
    const height = aspect >= 1 ? side / aspect : side;
    const box = { x: req.at.x - width / 2, y: req.at.y - height / 2, width, height };
    const online = this.host.online();
    const serverId = online ? this.host.newId() : null;
    const placeholder: Omit<Element, 'id' | 'z'> = { kind: 'generation', assetId: null, ...box, rotation: 0, locked: false, playback: null, generationId: serverId };
    const delta = canvas.replaceQuiet([], [placeholder]);
    this.host.canvasChanged(projectId, delta, false);
    const params: LocalGeneration['params'] = {};
    if (size) params.imageSize = size;
    if (!makesVideo(req.kind)) params.numImages = req.numImages ?? 1;
    if (req.seed !== null) params.seed = req.seed;
    if (req.durationS !== null) params.durationS = req.durationS;
    const g: LocalGeneration = {
      id: this.host.newId(),
      serverId,
      projectId,
      elementId: delta.upserted[0]!.id,
      kind: req.kind,
      prompt: req.prompt.trim(),
      model: model?.id ?? req.model ?? '',
      params,
      status: 'waiting',
      queuePosition: null,
      error: null,
      outputs: [],
      createdAt: this.stamp(),
    };
    const job: Job = { g, request: { ...req }, box, timer: null, seed: req.seed ?? Math.floor(Math.random() * 1e9) };
    this.jobs.set(g.id, job);
    if (online) this.submit(job, false);
    return { generation: copy(g), delta };
  }

  cancel(id: string): LocalGeneration {
    const job = this.job(id);
    const s = job.g.status;
    if (s !== 'waiting' && s !== 'queued' && s !== 'running') throw new BackendError('conflict', 'Only a waiting, queued or running generation can be canceled');
    this.stop(job);
    this.host.settleCredits(job.g.id, 0);
    this.update(job, { status: 'canceled', queuePosition: null, error: null });
    return copy(job.g);
  }

  retry(id: string): LocalGeneration {
    const job = this.job(id);
    if (job.g.status !== 'failed') throw new BackendError('conflict', 'Only a failed generation can be retried');
    if (!this.host.signedIn()) throw new BackendError('unauthenticated', 'Generation needs an account: sign in to generate images and videos');
    this.update(job, { status: 'waiting', error: null, queuePosition: null }, false);
    if (this.host.online()) this.submit(job, true);
    else this.host.generationChanged(copy(job.g));
    return copy(job.g);
  }

  /** The connection came back (or went): the outbox's waiting requests are sent. */
  setOnline(online: boolean): void {
    if (!online) return;
    for (const job of this.jobs.values()) if (job.g.status === 'waiting') this.submit(job, true);
  }

  dispose(): void {
    for (const job of this.jobs.values()) this.stop(job);
  }

  // ── The simulated server ──────────────────────────────────────────────────────────────────

  /** The server accepts the request (it gets its id) and queues it, or refuses it. */
  private submit(job: Job, announce: boolean): void {
    if (!job.g.serverId) {
      const serverId = this.host.newId();
      job.g.serverId = serverId;
      if (this.host.hasProject(job.g.projectId)) {
        const canvas = this.host.canvas(job.g.projectId);
        if (canvas.elements.has(job.g.elementId)) {
          const d = canvas.applyQuiet([{ type: 'set', id: job.g.elementId, props: { generationId: serverId } }]);
          this.host.canvasChanged(job.g.projectId, d, true);
        }
      }
    }
    const refusal = this.refusal(job) ?? this.reserve(job);
    if (refusal) {
      // The server answers at once; the UI still sees the request leave.
      this.update(job, { status: 'queued', queuePosition: null }, announce);
      job.timer = setTimeout(() => this.update(job, { status: 'failed', error: refusal }), Math.min(this.timing.queueMs, 400));
      return;
    }
    const w = this.windowOf(job.g.kind);
    w.used += this.outputsOf(job);
    const ahead = [...this.jobs.values()].filter((j) => j !== job && (j.g.status === 'queued' || j.g.status === 'running')).length;
    this.update(job, { status: 'queued', queuePosition: Math.min(ahead + 1, 9) });
    this.advance(job);
  }

  /** One step of the queue: the position goes down each `queueMs`, then it runs. */
  private advance(job: Job): void {
    job.timer = setTimeout(() => {
      const pos = job.g.queuePosition ?? 1;
      if (pos > 1) {
        this.update(job, { queuePosition: pos - 1 });
        this.advance(job);
        return;
      }
      this.update(job, { status: 'running', queuePosition: null });
      job.timer = setTimeout(() => void this.finish(job), this.timing.runMs);
    }, this.timing.queueMs);
  }

  private async finish(job: Job): Promise<void> {
    job.timer = null;
    if (job.g.status !== 'running') return;
    if (this.mode === 'fail') {
      this.host.settleCredits(job.g.id, 0);
      this.update(job, { status: 'failed', error: { code: 'FAL_FAILED', message: 'The model could not make this image: the prompt was flagged by its safety filter', limit: null, storage: null, credits: null } });
      return;
    }
    const { g } = job;
    const n = this.outputsOf(job);
    const aspect = job.box.width / job.box.height;
    const [w, h] = aspect >= 1 ? [OUTPUT_SIDE, Math.round(OUTPUT_SIDE / aspect)] : [Math.round(OUTPUT_SIDE * aspect), OUTPUT_SIDE];
    const outputs: string[] = [];
    const videos = new Set<string>();
    try {
      for (let i = 0; i < n; i++) {
        const out = await this.makeOutput({ kind: g.kind, prompt: g.prompt, width: w, height: h, seed: job.seed + i });
        const id = await this.host.importOutput(out.bytes, out.mimeType, { generationId: g.serverId ?? g.id, prompt: g.prompt, model: g.model, seed: job.seed + i });
        outputs.push(id);
        if (out.mimeType.startsWith('video/')) videos.add(id);
      }
    } catch (e) {
      this.host.settleCredits(job.g.id, 0);
      this.update(job, { status: 'failed', error: { code: 'BAD_OUTPUT', message: e instanceof Error ? e.message : 'The output could not be stored', limit: null, storage: null, credits: null } });
      return;
    }
    if ((g.status as LocalGeneration['status']) !== 'running') return; // canceled meanwhile
    if (this.host.hasProject(g.projectId)) {
      const canvas = this.host.canvas(g.projectId);
      const placeholder = canvas.elements.get(g.elementId);
      const box = placeholder ?? job.box;
      const cx = box.x + box.width / 2;
      const total = n * box.width + (n - 1) * PLACEMENT_GAP;
      const els: Omit<Element, 'id' | 'z'>[] = outputs.map((assetId, i) => ({
        kind: videos.has(assetId) ? 'video' : 'image',
        assetId,
        x: cx - total / 2 + i * (box.width + PLACEMENT_GAP),
        y: box.y,
        width: box.width,
        height: box.height,
        rotation: 0,
        locked: false,
        playback: videos.has(assetId) ? { playing: false, currentTime: 0, muted: true } : null,
        generationId: g.serverId,
      }));
      const d = canvas.replaceQuiet([g.elementId], els);
      this.host.canvasChanged(g.projectId, d, true);
    }
    this.host.settleCredits(g.id, this.priceOf(job));
    this.update(job, { status: 'completed', outputs });
  }

  /** The price of a job, as the server's formula has it. */
  priceOf(job: { g: LocalGeneration }): number {
    const { g } = job;
    return priceOf({ kind: g.kind, imageSize: g.params.imageSize ?? null, count: this.outputsOf(job), durationS: g.params.durationS ?? null });
  }

  /** Holds the job's price; the 402 refusal when the balance is short. */
  private reserve(job: Job): LocalGeneration['error'] {
    const short = this.host.reserveCredits(job.g.id, this.priceOf(job));
    if (!short) return null;
    return {
      code: 'INSUFFICIENT_CREDITS',
      message: `not enough credits: ${short.required} needed, ${short.available} available`,
      limit: null,
      storage: null,
      credits: short,
    };
  }

  /** Why the server refuses a job before queueing it (429, storage full), or null. */
  private refusal(job: Job): LocalGeneration['error'] {
    const storage = this.host.storage();
    if (this.mode === 'storage' || storage.overLimit) {
      return { code: 'STORAGE_QUOTA_EXCEEDED', message: 'storage limit reached: delete assets or upgrade to upload more', limit: null, storage: { ...storage, overLimit: true }, credits: null };
    }
    const w = this.windowOf(job.g.kind);
    const limit = TIER_LIMITS[this.host.tier()][makesVideo(job.g.kind) ? 'video' : 'image'];
    const n = this.outputsOf(job);
    if (this.mode !== 'limit' && w.used + n <= limit) return null;
    const used = this.mode === 'limit' ? limit : w.used;
    const tier = this.host.tier();
    return {
      code: 'RATE_LIMITED',
      message: `${w.window} limit of ${limit} reached`,
      limit: { window: w.window, limit, used, remaining: Math.max(0, limit - used), resetsAt: new Date(this.resetAt(w)).toISOString(), tier, upgradeUrl: this.host.upgradeUrl },
      storage: null,
      credits: null,
    };
  }

  private windowOf(kind: GenerationKind): Window {
    const w = makesVideo(kind) ? this.usage.video : this.usage.image;
    const now = this.host.now().getTime();
    if (now >= this.resetAt(w)) {
      w.used = 0;
      w.startedAt = now;
    }
    return w;
  }

  /** When a window resets: the top of the next hour, the next midnight. */
  private resetAt(w: Window): number {
    const d = new Date(w.startedAt);
    if (w.window === 'minute') return Math.floor(w.startedAt / 60_000) * 60_000 + 60_000;
    if (w.window === 'hour') return new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours() + 1).getTime();
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
  }

  private outputsOf(job: { g: LocalGeneration }): number {
    return makesVideo(job.g.kind) ? 1 : (job.g.params.numImages ?? 1);
  }

  private validate(req: GenerateRequest, canvas: MemoryCanvas): ModelInfo | null {
    const prompt = req.prompt.trim();
    if (!prompt) throw new BackendError('validation', 'The prompt must not be empty');
    if ([...prompt].length > MAX_PROMPT_CHARS) throw new BackendError('validation', `The prompt must be at most ${MAX_PROMPT_CHARS} characters`);
    if (![req.at.x, req.at.y].every(Number.isFinite)) throw new BackendError('validation', 'Invalid placement');
    const list = DEMO_MODELS.filter((m) => m.kind === req.kind);
    const model = req.model === null ? defaultModel(DEMO_MODELS, req.kind) : (list.find((m) => m.id === req.model) ?? null);
    if (req.model !== null && !model) throw new BackendError('validation', `${req.model} is not a ${req.kind} model`);
    if (req.imageSize !== null && model && !model.sizes.includes(req.imageSize)) throw new BackendError('validation', `${req.imageSize} is not a size of ${model.label}`);
    const max = maxOutputs(model, req.kind);
    if (req.numImages !== null && (!Number.isInteger(req.numImages) || req.numImages < 1 || req.numImages > max)) {
      throw new BackendError('validation', `numImages must be from 1 to ${max}`);
    }
    if (needsSource(req.kind)) {
      const src = req.sourceElementId ? canvas.elements.get(req.sourceElementId) : undefined;
      if (!src) throw new BackendError('validation', `${req.kind} needs a source image`);
      if (src.kind !== 'image' || !src.assetId) throw new BackendError('validation', 'The source must be an image');
    } else if (req.sourceElementId !== null) {
      throw new BackendError('validation', 'text-to-image takes no source image');
    }
    return model;
  }

  /** Now, strictly after the previous generation (so "newest first" never ties). */
  private stamp(): string {
    this.lastStamp = Math.max(this.host.now().getTime(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }

  private job(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new BackendError('not_found', 'This generation no longer exists');
    return job;
  }

  private stop(job: Job): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = null;
  }

  private update(job: Job, patch: Partial<LocalGeneration>, announce = true): void {
    Object.assign(job.g, patch);
    if (announce) this.host.generationChanged(copy(job.g));
  }
}

function copy(g: LocalGeneration): LocalGeneration {
  return {
    ...g,
    params: { ...g.params },
    outputs: [...g.outputs],
    error: g.error
      ? { ...g.error, limit: g.error.limit ? { ...g.error.limit } : null, storage: g.error.storage ? { ...g.error.storage } : null, credits: g.error.credits ? { ...g.error.credits } : null }
      : null,
  };
}
