/**
 * Sharing and the Gallery in the app state against the memory backend (S10): Share makes a
 * link, copies it and says "Link copied"; sharing again gives the same link; Stop sharing
 * revokes it (a new link afterwards); signed out Share explains it needs an account; the
 * gallery lists generated images only, newest or most downloaded first, page by page with the
 * cursor, and keeps the share badges in step; placing a gallery image puts it on the canvas;
 * a share link opened in Iskra lands its image on the open canvas.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OutputMaker } from '../backend/memory/generations';
import type { MediaProbe } from '../backend/memory/media';
import { MemoryBackend } from '../backend/memory/memoryBackend';
import { shareableAsset } from '../lib/sharing';
import { AppState } from './app.svelte';
import { NEEDS_ACCOUNT } from './sharing.svelte';
import { toasts } from './toasts.svelte';

const probe: MediaProbe = async (bytes, mimeType) => {
  const [w, h] = new TextDecoder().decode(bytes).split('x').map(Number);
  return { type: mimeType.startsWith('video/') ? 'video' : 'image', width: w ?? 1, height: h ?? 1, durationMs: null, url: 'u', thumbUrl: 't' };
};
const output: OutputMaker = async ({ width, height, seed }) => ({ bytes: new TextEncoder().encode(`${width}x${height}x${seed}`), mimeType: 'image/png' });

let backend: MemoryBackend;
let copied: string[];

async function app(signedIn = true): Promise<AppState> {
  backend = new MemoryBackend({ probe, syncDelayMs: 0, generationTiming: { queueMs: 1, runMs: 1 }, generationOutput: output });
  if (signedIn) await backend.signIn();
  const a = new AppState(backend);
  copied = [];
  // The clipboard of the test: records what was copied.
  a.sharing.clipboard = async (t) => {
    copied.push(t);
    return true;
  };
  await a.start();
  return a;
}

afterEach(() => {
  backend?.dispose();
  toasts.items = [];
});

/** Generates one image per prompt on the open project (distinct seeds), waiting for each. */
async function generate(a: AppState, prompts: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, prompt] of prompts.entries()) {
    const { generation } = await backend.generate(a.project!.id, {
      kind: 'text-to-image', model: null, prompt, imageSize: null, numImages: 1, seed: 100 + i, durationS: null, sourceElementId: null, at: { x: 0, y: 0 },
    });
    const done = await vi.waitFor(async () => {
      const g = (await backend.listGenerations(null)).find((x) => x.id === generation.id);
      if (g?.status !== 'completed') throw new Error('still running');
      return g;
    });
    ids.push(done.outputs[0]!);
  }
  return ids;
}

/** A plain upload (not a generated image). */
async function upload(a: AppState): Promise<string> {
  const delta = await backend.addFiles(a.project!.id, [{ kind: 'bytes', name: 'photo.png', bytes: new TextEncoder().encode('30x20'), mimeType: 'image/png' }], { x: 0, y: 0 });
  return delta.upserted[0]!.assetId!;
}

describe('Share', () => {
  it('makes a link, copies it and gives the same link again', async () => {
    const a = await app();
    const asset = await upload(a);
    const link = await a.sharing.share(asset);
    expect(link?.url).toMatch(/\/t\/[A-Za-z0-9_-]{8}$/);
    expect(copied).toEqual([link!.url]);
    expect(toasts.items.at(-1)?.message).toBe('Link copied');
    expect(a.sharing.linkOf(asset)).toEqual(link);

    const again = await a.sharing.share(asset);
    expect(again?.shortId).toBe(link!.shortId);
    expect((await backend.listShares()).map((s) => s.assetId)).toEqual([asset]);
  });

  it('stops sharing: the badge goes, the next link is a new one', async () => {
    const a = await app();
    const asset = await upload(a);
    const first = await a.sharing.share(asset);
    expect(await a.sharing.stop(asset)).toBe(true);
    expect(a.sharing.linkOf(asset)).toBeNull();
    expect(await backend.listShares()).toEqual([]);
    expect(() => backend.shares.visit(first!.shortId, 'view')).toThrow(/revoked/);
    const second = await a.sharing.share(asset);
    expect(second?.shortId).not.toBe(first!.shortId);
  });

  it('signed out, explains that sharing needs an account and offers to sign in', async () => {
    const a = await app(false);
    const asset = await upload(a);
    expect(await a.sharing.share(asset)).toBeNull();
    const toast = toasts.items.at(-1);
    expect(toast?.message).toBe(NEEDS_ACCOUNT);
    expect(toast?.action?.label).toBe('Sign in');
    expect(copied).toEqual([]);
    toast!.action!.run();
    await vi.waitFor(() => expect(a.account.signedIn).toBe(true));
  });

  it('offline, says the server cannot be reached and keeps no link', async () => {
    const a = await app();
    const asset = await upload(a);
    backend.sync.setOnline(false);
    expect(await a.sharing.share(asset)).toBeNull();
    expect(toasts.items.at(-1)?.tone).toBe('error');
    expect(a.sharing.linkOf(asset)).toBeNull();
  });

  it('the links of the account show after sign-in', async () => {
    const a = await app();
    const asset = await upload(a);
    await backend.shareAsset(asset);
    await a.sharing.refresh();
    expect(a.sharing.linkOf(asset)).not.toBeNull();
  });

  it('one image or video with an asset is shareable, nothing else', () => {
    const el = { id: 'e', kind: 'image', assetId: 'a1', x: 0, y: 0, width: 1, height: 1, rotation: 0, z: 'a0', locked: false, playback: null, generationId: null } as const;
    expect(shareableAsset([el])).toBe('a1');
    expect(shareableAsset([el, { ...el, id: 'f' }])).toBeNull();
    expect(shareableAsset([{ ...el, kind: 'generation', assetId: null }])).toBeNull();
  });
});

describe('Opening a share link in Iskra', () => {
  it('places the image on the open canvas once', async () => {
    const a = await app();
    const asset = await upload(a);
    const link = await backend.shareAsset(asset);
    const before = a.canvas.elementCount;
    backend.openSharedLink(link.shortId);
    await vi.waitFor(() => expect(a.canvas.elementCount).toBe(before + 1));
    expect(toasts.items.at(-1)?.message).toBe('Added the shared image to this project');
    expect((await backend.listShares())[0]?.downloads).toBe(1);
    await a.sharing.receive();
    expect(a.canvas.elementCount).toBe(before + 1);
  });

  it('a revoked link says so', async () => {
    const a = await app();
    const asset = await upload(a);
    const link = await backend.shareAsset(asset);
    await backend.unshareAsset(asset);
    expect(() => backend.openSharedLink(link.shortId)).toThrow(/no longer works/);
    expect(a.sharing.linkOf(asset)).toBeNull();
  });
});

describe('Gallery', () => {
  it('lists generated images newest first, page by page, without uploads', async () => {
    const a = await app();
    const made = await generate(a, ['a lighthouse', 'a fox', 'a boat']);
    await upload(a);
    a.showGallery();
    await vi.waitFor(() => expect(a.gallery.state).toBe('ready'));
    expect(a.view).toBe('gallery');
    expect(a.gallery.items.map((i) => i.assetId).sort()).toEqual([...made].sort());
    expect(a.gallery.items.every((i) => i.prompt.startsWith('a ') && i.size.includes('x'))).toBe(true);
    expect(a.gallery.hasMore).toBe(false);

    // A small page size: the cursor brings the rest, each image once.
    const page = await backend.gallery({ sort: 'created', order: 'desc', cursor: null, limit: 2 });
    expect(page.items).toHaveLength(2);
    const rest = await backend.gallery({ sort: 'created', order: 'desc', cursor: page.nextCursor, limit: 2 });
    expect(rest.nextCursor).toBeNull();
    expect([...page.items, ...rest.items].map((i) => i.assetId).sort()).toEqual([...made].sort());
  });

  it('loads more with the cursor and appends', async () => {
    const a = await app();
    const made = await generate(a, ['one', 'two', 'three']);
    const real = backend.gallery.bind(backend);
    backend.gallery = (q) => real({ ...q, limit: 2 });
    a.showGallery();
    await vi.waitFor(() => expect(a.gallery.state).toBe('ready'));
    expect(a.gallery.items).toHaveLength(2);
    expect(a.gallery.hasMore).toBe(true);
    await a.gallery.loadMore();
    expect(a.gallery.items.map((i) => i.assetId).sort()).toEqual([...made].sort());
    expect(a.gallery.hasMore).toBe(false);
  });

  it('sorts by downloads, with counts and share state, and keeps the badges in step', async () => {
    const a = await app();
    const [older, newer] = await generate(a, ['older', 'newer']);
    const link = await backend.shareAsset(older!);
    backend.shares.visit(link.shortId, 'view');
    backend.shares.visit(link.shortId, 'download');
    a.showGallery();
    a.gallery.setSort('downloads');
    await vi.waitFor(() => expect(a.gallery.state).toBe('ready'));
    expect(a.gallery.sort).toBe('downloads');
    const [first, second] = a.gallery.items;
    expect(first?.assetId).toBe(older);
    expect([first?.views, first?.downloads]).toEqual([1, 1]);
    expect(first?.share?.shortId).toBe(link.shortId);
    expect(second?.assetId).toBe(newer);
    expect(second?.share).toBeNull();
    expect(a.sharing.linkOf(older!)).toEqual(link);
    expect(a.sharing.linkOf(newer!)).toBeNull();
  });

  it('places an image on the canvas', async () => {
    const a = await app();
    const [made] = await generate(a, ['a kite']);
    const before = a.canvas.elementCount;
    a.showGallery();
    await vi.waitFor(() => expect(a.gallery.state).toBe('ready'));
    expect(await a.gallery.place(a.gallery.items[0]!)).toBe(true);
    expect(a.canvas.elementCount).toBe(before + 1);
    expect(toasts.items.at(-1)?.message).toBe('Placed on the canvas');
    expect(made).toBeTruthy();
  });

  it('signed out, shows nothing and asks for nothing', async () => {
    const a = await app(false);
    a.showGallery();
    await vi.waitFor(() => expect(a.gallery.state).toBe('ready'));
    expect(a.gallery.items).toEqual([]);
  });
});
