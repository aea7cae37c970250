/**
 * Sharing and the gallery of `MemoryBackend` (S10), as the server answers them: one link per
 * asset (the same one when shared again, a new one after a revoke), view and download counts
 * per link, and the gallery of generated images (not uploads, not videos) sorted by newest or
 * by downloads, a page at a time with an opaque cursor.
 */
import { BackendError } from '../backend';
import type { Asset, GalleryItem, GalleryQuery, Page, Share, ShareLink } from '../types';

/** Where the demo's share pages live. */
export const SHARE_BASE = 'https://iskra.app/t/';
/** Page size when the query names none. */
const DEFAULT_LIMIT = 30;
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

interface Link {
  link: ShareLink;
  views: number;
  downloads: number;
}

/** An 8-character id of `A-Za-z0-9_-`. */
function shortId(random: () => number): string {
  let id = '';
  for (let i = 0; i < 8; i++) id += ID_CHARS[Math.floor(random() * ID_CHARS.length)];
  return id;
}

export class MemoryShares {
  /** Live links by asset id. */
  private readonly links = new Map<string, Link>();

  constructor(
    private readonly now: () => Date,
    private readonly random: () => number = Math.random,
  ) {}

  /** The asset's link: the live one, or a new one. */
  share(assetId: string): ShareLink {
    const live = this.links.get(assetId);
    if (live) return { ...live.link };
    const id = shortId(this.random);
    const link = { shortId: id, url: `${SHARE_BASE}${id}`, createdAt: this.now().toISOString() };
    this.links.set(assetId, { link, views: 0, downloads: 0 });
    return { ...link };
  }

  /** Revokes the asset's link; false when it had none. */
  unshare(assetId: string): boolean {
    return this.links.delete(assetId);
  }

  /** Forgets the link of a deleted asset. */
  forget(assetId: string): void {
    this.links.delete(assetId);
  }

  clear(): void {
    this.links.clear();
  }

  /** The user's links, newest first. */
  list(): Share[] {
    return [...this.links.entries()]
      .map(([assetId, l]) => ({ ...l.link, assetId, views: l.views, downloads: l.downloads }))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** The asset of a live link. */
  assetOf(shortId: string): string | null {
    return [...this.links.entries()].find(([, l]) => l.link.shortId === shortId)?.[0] ?? null;
  }

  /** Someone opened (`view`) or downloaded from a share page (demo and tests). */
  visit(shortId: string, what: 'view' | 'download'): void {
    const live = [...this.links.values()].find((l) => l.link.shortId === shortId);
    if (!live) throw new BackendError('notFound', 'This link was revoked');
    if (what === 'view') live.views += 1;
    else live.downloads += 1;
  }

  /** One page of the gallery of `assets` (every asset of the user). */
  gallery(assets: Asset[], q: GalleryQuery): Page<GalleryItem> {
    const start = q.cursor === null ? 0 : Number(q.cursor);
    if (!Number.isInteger(start) || start < 0) throw new BackendError('invalidInput', 'The cursor is not one this server gave');
    const limit = q.limit ?? DEFAULT_LIMIT;
    const dir = q.order === 'asc' ? 1 : -1;
    const items = assets
      .filter((a) => a.type === 'image' && a.source === 'generation' && a.generation !== null)
      .map((a) => this.item(a))
      .sort((a, b) => {
        const by = q.sort === 'downloads' ? a.downloads - b.downloads : 0;
        return dir * (by !== 0 ? by : a.createdAt.localeCompare(b.createdAt) || a.assetId.localeCompare(b.assetId));
      });
    const page = items.slice(start, start + limit);
    const next = start + limit < items.length ? String(start + limit) : null;
    return { items: page, nextCursor: next };
  }

  private item(a: Asset): GalleryItem {
    const live = this.links.get(a.id);
    return {
      assetId: a.id,
      url: a.url,
      prompt: a.generation?.prompt ?? '',
      model: a.generation?.model ?? '',
      size: `${a.width}x${a.height}`,
      mimeType: a.mimeType,
      createdAt: a.createdAt,
      share: live ? { ...live.link } : null,
      views: live?.views ?? 0,
      downloads: live?.downloads ?? 0,
    };
  }
}
