/**
 * Sharing (S10) as the panels see it: which assets have a public link (a small link badge on
 * the selection bar, the library and the gallery), Share — make the link (the engine uploads a
 * device-only image first), copy it, say "Link copied" — and Stop sharing. Signed out, Share
 * explains that it needs an account and offers to sign in. Images of share links opened in Iskra
 * (`iskra://share/{shortId}`) land on the open canvas.
 */
import type { Backend } from '../backend/backend';
import type { GalleryItem, ShareLink } from '../backend/types';
import { toasts } from './toasts.svelte';

export const NEEDS_ACCOUNT = 'Sharing needs an Iskra account: sign in to share images and see your gallery';

export interface SharingDeps {
  backend: Backend;
  signedIn(): boolean;
  signIn(): Promise<void>;
  /** Places library assets on the open canvas; false when that failed. */
  place(assetIds: string[]): Promise<boolean>;
}

export class Sharing {
  /** Live links by asset id, as the server last said. */
  links = $state.raw<Record<string, ShareLink>>({});
  /** Assets whose link is being made or revoked (their buttons show progress). */
  busy = $state.raw<ReadonlySet<string>>(new Set());
  /** The link made or copied last (shown until the next one). */
  lastCopied = $state<string | null>(null);

  /** Puts text on the clipboard; false when the system refused. */
  clipboard: (text: string) => Promise<boolean> = (text) =>
    this.deps.backend.copyText(text).then(
      () => true,
      () => false,
    );

  private seq = 0;

  constructor(private readonly deps: SharingDeps) {}

  linkOf(assetId: string | null | undefined): ShareLink | null {
    return assetId ? (this.links[assetId] ?? null) : null;
  }

  isBusy(assetId: string): boolean {
    return this.busy.has(assetId);
  }

  /** Reloads the user's links (signed in); signed out there are none. */
  async refresh(): Promise<void> {
    const seq = ++this.seq;
    if (!this.deps.signedIn()) {
      this.links = {};
      return;
    }
    try {
      const list = await this.deps.backend.listShares();
      if (seq !== this.seq) return;
      this.links = Object.fromEntries(list.map((s) => [s.assetId, { shortId: s.shortId, url: s.url, createdAt: s.createdAt }]));
    } catch {
      // Offline or refused: badges keep what was known; Share still works when the server is back.
    }
  }

  /** Takes the share state of gallery items the server just listed. */
  remember(items: GalleryItem[]): void {
    const next = { ...this.links };
    for (const item of items) {
      if (item.share) next[item.assetId] = item.share;
      else delete next[item.assetId];
    }
    this.links = next;
  }

  /** Makes (or finds) the asset's link and copies it; the link, or null when it failed. */
  async share(assetId: string): Promise<ShareLink | null> {
    if (!this.deps.signedIn()) {
      toasts.show(NEEDS_ACCOUNT, 'info', { label: 'Sign in', run: () => void this.deps.signIn() });
      return null;
    }
    if (this.busy.has(assetId)) return null;
    this.setBusy(assetId, true);
    try {
      const link = await this.deps.backend.shareAsset(assetId);
      this.seq++;
      this.links = { ...this.links, [assetId]: link };
      await this.copy(link.url);
      return link;
    } catch (e) {
      toasts.error(e);
      return null;
    } finally {
      this.setBusy(assetId, false);
    }
  }

  /** Copies an existing link again. */
  async copyLink(assetId: string): Promise<void> {
    const link = this.linkOf(assetId);
    if (link) await this.copy(link.url);
  }

  /** Revokes the asset's link at once. */
  async stop(assetId: string): Promise<boolean> {
    if (this.busy.has(assetId)) return false;
    this.setBusy(assetId, true);
    try {
      await this.deps.backend.unshareAsset(assetId);
      this.seq++;
      const next = { ...this.links };
      delete next[assetId];
      this.links = next;
      toasts.show('Sharing stopped: the link no longer opens', 'success');
      return true;
    } catch (e) {
      toasts.error(e);
      return false;
    } finally {
      this.setBusy(assetId, false);
    }
  }

  /** Places the images of share links opened in Iskra on the open canvas. */
  async receive(): Promise<void> {
    let arrivals;
    try {
      arrivals = await this.deps.backend.takeSharedImages();
    } catch (e) {
      toasts.error(e);
      return;
    }
    for (const message of arrivals.errors) toasts.show(message, 'error');
    if (arrivals.assetIds.length === 0) return;
    if (await this.deps.place(arrivals.assetIds)) {
      toasts.show(arrivals.assetIds.length === 1 ? 'Added the shared image to this project' : `Added ${arrivals.assetIds.length} shared images to this project`, 'success');
    }
  }

  private async copy(url: string): Promise<void> {
    this.lastCopied = url;
    const copied = await this.clipboard(url);
    if (copied) toasts.show('Link copied', 'success');
    else toasts.show(`Copy this link: ${url}`, 'info');
  }

  private setBusy(assetId: string, on: boolean): void {
    const next = new Set(this.busy);
    if (on) next.add(assetId);
    else next.delete(assetId);
    this.busy = next;
  }
}
