/**
 * The application state the panels render: which view is showing, the open project, the
 * project list, the asset library, storage, sync status and account — kept in step with the
 * engine through `Backend` calls and its events — and the exports and imports of D9. Canvas
 * specifics live in `CanvasState`, the hot folders of the settings in `HotFolders`, the offer
 * to add projects made while signed out to the account (D6) in `LocalOffer`, the credit
 * balance, prices and the upgrade flow (S8) in `CreditsState`.
 *
 * Start-up follows D2: restore the most recently opened project, or create the first one.
 */
import type { Backend } from '../backend/backend';
import type { Account, AssetQuery, LibraryAsset, OpenCanvas, Project, ProjectQuery, StorageInfo, SyncStatus } from '../backend/types';
import { estimateRequest } from '../lib/credits';
import { baseName, fileNameOf } from '../lib/format';
import { CanvasState } from './canvas.svelte';
import { CreditsState } from './credits.svelte';
import { GalleryState } from './gallery.svelte';
import { Generations } from './generations.svelte';
import { HotFolders } from './hotFolders.svelte';
import { LocalOffer } from './localOffer.svelte';
import { Sharing } from './sharing.svelte';
import { toasts } from './toasts.svelte';

export type View = 'canvas' | 'projects' | 'gallery';
/** A PNG export taking longer than this shows a "Rendering" notice. */
const SLOW_EXPORT_MS = 400;
export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

export class AppState {
  readonly canvas: CanvasState;
  readonly hotFolders: HotFolders;
  readonly localOffer: LocalOffer;
  readonly generations: Generations;
  readonly credits: CreditsState;
  /** Public links of assets (S10) and the gallery of generated images. */
  readonly sharing: Sharing;
  readonly gallery: GalleryState;
  view = $state<View>('canvas');
  ready = $state(false);
  project = $state<Project | null>(null);

  projects = $state<Project[]>([]);
  projectsState = $state<LoadState>('idle');
  /**
   * Whether `projects` answers the newest listing asked for. Until it does, the grid shows the
   * previous list, which the answer may re-sort (by last update, say, after a visit).
   */
  projectsFresh = $state(false);
  projectQuery = $state<ProjectQuery>({ query: '', sort: 'updated', order: 'desc' });

  libraryOpen = $state(false);
  assets = $state<LibraryAsset[]>([]);
  assetsState = $state<LoadState>('idle');
  assetQuery = $state<AssetQuery>({ sort: 'created', order: 'desc', type: null });
  storage = $state<StorageInfo | null>(null);

  sync = $state<SyncStatus>({ autosave: { state: 'saved', at: new Date().toISOString() }, online: true, pending: 0, rejected: [] });
  account = $state<Account>({ signedIn: false });

  private projectsSeq = 0;
  private assetsSeq = 0;

  constructor(readonly backend: Backend) {
    this.canvas = new CanvasState(backend);
    this.hotFolders = new HotFolders(backend);
    this.localOffer = new LocalOffer(backend);
    this.credits = new CreditsState({ backend, signedIn: () => this.account.signedIn });
    this.sharing = new Sharing({ backend, signedIn: () => this.account.signedIn, signIn: () => this.signIn(), place: (ids) => this.canvas.addAssets(ids) });
    this.gallery = new GalleryState({
      backend,
      sharing: this.sharing,
      signedIn: () => this.account.signedIn,
      place: (ids) => this.canvas.addAssets(ids),
    });
    this.generations = new Generations({
      backend,
      canvas: this.canvas,
      signedIn: () => this.account.signedIn,
      online: () => this.sync.online,
      creditsShort: () => this.credits.shortFor(estimateRequest(this.generations.form)),
    });
    backend.on('syncStatus', (s) => (this.sync = s));
    backend.on('accountChanged', (a) => {
      this.account = a;
      void this.refreshStorage();
      void this.generations.refreshModels();
      void this.credits.refresh();
      void this.sharing.refresh();
      if (this.view === 'gallery') void this.gallery.load();
    });
    backend.on('projectsChanged', () => {
      if (this.view === 'projects') void this.refreshProjects();
      void this.refreshCurrentProject();
    });
    backend.on('assetsChanged', () => void this.refreshAssets());
    backend.on('canvasChanged', (d) => this.canvas.applyRemote(d));
    backend.on('sharedImages', () => void this.sharing.receive());
    backend.on('openProject', (id) => void this.openProject(id).catch((e: unknown) => toasts.error(e)));
  }

  async start(): Promise<void> {
    try {
      // The first reads go out together, and the project opens as soon as its id is known:
      // the canvas (the first frame) waits for one chain of round trips, not for all of them.
      const opening = this.backend
        .recentProject()
        .then(async (recent) => this.backend.openProject(recent ?? (await this.firstProject())));
      const [account, sync, open] = await Promise.all([this.backend.account(), this.backend.syncStatus(), opening]);
      this.account = account;
      this.sync = sync;
      if (account.signedIn) {
        void this.localOffer.check();
        void this.generations.refreshModels();
        void this.credits.refresh();
        void this.sharing.refresh();
      }
      this.show(open);
      void this.refreshAssets();
      void this.sharing.receive();
    } catch (e) {
      toasts.error(e);
    } finally {
      this.ready = true;
    }
  }

  // ── Projects ────────────────────────────────────────────────────────────────────────────────

  async openProject(id: string): Promise<void> {
    if (this.project?.id !== id) await this.canvas.flush();
    this.show(await this.backend.openProject(id));
  }

  /** Shows an opened project on the canvas. */
  private show(open: OpenCanvas): void {
    this.project = open.project;
    this.canvas.load(open);
    void this.generations.load(open.project.id);
    this.view = 'canvas';
  }

  async createProject(): Promise<void> {
    try {
      const p = await this.backend.createProject(null);
      await this.openProject(p.id);
    } catch (e) {
      toasts.error(e);
    }
  }

  async renameProject(id: string, name: string): Promise<boolean> {
    try {
      const p = await this.backend.renameProject(id, name);
      if (this.project?.id === id) this.project = p;
      this.projects = this.projects.map((x) => (x.id === id ? p : x));
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    }
  }

  async deleteProject(id: string): Promise<void> {
    try {
      await this.backend.deleteProject(id);
      this.projects = this.projects.filter((p) => p.id !== id);
      if (this.project?.id === id) {
        const next = this.projects[0]?.id ?? (await this.backend.createProject(null)).id;
        const keepView = this.view;
        await this.openProject(next);
        this.view = keepView;
      }
      void this.refreshProjects();
      void this.refreshAssets();
    } catch (e) {
      toasts.error(e);
    }
  }

  showProjects(): void {
    this.projectsFresh = false;
    void this.canvas.flush().then(() => this.refreshProjects());
    if (this.account.signedIn) void this.localOffer.refresh();
    this.view = 'projects';
  }

  /** The Gallery of generated images (S10), its first page loaded again. */
  showGallery(): void {
    void this.canvas.flush();
    this.view = 'gallery';
    void this.gallery.load();
  }

  setProjectQuery(q: Partial<ProjectQuery>): void {
    this.projectQuery = { ...this.projectQuery, ...q };
    void this.refreshProjects();
  }

  async refreshProjects(): Promise<void> {
    const seq = ++this.projectsSeq;
    this.projectsFresh = false;
    if (this.projects.length === 0) this.projectsState = 'loading';
    try {
      const list = await this.backend.listProjects($state.snapshot(this.projectQuery));
      if (seq !== this.projectsSeq) return;
      this.projects = list;
      this.projectsState = 'ready';
      this.projectsFresh = true;
    } catch (e) {
      if (seq === this.projectsSeq) {
        this.projectsState = 'error';
        this.projectsFresh = true;
      }
      toasts.error(e);
    }
  }

  thumbnailUrl(p: Project): string | null {
    return this.backend.projectThumbnailUrl(p);
  }

  // ── Export and import (D9) ──────────────────────────────────────────────────────────────────

  /** Saves the open canvas, or its selection, as a PNG where the user chooses. */
  async exportPng(scope: 'canvas' | 'selection'): Promise<void> {
    const engine = this.canvas.engine;
    const project = this.project;
    if (!engine || !project) return;
    const ids = scope === 'selection' ? new Set(this.canvas.doc.selection) : undefined;
    if (ids?.size === 0 || this.canvas.elementCount === 0) {
      toasts.show(scope === 'selection' ? 'Select something to export first' : 'The canvas is empty: nothing to export');
      return;
    }
    const name = `${fileNameOf(project.name)}${scope === 'selection' ? ' selection' : ''}.png`;
    try {
      const path = await this.backend.exportPng(name, async () => {
        // A large canvas takes a moment to draw and encode: say so if it does.
        const slow = setTimeout(() => toasts.show('Rendering the PNG…'), SLOW_EXPORT_MS);
        const png = await engine.exportPng(ids).finally(() => clearTimeout(slow));
        if (!png) throw new Error('The image could not be rendered');
        return png;
      });
      if (path) toasts.show(`Exported ${baseName(path)}`, 'success');
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Saves a project's `.iskra` bundle (canvas and assets) where the user chooses. */
  async exportProject(project: Project): Promise<void> {
    try {
      if (this.project?.id === project.id) await this.canvas.flush();
      const out = await this.backend.exportProject(project.id, `${fileNameOf(project.name)}.iskra`);
      if (out) toasts.show(`Exported “${project.name}” to ${baseName(out.path)}`, 'success');
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Imports an `.iskra` bundle the user picks as a new project, and opens it. */
  async importProject(): Promise<void> {
    try {
      const p = await this.backend.importProject();
      if (!p) return;
      await this.openProject(p.id);
      toasts.show(`Imported “${p.name}”`, 'success');
      void this.refreshAssets();
    } catch (e) {
      toasts.error(e);
    }
  }

  // ── Asset library ───────────────────────────────────────────────────────────────────────────

  toggleLibrary(open = !this.libraryOpen): void {
    this.libraryOpen = open;
    if (open) {
      this.generations.toggle(false);
      void this.refreshAssets();
    }
  }

  /** Opens or closes the generation panel (it takes the library's place at the side). */
  toggleGenerate(open = !this.generations.open): void {
    if (open) this.libraryOpen = false;
    this.generations.toggle(open);
  }

  setAssetQuery(q: Partial<AssetQuery>): void {
    this.assetQuery = { ...this.assetQuery, ...q };
    void this.refreshAssets();
  }

  async refreshAssets(): Promise<void> {
    const seq = ++this.assetsSeq;
    if (this.assets.length === 0) this.assetsState = 'loading';
    try {
      const [list, all] = await Promise.all([
        this.backend.listAssets($state.snapshot(this.assetQuery)),
        this.backend.listAssets({ sort: 'created', order: 'desc', type: null }),
      ]);
      if (seq !== this.assetsSeq) return;
      this.assets = list;
      this.assetsState = 'ready';
      this.canvas.engine?.setAvailableAssets(new Set(all.map((a) => a.id)));
      await this.refreshStorage();
    } catch (e) {
      if (seq === this.assetsSeq) this.assetsState = 'error';
      toasts.error(e);
    }
  }

  async deleteAsset(id: string): Promise<void> {
    try {
      await this.backend.deleteAsset(id);
      this.assets = this.assets.filter((a) => a.id !== id);
      this.canvas.engine?.assetRemoved(id);
      toasts.show('Asset deleted', 'success');
      void this.refreshAssets();
    } catch (e) {
      toasts.error(e);
    }
  }

  assetUrl(id: string, variant: 'thumb' | 'full'): string {
    return this.backend.assetUrl(id, variant);
  }

  async refreshStorage(): Promise<void> {
    try {
      this.storage = await this.backend.storageQuota();
    } catch {
      this.storage = null;
    }
  }

  // ── Sync and account ────────────────────────────────────────────────────────────────────────

  async retryRejected(opId: string): Promise<void> {
    await this.backend.retryRejected(opId).catch((e: unknown) => toasts.error(e));
  }

  async discardRejected(opId: string): Promise<void> {
    await this.backend.discardRejected(opId).catch((e: unknown) => toasts.error(e));
  }

  async signIn(): Promise<void> {
    try {
      this.account = await this.backend.signIn();
      void this.refreshStorage();
      void this.generations.refreshModels();
      void this.credits.refresh();
      void this.sharing.refresh();
      void this.localOffer.check();
    } catch (e) {
      toasts.error(e);
    }
  }

  async signOut(removeLocalData: boolean): Promise<void> {
    try {
      await this.backend.signOut(removeLocalData);
      this.account = { signedIn: false };
      this.credits.balance = null;
      void this.sharing.refresh();
      this.localOffer.reset();
      if (removeLocalData) {
        this.project = null;
        await this.openProject(await this.firstProject());
      }
      void this.refreshAssets();
    } catch (e) {
      toasts.error(e);
    }
  }

  // ── Internals ───────────────────────────────────────────────────────────────────────────────

  private async firstProject(): Promise<string> {
    const list = await this.backend.listProjects({ query: '', sort: 'updated', order: 'desc' });
    return list[0]?.id ?? (await this.backend.createProject(null)).id;
  }

  private async refreshCurrentProject(): Promise<void> {
    const id = this.project?.id;
    if (!id) return;
    const list = await this.backend.listProjects({ query: '', sort: 'updated', order: 'desc' }).catch(() => null);
    const p = list?.find((x) => x.id === id);
    if (p && this.project?.id === id) this.project = p;
  }
}
