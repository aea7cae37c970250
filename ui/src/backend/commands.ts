/**
 * The Tauri command and event names of the UI ↔ engine contract, in one place.
 *
 * The desktop shell (src-tauri/commands/*) registers a `#[tauri::command]` with each of these
 * names; arguments are passed as one camelCase object (Tauri's default). Events are emitted by
 * the shell with `app.emit(EVENTS.x, payload)`. `TauriBackend` is the only user of these names.
 */

export const COMMANDS = {
  // Projects (D2)
  listProjects: 'list_projects', // { query: ProjectQuery } → Project[]
  createProject: 'create_project', // { name: string | null } → Project
  renameProject: 'rename_project', // { id, name } → Project
  deleteProject: 'delete_project', // { id } → void (hard delete)
  recentProject: 'recent_project', // {} → string | null (the project to restore at start)
  openProject: 'open_project', // { id } → OpenCanvas (autosaves the current one first)
  saveProjectThumbnail: 'save_project_thumbnail', // raw PNG body, header x-project-id → void

  // Canvas (D1)
  addFiles: 'add_files', // { projectId, paths: string[], at: Placement } → CanvasDelta
  importBytes: 'import_bytes', // raw body, header x-file-name → asset id (then addAssets places it)
  addAssets: 'add_assets', // { projectId, assetIds: string[], at: Placement } → CanvasDelta
  updateElements: 'update_elements', // { projectId, patches: ElementPatch[] } → CanvasDelta (one undo step)
  deleteElements: 'delete_elements', // { projectId, ids } → CanvasDelta
  duplicateElements: 'duplicate_elements', // { projectId, ids, offset: Placement } → CanvasDelta
  reorderElements: 'reorder_elements', // { projectId, ids, move: ZOrderMove } → CanvasDelta
  setPlayback: 'set_playback', // { projectId, update: PlaybackUpdate } → void (no undo step)
  undo: 'undo', // { projectId } → CanvasDelta
  redo: 'redo', // { projectId } → CanvasDelta
  setViewport: 'set_viewport', // { projectId, viewport: Viewport } → void (no undo step)
  setSelection: 'set_selection', // { projectId, ids } → void (saved state, no undo step)

  // Asset library (D5)
  listAssets: 'list_assets', // { query: AssetQuery } → LibraryAsset[]
  deleteAsset: 'delete_asset', // { id } → void (elements using it become placeholders)
  storageQuota: 'storage_quota', // {} → StorageInfo

  // Sync status and outbox (D3, D4)
  syncStatus: 'sync_status', // {} → SyncStatus
  retryRejected: 'retry_rejected', // { opId } → void
  discardRejected: 'discard_rejected', // { opId } → void

  // Account (D6)
  account: 'account', // {} → Account
  signIn: 'sign_in', // {} → Account (opens the system browser; resolves when done)
  signOut: 'sign_out', // { removeLocalData: boolean } → void
  localProjects: 'local_projects', // {} → LocalProjects (the offer after the first sign-in)
  importLocalProjects: 'import_local_projects', // { keep: boolean } → number (answers the offer)
  addProjectToAccount: 'add_project_to_account', // { id } → void (a project on this device only)

  // Export and import (D9): the UI asks for the path with the dialog plugin first
  exportPng: 'export_png', // raw PNG body, header x-path (percent-encoded) → string (the path written)
  exportProject: 'export_project', // { projectId, path } → BundleExported
  importProject: 'import_project', // { path } → Project (a new project; its assets join the library)

  // Hot folders (D8): a running watcher follows the list
  hotFolders: 'hot_folders', // {} → string[]
  addHotFolder: 'add_hot_folder', // { path } → HotFolderChange
  removeHotFolder: 'remove_hot_folder', // { path } → HotFolderChange

  // Generation (D7)
  listModels: 'list_models', // {} → ModelInfo[] (the cached catalogue; empty signed out / never fetched)
  generate: 'generate', // { projectId, request: GenerateRequest } → Generated { generation, delta }
  listGenerations: 'list_generations', // { projectId: string | null } → LocalGeneration[] (newest first)
  cancelGeneration: 'cancel_generation', // { id } → LocalGeneration
  retryGeneration: 'retry_generation', // { id } → LocalGeneration (a failed one, same placeholder)
  freeGenerate: 'free_generate', // { projectId, request: FreeGenerateRequest } → FreeOutcome (signed out; once the job ended)

  // Credits and billing (S8)
  getCredits: 'get_credits', // {} → Credits | null (the balance the engine keeps; null signed out)
  estimateGeneration: 'estimate_generation', // { request: EstimateRequest } → CreditEstimate
  openCheckout: 'open_checkout', // { plan: 'pro' | 'enterprise' } → string (Stripe Checkout, opened in the browser)
  openBillingPortal: 'open_billing_portal', // {} → string (the Stripe customer portal, opened in the browser)

  // Sharing and the gallery (S10)
  shareAsset: 'share_asset', // { assetId } → ShareLink (uploads a device-only asset first; the same link again)
  unshareAsset: 'unshare_asset', // { assetId } → void (revokes the link at once)
  listShares: 'list_shares', // {} → Share[] (the user's links with view and download counts)
  gallery: 'gallery', // { query: GalleryQuery } → Page<GalleryItem>
  fetchAsset: 'fetch_asset', // { assetId } → void (the server's asset into this device's library)
  copyText: 'copy_text', // { text } → void (the system clipboard)
  takeSharedImages: 'take_shared_images', // {} → SharedArrivals (images of opened iskra://share links, once)

  // API keys (S9)
  createApiKey: 'create_api_key', // { name, scopes: ApiKeyScope[] | null } → NewApiKeyCreated (the key itself, this once)
  listApiKeys: 'list_api_keys', // {} → ApiKeyInfo[] (active keys with today's use, oldest first)
  revokeApiKey: 'revoke_api_key', // { id } → void (refused from the next request on)
  apiKeyUsage: 'api_key_usage', // { query: UsageQuery } → UsageReport (by day and key)

  // Display
  softwareRendering: 'software_rendering', // {} → boolean (WebGL on a software rasterizer)

  /** tauri-plugin-opener's command (the shell registers the plugin). */
  openUrl: 'plugin:opener|open_url', // { url } → void
} as const;

export const EVENTS = {
  /** CanvasDelta: changes the UI did not make itself (other devices, hot folder, generation). */
  canvasChanged: 'canvas-changed',
  /** Project[] is stale (created/renamed/deleted elsewhere, counts or thumbnails changed). */
  projectsChanged: 'projects-changed',
  /** The asset library or the storage quota changed. */
  assetsChanged: 'assets-changed',
  /** SyncStatus: autosave indicator, online flag, pending count, rejected operations. */
  syncStatus: 'sync-status',
  /** Account: signed in or out (also after the browser flow of sign_in finishes). */
  accountChanged: 'account-changed',
  /** LocalGeneration: one generation changed (status, queue position, outputs, error). */
  generationChanged: 'generation-changed',
  /** Credits | null: the credit balance changed (null: signed out). */
  creditsChanged: 'credits-changed',
  /** null: images of opened share links (`iskra://share/<shortId>`) wait in `take_shared_images`. */
  sharedImages: 'shared-images',
  /** string: a project id to open (deep link `iskra://project/<id>`, second instance). */
  openProject: 'open-project',
} as const;

/** UI → shell: the first frame is drawn (payload: epoch ms); the shell logs the start-up time. */
export const READY_EVENT = 'app-ready';

export type CommandName = (typeof COMMANDS)[keyof typeof COMMANDS];
export type EventName = (typeof EVENTS)[keyof typeof EVENTS];
