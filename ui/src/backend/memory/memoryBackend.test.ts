import { afterEach, describe, expect, it } from 'vitest';
import type { MemoryFiles, PickedFile } from './files';
import type { MediaProbe } from './media';
import { MemoryBackend } from './memoryBackend';
import type { CanvasDelta, FileSource } from '../types';

/** A probe that reads "width×height" from the bytes instead of decoding anything. */
const probe: MediaProbe = async (bytes, mimeType) => {
  const [w, h] = new TextDecoder().decode(bytes).split('x').map(Number);
  const video = mimeType.startsWith('video/');
  return { type: video ? 'video' : 'image', width: w ?? 1, height: h ?? 1, durationMs: video ? 4000 : null, url: 'u', thumbUrl: 't' };
};

function file(spec: string, mimeType = 'image/png'): FileSource {
  return { kind: 'bytes', name: `${spec}.png`, mimeType, bytes: new TextEncoder().encode(spec) };
}

let counter = 0;
let backend: MemoryBackend;

function make(files?: MemoryFiles): MemoryBackend {
  counter = 0;
  backend = new MemoryBackend({
    probe,
    syncDelayMs: 0,
    newId: () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`,
    ...(files ? { files } : {}),
  });
  return backend;
}

afterEach(() => backend?.dispose());

async function withCanvas(): Promise<{ b: MemoryBackend; pid: string; ids: string[] }> {
  const b = make();
  const p = await b.createProject(null);
  const d = await b.addFiles(p.id, [file('400x200'), file('100x100'), file('640x360', 'video/mp4')], { x: 0, y: 0 });
  return { b, pid: p.id, ids: d.upserted.map((e) => e.id) };
}

describe('projects', () => {
  it('names new projects with the next free number', async () => {
    const b = make();
    const a = await b.createProject(null);
    const c = await b.createProject(null);
    expect([a.name, c.name]).toEqual(['Iskra 01', 'Iskra 02']);
    await b.deleteProject(a.id);
    expect((await b.createProject(null)).name).toBe('Iskra 01');
    expect((await b.createProject('  Moodboard ')).name).toBe('Moodboard');
  });

  it('renames, searches and sorts', async () => {
    const b = make();
    const a = await b.createProject('Zebra shoot');
    await b.createProject('alpha');
    await b.renameProject(a.id, 'Zebra final');
    await expect(b.renameProject(a.id, '   ')).rejects.toThrow('needs a name');
    const byName = await b.listProjects({ query: '', sort: 'name', order: 'asc' });
    expect(byName.map((p) => p.name)).toEqual(['alpha', 'Zebra final']);
    const found = await b.listProjects({ query: 'ZEB', sort: 'updated', order: 'desc' });
    expect(found.map((p) => p.name)).toEqual(['Zebra final']);
  });

  it('restores the most recently opened project and forgets deleted ones', async () => {
    const b = make();
    const a = await b.createProject(null);
    expect(await b.recentProject()).toBeNull();
    await b.openProject(a.id);
    expect(await b.recentProject()).toBe(a.id);
    await b.deleteProject(a.id);
    expect(await b.recentProject()).toBeNull();
    await expect(b.openProject(a.id)).rejects.toThrow('no longer exists');
  });
});

describe('canvas edits', () => {
  it('places files in a row centred on the drop point and counts them', async () => {
    const { b, pid } = await withCanvas();
    const open = await b.openProject(pid);
    expect(open.elements.map((e) => e.kind)).toEqual(['image', 'image', 'video']);
    const [first, , last] = open.elements;
    expect(first!.x).toBeLessThan(0);
    expect(last!.x + last!.width).toBeGreaterThan(0);
    expect(open.elements[2]!.playback).toEqual({ playing: false, currentTime: 0, muted: true });
    expect(open.selection).toHaveLength(3);
    const [project] = await b.listProjects({ query: '', sort: 'updated', order: 'desc' });
    expect([project!.imageCount, project!.videoCount]).toEqual([2, 1]);
  });

  it('undoes and redoes updates, deletes and adds', async () => {
    const { b, pid, ids } = await withCanvas();
    const [a] = ids;
    const x0 = (await b.openProject(pid)).elements[0]!.x;
    await b.updateElements(pid, [{ id: a!, props: { x: 500, rotation: 1 } }]);
    let d = await b.undo(pid);
    expect(d.upserted[0]).toMatchObject({ id: a, x: x0, rotation: 0 });
    expect(d.canRedo).toBe(true);
    d = await b.redo(pid);
    expect(d.upserted[0]).toMatchObject({ x: 500, rotation: 1 });

    await b.deleteElements(pid, [a!]);
    expect((await b.openProject(pid)).elements).toHaveLength(2);
    d = await b.undo(pid);
    expect(d.upserted.map((e) => e.id)).toEqual([a]);
    expect(d.selection).toEqual([a]);
    expect((await b.openProject(pid)).elements).toHaveLength(3);

    // Undo past the add removes the files again; redo brings them back with the same ids.
    await b.undo(pid); // the update
    d = await b.undo(pid); // the add
    expect(d.deleted.sort()).toEqual([...ids].sort());
    expect(d.canUndo).toBe(false);
    d = await b.redo(pid);
    expect(d.upserted.map((e) => e.id).sort()).toEqual([...ids].sort());
  });

  it('a new edit clears the redo stack', async () => {
    const { b, pid, ids } = await withCanvas();
    await b.updateElements(pid, [{ id: ids[0]!, props: { x: 1 } }]);
    await b.undo(pid);
    const d = await b.updateElements(pid, [{ id: ids[0]!, props: { y: 1 } }]);
    expect(d.canRedo).toBe(false);
    expect((await b.redo(pid)).upserted).toEqual([]);
  });

  it('keeps viewport, selection and playback out of undo history', async () => {
    const { b, pid, ids } = await withCanvas();
    await b.undo(pid); // remove the files: nothing left to undo
    await b.redo(pid);
    const before = (await b.openProject(pid)).canUndo;
    await b.setViewport(pid, { x: 10, y: 20, scale: 2 });
    await b.setSelection(pid, [ids[0]!, 'unknown']);
    await b.setPlayback(pid, { elementId: ids[2]!, playback: { playing: true, currentTime: 1.5, muted: false } });
    const open = await b.openProject(pid);
    expect(open.viewport).toEqual({ x: 10, y: 20, scale: 2 });
    expect(open.selection).toEqual([ids[0]]);
    expect(open.elements.find((e) => e.id === ids[2])!.playback).toEqual({ playing: true, currentTime: 1.5, muted: false });
    expect(open.canUndo).toBe(before);
    await expect(b.setViewport(pid, { x: 0, y: 0, scale: 0 })).rejects.toThrow();
  });

  it('duplicates on top with an offset and selects the copies', async () => {
    const { b, pid, ids } = await withCanvas();
    const d = await b.duplicateElements(pid, [ids[0]!], { x: 24, y: 24 });
    const open = await b.openProject(pid);
    const src = open.elements.find((e) => e.id === ids[0])!;
    const copy = d.upserted[0]!;
    expect(copy.id).not.toBe(src.id);
    expect([copy.x - src.x, copy.y - src.y]).toEqual([24, 24]);
    expect(open.elements[open.elements.length - 1]!.id).toBe(copy.id);
    expect(d.selection).toEqual([copy.id]);
  });

  it('reorders with one undo step', async () => {
    const { b, pid, ids } = await withCanvas();
    await b.reorderElements(pid, [ids[0]!], 'front');
    expect((await b.openProject(pid)).elements.map((e) => e.id)).toEqual([ids[1], ids[2], ids[0]]);
    await b.undo(pid);
    expect((await b.openProject(pid)).elements.map((e) => e.id)).toEqual(ids);
  });

  it('locked elements refuse edits other than unlocking', async () => {
    const { b, pid, ids } = await withCanvas();
    await b.updateElements(pid, [{ id: ids[0]!, props: { locked: true } }]);
    const d: CanvasDelta = await b.updateElements(pid, [{ id: ids[0]!, props: { x: 999 } }]);
    expect(d.upserted).toEqual([]);
    await b.updateElements(pid, [{ id: ids[0]!, props: { locked: false } }]);
    expect((await b.updateElements(pid, [{ id: ids[0]!, props: { x: 999 } }])).upserted[0]!.x).toBe(999);
  });

  it('refuses invalid geometry', async () => {
    const { b, pid, ids } = await withCanvas();
    await expect(b.updateElements(pid, [{ id: ids[0]!, props: { width: 0 } }])).rejects.toThrow('greater than 0');
    await expect(b.updateElements(pid, [{ id: ids[0]!, props: { x: Number.NaN } }])).rejects.toThrow('finite');
  });
});

describe('assets and quota', () => {
  it('deduplicates by content, reports usage and leaves placeholders on delete', async () => {
    const { b, pid, ids } = await withCanvas();
    await b.addFiles(pid, [file('400x200')], { x: 0, y: 0 });
    const assets = await b.listAssets({ sort: 'size', order: 'desc', type: null });
    expect(assets).toHaveLength(3);
    const first = (await b.openProject(pid)).elements.find((e) => e.id === ids[0])!;
    const used = assets.find((a) => a.id === first.assetId)!;
    expect(used.usageCount).toBe(2);
    expect(await b.listAssets({ sort: 'created', order: 'desc', type: 'video' })).toHaveLength(1);

    await b.deleteAsset(used.id);
    const open = await b.openProject(pid);
    expect(open.elements).toHaveLength(4);
    expect(open.elements.find((e) => e.id === ids[0])!.assetId).toBe(used.id);
    expect(b.assetUrl(used.id, 'full')).toBe('');
  });

  it('reports storage against the limits', async () => {
    const { b } = await withCanvas();
    const q = await b.storageQuota();
    expect(q.storage.images).toBe(2);
    expect(q.storage.videos).toBe(1);
    expect(q.storage.usedBytes).toBe('400x200'.length + '100x100'.length + '640x360'.length);
    expect(q.storage.overLimit).toBe(false);
    await expect(b.addFiles((await b.createProject(null)).id, [file('x', 'text/plain')], { x: 0, y: 0 })).rejects.toThrow('not an image');
  });
});

describe('sync status and account', () => {
  it('queues edits offline and flushes them on reconnect', async () => {
    const b = make();
    await b.signIn();
    const p = await b.createProject(null);
    b.sync.flush();
    expect((await b.syncStatus()).autosave.state).toBe('saved');
    b.setOnline(false);
    await b.addFiles(p.id, [file('10x10')], { x: 0, y: 0 });
    let s = await b.syncStatus();
    expect(s.autosave).toEqual({ state: 'offline' });
    expect(s.online).toBe(false);
    expect(s.pending).toBeGreaterThan(0);
    b.setOnline(true);
    b.sync.flush();
    s = await b.syncStatus();
    expect(s.pending).toBe(0);
    expect(s.autosave.state).toBe('saved');
  });

  it('retries and discards rejected operations', async () => {
    const b = make();
    await b.signIn();
    const rejected = (opId: string) => ({
      opId,
      projectId: null,
      projectName: null,
      summary: 'Upload photo.png',
      error: { code: 'STORAGE_QUOTA_EXCEEDED' as const, message: 'Storage is full' },
      rejectedAt: new Date().toISOString(),
    });
    b.sync.rejected = [rejected('1'), rejected('2')];
    await b.retryRejected('1');
    await b.discardRejected('2');
    const s = await b.syncStatus();
    expect(s.rejected).toEqual([]);
    expect(s.pending).toBe(1);
  });

  it('signs in and out, keeping local data unless asked', async () => {
    const b = make();
    const seen: boolean[] = [];
    b.on('accountChanged', (a) => seen.push(a.signedIn));
    expect(await b.account()).toEqual({ signedIn: false });
    const a = await b.signIn();
    expect(a.signedIn && a.email).toContain('@');
    await b.createProject(null);
    await b.signOut(false);
    expect(await b.listProjects({ query: '', sort: 'name', order: 'asc' })).toHaveLength(1);
    await b.signIn();
    await b.signOut(true);
    expect(await b.listProjects({ query: '', sort: 'name', order: 'asc' })).toHaveLength(0);
    expect(seen).toEqual([true, false, true, false]);
  });
});

describe('projects made while signed out (D6)', () => {
  /** Signed out: a project with an image, and an empty one; then signed in, synced. */
  async function signedOutWork(): Promise<{ b: MemoryBackend; pid: string; ids: string[] }> {
    const b = make();
    const p = await b.createProject('Trip');
    const d = await b.addFiles(p.id, [file('10x10')], { x: 0, y: 0 });
    await b.createProject(null);
    await b.signIn();
    b.sync.flush();
    return { b, pid: p.id, ids: d.upserted.map((e) => e.id) };
  }

  it('offers them once signed in and sends nothing of them until added', async () => {
    const { b, pid, ids } = await signedOutWork();
    await b.updateElements(pid, [{ id: ids[0]!, props: { x: 5 } }]);
    expect((await b.syncStatus()).pending).toBe(0);
    const offer = await b.localProjects();
    expect(offer.count).toBe(2);
    expect([...offer.names].sort()).toEqual(['Iskra 01', 'Trip']);
    expect(offer.deviceOnlyIds).toContain(pid);

    expect(await b.importLocalProjects(false)).toBe(2);
    expect((await b.syncStatus()).pending).toBeGreaterThan(0);
    expect(await b.localProjects()).toEqual({ count: 0, names: [], deviceOnlyIds: [] });
    // Answered once: what is made while signed out later syncs at the next sign-in.
    await b.signOut(false);
    await b.createProject(null);
    await b.signIn();
    expect((await b.localProjects()).count).toBe(0);
  });

  it('keeps them on this device only, and adds one later', async () => {
    const { b, pid, ids } = await signedOutWork();
    expect(await b.importLocalProjects(true)).toBe(2);
    await b.updateElements(pid, [{ id: ids[0]!, props: { y: 7 } }]);
    await b.renameProject(pid, 'Private');
    expect((await b.syncStatus()).pending).toBe(0);
    const local = await b.localProjects();
    expect(local.count).toBe(0);
    expect(local.deviceOnlyIds).toHaveLength(2);

    await b.addProjectToAccount(pid);
    expect((await b.syncStatus()).pending).toBe(2); // the creation and the one element
    expect((await b.localProjects()).deviceOnlyIds).not.toContain(pid);
    await b.addProjectToAccount(pid); // already in the account: nothing more
    expect((await b.syncStatus()).pending).toBe(2);
    await expect(b.addProjectToAccount('unknown')).rejects.toThrow('no longer exists');
  });

  it('projects made while signed in are never offered', async () => {
    const b = make();
    await b.signIn();
    await b.createProject(null);
    expect(await b.localProjects()).toEqual({ count: 0, names: [], deviceOnlyIds: [] });
  });
});

/** Files that records what was saved and answers the pickers from a queue (null: cancelled). */
class FakeFiles implements MemoryFiles {
  saved: { name: string; bytes: Uint8Array; mimeType: string }[] = [];
  picks: (PickedFile | null)[] = [];
  folders: (string | null)[] = [];
  save(name: string, bytes: Uint8Array, mimeType: string): void {
    this.saved.push({ name, bytes, mimeType });
  }
  async pick(): Promise<PickedFile | null> {
    return this.picks.shift() ?? null;
  }
  async pickFolder(): Promise<string | null> {
    return this.folders.shift() ?? null;
  }
}

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

describe('export and import (D9)', () => {
  it('downloads a rendered PNG under its name and refuses what is not a PNG', async () => {
    const files = new FakeFiles();
    const b = make(files);
    expect(await b.exportPng('Moodboard', async () => PNG)).toBe('Moodboard.png');
    expect(await b.exportPng('Shot.PNG', async () => PNG)).toBe('Shot.PNG');
    expect(files.saved.map((f) => [f.name, f.mimeType])).toEqual([
      ['Moodboard.png', 'image/png'],
      ['Shot.PNG', 'image/png'],
    ]);
    expect(files.saved[0]!.bytes).toEqual(PNG);
    await expect(b.exportPng('x', async () => new TextEncoder().encode('GIF89a'))).rejects.toMatchObject({ kind: 'unsupportedFile' });
    expect(files.saved).toHaveLength(2);
  });

  it('round-trips a project through an .iskra bundle as a new project', async () => {
    const files = new FakeFiles();
    const b = make(files);
    const p = await b.createProject('Shoot');
    const added = await b.addFiles(p.id, [file('400x200'), file('640x360', 'video/mp4')], { x: 0, y: 0 });
    await b.updateElements(p.id, [{ id: added.upserted[0]!.id, props: { rotation: 0.5, locked: true } }]);
    await b.setViewport(p.id, { x: 10, y: 20, scale: 2 });

    const exported = await b.exportProject(p.id, 'Shoot');
    expect(exported).toEqual({ path: 'Shoot.iskra', elements: 2, assets: 2 });
    files.picks.push({ name: 'Shoot.iskra', bytes: files.saved[0]!.bytes });
    const imported = await b.importProject();
    expect(imported?.name).toBe('Shoot');
    expect(imported?.id).not.toBe(p.id);
    expect([imported?.imageCount, imported?.videoCount]).toEqual([1, 1]);

    const before = await b.openProject(p.id);
    const after = await b.openProject(imported!.id);
    const shape = (o: typeof before) => o.elements.map(({ id: _id, z: _z, ...rest }) => rest);
    expect(shape(after)).toEqual(shape(before));
    expect(after.viewport).toEqual({ x: 10, y: 20, scale: 2 });
    expect(after.canUndo).toBe(false);
  });

  it('imports nothing when cancelled and refuses files that are not bundles', async () => {
    const files = new FakeFiles();
    const b = make(files);
    expect(await b.importProject()).toBeNull();
    files.picks.push({ name: 'notes.iskra', bytes: new TextEncoder().encode('just text') });
    await expect(b.importProject()).rejects.toMatchObject({ kind: 'unsupportedFile', message: 'notes.iskra is not an .iskra project bundle' });
    files.picks.push({ name: 'other.iskra', bytes: new TextEncoder().encode('{"format":"something-else"}') });
    await expect(b.importProject()).rejects.toMatchObject({ kind: 'unsupportedFile' });
    expect(await b.listProjects({ query: '', sort: 'updated', order: 'desc' })).toEqual([]);
  });

  it('exports an unknown project as not found', async () => {
    const b = make(new FakeFiles());
    await expect(b.exportProject('nope', 'x')).rejects.toMatchObject({ kind: 'not_found' });
  });
});

describe('hot folders (D8)', () => {
  it('adds a folder once, removes it, and keeps the list in order', async () => {
    const b = make(new FakeFiles());
    expect(await b.hotFolders()).toEqual([]);
    const a = await b.addHotFolder('/home/mira/Inbox/');
    expect(a).toEqual({ folder: '/home/mira/Inbox', changed: true, folders: ['/home/mira/Inbox'] });
    expect((await b.addHotFolder('/home/mira/Inbox')).changed).toBe(false);
    await b.addHotFolder('~/Downloads');
    expect(await b.hotFolders()).toEqual(['/home/mira/Inbox', '~/Downloads']);
    const r = await b.removeHotFolder('/home/mira/Inbox');
    expect(r).toEqual({ folder: '/home/mira/Inbox', changed: true, folders: ['~/Downloads'] });
    expect((await b.removeHotFolder('/home/mira/Inbox')).changed).toBe(false);
  });

  it('refuses blank and relative paths', async () => {
    const b = make(new FakeFiles());
    await expect(b.addHotFolder('  ')).rejects.toMatchObject({ kind: 'invalidInput' });
    await expect(b.addHotFolder('Pictures')).rejects.toMatchObject({ kind: 'invalidInput' });
    expect(await b.hotFolders()).toEqual([]);
  });

  it('adds the folder the picker gives, nothing when cancelled', async () => {
    const files = new FakeFiles();
    const b = make(files);
    files.folders.push('C:\\Users\\mira\\Inbox', null);
    expect((await b.chooseHotFolder())?.folders).toEqual(['C:\\Users\\mira\\Inbox']);
    expect(await b.chooseHotFolder()).toBeNull();
    expect(await b.hotFolders()).toHaveLength(1);
  });
});
