/**
 * The Gallery view (S10): the user's generated images a page at a time ("Load more" and
 * infinite scroll follow the server's cursor), sorted by newest or most downloaded, each with
 * its prompt, size, model, link and counts; one opened larger; placing one on the canvas
 * (downloaded into the library first when it was made on another device).
 */
import type { Backend } from '../backend/backend';
import type { GalleryItem, GalleryQuery } from '../backend/types';
import type { Sharing } from './sharing.svelte';
import { toasts } from './toasts.svelte';

export type GallerySort = GalleryQuery['sort'];
/** Images per page. */
export const GALLERY_PAGE = 24;

export interface GalleryDeps {
  backend: Backend;
  sharing: Sharing;
  signedIn(): boolean;
  /** Places assets of the library on the open canvas; false when that failed. */
  place(assetIds: string[]): Promise<boolean>;
}

export class GalleryState {
  items = $state.raw<GalleryItem[]>([]);
  sort = $state<GallerySort>('created');
  state = $state<'idle' | 'loading' | 'ready' | 'error'>('idle');
  /** Why the last load failed (shown in place of the grid), or null. */
  error = $state<string | null>(null);
  /** The next page's cursor; null when every image is shown. */
  next = $state<string | null>(null);
  loadingMore = $state(false);
  /** The image opened larger, or null. */
  opened = $state.raw<GalleryItem | null>(null);

  /** Loads after this one make earlier answers stale. */
  private seq = 0;

  constructor(private readonly deps: GalleryDeps) {}

  get hasMore(): boolean {
    return this.next !== null;
  }

  /** The first page again (opening the view, a new sort). */
  async load(): Promise<void> {
    const seq = ++this.seq;
    this.next = null;
    if (!this.deps.signedIn()) {
      this.items = [];
      this.state = 'ready';
      return;
    }
    this.state = 'loading';
    this.error = null;
    try {
      const page = await this.deps.backend.gallery(this.query(null));
      if (seq !== this.seq) return;
      this.items = page.items;
      this.next = page.nextCursor;
      this.state = 'ready';
      this.deps.sharing.remember(page.items);
    } catch (e) {
      if (seq !== this.seq) return;
      this.state = 'error';
      this.error = e instanceof Error ? e.message : 'The gallery could not be loaded';
    }
  }

  /** The next page, appended (once at a time; nothing when every image is shown). */
  async loadMore(): Promise<void> {
    if (this.next === null || this.loadingMore || this.state !== 'ready') return;
    const seq = this.seq;
    this.loadingMore = true;
    try {
      const page = await this.deps.backend.gallery(this.query(this.next));
      if (seq !== this.seq) return;
      const known = new Set(this.items.map((i) => i.assetId));
      this.items = [...this.items, ...page.items.filter((i) => !known.has(i.assetId))];
      this.next = page.nextCursor;
      this.deps.sharing.remember(page.items);
    } catch (e) {
      if (seq === this.seq) toasts.error(e);
    } finally {
      this.loadingMore = false;
    }
  }

  setSort(sort: GallerySort): void {
    if (sort === this.sort) return;
    this.sort = sort;
    void this.load();
  }

  open(item: GalleryItem | null): void {
    this.opened = item;
  }

  /** Places an image on the open canvas, fetching its bytes first when needed. */
  async place(item: GalleryItem): Promise<boolean> {
    try {
      await this.deps.backend.fetchAsset(item.assetId);
    } catch (e) {
      toasts.error(e);
      return false;
    }
    const placed = await this.deps.place([item.assetId]);
    if (placed) toasts.show('Placed on the canvas', 'success');
    return placed;
  }

  private query(cursor: string | null): GalleryQuery {
    return { sort: this.sort, order: 'desc', cursor, limit: GALLERY_PAGE };
  }
}
