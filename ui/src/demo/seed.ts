/**
 * `?demo`: fills a `MemoryBackend` with a believable workspace — a moodboard of generated
 * artwork and two short generated videos, a few more projects with their tiles, an account —
 * so the real UI can be tried (and screenshotted) in a plain browser.
 *
 * URL flags: `offline` (signed in, connection lost, changes waiting and two refused
 * operations), `storage=high` (library at 84 % of the free plan), `stress=N` (N extra images
 * on a second canvas, for performance checks).
 */
import type { MemoryBackend } from '../backend/memory/memoryBackend';
import type { Element } from '../backend/types';
import { type ArtKind, PALETTES, paint } from './art';
import { collagePng } from './collage';
import { recordVideo } from './video';
import { fitBounds } from '../canvas/math/camera';
import { aabb, unionRects } from '../canvas/math/geometry';
import { seedApiKeys } from './apiKeys';

interface Piece {
  kind: ArtKind;
  w: number;
  h: number;
  palette: number;
}

/** The moodboard: five columns of artwork of mixed aspect ratios. */
const BOARD: Piece[][] = [
  [
    { kind: 'dusk', w: 1024, h: 1536, palette: 0 },
    { kind: 'planet', w: 1024, h: 1024, palette: 3 },
  ],
  [
    { kind: 'nebula', w: 1024, h: 1024, palette: 3 },
    { kind: 'city', w: 1536, h: 1024, palette: 2 },
    { kind: 'bauhaus', w: 1024, h: 1024, palette: 5 },
  ],
  [
    { kind: 'waves', w: 1536, h: 1024, palette: 1 },
    { kind: 'aurora', w: 1024, h: 1536, palette: 4 },
  ],
  [
    { kind: 'dunes', w: 1024, h: 1024, palette: 5 },
    { kind: 'dusk', w: 1536, h: 1024, palette: 2 },
    { kind: 'nebula', w: 1024, h: 1024, palette: 0 },
  ],
  [
    { kind: 'planet', w: 1024, h: 1536, palette: 1 },
    { kind: 'city', w: 1024, h: 1024, palette: 3 },
  ],
];

const COLUMN_W = 420;
const GAP = 36;

async function artAsset(backend: MemoryBackend, p: Piece, seed: number): Promise<{ id: string; piece: Piece }> {
  const canvas = paint(p.kind, p.w, p.h, seed, PALETTES[p.palette]!);
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
  const id = await backend.importBytes(new Uint8Array(await blob.arrayBuffer()), 'image/jpeg', 'generation');
  return { id, piece: p };
}

function imageElement(assetId: string, x: number, y: number, width: number, height: number, rotation = 0): Omit<Element, 'id' | 'z'> {
  return { kind: 'image', assetId, x, y, width, height, rotation, locked: false, playback: null, generationId: null };
}

function hoursAgo(h: number): string {
  return new Date(Date.now() - h * 3_600_000).toISOString();
}

export async function seedDemo(backend: MemoryBackend, params: URLSearchParams): Promise<void> {
  const offline = params.has('offline');
  await backend.signIn();
  await seedApiKeys(backend);

  // The moodboard.
  const board = await backend.createProject('Nebula moodboard');
  const elements: Omit<Element, 'id' | 'z'>[] = [];
  let seed = 11;
  for (const [col, pieces] of BOARD.entries()) {
    let y = col % 2 === 0 ? 0 : 90;
    for (const p of pieces) {
      const { id } = await artAsset(backend, p, seed++ * 7919);
      const h = (COLUMN_W * p.h) / p.w;
      elements.push(imageElement(id, col * (COLUMN_W + GAP), y, COLUMN_W, h));
      y += h + GAP;
    }
  }
  const videos = await Promise.all([recordVideo('aurora', 4), recordVideo('waves', 1)]);
  let vy = 0;
  for (const v of videos) {
    if (!v) continue;
    const id = await backend.importBytes(v, 'video/webm', 'generation');
    elements.push({ kind: 'video', assetId: id, x: 5 * (COLUMN_W + GAP) + 40, y: 120 + vy, width: 560, height: 315, rotation: 0, locked: false, playback: { playing: false, currentTime: 1.2, muted: true }, generationId: null });
    vy += 315 + GAP;
  }
  // Open on everything, as "fit to content" would (the window minus top and status bars).
  const view = { width: window.innerWidth, height: Math.max(200, window.innerHeight - 78) };
  const viewport = fitBounds(unionRects(elements.map((e) => aabb(e))), view, 56, 1);
  const boardIds = backend.seedElements(board.id, elements, viewport);
  const boardOpen = await backend.openProject(board.id);
  await backend.saveProjectThumbnail(board.id, await collagePng(boardOpen.elements, (a) => backend.assetUrl(a, 'thumb'), '#111215'));

  // More projects, with tiles rendered from their elements.
  const extra: [string, ArtKind[], number][] = [
    ['Product shots — spring', ['bauhaus', 'dunes', 'bauhaus', 'dusk'], 30],
    ['Storyboard v2', ['city', 'city', 'waves', 'aurora', 'dusk', 'planet'], 52],
    ['Iskra 01', [], 220],
    ['Album cover ideas', ['nebula', 'planet', 'aurora'], 26 * 7],
    ['Ember tea — packaging', ['bauhaus', 'dusk', 'dunes', 'bauhaus', 'waves'], 75],
    ['Music video references', ['aurora', 'city', 'nebula', 'waves'], 9],
    ['Character sheets', ['planet', 'dusk'], 31 * 24],
  ];
  for (const [name, kinds, age] of extra) {
    const p = await backend.createProject(name);
    const els: Omit<Element, 'id' | 'z'>[] = [];
    for (const [i, kind] of kinds.entries()) {
      const { id } = await artAsset(backend, { kind, w: 768, h: 768, palette: (i + name.length) % PALETTES.length }, seed++ * 104729);
      els.push(imageElement(id, (i % 3) * 560, Math.floor(i / 3) * 560, 520, 520, i === 1 ? 0.05 : 0));
    }
    if (els.length > 0) {
      const ids = backend.seedElements(p.id, els);
      const open = await backend.openProject(p.id);
      const png = await collagePng(open.elements.filter((e) => ids.includes(e.id)), (a) => backend.assetUrl(a, 'thumb'), '#111215');
      await backend.saveProjectThumbnail(p.id, png);
    }
    backend.touchProject(p.id, hoursAgo(age));
  }

  if (params.get('stress')) await seedStress(backend, Number(params.get('stress')) || 2000, boardIds.length);

  // The moodboard is the project to restore, edited a few minutes ago.
  backend.touchProject(board.id, hoursAgo(0.08));
  await backend.openProject(board.id);
  if (params.get('storage') === 'high') backend.remoteUsage = { bytes: 398_600_000, images: 40, videos: 9 };
  else backend.remoteUsage = { bytes: 38_400_000, images: 14, videos: 2 };
  backend.sync.flush();

  if (offline) {
    backend.setOnline(false);
    await backend.updateElements(board.id, [{ id: boardIds[1]!, props: { rotation: -0.04 } }]);
    await backend.updateElements(board.id, [{ id: boardIds[7]!, props: { rotation: 0.035 } }]);
    backend.sync.pending = 7;
    backend.sync.rejected = [
      {
        opId: crypto.randomUUID(),
        projectId: board.id,
        projectName: 'Nebula moodboard',
        summary: 'Upload “hero-final.mp4”',
        error: { code: 'STORAGE_QUOTA_EXCEEDED', message: 'Storage is full on the free plan.' },
        rejectedAt: hoursAgo(1.2),
      },
      {
        opId: crypto.randomUUID(),
        projectId: null,
        projectName: 'Storyboard v2',
        summary: 'Rename project',
        error: { code: 'VALIDATION_FAILED', message: 'Names can be at most 200 characters.' },
        rejectedAt: hoursAgo(3),
      },
    ];
    backend.sync.setOnline(false);
  }
}

/** A second canvas with `n` images from a few assets, for culling and LOD checks. */
async function seedStress(backend: MemoryBackend, n: number, _boardCount: number): Promise<void> {
  const p = await backend.createProject(`Stress ${n}`);
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) ids.push((await artAsset(backend, { kind: (['dusk', 'nebula', 'planet', 'city', 'waves', 'dunes'] as ArtKind[])[i % 6]!, w: 512, h: 512, palette: i % PALETTES.length }, 9000 + i)).id);
  const cols = Math.ceil(Math.sqrt(n));
  const els = Array.from({ length: n }, (_, i) => imageElement(ids[i % ids.length]!, (i % cols) * 560, Math.floor(i / cols) * 560, 512, 512));
  backend.seedElements(p.id, els, { x: 0, y: 0, scale: 0.05 });
}
