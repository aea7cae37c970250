/**
 * `TauriBackend`: the `Backend` of the desktop app — each method is one Tauri command
 * (`invoke`), engine notifications arrive as Tauri events (`listen`).
 *
 * Asset bytes are served by the shell's `iskra-asset` URI scheme protocol:
 * `iskra-asset://localhost/full/<sha256>`, `…/thumb/<sha256>` and `…/project-thumb/<id>`
 * (`convertFileSrc` picks the right form per platform). Dropped or pasted bytes go over
 * Tauri's raw request body instead of JSON arrays. Exports and imports ask for their path with
 * the dialog plugin (`save`/`open`, allowed by `dialog:default`) before the command runs. This
 * file is the one place with `unknown` payloads crossing the boundary; everything past it is
 * typed.
 */
import { convertFileSrc, invoke } from '@tauri-apps/api/core';
import { emit, listen } from '@tauri-apps/api/event';
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { open, save } from '@tauri-apps/plugin-dialog';
import type { AssetVariant, Backend, BackendEvents } from './backend';
import { BackendError } from './backend';
import { COMMANDS, EVENTS, READY_EVENT, type CommandName } from './commands';
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

/** The URI scheme the shell registers for asset files (`register_asynchronous_uri_scheme_protocol`). */
export const ASSET_PROTOCOL = 'iskra-asset';

/** True inside the Tauri webview (the shell injects its internals before any script runs). */
export function isTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

async function call<T>(cmd: CommandName, args: Record<string, unknown> = {}): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw BackendError.from(e);
  }
}

async function callRaw<T>(cmd: CommandName, body: Uint8Array, headers: Record<string, string>): Promise<T> {
  try {
    return await invoke<T>(cmd, body, { headers });
  } catch (e) {
    throw BackendError.from(e);
  }
}

/** Save and open dialog filters of the files Iskra writes and reads. */
const PNG_FILTER = { name: 'PNG image', extensions: ['png'] };
const BUNDLE_FILTER = { name: 'Iskra project', extensions: ['iskra'] };

/** A dialog that failed to open is a command failure like any other. */
async function dialog<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw BackendError.from(typeof e === 'string' ? { kind: 'dialog', message: e } : e);
  }
}

const EVENT_NAMES: { [K in keyof BackendEvents]: string } = {
  canvasChanged: EVENTS.canvasChanged,
  projectsChanged: EVENTS.projectsChanged,
  assetsChanged: EVENTS.assetsChanged,
  syncStatus: EVENTS.syncStatus,
  accountChanged: EVENTS.accountChanged,
  openProject: EVENTS.openProject,
  generationChanged: EVENTS.generationChanged,
  creditsChanged: EVENTS.creditsChanged,
  sharedImages: EVENTS.sharedImages,
};

export class TauriBackend implements Backend {
  readonly kind = 'tauri' as const;

  listProjects(query: ProjectQuery): Promise<Project[]> {
    return call(COMMANDS.listProjects, { query });
  }
  createProject(name: string | null): Promise<Project> {
    return call(COMMANDS.createProject, { name });
  }
  renameProject(id: string, name: string): Promise<Project> {
    return call(COMMANDS.renameProject, { id, name });
  }
  deleteProject(id: string): Promise<void> {
    return call(COMMANDS.deleteProject, { id });
  }
  recentProject(): Promise<string | null> {
    return call(COMMANDS.recentProject);
  }
  openProject(id: string): Promise<OpenCanvas> {
    return call(COMMANDS.openProject, { id });
  }
  saveProjectThumbnail(projectId: string, png: Uint8Array): Promise<void> {
    return callRaw(COMMANDS.saveProjectThumbnail, png, { 'x-project-id': projectId });
  }
  projectThumbnailUrl(project: Project): string | null {
    // The version query busts the webview cache when the thumbnail is re-rendered.
    return `${convertFileSrc(`project-thumb/${project.id}`, ASSET_PROTOCOL)}?v=${encodeURIComponent(project.updatedAt)}`;
  }

  async addFiles(projectId: string, files: FileSource[], at: Placement): Promise<CanvasDelta> {
    const paths = files.flatMap((f) => (f.kind === 'path' ? [f.path] : []));
    const deltas: CanvasDelta[] = [];
    if (paths.length > 0) deltas.push(await call<CanvasDelta>(COMMANDS.addFiles, { projectId, paths, at }));
    // Bytes go to the asset cache first, then are placed side by side as one undo step.
    const assetIds: string[] = [];
    for (const f of files) {
      if (f.kind !== 'bytes') continue;
      assetIds.push(await callRaw<string>(COMMANDS.importBytes, f.bytes, { 'x-file-name': encodeURIComponent(f.name) }));
    }
    if (assetIds.length > 0) deltas.push(await this.addAssets(projectId, assetIds, at));
    return mergeDeltas(projectId, deltas);
  }
  addAssets(projectId: string, assetIds: string[], at: Placement): Promise<CanvasDelta> {
    return call(COMMANDS.addAssets, { projectId, assetIds, at });
  }
  updateElements(projectId: string, patches: ElementPatch[]): Promise<CanvasDelta> {
    return call(COMMANDS.updateElements, { projectId, patches });
  }
  deleteElements(projectId: string, ids: string[]): Promise<CanvasDelta> {
    return call(COMMANDS.deleteElements, { projectId, ids });
  }
  duplicateElements(projectId: string, ids: string[], offset: Placement): Promise<CanvasDelta> {
    return call(COMMANDS.duplicateElements, { projectId, ids, offset });
  }
  reorderElements(projectId: string, ids: string[], move: ZOrderMove): Promise<CanvasDelta> {
    return call(COMMANDS.reorderElements, { projectId, ids, move });
  }
  setPlayback(projectId: string, update: PlaybackUpdate): Promise<void> {
    return call(COMMANDS.setPlayback, { projectId, update });
  }
  undo(projectId: string): Promise<CanvasDelta> {
    return call(COMMANDS.undo, { projectId });
  }
  redo(projectId: string): Promise<CanvasDelta> {
    return call(COMMANDS.redo, { projectId });
  }
  setViewport(projectId: string, viewport: Viewport): Promise<void> {
    return call(COMMANDS.setViewport, { projectId, viewport });
  }
  setSelection(projectId: string, ids: string[]): Promise<void> {
    return call(COMMANDS.setSelection, { projectId, ids });
  }

  listAssets(query: AssetQuery): Promise<LibraryAsset[]> {
    return call(COMMANDS.listAssets, { query });
  }
  deleteAsset(id: string): Promise<void> {
    return call(COMMANDS.deleteAsset, { id });
  }
  storageQuota(): Promise<StorageInfo> {
    return call(COMMANDS.storageQuota);
  }
  assetUrl(assetId: string, variant: AssetVariant): string {
    return convertFileSrc(`${variant}/${assetId}`, ASSET_PROTOCOL);
  }

  syncStatus(): Promise<SyncStatus> {
    return call(COMMANDS.syncStatus);
  }
  retryRejected(opId: string): Promise<void> {
    return call(COMMANDS.retryRejected, { opId });
  }
  discardRejected(opId: string): Promise<void> {
    return call(COMMANDS.discardRejected, { opId });
  }

  async exportPng(suggestedName: string, render: () => Promise<Uint8Array>): Promise<string | null> {
    const path = await dialog(() => save({ title: 'Export as PNG', defaultPath: suggestedName, filters: [PNG_FILTER] }));
    if (!path) return null;
    return callRaw<string>(COMMANDS.exportPng, await render(), { 'x-path': encodeURIComponent(path) });
  }
  async exportProject(projectId: string, suggestedName: string): Promise<BundleExported | null> {
    const path = await dialog(() => save({ title: 'Export project', defaultPath: suggestedName, filters: [BUNDLE_FILTER] }));
    if (!path) return null;
    return call<BundleExported>(COMMANDS.exportProject, { projectId, path });
  }
  async importProject(): Promise<Project | null> {
    const path = await dialog(() => open({ title: 'Import project', multiple: false, directory: false, filters: [BUNDLE_FILTER] }));
    if (!path) return null;
    return call<Project>(COMMANDS.importProject, { path });
  }

  hotFolders(): Promise<string[]> {
    return call(COMMANDS.hotFolders);
  }
  async chooseHotFolder(): Promise<HotFolderChange | null> {
    const path = await dialog(() => open({ title: 'Choose a folder to watch', directory: true, multiple: false }));
    return path ? this.addHotFolder(path) : null;
  }
  addHotFolder(path: string): Promise<HotFolderChange> {
    return call(COMMANDS.addHotFolder, { path });
  }
  removeHotFolder(path: string): Promise<HotFolderChange> {
    return call(COMMANDS.removeHotFolder, { path });
  }

  listModels(): Promise<ModelInfo[]> {
    return call(COMMANDS.listModels);
  }
  generate(projectId: string, request: GenerateRequest): Promise<Generated> {
    return call(COMMANDS.generate, { projectId, request });
  }
  listGenerations(projectId: string | null): Promise<LocalGeneration[]> {
    return call(COMMANDS.listGenerations, { projectId });
  }
  cancelGeneration(id: string): Promise<LocalGeneration> {
    return call(COMMANDS.cancelGeneration, { id });
  }
  retryGeneration(id: string): Promise<LocalGeneration> {
    return call(COMMANDS.retryGeneration, { id });
  }
  freeGenerate(projectId: string, request: FreeGenerateRequest): Promise<FreeOutcome> {
    return call(COMMANDS.freeGenerate, { projectId, request });
  }

  credits(): Promise<Credits | null> {
    return call(COMMANDS.getCredits);
  }
  estimateGeneration(request: EstimateRequest): Promise<CreditEstimate> {
    return call(COMMANDS.estimateGeneration, { request });
  }
  openCheckout(plan: PaidPlan): Promise<string> {
    return call(COMMANDS.openCheckout, { plan });
  }
  openBillingPortal(): Promise<string> {
    return call(COMMANDS.openBillingPortal);
  }

  shareAsset(assetId: string): Promise<ShareLink> {
    return call(COMMANDS.shareAsset, { assetId });
  }
  unshareAsset(assetId: string): Promise<void> {
    return call(COMMANDS.unshareAsset, { assetId });
  }
  listShares(): Promise<Share[]> {
    return call(COMMANDS.listShares);
  }
  gallery(query: GalleryQuery): Promise<Page<GalleryItem>> {
    return call(COMMANDS.gallery, { query });
  }
  fetchAsset(assetId: string): Promise<void> {
    return call(COMMANDS.fetchAsset, { assetId });
  }
  copyText(text: string): Promise<void> {
    return call(COMMANDS.copyText, { text });
  }
  takeSharedImages(): Promise<SharedArrivals> {
    return call(COMMANDS.takeSharedImages);
  }

  createApiKey(name: string, scopes: ApiKeyScope[] | null): Promise<NewApiKeyCreated> {
    return call(COMMANDS.createApiKey, { name, scopes });
  }
  listApiKeys(): Promise<ApiKeyInfo[]> {
    return call(COMMANDS.listApiKeys);
  }
  revokeApiKey(id: string): Promise<void> {
    return call(COMMANDS.revokeApiKey, { id });
  }
  apiKeyUsage(query: UsageQuery): Promise<UsageReport> {
    return call(COMMANDS.apiKeyUsage, { query });
  }

  account(): Promise<Account> {
    return call(COMMANDS.account);
  }
  signIn(): Promise<Account> {
    return call(COMMANDS.signIn);
  }
  signOut(removeLocalData: boolean): Promise<void> {
    return call(COMMANDS.signOut, { removeLocalData });
  }
  localProjects(): Promise<LocalProjects> {
    return call(COMMANDS.localProjects);
  }
  importLocalProjects(keep: boolean): Promise<number> {
    return call(COMMANDS.importLocalProjects, { keep });
  }
  addProjectToAccount(id: string): Promise<void> {
    return call(COMMANDS.addProjectToAccount, { id });
  }

  openExternal(url: string): Promise<void> {
    return call(COMMANDS.openUrl, { url });
  }

  async softwareRendering(): Promise<boolean> {
    return call<boolean>(COMMANDS.softwareRendering).catch(() => false);
  }

  announceReady(epochMs: number): void {
    void emit(READY_EVENT, epochMs).catch(() => undefined);
  }

  onNativeDrop(handler: (paths: string[], at: { x: number; y: number }) => void): Unlisten {
    let stop: (() => void) | null = null;
    let stopped = false;
    void getCurrentWebview()
      .onDragDropEvent((e) => {
        if (e.payload.type !== 'drop' || e.payload.paths.length === 0) return;
        const dpr = window.devicePixelRatio || 1;
        handler(e.payload.paths, { x: e.payload.position.x / dpr, y: e.payload.position.y / dpr });
      })
      .then((un) => {
        if (stopped) un();
        else stop = un;
      });
    return () => {
      stopped = true;
      stop?.();
    };
  }

  on<K extends keyof BackendEvents>(event: K, handler: (payload: BackendEvents[K]) => void): Unlisten {
    let stop: (() => void) | null = null;
    let stopped = false;
    // The payload is whatever the shell serialised: trusted to match BackendEvents[K].
    void listen<BackendEvents[K]>(EVENT_NAMES[event], (e) => handler(e.payload)).then((un) => {
      if (stopped) un();
      else stop = un;
    });
    return () => {
      stopped = true;
      stop?.();
    };
  }
}

/** One delta out of several (a drop of paths and bytes together). */
export function mergeDeltas(projectId: string, deltas: readonly CanvasDelta[]): CanvasDelta {
  const last = deltas[deltas.length - 1];
  return {
    projectId,
    upserted: deltas.flatMap((d) => d.upserted),
    deleted: deltas.flatMap((d) => d.deleted),
    canUndo: last?.canUndo ?? false,
    canRedo: last?.canRedo ?? false,
    selection: deltas.flatMap((d) => d.selection ?? []),
  };
}
