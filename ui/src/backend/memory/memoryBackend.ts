/**
 * `MemoryBackend`: the whole `Backend` contract in memory — projects with default names,
 * canvases with undo/redo and z-order, a content-addressed asset library with quota, an outbox
 * with online/offline and rejected operations, an account with the offer of D6 (projects made
 * while signed out wait, unsent, until added to the account or kept on this device), credits
 * with estimates and a Checkout that upgrades the plan once completed (`completeCheckout`), PNG
 * and `.iskra` exports (through the `MemoryFiles` port: downloads in a browser) and a list of hot
 * folders.
 *
 * Tests use it to pin the contract's behaviour; `?demo` in a browser runs the real UI on it.
 * It is deliberately faithful to the engine (same default names, same "deleted asset leaves a
 * placeholder" rule, same history rules) so the UI cannot come to depend on a shortcut.
 */
import type { AssetVariant, Backend, BackendEvents } from '../backend';
import { BackendError } from '../backend';
import { Emitter } from '../../lib/emitter';
import type {
  Account,
  ApiKeyInfo,
  ApiKeyScope,
  Asset,
  AssetQuery,
  BundleExported,
  BillingStatus,
  CanvasDelta,
  CreditEstimate,
  Credits,
  Element,
  ElementPatch,
  EstimateRequest,
  FileSource,
  GalleryItem,
  GalleryQuery,
  FreeGenerateRequest,
  FreeOutcome,
  GenerateRequest,
  Generated,
  HotFolderChange,
  LibraryAsset,
  LocalGeneration,
  LocalProjects,
  ModelInfo,
  NewApiKeyCreated,
  OpenCanvas,
  Page,
  PaidPlan,
  Placement,
  PlaybackUpdate,
  Project,
  ProjectQuery,
  SharedArrivals,
  Share,
  ShareLink,
  StorageInfo,
  SyncStatus,
  Unlisten,
  UsageQuery,
  UsageReport,
  Viewport,
  ZOrderMove,
} from '../types';
import { MemoryCanvas, validatePatch } from './canvasState';
import { AssetStore, type Usage } from './assetStore';
import { decodeBundle, encodeBundle } from './bundle';
import { type MemoryFiles, browserFiles } from './files';
import { type MediaProbe, browserProbe, layoutRow, placedSize } from './media';
import { SyncSimulator } from './syncSim';
import { GenerationSim, type GenerationHost, type GenerationMode, type GenerationTiming, type OutputMaker } from './generations';
import { FreeGenerationSim } from './freeGeneration';
import { nextDefaultName, projectMatches, sortProjects } from './queries';
import { CreditLedger, priceOf } from './credits';
import { MemoryShares } from './sharing';
import { copyText } from '../../lib/clipboard';
import { MemoryApiKeys } from './apiKeys';
import { defaultModel, defaultSize, makesVideo } from '../../lib/generation';

export interface MemoryBackendOptions {
  probe?: MediaProbe;
  /** Delay before pending edits count as synced (ms). */
  syncDelayMs?: number;
  now?: () => Date;
  newId?: () => string;
  /** Storage limits of the (free) tier. */
  limits?: { bytes: number; images: number; videos: number };
  /** Where exports go and imports come from (default: the browser's downloads and pickers). */
  files?: MemoryFiles;
  /** How long a generation waits at each queue position and runs (ms). */
  generationTiming?: GenerationTiming;
  /** Makes generated outputs (default: the demo's painted artwork). */
  generationOutput?: OutputMaker;
}

const UPGRADE_URL = 'https://iskra.app/pricing';
/** What the desktop says when API keys are asked for signed out. */
const API_KEYS_NEED_ACCOUNT = 'API keys belong to an Iskra account: sign in to make and manage them';
/** Where the demo's Checkout and billing portal live (Stripe's hosts, fake sessions). */
const CHECKOUT_URL = 'https://checkout.stripe.com/c/pay/cs_demo_';
const PORTAL_URL = 'https://billing.stripe.com/p/session/demo';

/** The demo's artwork, loaded only when something is generated. */
const demoOutput: OutputMaker = async (spec) => (await import('../../demo/generated')).demoOutput(spec);

/** Whether a project syncs with the account, waits for the offer's answer, or was kept here. */
type ProjectScope = 'account' | 'offered' | 'device';

interface StoredProject {
  project: Project;
  canvas: MemoryCanvas;
  thumbnail: string | null;
  scope: ProjectScope;
}

const FREE_LIMITS = { bytes: 500 * 1000 * 1000, images: 100, videos: 20 };

export class MemoryBackend implements Backend {
  readonly kind = 'memory' as const;
  readonly sync: SyncSimulator;
  readonly generations: GenerationSim;
  /** The free image before sign-in (S6). */
  readonly free: FreeGenerationSim;
  readonly ledger: CreditLedger;
  /** Public links and their counts, as the server keeps them (S10). */
  readonly shares: MemoryShares;
  /** API keys and their use, as the server keeps them (S9). */
  readonly apiKeys: MemoryApiKeys;
  /** Billing pages opened (Checkout, portal), oldest first. */
  readonly opened: string[] = [];
  /** Bytes and counts stored on other devices of the account (demo: a realistic storage bar). */
  remoteUsage: Usage = { bytes: 0, images: 0, videos: 0 };
  private readonly projects = new Map<string, StoredProject>();
  private readonly assets: AssetStore;
  private readonly events = new Emitter<{ [K in keyof BackendEvents]: BackendEvents[K] }>();
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly limits: Usage;
  private readonly files: MemoryFiles;
  private accountState: Account = { signedIn: false };
  private recent: string | null = null;
  /** The offer to add projects made while signed out was answered (either way). */
  private offerAnswered = false;
  private folders: string[] = [];
  /** Images of opened share links the UI has not taken yet. */
  private readonly sharedInbox: string[] = [];

  constructor(opts: MemoryBackendOptions = {}) {
    this.now = opts.now ?? (() => new Date());
    this.assets = new AssetStore(opts.probe ?? browserProbe, this.now);
    this.newId = opts.newId ?? (() => crypto.randomUUID());
    this.limits = opts.limits ?? FREE_LIMITS;
    this.files = opts.files ?? browserFiles;
    this.shares = new MemoryShares(this.now);
    this.apiKeys = new MemoryApiKeys(this.now, this.newId);
    this.ledger = new CreditLedger(this.now, (c) => {
      if (this.accountState.signedIn) this.events.emit('creditsChanged', c);
    });
    this.sync = new SyncSimulator({
      delayMs: opts.syncDelayMs ?? 700,
      now: this.now,
      onChange: (s) => this.events.emit('syncStatus', s),
    });
    const host: GenerationHost = {
      now: this.now,
      newId: this.newId,
      signedIn: () => this.accountState.signedIn,
      tier: () => (this.accountState.signedIn ? this.accountState.tier : 'free'),
      online: () => this.sync.online,
      upgradeUrl: UPGRADE_URL,
      canvas: (id) => this.stored(id).canvas,
      hasProject: (id) => this.projects.has(id),
      storage: () => this.assets.quota(this.remoteUsage, this.limits),
      reserveCredits: (id, amount) => this.ledger.reserve(id, amount),
      settleCredits: (id, spent) => this.ledger.charge(id, spent),
      importOutput: async (bytes, mimeType, generation) => {
        const { id, created } = await this.assets.import(bytes, mimeType, 'generation', generation);
        if (created) {
          this.sync.recordEdit();
          this.events.emit('assetsChanged', null);
        }
        return id;
      },
      canvasChanged: (projectId, delta, remote) => {
        const p = this.projects.get(projectId);
        if (!p) return;
        this.committed(p, delta);
        if (remote) this.events.emit('canvasChanged', delta);
      },
      generationChanged: (g) => this.events.emit('generationChanged', g),
    };
    const timing = opts.generationTiming ?? { queueMs: 1400, runMs: 4200 };
    const output = opts.generationOutput ?? demoOutput;
    this.generations = new GenerationSim(host, timing, output);
    this.free = new FreeGenerationSim(host, timing, output);
  }

  // ── Projects ─────────────────────────────────────────────────────────────────────────────────

  async listProjects(q: ProjectQuery): Promise<Project[]> {
    const list = [...this.projects.values()].map((p) => ({ ...p.project })).filter((p) => projectMatches(p, q.query));
    return sortProjects(list, q.sort, q.order);
  }

  async createProject(name: string | null): Promise<Project> {
    const trimmed = name?.trim();
    const id = this.newId();
    const at = this.now().toISOString();
    const project: Project = {
      id,
      name: trimmed || nextDefaultName([...this.projects.values()].map((p) => p.project.name)),
      createdAt: at,
      updatedAt: at,
      imageCount: 0,
      videoCount: 0,
      thumbnailAssetId: null,
    };
    const scope: ProjectScope = this.accountState.signedIn || this.offerAnswered ? 'account' : 'offered';
    const stored: StoredProject = { project, canvas: new MemoryCanvas(id, this.newId), thumbnail: null, scope };
    this.projects.set(id, stored);
    this.edited(stored);
    this.events.emit('projectsChanged', null);
    return { ...project };
  }

  async renameProject(id: string, name: string): Promise<Project> {
    const p = this.stored(id);
    const trimmed = name.trim();
    if (!trimmed) throw new BackendError('validation', 'A project needs a name');
    if (trimmed.length > 200) throw new BackendError('validation', 'Names can be at most 200 characters');
    p.project = { ...p.project, name: trimmed, updatedAt: this.now().toISOString() };
    this.edited(p);
    this.events.emit('projectsChanged', null);
    return { ...p.project };
  }

  async deleteProject(id: string): Promise<void> {
    const p = this.stored(id);
    this.projects.delete(id);
    if (this.recent === id) this.recent = null;
    this.edited(p);
    this.events.emit('projectsChanged', null);
    this.events.emit('assetsChanged', null);
  }

  async recentProject(): Promise<string | null> {
    return this.recent && this.projects.has(this.recent) ? this.recent : null;
  }

  async openProject(id: string): Promise<OpenCanvas> {
    const p = this.stored(id);
    this.recent = id;
    const c = p.canvas;
    return {
      project: { ...p.project },
      elements: c.ordered().map((e) => ({ ...e })),
      viewport: { ...c.viewport },
      selection: [...c.selection],
      canUndo: c.canUndo,
      canRedo: c.canRedo,
    };
  }

  async saveProjectThumbnail(projectId: string, png: Uint8Array): Promise<void> {
    const p = this.stored(projectId);
    if (p.thumbnail?.startsWith('blob:')) URL.revokeObjectURL(p.thumbnail);
    p.thumbnail = URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
    this.events.emit('projectsChanged', null);
  }

  projectThumbnailUrl(project: Project): string | null {
    return this.projects.get(project.id)?.thumbnail ?? null;
  }

  // ── Canvas ───────────────────────────────────────────────────────────────────────────────────

  async addFiles(projectId: string, files: FileSource[], at: Placement): Promise<CanvasDelta> {
    const ids: string[] = [];
    for (const f of files) {
      if (f.kind === 'path') throw new BackendError('unsupported', 'Paths need the desktop app');
      ids.push(await this.importBytes(f.bytes, f.mimeType));
    }
    return this.addAssets(projectId, ids, at);
  }

  async addAssets(projectId: string, assetIds: string[], at: Placement): Promise<CanvasDelta> {
    const p = this.stored(projectId);
    const assets = assetIds.map((id) => this.assets.get(id));
    const sizes = assets.map((a) => (a ? placedSize(a.width, a.height) : placedSize(512, 512)));
    const spots = layoutRow(sizes, at);
    const delta = p.canvas.create(
      assets.map((a, i) => ({
        kind: a?.type === 'video' ? 'video' : 'image',
        assetId: assetIds[i] ?? null,
        x: spots[i]!.x,
        y: spots[i]!.y,
        width: sizes[i]!.width,
        height: sizes[i]!.height,
        rotation: 0,
        locked: false,
        playback: a?.type === 'video' ? { playing: false, currentTime: 0, muted: true } : null,
        generationId: null,
      })),
    );
    return this.committed(p, delta);
  }

  async updateElements(projectId: string, patches: ElementPatch[]): Promise<CanvasDelta> {
    for (const patch of patches) validatePatch(patch);
    const p = this.stored(projectId);
    return this.committed(p, p.canvas.update(patches));
  }

  async deleteElements(projectId: string, ids: string[]): Promise<CanvasDelta> {
    const p = this.stored(projectId);
    return this.committed(p, p.canvas.remove(ids));
  }

  async duplicateElements(projectId: string, ids: string[], offset: Placement): Promise<CanvasDelta> {
    const p = this.stored(projectId);
    return this.committed(p, p.canvas.duplicate(ids, offset));
  }

  async reorderElements(projectId: string, ids: string[], move: ZOrderMove): Promise<CanvasDelta> {
    const p = this.stored(projectId);
    return this.committed(p, p.canvas.reorder(ids, move));
  }

  async setPlayback(projectId: string, update: PlaybackUpdate): Promise<void> {
    const p = this.stored(projectId);
    const d = p.canvas.applyQuiet([{ type: 'set', id: update.elementId, props: { playback: { ...update.playback } } }]);
    this.edited(p, d.upserted.length);
  }

  async undo(projectId: string): Promise<CanvasDelta> {
    const p = this.stored(projectId);
    return this.committed(p, p.canvas.undo());
  }

  async redo(projectId: string): Promise<CanvasDelta> {
    const p = this.stored(projectId);
    return this.committed(p, p.canvas.redo());
  }

  async setViewport(projectId: string, viewport: Viewport): Promise<void> {
    if (![viewport.x, viewport.y, viewport.scale].every(Number.isFinite) || viewport.scale <= 0) {
      throw new BackendError('validation', 'Invalid viewport');
    }
    this.stored(projectId).canvas.viewport = { ...viewport };
  }

  async setSelection(projectId: string, ids: string[]): Promise<void> {
    const c = this.stored(projectId).canvas;
    c.selection = ids.filter((id) => c.elements.has(id));
  }

  // ── Assets ───────────────────────────────────────────────────────────────────────────────────

  async listAssets(q: AssetQuery): Promise<LibraryAsset[]> {
    return this.assets.list(q, this.usageCounts(), this.accountState.signedIn);
  }

  async deleteAsset(id: string): Promise<void> {
    this.assets.delete(id);
    this.shares.forget(id);
    // Canvas elements keep their assetId and render the "missing asset" placeholder (D5).
    this.sync.recordEdit();
    this.events.emit('assetsChanged', null);
  }

  async storageQuota(): Promise<StorageInfo> {
    return {
      storage: this.assets.quota(this.remoteUsage, this.limits),
      tier: this.accountState.signedIn ? this.accountState.tier : 'free',
      upgradeUrl: UPGRADE_URL,
    };
  }

  assetUrl(assetId: string, variant: AssetVariant): string {
    return this.assets.url(assetId, variant);
  }

  /** Stores bytes as an asset (deduplicated by content hash); returns the asset id. */
  async importBytes(bytes: Uint8Array, mimeType: string, source: Asset['source'] = 'upload'): Promise<string> {
    const { id, created } = await this.assets.import(bytes, mimeType, source);
    if (created) {
      this.sync.recordEdit();
      this.events.emit('assetsChanged', null);
    }
    return id;
  }

  // ── Export, import and hot folders ───────────────────────────────────────────────────────────

  async exportPng(suggestedName: string, render: () => Promise<Uint8Array>): Promise<string | null> {
    const png = await render();
    if (!startsWith(png, PNG_MAGIC)) throw new BackendError('unsupportedFile', 'An export must be a PNG image');
    const name = withExtension(suggestedName, 'png');
    this.files.save(name, png, 'image/png');
    return name;
  }

  async exportProject(projectId: string, suggestedName: string): Promise<BundleExported | null> {
    const p = this.stored(projectId);
    const elements = p.canvas.ordered();
    const bytes = encodeBundle(p.project.name, p.canvas.viewport, elements);
    const name = withExtension(suggestedName, 'iskra');
    this.files.save(name, bytes, 'application/octet-stream');
    const assets = new Set(elements.flatMap((e) => (e.assetId && this.assets.has(e.assetId) ? [e.assetId] : [])));
    return { path: name, elements: elements.length, assets: assets.size };
  }

  async importProject(): Promise<Project | null> {
    const file = await this.files.pick('.iskra');
    if (!file) return null;
    const bundle = decodeBundle(file.bytes, file.name);
    const project = await this.createProject(bundle.name);
    this.seedElements(project.id, bundle.elements, bundle.viewport);
    return { ...this.stored(project.id).project };
  }

  async hotFolders(): Promise<string[]> {
    return [...this.folders];
  }

  async chooseHotFolder(): Promise<HotFolderChange | null> {
    const path = await this.files.pickFolder();
    return path === null ? null : this.addHotFolder(path);
  }

  async addHotFolder(path: string): Promise<HotFolderChange> {
    const folder = folderPath(path);
    const changed = !this.folders.includes(folder);
    if (changed) this.folders = [...this.folders, folder];
    return { folder, changed, folders: [...this.folders] };
  }

  async removeHotFolder(path: string): Promise<HotFolderChange> {
    const folder = folderPath(path);
    const changed = this.folders.includes(folder);
    this.folders = this.folders.filter((f) => f !== folder);
    return { folder, changed, folders: [...this.folders] };
  }

  // ── Sync and account ─────────────────────────────────────────────────────────────────────────

  async syncStatus(): Promise<SyncStatus> {
    return this.sync.status();
  }

  async retryRejected(opId: string): Promise<void> {
    this.sync.retry(opId);
  }

  async discardRejected(opId: string): Promise<void> {
    this.sync.discard(opId);
  }

  // ── Generation ───────────────────────────────────────────────────────────────────────────────

  async listModels(): Promise<ModelInfo[]> {
    return this.generations.models();
  }

  async generate(projectId: string, request: GenerateRequest): Promise<Generated> {
    return this.generations.generate(projectId, request);
  }

  async listGenerations(projectId: string | null): Promise<LocalGeneration[]> {
    return this.generations.list(projectId);
  }

  async cancelGeneration(id: string): Promise<LocalGeneration> {
    return this.generations.cancel(id);
  }

  async retryGeneration(id: string): Promise<LocalGeneration> {
    return this.generations.retry(id);
  }

  async freeGenerate(projectId: string, request: FreeGenerateRequest): Promise<FreeOutcome> {
    return this.free.generate(projectId, request);
  }

  /** How the simulated server answers generations (demo `?gen=fail|limit|storage`, tests). */
  setGenerationMode(mode: GenerationMode): void {
    this.generations.mode = mode;
  }

  // ── Credits and billing ──────────────────────────────────────────────────────────────────────

  async credits(): Promise<Credits | null> {
    return this.accountState.signedIn ? this.ledger.balance() : null;
  }

  async estimateGeneration(request: EstimateRequest): Promise<CreditEstimate> {
    this.requireAccount('Sign in to see prices: generation runs on your Iskra account');
    if (!this.sync.online) throw new BackendError('network', 'The server cannot be reached: prices show when you’re back online');
    const model = request.model ?? defaultModel(this.generations.models(), request.kind)?.id ?? '';
    const size = request.imageSize ?? defaultSize(this.generations.models().find((m) => m.id === model) ?? null);
    const count = makesVideo(request.kind) ? 1 : (request.numImages ?? 1);
    if (!Number.isInteger(count) || count < 1 || count > 4) throw new BackendError('invalidInput', 'numImages must be from 1 to 4');
    const credits = priceOf({ kind: request.kind, imageSize: size, count, durationS: request.durationS });
    return { credits, available: this.ledger.balance().available, model };
  }

  async openCheckout(plan: PaidPlan): Promise<string> {
    this.requireAccount('Sign in to upgrade: plans belong to your Iskra account');
    if ((plan as string) !== 'pro' && (plan as string) !== 'enterprise') throw new BackendError('invalidInput', 'Choose the pro or enterprise plan');
    const url = `${CHECKOUT_URL}${plan}`;
    this.opened.push(url);
    await this.openExternal(url);
    return url;
  }

  async openBillingPortal(): Promise<string> {
    this.requireAccount('Sign in to manage billing');
    if (this.accountState.signedIn && this.accountState.tier === 'free' && this.accountState.billingStatus === 'none') {
      throw new BackendError('conflict', 'There is no subscription to manage yet: upgrade first');
    }
    this.opened.push(PORTAL_URL);
    await this.openExternal(PORTAL_URL);
    return PORTAL_URL;
  }

  // ── Sharing and the gallery ──────────────────────────────────────────────────────────────────

  async shareAsset(assetId: string): Promise<ShareLink> {
    this.requireServer('Sharing needs an Iskra account: sign in to share images and see your gallery');
    if (!this.assets.has(assetId)) throw new BackendError('notFound', 'This image is not on the server yet: sync it first, then share it');
    return this.shares.share(assetId);
  }

  async unshareAsset(assetId: string): Promise<void> {
    this.requireServer('Sign in to manage your links');
    this.shares.unshare(assetId);
  }

  async listShares(): Promise<Share[]> {
    this.requireServer('Sign in to see your links');
    return this.shares.list();
  }

  async gallery(query: GalleryQuery): Promise<Page<GalleryItem>> {
    this.requireServer('Sharing needs an Iskra account: sign in to share images and see your gallery');
    return this.shares.gallery(this.assets.list({ sort: 'created', order: 'desc', type: null }, new Map(), true), query);
  }

  async fetchAsset(assetId: string): Promise<void> {
    this.requireServer('Sign in to use images of your account');
    if (!this.assets.has(assetId)) throw new BackendError('notFound', 'This image is no longer on the server');
  }

  // ── API keys ─────────────────────────────────────────────────────────────────────────────────

  async createApiKey(name: string, scopes: ApiKeyScope[] | null): Promise<NewApiKeyCreated> {
    this.requireServer(API_KEYS_NEED_ACCOUNT);
    return this.apiKeys.create(name, scopes);
  }

  async listApiKeys(): Promise<ApiKeyInfo[]> {
    this.requireServer(API_KEYS_NEED_ACCOUNT);
    return this.apiKeys.list();
  }

  async revokeApiKey(id: string): Promise<void> {
    this.requireServer(API_KEYS_NEED_ACCOUNT);
    this.apiKeys.revoke(id);
  }

  async apiKeyUsage(query: UsageQuery): Promise<UsageReport> {
    this.requireServer(API_KEYS_NEED_ACCOUNT);
    return this.apiKeys.usage(query);
  }

  async copyText(text: string): Promise<void> {
    if (!(await copyText(text))) throw new BackendError('unavailable', 'The clipboard is not available here');
  }

  async takeSharedImages(): Promise<SharedArrivals> {
    return { assetIds: this.sharedInbox.splice(0), errors: [] };
  }

  /** Opens a share link in the app (demo and tests): its image joins the library, the UI is told. */
  openSharedLink(shortId: string): void {
    const assetId = this.shares.assetOf(shortId);
    if (!assetId) throw new BackendError('notFound', 'This link no longer works: its owner stopped sharing the image');
    this.shares.visit(shortId, 'download');
    this.sharedInbox.push(assetId);
    this.events.emit('sharedImages', null);
  }

  /** What Stripe's webhooks do once Checkout is paid (demo and tests): the plan, its credits. */
  completeCheckout(plan: PaidPlan): void {
    if (!this.accountState.signedIn) return;
    this.accountState = { ...this.accountState, tier: plan, billingStatus: 'active' };
    this.events.emit('accountChanged', { ...this.accountState });
    this.ledger.setPlan(plan);
  }

  /** The state of subscription payments (demo and tests: `payment_failed`). */
  setBillingStatus(status: BillingStatus): void {
    if (!this.accountState.signedIn) return;
    this.accountState = { ...this.accountState, billingStatus: status };
    this.events.emit('accountChanged', { ...this.accountState });
  }

  async account(): Promise<Account> {
    return { ...this.accountState };
  }

  async signIn(): Promise<Account> {
    this.accountState = { signedIn: true, email: 'mira@studio.example', tier: 'free', billingStatus: 'none', manageUrl: 'https://accounts.iskra.app/user' };
    this.sync.setSignedIn(true);
    this.events.emit('accountChanged', { ...this.accountState });
    this.events.emit('creditsChanged', this.ledger.balance());
    // Signed in, the engine fetches the catalogue; waiting requests may go now.
    this.generations.setOnline(this.sync.online);
    return { ...this.accountState };
  }

  async signOut(removeLocalData: boolean): Promise<void> {
    this.accountState = { signedIn: false };
    this.sync.setSignedIn(false);
    if (removeLocalData) {
      this.projects.clear();
      this.assets.clear();
      this.events.emit('projectsChanged', null);
      this.events.emit('assetsChanged', null);
    }
    this.events.emit('accountChanged', { signedIn: false });
    this.events.emit('creditsChanged', null);
  }

  async localProjects(): Promise<LocalProjects> {
    const newest = sortProjects(
      [...this.projects.values()].filter((p) => p.scope !== 'account').map((p) => p.project),
      'updated',
      'desc',
    );
    const offered = newest.filter((p) => this.stored(p.id).scope === 'offered');
    return { count: offered.length, names: offered.map((p) => p.name), deviceOnlyIds: newest.map((p) => p.id) };
  }

  async importLocalProjects(keep: boolean): Promise<number> {
    const covered = [...this.projects.values()].filter((p) => (keep ? p.scope === 'offered' : p.scope !== 'account'));
    for (const p of covered) {
      p.scope = keep ? 'device' : 'account';
      // Added: its creation and whole canvas go to the account.
      if (!keep) this.edited(p, 1 + p.canvas.elements.size);
    }
    this.offerAnswered = true;
    this.events.emit('projectsChanged', null);
    return covered.length;
  }

  async addProjectToAccount(id: string): Promise<void> {
    const p = this.stored(id);
    if (p.scope === 'account') return;
    p.scope = 'account';
    this.edited(p, 1 + p.canvas.elements.size);
    this.events.emit('projectsChanged', null);
  }

  async openExternal(url: string): Promise<void> {
    if (typeof window !== 'undefined') window.open(url, '_blank', 'noopener');
  }

  onNativeDrop(): Unlisten {
    return () => undefined;
  }

  announceReady(): void {}

  async softwareRendering(): Promise<boolean> {
    return false;
  }

  on<K extends keyof BackendEvents>(event: K, handler: (payload: BackendEvents[K]) => void): Unlisten {
    return this.events.on(event, handler);
  }

  /** Simulates the network going away or coming back. */
  setOnline(online: boolean): void {
    this.sync.setOnline(online);
    this.generations.setOnline(online);
  }

  dispose(): void {
    this.sync.dispose();
    this.generations.dispose();
    this.events.clear();
  }

  /**
   * Puts elements on a canvas as if it had been opened that way (demo and tests): no undo
   * step, no selection. Returns the new element ids in order.
   */
  seedElements(projectId: string, elements: Omit<Element, 'id' | 'z'>[], viewport?: Viewport): string[] {
    const p = this.stored(projectId);
    const delta = p.canvas.create(elements);
    p.canvas.resetHistory();
    p.canvas.selection = [];
    if (viewport) p.canvas.viewport = { ...viewport };
    this.committed(p, { ...delta, canUndo: false, canRedo: false });
    return delta.upserted.map((e) => e.id);
  }

  /** Sets a project's "last modified" (demo: a realistic projects list). */
  touchProject(projectId: string, updatedAt: string): void {
    const p = this.stored(projectId);
    p.project = { ...p.project, updatedAt };
  }

  // ── Internals ────────────────────────────────────────────────────────────────────────────────

  private requireAccount(message: string): void {
    if (!this.accountState.signedIn) throw new BackendError('auth', message);
  }

  /** Signed in and online: what a call the server answers needs. */
  private requireServer(message: string): void {
    this.requireAccount(message);
    if (!this.sync.online) throw new BackendError('network', 'The server cannot be reached: try again when you’re back online');
  }

  private stored(id: string): StoredProject {
    const p = this.projects.get(id);
    if (!p) throw new BackendError('not_found', 'This project no longer exists');
    return p;
  }

  /** Bookkeeping after an edit: counts, updatedAt, outbox, project list refresh. */
  private committed(p: StoredProject, delta: CanvasDelta): CanvasDelta {
    const changes = delta.upserted.length + delta.deleted.length;
    if (changes === 0) return delta;
    const els = [...p.canvas.elements.values()];
    p.project = {
      ...p.project,
      updatedAt: this.now().toISOString(),
      imageCount: els.filter((e) => e.kind === 'image').length,
      videoCount: els.filter((e) => e.kind === 'video').length,
    };
    this.edited(p, changes);
    this.events.emit('projectsChanged', null);
    return delta;
  }

  /** `n` edits of `p` were committed: queued for the server unless it stays on this device. */
  private edited(p: StoredProject, n = 1): void {
    if (p.scope === 'account') this.sync.recordEdit(n);
  }

  private usageCounts(): Map<string, number> {
    const usage = new Map<string, number>();
    for (const p of this.projects.values()) {
      for (const e of p.canvas.elements.values()) {
        if (e.assetId) usage.set(e.assetId, (usage.get(e.assetId) ?? 0) + 1);
      }
    }
    return usage;
  }
}

/** The first bytes of every PNG file. */
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/** `name` ending in `.ext` (added when missing, as the desktop does). */
function withExtension(name: string, ext: string): string {
  return name.toLowerCase().endsWith(`.${ext}`) ? name : `${name}.${ext}`;
}

/** A folder path as the list keeps it: trimmed, no trailing separator; full paths only. */
function folderPath(path: string): string {
  const p = path.trim();
  if (!p) throw new BackendError('invalidInput', 'No folder was given');
  if (!/^(\/|~|[A-Za-z]:[\\/])/.test(p)) throw new BackendError('invalidInput', `${p} is not a full path`);
  return p.length > 1 ? p.replace(/[\\/]+$/, '') || p : p;
}
