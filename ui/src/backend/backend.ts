/**
 * `Backend`: everything the UI asks of the engine and everything the engine tells it.
 *
 * All state lives in the engine (ARCHITECTURE.md: "the UI renders what the engine says and
 * sends intents"). The desktop implements this with Tauri commands and events
 * (`TauriBackend`); tests and the browser demo use `MemoryBackend`, which behaves the same way
 * (undo/redo, z-order, quota, outbox) in memory. Every method that edits a canvas resolves once
 * the edit is durable and returns the resulting `CanvasDelta`.
 *
 * Geometry conventions shared with the engine: an element's (x, y) is the top-left corner of
 * its unrotated box in world units, `rotation` is in radians about the box centre, and the
 * viewport's (x, y) is the world point at the top-left corner of the view with `scale` screen
 * pixels per world unit.
 */
import type {
  Account,
  ApiKeyInfo,
  ApiKeyScope,
  AssetQuery,
  BundleExported,
  CanvasDelta,
  CreditEstimate,
  Credits,
  EstimateRequest,
  ElementPatch,
  FileSource,
  FreeGenerateRequest,
  FreeOutcome,
  GalleryItem,
  GalleryQuery,
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
} from './types';

/** Size variant of an asset's image: a small cached thumbnail or the original file. */
export type AssetVariant = 'thumb' | 'full';

export interface BackendEvents {
  canvasChanged: CanvasDelta;
  projectsChanged: null;
  assetsChanged: null;
  syncStatus: SyncStatus;
  accountChanged: Account;
  openProject: string;
  /** One generation changed: status, queue position, error or outputs. */
  generationChanged: LocalGeneration;
  /** The credit balance changed (a generation reserved, was charged or released; a new period, a plan); null signed out. */
  creditsChanged: Credits | null;
  /** Images of share links opened in Iskra arrived (`takeSharedImages` has them). */
  sharedImages: null;
}

export interface Backend {
  /** `tauri` in the desktop app, `memory` in tests and the browser demo. */
  readonly kind: 'tauri' | 'memory';

  // Projects (D2)
  listProjects(query: ProjectQuery): Promise<Project[]>;
  /** `name: null` takes the next free default name (`Iskra 01`, `Iskra 02`, …). */
  createProject(name: string | null): Promise<Project>;
  renameProject(id: string, name: string): Promise<Project>;
  deleteProject(id: string): Promise<void>;
  /** The project to restore at start (the most recently opened), if any. */
  recentProject(): Promise<string | null>;
  openProject(id: string): Promise<OpenCanvas>;
  /** A PNG rendered from the canvas, shown on the project's tile. */
  saveProjectThumbnail(projectId: string, png: Uint8Array): Promise<void>;
  /** URL of a project's tile image, or null when it has none yet. */
  projectThumbnailUrl(project: Project): string | null;

  // Canvas (D1)
  addFiles(projectId: string, files: FileSource[], at: Placement): Promise<CanvasDelta>;
  addAssets(projectId: string, assetIds: string[], at: Placement): Promise<CanvasDelta>;
  updateElements(projectId: string, patches: ElementPatch[]): Promise<CanvasDelta>;
  deleteElements(projectId: string, ids: string[]): Promise<CanvasDelta>;
  duplicateElements(projectId: string, ids: string[], offset: Placement): Promise<CanvasDelta>;
  reorderElements(projectId: string, ids: string[], move: ZOrderMove): Promise<CanvasDelta>;
  setPlayback(projectId: string, update: PlaybackUpdate): Promise<void>;
  undo(projectId: string): Promise<CanvasDelta>;
  redo(projectId: string): Promise<CanvasDelta>;
  setViewport(projectId: string, viewport: Viewport): Promise<void>;
  setSelection(projectId: string, ids: string[]): Promise<void>;

  // Asset library (D5)
  listAssets(query: AssetQuery): Promise<LibraryAsset[]>;
  deleteAsset(id: string): Promise<void>;
  storageQuota(): Promise<StorageInfo>;
  /** URL the webview can load the asset's bytes (or thumbnail) from. */
  assetUrl(assetId: string, variant: AssetVariant): string;

  // Sync (D3, D4)
  syncStatus(): Promise<SyncStatus>;
  retryRejected(opId: string): Promise<void>;
  discardRejected(opId: string): Promise<void>;

  // Export and import (D9). Each asks the user first — the OS dialogs on the desktop, a
  // download or the browser's file picker in memory — and resolves to null when they cancel.
  /** Asks where to save a PNG, then renders it and writes it there; the path written. */
  exportPng(suggestedName: string, render: () => Promise<Uint8Array>): Promise<string | null>;
  /** Asks where to save a project's `.iskra` bundle (its canvas and assets) and writes it. */
  exportProject(projectId: string, suggestedName: string): Promise<BundleExported | null>;
  /** Asks for an `.iskra` bundle and imports it as a new project (its assets join the library). */
  importProject(): Promise<Project | null>;

  // Hot folders (D8): new images and videos there join the library automatically
  hotFolders(): Promise<string[]>;
  /** Asks for a folder (the OS folder picker) and starts watching it. */
  chooseHotFolder(): Promise<HotFolderChange | null>;
  addHotFolder(path: string): Promise<HotFolderChange>;
  removeHotFolder(path: string): Promise<HotFolderChange>;

  // Generation (D7): text-to-image, image-to-image and image-to-video
  /** The models the server offers (the engine's cached catalogue; empty when signed out). */
  listModels(): Promise<ModelInfo[]>;
  /**
   * Starts a generation: its placeholder element lands on the canvas at once (the delta) and
   * the request goes to the server — or waits in the outbox while offline (`waiting`).
   * Progress arrives as `generationChanged`; on completion the outputs replace the
   * placeholder through ordinary canvas changes.
   */
  generate(projectId: string, request: GenerateRequest): Promise<Generated>;
  /** Generations of a project (or of every project with null), newest first. */
  listGenerations(projectId: string | null): Promise<LocalGeneration[]>;
  cancelGeneration(id: string): Promise<LocalGeneration>;
  /** Sends a failed generation again; it keeps its placeholder. */
  retryGeneration(id: string): Promise<LocalGeneration>;
  /**
   * The one free text-to-image before sign-in (S6): its placeholder lands on the (local)
   * canvas at once through `canvasChanged`, and the image replaces it when the job is done.
   * Resolves once the job has ended — or at once when the server refuses (the day's free
   * image is used).
   */
  freeGenerate(projectId: string, request: FreeGenerateRequest): Promise<FreeOutcome>;

  // Credits and billing (S8)
  /** The balance as the engine keeps it (the last one seen offline); null signed out. */
  credits(): Promise<Credits | null>;
  /** The price of a generation before it is asked for, with the balance now (needs the server). */
  estimateGeneration(request: EstimateRequest): Promise<CreditEstimate>;
  /** Opens Stripe Checkout for `plan` in the system browser; resolves to its address. */
  openCheckout(plan: PaidPlan): Promise<string>;
  /** Opens the Stripe customer portal (plan, card, invoices) in the system browser; its address. */
  openBillingPortal(): Promise<string>;

  // Sharing and the gallery (S10); each needs an account
  /** A public link to an asset (uploaded first when only on this device); sharing again gives the same link. */
  shareAsset(assetId: string): Promise<ShareLink>;
  /** Revokes the asset's link at once (nothing to do when it has none). */
  unshareAsset(assetId: string): Promise<void>;
  /** The user's links, newest first, with their view and download counts. */
  listShares(): Promise<Share[]>;
  /** One page of the user's generated images with their links and counts. */
  gallery(query: GalleryQuery): Promise<Page<GalleryItem>>;
  /** Makes sure a server asset is in this device's library (downloaded on first use), so it can be placed. */
  fetchAsset(assetId: string): Promise<void>;
  /** Puts text on the system clipboard (a link made after a server round trip: no user gesture is left for the web API). */
  copyText(text: string): Promise<void>;
  /** Images of share links opened in Iskra (`iskra://share/<shortId>`) since the last call, now in the library. */
  takeSharedImages(): Promise<SharedArrivals>;

  // API keys (S9); each needs an account
  /** Makes a key (both scopes with null). The answer holds the key itself, shown this once. */
  createApiKey(name: string, scopes: ApiKeyScope[] | null): Promise<NewApiKeyCreated>;
  /** The active keys with today's use, oldest first. */
  listApiKeys(): Promise<ApiKeyInfo[]>;
  /** Revokes a key: the server refuses it from the next request on. */
  revokeApiKey(id: string): Promise<void>;
  /** Use of the account's keys by day and key. */
  apiKeyUsage(query: UsageQuery): Promise<UsageReport>;

  // Account (D6)
  account(): Promise<Account>;
  signIn(): Promise<Account>;
  signOut(removeLocalData: boolean): Promise<void>;
  /**
   * Projects made while signed out wait, unsent, for the answer to an offer made once signed
   * in: add them to the account, or keep them on this device only.
   */
  localProjects(): Promise<LocalProjects>;
  /** Answers the offer (`keep`: on this device only); resolves to how many it covered. */
  importLocalProjects(keep: boolean): Promise<number>;
  /** Adds one project on this device only to the account (it syncs from now on). */
  addProjectToAccount(id: string): Promise<void>;
  /** Opens a web page in the system browser ("Manage account", upgrade). */
  openExternal(url: string): Promise<void>;

  /**
   * Files dropped from the OS onto the window, when the shell handles drops natively (Tauri
   * gives paths and a position in CSS pixels relative to the window). Memory: never fires.
   */
  onNativeDrop(handler: (paths: string[], at: { x: number; y: number }) => void): Unlisten;

  /** Whether WebGL runs on a software rasterizer (the canvas then batches one texture per draw). */
  softwareRendering(): Promise<boolean>;

  /**
   * Tells the shell the canvas has drawn its first frame (`epochMs`): the app is interactive.
   * The desktop logs the start-up time; memory: nothing to tell.
   */
  announceReady(epochMs: number): void;

  /** Subscribes to an engine event; returns the function that unsubscribes. */
  on<K extends keyof BackendEvents>(event: K, handler: (payload: BackendEvents[K]) => void): Unlisten;
}

/** An error a command failed with: `{kind, message}` as the Tauri commands return it. */
export class BackendError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }

  /** Wraps whatever a command threw (Tauri rejects with the serialised error object). */
  static from(e: unknown): BackendError {
    if (e instanceof BackendError) return e;
    if (typeof e === 'object' && e !== null && 'message' in e) {
      const o = e as { kind?: unknown; message?: unknown };
      return new BackendError(typeof o.kind === 'string' ? o.kind : 'unknown', String(o.message));
    }
    return new BackendError('unknown', typeof e === 'string' ? e : 'Something went wrong');
  }
}
