/**
 * The asset library of `MemoryBackend`: content-addressed (SHA-256) and deduplicated like the
 * engine's asset cache, with thumbnails from the media probe and the storage figures of D5.
 */
import type { AssetVariant } from '../backend';
import { BackendError } from '../backend';
import type { AssetGeneration } from '../../generated/AssetGeneration';
import type { Asset, AssetQuery, LibraryAsset, StorageQuota } from '../types';
import { type MediaProbe, mediaTypeOf, sha256Hex } from './media';
import { sortAssets } from './queries';

export interface Usage {
  bytes: number;
  images: number;
  videos: number;
}

interface Stored {
  asset: Asset;
  thumbUrl: string;
}

export class AssetStore {
  private readonly assets = new Map<string, Stored>();

  constructor(
    private readonly probe: MediaProbe,
    private readonly now: () => Date,
  ) {}

  has(id: string): boolean {
    return this.assets.has(id);
  }

  get(id: string): Asset | undefined {
    return this.assets.get(id)?.asset;
  }

  /** Stores bytes (deduplicated by content hash); returns the id and whether it is new. */
  async import(bytes: Uint8Array, mimeType: string, source: Asset['source'], generation: AssetGeneration | null = null): Promise<{ id: string; created: boolean }> {
    if (!mediaTypeOf(mimeType)) throw new BackendError('unsupported_media', `${mimeType || 'This file'} is not an image or video`);
    const id = await sha256Hex(bytes);
    if (this.assets.has(id)) return { id, created: false };
    const probed = await this.probe(bytes, mimeType);
    const asset: Asset = {
      id,
      type: probed.type,
      mimeType,
      sizeBytes: bytes.byteLength,
      width: probed.width,
      height: probed.height,
      durationMs: probed.durationMs,
      createdAt: this.now().toISOString(),
      source,
      url: probed.url,
      generation,
    };
    this.assets.set(id, { asset, thumbUrl: probed.thumbUrl });
    return { id, created: true };
  }

  delete(id: string): void {
    if (!this.assets.delete(id)) throw new BackendError('not_found', 'This asset no longer exists');
  }

  clear(): void {
    this.assets.clear();
  }

  list(q: AssetQuery, usage: ReadonlyMap<string, number>, synced: boolean): LibraryAsset[] {
    const list = [...this.assets.values()]
      .filter((a) => q.type === null || a.asset.type === q.type)
      .map((a) => ({ ...a.asset, usageCount: usage.get(a.asset.id) ?? 0, synced }));
    return sortAssets(list, q.sort, q.order);
  }

  url(id: string, variant: AssetVariant): string {
    const a = this.assets.get(id);
    if (!a) return '';
    return variant === 'thumb' ? a.thumbUrl : a.asset.url;
  }

  /** Storage used here plus `elsewhere` (the account's assets on other devices) vs `limits`. */
  quota(elsewhere: Usage, limits: Usage): StorageQuota {
    const mine = [...this.assets.values()].map((a) => a.asset);
    const usedBytes = elsewhere.bytes + mine.reduce((s, a) => s + a.sizeBytes, 0);
    const images = elsewhere.images + mine.filter((a) => a.type === 'image').length;
    const videos = elsewhere.videos + mine.filter((a) => a.type === 'video').length;
    return {
      usedBytes,
      limitBytes: limits.bytes,
      images,
      imagesLimit: limits.images,
      videos,
      videosLimit: limits.videos,
      overLimit: usedBytes >= limits.bytes || images >= limits.images || videos >= limits.videos,
    };
  }
}
