/**
 * The free first image before sign-in (S6) inside `MemoryBackend`, answered as the server and
 * the engine answer it: one text-to-image a UTC day per client. The placeholder lands on the
 * local canvas at once (`canvasChanged`), the image replaces it when the simulated job is done,
 * and a second request the same day is refused with `ANONYMOUS_QUOTA_EXCEEDED` and its day
 * window (resets at the next midnight UTC, `upgradeUrl` the sign-in).
 */
import { BackendError } from '../backend';
import type { Element, FreeGenerateRequest, FreeOutcome, GenerationLimit } from '../types';
import { MAX_PROMPT_CHARS, PLACEHOLDER_SIDE, sizeAspect } from '../../lib/generation';
import type { GenerationHost, GenerationTiming, OutputMaker } from './generations';

/** Free images a day before sign-in (`rate_limits.generation_anonymous`). */
export const FREE_PER_DAY = 1;
/** Where a client that has not signed in is sent (`anonymous.sign_up_url`). */
export const FREE_SIGN_UP_URL = 'iskra://sign-in';
/** The model the server runs a free image on. */
const FREE_MODEL = 'fal-ai/flux/schnell';

/** The next midnight UTC after `now`: when the day's free image comes back. */
export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

export class FreeGenerationSim {
  /** The UTC day (YYYY-MM-DD) and how many free images it has used. */
  private used = { day: '', count: 0 };

  constructor(
    private readonly host: GenerationHost,
    private readonly timing: GenerationTiming,
    private readonly makeOutput: OutputMaker,
  ) {}

  async generate(projectId: string, req: FreeGenerateRequest): Promise<FreeOutcome> {
    if (this.host.signedIn()) throw new BackendError('invalidInput', 'You are signed in: generate on your account');
    const prompt = req.prompt.trim();
    if (!prompt || prompt.length > MAX_PROMPT_CHARS) throw new BackendError('invalidInput', `prompt must be 1–${MAX_PROMPT_CHARS} characters`);
    if (!this.host.online()) throw new BackendError('network', 'The free image needs the Iskra server: you’re offline');
    const now = this.host.now();
    const day = now.toISOString().slice(0, 10);
    if (this.used.day !== day) this.used = { day, count: 0 };
    if (this.used.count >= FREE_PER_DAY) {
      const limit: GenerationLimit = { window: 'day', limit: FREE_PER_DAY, used: this.used.count, remaining: 0, resetsAt: nextUtcMidnight(now).toISOString(), tier: 'anonymous', upgradeUrl: FREE_SIGN_UP_URL };
      return { status: 'refused', error: { code: 'ANONYMOUS_QUOTA_EXCEEDED', message: 'The free image of the day is used: sign in to keep generating', limit, storage: null, credits: null } };
    }
    this.used.count += 1;

    const canvas = this.host.canvas(projectId);
    const aspect = sizeAspect(req.imageSize ?? 'square_hd');
    const [width, height] = aspect >= 1 ? [PLACEHOLDER_SIDE, PLACEHOLDER_SIDE / aspect] : [PLACEHOLDER_SIDE * aspect, PLACEHOLDER_SIDE];
    const box = { x: req.at.x - width / 2, y: req.at.y - height / 2, width, height };
    const placeholder: Omit<Element, 'id' | 'z'> = { kind: 'generation', assetId: null, ...box, rotation: 0, locked: false, playback: null, generationId: null };
    const added = canvas.replaceQuiet([], [placeholder]);
    this.host.canvasChanged(projectId, added, true);
    const placeholderId = added.upserted[0]?.id ?? '';

    await new Promise((resolve) => setTimeout(resolve, this.timing.queueMs + this.timing.runMs));
    const seed = Math.floor(now.getTime() % 1_000_000);
    const out = await this.makeOutput({ kind: 'text-to-image', prompt, width: Math.round(width), height: Math.round(height), seed });
    const assetId = await this.host.importOutput(out.bytes, out.mimeType, { generationId: this.host.newId(), prompt, model: FREE_MODEL, seed });
    if (!this.host.hasProject(projectId)) return { status: 'failed', error: { code: 'NOT_FOUND', message: 'The project was deleted meanwhile', limit: null, storage: null, credits: null } };
    const ph = canvas.elements.get(placeholderId);
    const at = ph ?? box;
    const image: Omit<Element, 'id' | 'z'> = { kind: 'image', assetId, x: at.x, y: at.y, width: at.width, height: at.height, rotation: 0, locked: false, playback: null, generationId: null };
    const landed = canvas.replaceQuiet(ph ? [placeholderId] : [], [image]);
    this.host.canvasChanged(projectId, landed, true);
    const element = landed.upserted.find((e) => e.assetId === assetId);
    if (!element) throw new BackendError('engine', 'The free image was not placed');
    return { status: 'completed', element, assetId };
  }
}
