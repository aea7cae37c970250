/**
 * The rules and words of generation (D7), as plain functions the panel, the canvas
 * placeholders and the tests share: which models and sizes a kind offers and how sizes are
 * named, what the source of image-to-image / image-to-video must be, what makes a request
 * valid (the server's rules: prompt 1–4,000 characters, 1–4 outputs), what a placeholder says
 * at each status, and how a rate limit or a full storage is explained.
 */
import type { Element, GenerateRequest, GenerationKind, GenerationLimit, LocalGeneration, LocalGenerationStatus, ModelInfo, Placement } from '../backend/types';
import { clockTime, formatBytes } from './format';

/** Longest prompt the server accepts, in characters (not bytes). */
export const MAX_PROMPT_CHARS = 4_000;
/** Most outputs one generation makes. */
export const MAX_NUM_IMAGES = 4;
/** Gap between a source image and the placeholder of its image-to-* result (world units). */
export const SOURCE_GAP = 48;

export const KINDS: readonly GenerationKind[] = ['text-to-image', 'image-to-image', 'image-to-video'];

export const KIND_LABELS: Record<GenerationKind, string> = {
  'text-to-image': 'Text to image',
  'image-to-image': 'Image to image',
  'image-to-video': 'Image to video',
};

/** Short labels for the kind switch. */
export const KIND_SHORT: Record<GenerationKind, string> = {
  'text-to-image': 'Image',
  'image-to-image': 'Remix',
  'image-to-video': 'Video',
};

export function needsSource(kind: GenerationKind): boolean {
  return kind !== 'text-to-image';
}

export function makesVideo(kind: GenerationKind): boolean {
  return kind === 'image-to-video';
}

// ── Models and sizes ──────────────────────────────────────────────────────────────────────────

/** The catalogue's models of one kind, the default first. */
export function modelsFor(models: readonly ModelInfo[], kind: GenerationKind): ModelInfo[] {
  return models.filter((m) => m.kind === kind).sort((a, b) => Number(b.default) - Number(a.default));
}

/** The kind's default model (the first one when none is marked), or null when there is none. */
export function defaultModel(models: readonly ModelInfo[], kind: GenerationKind): ModelInfo | null {
  return modelsFor(models, kind)[0] ?? null;
}

/** The preferred size of a model: `square_hd` when offered, else its first. */
export function defaultSize(model: ModelInfo | null): string | null {
  if (!model || model.sizes.length === 0) return null;
  return model.sizes.includes('square_hd') ? 'square_hd' : model.sizes[0]!;
}

const NAMED_SIZES: Record<string, string> = {
  square_hd: 'Square HD',
  square: 'Square',
  portrait_4_3: 'Portrait 3:4',
  portrait_16_9: 'Portrait 9:16',
  landscape_4_3: 'Landscape 4:3',
  landscape_16_9: 'Landscape 16:9',
  auto: 'Auto',
};

/** `square_hd` → "Square HD", `landscape_16_9` → "Landscape 16:9", `21:9` → "21:9". */
export function sizeLabel(size: string): string {
  const known = NAMED_SIZES[size];
  if (known) return known;
  if (/^\d+:\d+$/.test(size)) return size;
  const m = /^(portrait|landscape)_(\d+)_(\d+)$/.exec(size);
  if (m) {
    const [a, b] = [Number(m[2]), Number(m[3])];
    const [hi, lo] = [Math.max(a, b), Math.min(a, b)];
    return m[1] === 'portrait' ? `Portrait ${lo}:${hi}` : `Landscape ${hi}:${lo}`;
  }
  const px = /^(\d+)x(\d+)$/.exec(size);
  if (px) return `${px[1]} × ${px[2]}`;
  const words = size.replace(/[_-]+/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : size;
}

/** Width:height of a size name (1:1 when it does not say). */
export function sizeAspect(size: string | null | undefined): number {
  if (!size) return 1;
  const named: Record<string, number> = { square_hd: 1, square: 1, portrait_4_3: 3 / 4, portrait_16_9: 9 / 16, landscape_4_3: 4 / 3, landscape_16_9: 16 / 9 };
  if (size in named) return named[size]!;
  const ratio = /^(\d+):(\d+)$/.exec(size) ?? /^(\d+)x(\d+)$/.exec(size);
  if (ratio) return Number(ratio[1]) / Math.max(1, Number(ratio[2]));
  const m = /^(portrait|landscape)_(\d+)_(\d+)$/.exec(size);
  if (m) {
    const [a, b] = [Number(m[2]), Number(m[3])];
    const r = Math.max(a, b) / Math.max(1, Math.min(a, b));
    return m[1] === 'portrait' ? 1 / r : r;
  }
  return 1;
}

/** How many outputs a model may make (videos: one). */
export function maxOutputs(model: ModelInfo | null, kind: GenerationKind): number {
  if (makesVideo(kind)) return 1;
  return Math.max(1, Math.min(MAX_NUM_IMAGES, model?.maxImages ?? 1));
}

// ── The source image of image-to-* ────────────────────────────────────────────────────────────

export type SourceCheck = { ok: true; element: Element | null } | { ok: false; reason: string };

/**
 * Whether the selection gives the kind its source: text-to-image needs none; the image-to-*
 * kinds need exactly one selected image element whose file exists.
 */
export function checkSource(kind: GenerationKind, selected: readonly Element[], isAvailable: (assetId: string) => boolean = () => true): SourceCheck {
  if (!needsSource(kind)) return { ok: true, element: null };
  const what = makesVideo(kind) ? 'animate' : 'start from';
  if (selected.length === 0) return { ok: false, reason: `Select an image on the canvas to ${what}` };
  if (selected.length > 1) return { ok: false, reason: `Select just one image — ${selected.length} elements are selected` };
  const el = selected[0]!;
  if (el.kind === 'video') return { ok: false, reason: 'A video can’t be the source: select an image' };
  if (el.kind === 'generation') return { ok: false, reason: 'That is still generating: select a finished image' };
  if (!el.assetId || !isAvailable(el.assetId)) return { ok: false, reason: 'This image’s file is missing: select another one' };
  return { ok: true, element: el };
}

/**
 * Where the placeholder goes: beside the source image (to its right, same height centre) for
 * image-to-*, else the centre of the view.
 */
export function placementFor(source: Element | null, viewCenter: Placement, aspect = 1): Placement {
  if (!source) return { ...viewCenter };
  // The result is about the source's height: its half width follows from the aspect.
  const half = (source.height * aspect) / 2;
  return { x: source.x + source.width + SOURCE_GAP + half, y: source.y + source.height / 2 };
}

/** World size of a new placeholder of `aspect` (width:height) when the engine has no source to match. */
export const PLACEHOLDER_SIDE = 512;

/** fal's named image sizes in pixels (the desktop engine sizes placeholders by them). */
const SIZE_PIXELS: Record<string, readonly [number, number]> = {
  square_hd: [1024, 1024],
  square: [512, 512],
  portrait_4_3: [768, 1024],
  portrait_16_9: [576, 1024],
  landscape_4_3: [1024, 768],
  landscape_16_9: [1024, 576],
};

/**
 * World size of the placeholder the desktop engine makes (`placeholder_size`): the requested
 * image size (a fal name or `WIDTHxHEIGHT`), else the source image's size, else 1024 square.
 */
export function placeholderSize(size: string | null, source: { width: number; height: number } | null): { width: number; height: number } {
  const named = size ? SIZE_PIXELS[size] : undefined;
  if (named) return { width: named[0], height: named[1] };
  const px = size ? /^\s*(\d+(?:\.\d+)?)\s*[xX×]\s*(\d+(?:\.\d+)?)\s*$/.exec(size) : null;
  if (px && Number(px[1]) >= 1 && Number(px[2]) >= 1) return { width: Number(px[1]), height: Number(px[2]) };
  if (source && source.width > 0 && source.height > 0) return { width: source.width, height: source.height };
  return { width: 1024, height: 1024 };
}

/**
 * The point nearest `want` where a box of `size` centred there, with `gap` around it, touches
 * no element (`occupied` answers for a rect): candidates on a half-size grid around `want`,
 * tried nearest first (vertical moves count a little more, rows read left to right), and only
 * those inside `within` (the view) when given. `want` itself when none of them is free.
 */
export function freeSpot(
  want: Placement,
  size: { width: number; height: number },
  occupied: (r: { x: number; y: number; width: number; height: number }) => boolean,
  within: { x: number; y: number; width: number; height: number } | null = null,
  gap = SOURCE_GAP,
  reach = 8,
): Placement {
  const sx = (size.width + gap) / 2;
  const sy = (size.height + gap) / 2;
  const cells: { i: number; j: number; d: number }[] = [];
  for (let i = -reach; i <= reach; i++) {
    for (let j = -reach; j <= reach; j++) cells.push({ i, j, d: Math.hypot(i * sx, j * sy * 1.25) });
  }
  cells.sort((a, b) => a.d - b.d || a.j - b.j || a.i - b.i);
  for (const { i, j } of cells) {
    const x = want.x + i * sx;
    const y = want.y + j * sy;
    const r = { x: x - size.width / 2 - gap / 2, y: y - size.height / 2 - gap / 2, width: size.width + gap, height: size.height + gap };
    if (within && (r.x < within.x || r.y < within.y || r.x + r.width > within.x + within.width || r.y + r.height > within.y + within.height)) continue;
    if (!occupied(r)) return { x, y };
  }
  return { ...want };
}

// ── The form ──────────────────────────────────────────────────────────────────────────────────

export interface GenerationForm {
  kind: GenerationKind;
  prompt: string;
  model: string | null;
  size: string | null;
  count: number;
}

/** Characters as the server counts them (code points, not UTF-16 units). */
export function promptLength(prompt: string): number {
  return [...prompt].length;
}

/** `123 / 4,000`. */
export function promptCounter(prompt: string): string {
  return `${promptLength(prompt).toLocaleString('en-US')} / ${MAX_PROMPT_CHARS.toLocaleString('en-US')}`;
}

/** The first reason the form cannot be sent, or null when it can. */
export function formProblem(form: GenerationForm, models: readonly ModelInfo[], source: SourceCheck): string | null {
  const len = promptLength(form.prompt);
  if (form.prompt.trim() === '') return 'Describe what to generate';
  if (len > MAX_PROMPT_CHARS) return `The prompt is ${(len - MAX_PROMPT_CHARS).toLocaleString('en-US')} characters too long (4,000 at most)`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(form.prompt)) return 'The prompt contains control characters';
  if (!source.ok) return source.reason;
  const list = modelsFor(models, form.kind);
  const model = form.model === null ? null : (list.find((m) => m.id === form.model) ?? null);
  if (form.model !== null && !model) return 'Choose a model for this kind';
  if (model && form.size !== null && model.sizes.length > 0 && !model.sizes.includes(form.size)) return 'Choose one of the model’s sizes';
  const max = maxOutputs(model, form.kind);
  if (!Number.isInteger(form.count) || form.count < 1 || form.count > max) return max === 1 ? 'This model makes one output' : `Choose 1 to ${max} outputs`;
  return null;
}

/** The `generate` request of a valid form. */
export function buildRequest(form: GenerationForm, source: Element | null, at: Placement): GenerateRequest {
  const video = makesVideo(form.kind);
  return {
    kind: form.kind,
    model: form.model,
    prompt: form.prompt.trim(),
    imageSize: form.size,
    numImages: video ? null : form.count,
    seed: null,
    durationS: null,
    sourceElementId: needsSource(form.kind) ? (source?.id ?? null) : null,
    at,
  };
}

// ── Status words ──────────────────────────────────────────────────────────────────────────────

export function isActive(status: LocalGenerationStatus): boolean {
  return status === 'waiting' || status === 'queued' || status === 'running';
}

/** The chip of a generation in the Recent list. */
export function statusChip(status: LocalGenerationStatus): string {
  switch (status) {
    case 'waiting':
      return 'Waiting';
    case 'queued':
      return 'Queued';
    case 'running':
      return 'Generating';
    case 'completed':
      return 'Done';
    case 'failed':
      return 'Failed';
    case 'canceled':
      return 'Canceled';
  }
}

/** What the canvas placeholder (and the panel) says of a generation. */
export function statusText(g: Pick<LocalGeneration, 'status' | 'queuePosition' | 'error' | 'kind'>): string {
  switch (g.status) {
    case 'waiting':
      return 'Waiting to send — offline';
    case 'queued':
      return g.queuePosition !== null && g.queuePosition > 0 ? `Queued · #${g.queuePosition}` : 'Queued';
    case 'running':
      return 'Generating…';
    case 'completed':
      return 'Done';
    case 'failed':
      return `Failed: ${failureReason(g)}`;
    case 'canceled':
      return 'Canceled';
  }
}

const WINDOW_WORD: Record<GenerationLimit['window'], string> = { minute: 'Per-minute', hour: 'Hourly', day: 'Daily' };
const WINDOW_SPAN: Record<GenerationLimit['window'], string> = { minute: 'this minute', hour: 'this hour', day: 'today' };

/** Why it failed, briefly ("Hourly image limit reached", "Storage is full", "Not enough credits", the message). */
export function failureReason(g: Pick<LocalGeneration, 'error' | 'kind'>): string {
  const e = g.error;
  if (!e) return 'Something went wrong';
  if (e.limit) return `${WINDOW_WORD[e.limit.window] ?? 'Rate'} ${makesVideo(g.kind) ? 'video' : 'image'} limit reached`;
  if (e.storage || e.code === 'STORAGE_QUOTA_EXCEEDED') return 'Storage is full';
  if (e.credits || e.code === 'INSUFFICIENT_CREDITS') return 'Not enough credits';
  return sentence(e.message || e.code);
}

/** "resets at 14:00", "resets in 42 s", "resets tomorrow at 00:00", "resets on 3 Mar". */
export function resetsText(resetsAt: string, now: Date = new Date()): string {
  const t = new Date(resetsAt);
  if (Number.isNaN(t.getTime())) return '';
  const s = Math.round((t.getTime() - now.getTime()) / 1000);
  if (s <= 0) return 'resets now';
  if (s < 90) return `resets in ${s} s`;
  const sameDay = t.toDateString() === now.toDateString();
  if (sameDay) return `resets at ${clockTime(resetsAt)}`;
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  if (t.toDateString() === tomorrow.toDateString()) return `resets tomorrow at ${clockTime(resetsAt)}`;
  return `resets on ${t.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })}`;
}

export interface LimitMessage {
  /** "Hourly image limit reached: 15 of 15 used — resets at 14:00" */
  title: string;
  /** "0 images left this hour." */
  detail: string;
  /** Where to upgrade, when the account is on the free tier (or anonymous). */
  upgradeUrl: string | null;
}

/** The explanation of a rate limit a generation ran into. */
export function limitMessage(limit: GenerationLimit, kind: GenerationKind, now: Date = new Date()): LimitMessage {
  const unit = makesVideo(kind) ? 'video' : 'image';
  const window = WINDOW_WORD[limit.window] ?? 'Rate';
  const resets = resetsText(limit.resetsAt, now);
  const left = Math.max(0, limit.remaining);
  const span = WINDOW_SPAN[limit.window] ?? 'in this window';
  return {
    title: `${window} ${unit} limit reached: ${limit.used.toLocaleString('en-US')} of ${limit.limit.toLocaleString('en-US')} used${resets ? ` — ${resets}` : ''}`,
    detail: `${left === 0 ? 'No' : left.toLocaleString('en-US')} ${left === 1 ? unit : `${unit}s`} left ${span}.`,
    upgradeUrl: limit.tier === null || limit.tier === 'free' ? limit.upgradeUrl || null : null,
  };
}

/** "Storage is full: 500 MB of 500 MB used" — the storage part of a failure. */
export function storageMessage(storage: { usedBytes: number; limitBytes: number; images: number; imagesLimit: number; videos: number; videosLimit: number }): string {
  if (storage.imagesLimit >= 0 && storage.images >= storage.imagesLimit) return `Storage is full: ${storage.images} of ${storage.imagesLimit} images used`;
  if (storage.videosLimit >= 0 && storage.videos >= storage.videosLimit) return `Storage is full: ${storage.videos} of ${storage.videosLimit} videos used`;
  return `Storage is full: ${formatBytes(storage.usedBytes)} of ${formatBytes(storage.limitBytes)} used`;
}

/**
 * The throttle to show above the form: the newest failure with a rate limit whose window has
 * not reset yet, or null.
 */
export function activeLimit(generations: readonly LocalGeneration[], now: Date = new Date()): LocalGeneration | null {
  let best: LocalGeneration | null = null;
  for (const g of generations) {
    const l = g.status === 'failed' ? g.error?.limit : null;
    if (!l) continue;
    if (Date.parse(l.resetsAt) <= now.getTime()) continue;
    if (!best || g.createdAt > best.createdAt) best = g;
  }
  return best;
}

/** The newest failure for lack of storage, when nothing newer succeeded since. */
export function activeStorageFailure(generations: readonly LocalGeneration[]): LocalGeneration | null {
  const newest = [...generations].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  for (const g of newest) {
    if (g.status === 'completed') return null;
    if (g.status === 'failed' && (g.error?.storage || g.error?.code === 'STORAGE_QUOTA_EXCEEDED')) return g;
  }
  return null;
}

/** A prompt shortened to `max` characters on a word boundary, with an ellipsis. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).replace(/[\s,.;:—-]+$/, '')}…`;
}

/** A message as a sentence: capital first letter, no trailing period. */
function sentence(s: string): string {
  const t = s.trim().replace(/\.$/, '');
  return t ? t.charAt(0).toUpperCase() + t.slice(1) : t;
}
