/**
 * The real Tauri adapter against a mocked IPC (`@tauri-apps/api/mocks`): every method sends
 * the command name and argument object (or raw body and headers) of the contract and the
 * shell's Rust sources take exactly those, answers come back unchanged, failures become
 * `BackendError`, and every event reaches `on` under the name the shell emits.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GenerateRequest, LocalGeneration } from './types';

// The Tauri API reads `window.__TAURI_INTERNALS__`: Node's global object stands in for it.
(globalThis as unknown as { window: typeof globalThis }).window ??= globalThis;

const mocks = await import('@tauri-apps/api/mocks');
const { emit } = await import('@tauri-apps/api/event');
const { TauriBackend } = await import('./tauri');
const { BackendError } = await import('./backend');

type Call = { cmd: string; args: unknown };
let calls: Call[] = [];

function gen(over: Partial<LocalGeneration> = {}): LocalGeneration {
  return {
    id: 'local-1',
    serverId: null,
    projectId: 'p1',
    elementId: 'e1',
    kind: 'text-to-image',
    prompt: 'a red fox',
    model: 'fal-ai/flux/schnell',
    params: { numImages: 1 },
    status: 'waiting',
    queuePosition: null,
    error: null,
    outputs: [],
    createdAt: '2025-01-01T00:00:00Z',
    ...over,
  };
}

/** Answers each command with `answers[cmd]` (a function of the args, or a value). */
function ipc(answers: Record<string, unknown>): void {
  calls = [];
  mocks.mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args });
      if (!(cmd in answers)) throw { kind: 'unknown_command', message: `no mock for ${cmd}` };
      const a = answers[cmd];
      return typeof a === 'function' ? (a as (x: unknown) => unknown)(args) : a;
    },
    { shouldMockEvents: true },
  );
  watchInvoke(() => {});
}

type InvokeOptions = { headers?: Record<string, string> };
type Invoke = (cmd: string, args: unknown, options?: InvokeOptions) => Promise<unknown>;
let eventCalls: string[] = [];

/**
 * Wraps the mocked IPC: `onCall` sees every call as it is sent, and the event plugin's
 * answered calls (the mock answers them without the test's handler) are kept in `eventCalls`,
 * so a test waits until a listener is registered or removed instead of for a moment.
 */
function watchInvoke(onCall: (cmd: string, args: unknown, options?: InvokeOptions) => void): void {
  eventCalls = [];
  const internals = (window as unknown as { __TAURI_INTERNALS__: { invoke: Invoke } }).__TAURI_INTERNALS__;
  const mocked = internals.invoke;
  internals.invoke = async (cmd, args, options) => {
    onCall(cmd, args, options);
    const out = await mocked(cmd, args, options);
    if (cmd.startsWith('plugin:event|')) eventCalls.push(cmd);
    return out;
  };
}

/** Waits (with vitest's deadline) until the event plugin has answered `n` calls of `cmd`. */
async function eventPluginAnswered(cmd: 'listen' | 'unlisten', n = 1): Promise<void> {
  await vi.waitFor(() => expect(eventCalls.filter((c) => c === `plugin:event|${cmd}`)).toHaveLength(n));
}

beforeAll(() => {
  mocks.mockWindows('main');
});
afterEach(() => mocks.clearMocks());

describe('TauriBackend: generation commands', () => {
  const backend = new TauriBackend();

  it('list_models takes no arguments and returns the catalogue', async () => {
    const models = [{ id: 'fal-ai/flux/schnell', kind: 'text-to-image', label: 'FLUX', default: true, maxImages: 4, sizes: ['square_hd'] }];
    ipc({ list_models: models });
    await expect(backend.listModels()).resolves.toEqual(models);
    expect(calls).toEqual([{ cmd: 'list_models', args: {} }]);
  });

  it('generate sends { projectId, request } and returns the generation and its delta', async () => {
    const request: GenerateRequest = {
      kind: 'image-to-image',
      model: null,
      prompt: 'as a watercolour',
      imageSize: 'square_hd',
      numImages: 2,
      seed: null,
      durationS: null,
      sourceElementId: 'src-1',
      at: { x: 10, y: -20 },
    };
    const answer = {
      generation: gen({ kind: 'image-to-image', status: 'queued', serverId: 's1', queuePosition: 3 }),
      delta: { projectId: 'p1', upserted: [{ id: 'e1', kind: 'generation', assetId: null, x: 0, y: 0, width: 1, height: 1, rotation: 0, z: 'a0', locked: false, playback: null, generationId: 's1' }], deleted: [], canUndo: false, canRedo: false },
    };
    ipc({ generate: answer });
    await expect(backend.generate('p1', request)).resolves.toEqual(answer);
    expect(calls).toEqual([{ cmd: 'generate', args: { projectId: 'p1', request } }]);
  });

  it('list_generations passes the project id, or null for every project', async () => {
    ipc({ list_generations: (args: { projectId: string | null }) => (args.projectId === null ? [gen(), gen({ id: 'local-2', projectId: 'p2' })] : [gen()]) });
    expect(await backend.listGenerations('p1')).toHaveLength(1);
    expect(await backend.listGenerations(null)).toHaveLength(2);
    expect(calls.map((c) => c.args)).toEqual([{ projectId: 'p1' }, { projectId: null }]);
  });

  it('cancel_generation and retry_generation send { id }', async () => {
    ipc({ cancel_generation: gen({ status: 'canceled' }), retry_generation: gen({ status: 'queued' }) });
    expect((await backend.cancelGeneration('local-1')).status).toBe('canceled');
    expect((await backend.retryGeneration('local-1')).status).toBe('queued');
    expect(calls).toEqual([
      { cmd: 'cancel_generation', args: { id: 'local-1' } },
      { cmd: 'retry_generation', args: { id: 'local-1' } },
    ]);
  });

  it('a refused command becomes a BackendError with its kind and message', async () => {
    ipc({
      generate: () => {
        throw { kind: 'unauthenticated', message: 'Sign in to generate images and videos' };
      },
    });
    const err = await backend.generate('p1', { kind: 'text-to-image', model: null, prompt: 'x', imageSize: null, numImages: null, seed: null, durationS: null, sourceElementId: null, at: { x: 0, y: 0 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toMatchObject({ kind: 'unauthenticated', message: 'Sign in to generate images and videos' });
  });

  it('generation-changed events reach on("generationChanged")', async () => {
    ipc({});
    const seen: LocalGeneration[] = [];
    const off = backend.on('generationChanged', (g) => seen.push(g));
    // listen() registers asynchronously.
    await eventPluginAnswered('listen');
    const failed = gen({
      status: 'failed',
      error: { code: 'RATE_LIMITED', message: 'hour limit of 15 reached', limit: { window: 'hour', limit: 15, used: 15, remaining: 0, resetsAt: '2025-01-01T14:00:00Z', tier: 'free', upgradeUrl: 'https://iskra.app/pricing' }, storage: null, credits: null },
    });
    await emit('generation-changed', failed);
    expect(seen).toEqual([failed]);
    off();
    await eventPluginAnswered('unlisten');
    await emit('generation-changed', gen());
    expect(seen).toHaveLength(1);
  });
});

describe('TauriBackend: credits and billing commands', () => {
  const backend = new TauriBackend();
  const credits = { available: 88, reserved: 6, allocation: 88, grants: 0, monthlyAllocation: 100, periodEndsAt: '2025-03-01T00:00:00Z', plan: 'free' };

  it('get_credits, estimate_generation, open_checkout and open_billing_portal send the contract', async () => {
    const request = { kind: 'text-to-image' as const, model: 'fal-ai/flux/dev', numImages: 2, imageSize: 'square_hd', durationS: null };
    ipc({
      get_credits: credits,
      estimate_generation: { credits: 6, available: 88, model: 'fal-ai/flux/dev' },
      open_checkout: (args: { plan: string }) => `https://checkout.stripe.com/c/pay/${args.plan}`,
      open_billing_portal: 'https://billing.stripe.com/p/session/x',
    });
    await expect(backend.credits()).resolves.toEqual(credits);
    await expect(backend.estimateGeneration(request)).resolves.toEqual({ credits: 6, available: 88, model: 'fal-ai/flux/dev' });
    await expect(backend.openCheckout('pro')).resolves.toBe('https://checkout.stripe.com/c/pay/pro');
    await expect(backend.openBillingPortal()).resolves.toBe('https://billing.stripe.com/p/session/x');
    expect(calls).toEqual([
      { cmd: 'get_credits', args: {} },
      { cmd: 'estimate_generation', args: { request } },
      { cmd: 'open_checkout', args: { plan: 'pro' } },
      { cmd: 'open_billing_portal', args: {} },
    ]);
  });

  it('a server without billing answers with kind "unavailable"', async () => {
    ipc({
      open_checkout: () => {
        throw { kind: 'unavailable', message: 'Billing is not available on this server' };
      },
    });
    await expect(backend.openCheckout('enterprise')).rejects.toMatchObject({ kind: 'unavailable', message: 'Billing is not available on this server' });
  });

  it('credits-changed events reach on("creditsChanged")', async () => {
    ipc({});
    const seen: unknown[] = [];
    const off = backend.on('creditsChanged', (c) => seen.push(c));
    await eventPluginAnswered('listen');
    await emit('credits-changed', credits);
    await emit('credits-changed', null);
    expect(seen).toEqual([credits, null]);
    off();
  });
});

/*
 * Every command and event of the contract, table-driven: the command name and argument object
 * (or raw body and headers) each method sends, that the answer comes back unchanged, and —
 * read from the shell's Rust sources — that the shell registers that command with exactly
 * those parameters (camelCase here, snake_case there) and emits each event name. A command in
 * `COMMANDS` without a case here fails the coverage test.
 */
const { COMMANDS, EVENTS } = await import('./commands');
const { readFileSync, readdirSync } = await import('node:fs');

type Sent = { cmd: string; args: unknown; headers?: Record<string, string> };
type Case = {
  /** What the test calls. */
  run: (b: InstanceType<typeof TauriBackend>) => Promise<unknown>;
  /** What reaches the shell, in order. */
  sent: Sent[];
  /** Answers other than `{ answerOf: cmd }`. */
  answers?: Record<string, unknown>;
  /** What `run` resolves to, when not the last command's answer. */
  resolves?: unknown;
};

const answerOf = (cmd: string) => ({ answerOf: cmd });
const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
const at = { x: 12, y: -7 };
const delta = (n: number) => ({ projectId: 'p1', upserted: [{ id: `e${n}` }], deleted: [`d${n}`], canUndo: n > 1, canRedo: false, selection: [`e${n}`] });
const x = <T>(v: unknown) => v as T;

const CASES: Record<string, Case> = {
  listProjects: { run: (b) => b.listProjects(x({ sort: 'updated', search: 'fox' })), sent: [{ cmd: 'list_projects', args: { query: { sort: 'updated', search: 'fox' } } }] },
  createProject: { run: (b) => b.createProject(null), sent: [{ cmd: 'create_project', args: { name: null } }] },
  renameProject: { run: (b) => b.renameProject('p1', 'Moodboard'), sent: [{ cmd: 'rename_project', args: { id: 'p1', name: 'Moodboard' } }] },
  deleteProject: { run: (b) => b.deleteProject('p1'), sent: [{ cmd: 'delete_project', args: { id: 'p1' } }] },
  recentProject: { run: (b) => b.recentProject(), sent: [{ cmd: 'recent_project', args: {} }] },
  openProject: { run: (b) => b.openProject('p1'), sent: [{ cmd: 'open_project', args: { id: 'p1' } }] },
  saveProjectThumbnail: { run: (b) => b.saveProjectThumbnail('p1', bytes), sent: [{ cmd: 'save_project_thumbnail', args: bytes, headers: { 'x-project-id': 'p1' } }] },
  addFiles: {
    run: (b) => b.addFiles('p1', [{ kind: 'path', path: '/pics/a.png' }, { kind: 'bytes', name: 'pasted image.png', mimeType: 'image/png', bytes }], at),
    sent: [
      { cmd: 'add_files', args: { projectId: 'p1', paths: ['/pics/a.png'], at } },
      { cmd: 'import_bytes', args: bytes, headers: { 'x-file-name': 'pasted%20image.png' } },
      { cmd: 'add_assets', args: { projectId: 'p1', assetIds: ['sha-1'], at } },
    ],
    answers: { add_files: delta(1), import_bytes: 'sha-1', add_assets: delta(2) },
    resolves: { projectId: 'p1', upserted: [{ id: 'e1' }, { id: 'e2' }], deleted: ['d1', 'd2'], canUndo: true, canRedo: false, selection: ['e1', 'e2'] },
  },
  importBytes: {
    run: (b) => b.addFiles('p1', [{ kind: 'bytes', name: 'ü.png', mimeType: 'image/png', bytes }], at),
    sent: [
      { cmd: 'import_bytes', args: bytes, headers: { 'x-file-name': '%C3%BC.png' } },
      { cmd: 'add_assets', args: { projectId: 'p1', assetIds: ['sha-2'], at } },
    ],
    answers: { import_bytes: 'sha-2', add_assets: delta(3) },
    resolves: delta(3),
  },
  addAssets: { run: (b) => b.addAssets('p1', ['sha-1', 'sha-2'], at), sent: [{ cmd: 'add_assets', args: { projectId: 'p1', assetIds: ['sha-1', 'sha-2'], at } }] },
  updateElements: { run: (b) => b.updateElements('p1', x([{ id: 'e1', x: 3 }])), sent: [{ cmd: 'update_elements', args: { projectId: 'p1', patches: [{ id: 'e1', x: 3 }] } }] },
  deleteElements: { run: (b) => b.deleteElements('p1', ['e1']), sent: [{ cmd: 'delete_elements', args: { projectId: 'p1', ids: ['e1'] } }] },
  duplicateElements: { run: (b) => b.duplicateElements('p1', ['e1'], at), sent: [{ cmd: 'duplicate_elements', args: { projectId: 'p1', ids: ['e1'], offset: at } }] },
  reorderElements: { run: (b) => b.reorderElements('p1', ['e1'], 'front'), sent: [{ cmd: 'reorder_elements', args: { projectId: 'p1', ids: ['e1'], move: 'front' } }] },
  setPlayback: { run: (b) => b.setPlayback('p1', x({ elementId: 'e1', muted: true })), sent: [{ cmd: 'set_playback', args: { projectId: 'p1', update: { elementId: 'e1', muted: true } } }] },
  undo: { run: (b) => b.undo('p1'), sent: [{ cmd: 'undo', args: { projectId: 'p1' } }] },
  redo: { run: (b) => b.redo('p1'), sent: [{ cmd: 'redo', args: { projectId: 'p1' } }] },
  setViewport: { run: (b) => b.setViewport('p1', { x: 1, y: 2, scale: 0.5 }), sent: [{ cmd: 'set_viewport', args: { projectId: 'p1', viewport: { x: 1, y: 2, scale: 0.5 } } }] },
  setSelection: { run: (b) => b.setSelection('p1', ['e1', 'e2']), sent: [{ cmd: 'set_selection', args: { projectId: 'p1', ids: ['e1', 'e2'] } }] },
  listAssets: { run: (b) => b.listAssets(x({ kind: 'image' })), sent: [{ cmd: 'list_assets', args: { query: { kind: 'image' } } }] },
  deleteAsset: { run: (b) => b.deleteAsset('sha-1'), sent: [{ cmd: 'delete_asset', args: { id: 'sha-1' } }] },
  storageQuota: { run: (b) => b.storageQuota(), sent: [{ cmd: 'storage_quota', args: {} }] },
  syncStatus: { run: (b) => b.syncStatus(), sent: [{ cmd: 'sync_status', args: {} }] },
  retryRejected: { run: (b) => b.retryRejected('op-1'), sent: [{ cmd: 'retry_rejected', args: { opId: 'op-1' } }] },
  discardRejected: { run: (b) => b.discardRejected('op-1'), sent: [{ cmd: 'discard_rejected', args: { opId: 'op-1' } }] },
  account: { run: (b) => b.account(), sent: [{ cmd: 'account', args: {} }] },
  signIn: { run: (b) => b.signIn(), sent: [{ cmd: 'sign_in', args: {} }] },
  signOut: { run: (b) => b.signOut(true), sent: [{ cmd: 'sign_out', args: { removeLocalData: true } }] },
  localProjects: { run: (b) => b.localProjects(), sent: [{ cmd: 'local_projects', args: {} }] },
  importLocalProjects: { run: (b) => b.importLocalProjects(false), sent: [{ cmd: 'import_local_projects', args: { keep: false } }] },
  addProjectToAccount: { run: (b) => b.addProjectToAccount('p1'), sent: [{ cmd: 'add_project_to_account', args: { id: 'p1' } }] },
  exportPng: {
    run: (b) => b.exportPng('Board.png', () => Promise.resolve(bytes)),
    sent: [
      { cmd: 'plugin:dialog|save', args: { options: { title: 'Export as PNG', defaultPath: 'Board.png', filters: [{ name: 'PNG image', extensions: ['png'] }] } } },
      { cmd: 'export_png', args: bytes, headers: { 'x-path': '%2Fhome%2Fu%2FBoard%201.png' } },
    ],
    answers: { 'plugin:dialog|save': '/home/u/Board 1.png' },
  },
  exportProject: {
    run: (b) => b.exportProject('p1', 'Board.iskra'),
    sent: [
      { cmd: 'plugin:dialog|save', args: { options: { title: 'Export project', defaultPath: 'Board.iskra', filters: [{ name: 'Iskra project', extensions: ['iskra'] }] } } },
      { cmd: 'export_project', args: { projectId: 'p1', path: '/home/u/Board.iskra' } },
    ],
    answers: { 'plugin:dialog|save': '/home/u/Board.iskra' },
  },
  importProject: {
    run: (b) => b.importProject(),
    sent: [
      { cmd: 'plugin:dialog|open', args: { options: { title: 'Import project', multiple: false, directory: false, filters: [{ name: 'Iskra project', extensions: ['iskra'] }] } } },
      { cmd: 'import_project', args: { path: '/home/u/Board.iskra' } },
    ],
    answers: { 'plugin:dialog|open': '/home/u/Board.iskra' },
  },
  hotFolders: { run: (b) => b.hotFolders(), sent: [{ cmd: 'hot_folders', args: {} }] },
  addHotFolder: {
    run: (b) => b.chooseHotFolder(),
    sent: [
      { cmd: 'plugin:dialog|open', args: { options: { title: 'Choose a folder to watch', directory: true, multiple: false } } },
      { cmd: 'add_hot_folder', args: { path: '/home/u/Renders' } },
    ],
    answers: { 'plugin:dialog|open': '/home/u/Renders' },
  },
  removeHotFolder: { run: (b) => b.removeHotFolder('/home/u/Renders'), sent: [{ cmd: 'remove_hot_folder', args: { path: '/home/u/Renders' } }] },
  listModels: { run: (b) => b.listModels(), sent: [{ cmd: 'list_models', args: {} }] },
  generate: { run: (b) => b.generate('p1', x({ prompt: 'fox' })), sent: [{ cmd: 'generate', args: { projectId: 'p1', request: { prompt: 'fox' } } }] },
  listGenerations: { run: (b) => b.listGenerations(null), sent: [{ cmd: 'list_generations', args: { projectId: null } }] },
  cancelGeneration: { run: (b) => b.cancelGeneration('g1'), sent: [{ cmd: 'cancel_generation', args: { id: 'g1' } }] },
  retryGeneration: { run: (b) => b.retryGeneration('g1'), sent: [{ cmd: 'retry_generation', args: { id: 'g1' } }] },
  freeGenerate: { run: (b) => b.freeGenerate('p1', x({ prompt: 'fox' })), sent: [{ cmd: 'free_generate', args: { projectId: 'p1', request: { prompt: 'fox' } } }] },
  getCredits: { run: (b) => b.credits(), sent: [{ cmd: 'get_credits', args: {} }] },
  estimateGeneration: { run: (b) => b.estimateGeneration(x({ numImages: 2 })), sent: [{ cmd: 'estimate_generation', args: { request: { numImages: 2 } } }] },
  openCheckout: { run: (b) => b.openCheckout('pro'), sent: [{ cmd: 'open_checkout', args: { plan: 'pro' } }] },
  openBillingPortal: { run: (b) => b.openBillingPortal(), sent: [{ cmd: 'open_billing_portal', args: {} }] },
  shareAsset: { run: (b) => b.shareAsset('sha-1'), sent: [{ cmd: 'share_asset', args: { assetId: 'sha-1' } }] },
  unshareAsset: { run: (b) => b.unshareAsset('sha-1'), sent: [{ cmd: 'unshare_asset', args: { assetId: 'sha-1' } }] },
  listShares: { run: (b) => b.listShares(), sent: [{ cmd: 'list_shares', args: {} }] },
  gallery: { run: (b) => b.gallery(x({ cursor: 'c1' })), sent: [{ cmd: 'gallery', args: { query: { cursor: 'c1' } } }] },
  fetchAsset: { run: (b) => b.fetchAsset('sha-1'), sent: [{ cmd: 'fetch_asset', args: { assetId: 'sha-1' } }] },
  takeSharedImages: { run: (b) => b.takeSharedImages(), sent: [{ cmd: 'take_shared_images', args: {} }] },
  copyText: { run: (b) => b.copyText('https://iskra.app/t/AbC-9_xz'), sent: [{ cmd: 'copy_text', args: { text: 'https://iskra.app/t/AbC-9_xz' } }] },
  createApiKey: { run: (b) => b.createApiKey('ci', null), sent: [{ cmd: 'create_api_key', args: { name: 'ci', scopes: null } }] },
  listApiKeys: { run: (b) => b.listApiKeys(), sent: [{ cmd: 'list_api_keys', args: {} }] },
  revokeApiKey: { run: (b) => b.revokeApiKey('k1'), sent: [{ cmd: 'revoke_api_key', args: { id: 'k1' } }] },
  apiKeyUsage: { run: (b) => b.apiKeyUsage(x({ days: 30 })), sent: [{ cmd: 'api_key_usage', args: { query: { days: 30 } } }] },
  softwareRendering: { run: (b) => b.softwareRendering(), sent: [{ cmd: 'software_rendering', args: {} }], answers: { software_rendering: true }, resolves: true },
  openUrl: { run: (b) => b.openExternal('https://iskra.app/pricing'), sent: [{ cmd: 'plugin:opener|open_url', args: { url: 'https://iskra.app/pricing' } }] },
};

/** Mocks the shell: answers from `answers` (else `{ answerOf: cmd }`), records every call with its headers. */
function shell(answers: Record<string, unknown> = {}): Sent[] {
  const sent: Sent[] = [];
  mocks.mockIPC((cmd) => (cmd in answers ? answers[cmd] : answerOf(cmd)), { shouldMockEvents: true });
  watchInvoke((cmd, args, options) => {
    if (!cmd.startsWith('plugin:event|')) sent.push(options?.headers ? { cmd, args, headers: options.headers } : { cmd, args });
  });
  return sent;
}

/** The shell's Rust sources (`src-tauri/src`), by file name relative to it. */
const shellSources = (() => {
  const root = new URL('../../../src-tauri/src/', import.meta.url);
  const out = new Map<string, string>();
  const walk = (dir: URL, prefix: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`);
      else if (e.name.endsWith('.rs')) out.set(`${prefix}${e.name}`, readFileSync(new URL(e.name, dir), 'utf8'));
    }
  };
  walk(root, '');
  return out;
})();

/** Splits at top-level commas (not inside `<…>` or `(…)`). */
function splitParams(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list) {
    if (ch === '<' || ch === '(') depth++;
    if (ch === '>' || ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Every `#[tauri::command]` of the shell: its argument names (snake_case) and whether it takes a raw request, and its source. */
const shellCommands = (() => {
  const out = new Map<string, { params: string[]; raw: boolean; body: string }>();
  for (const text of shellSources.values()) {
    const parts = text.split('#[tauri::command]').slice(1);
    for (const part of parts) {
      const m = /fn\s+([a-z0-9_]+)\s*(?:<[^>]*>)?\s*\(/.exec(part);
      if (!m) continue;
      let depth = 1;
      let i = m.index + m[0].length;
      const start = i;
      while (depth > 0 && i < part.length) {
        if (part[i] === '(') depth++;
        if (part[i] === ')') depth--;
        i++;
      }
      const params = splitParams(part.slice(start, i - 1));
      const injected = /^(State|AppHandle|Window|WebviewWindow|Webview|tauri::(ipc::Request|State|AppHandle|Window|WebviewWindow))\b/;
      out.set(m[1]!, {
        params: params.map((p) => p.split(':')).filter(([, ty]) => !injected.test((ty ?? '').trim())).map(([n]) => n!.trim().replace(/^r#/, '').replace(/^mut\s+/, '')),
        raw: params.some((p) => /ipc::Request/.test(p)),
        body: part,
      });
    }
  }
  return out;
})();

const registered = (() => {
  const lib = shellSources.get('lib.rs') ?? '';
  const list = /generate_handler!\[([\s\S]*?)\]/.exec(lib)?.[1] ?? '';
  return new Set(list.split(',').map((p) => p.trim().split('::').pop()!).filter((n) => n.length > 0));
})();

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

describe('TauriBackend: every command of the contract', () => {
  const backend = new TauriBackend();

  it('has a case for every command in COMMANDS', () => {
    const covered = new Set(Object.values(CASES).flatMap((c) => c.sent.map((s) => s.cmd)));
    const missing = Object.entries(COMMANDS).filter(([, cmd]) => !covered.has(cmd)).map(([k]) => k);
    expect(missing, 'commands without a case in tauri.test.ts').toEqual([]);
    expect(Object.keys(CASES).filter((k) => !(k in COMMANDS)), 'cases of no command').toEqual([]);
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: ${c.sent.map((s) => s.cmd).join(' → ')}`, async () => {
      const sent = shell(c.answers);
      const last = c.sent[c.sent.length - 1]!.cmd;
      const want = 'resolves' in c ? c.resolves : (c.answers?.[last] ?? answerOf(last));
      await expect(c.run(backend)).resolves.toEqual(want);
      expect(sent).toEqual(c.sent);
    });
  }

  it('each command is registered by the shell with the same arguments (snake_case there)', () => {
    const problems: string[] = [];
    for (const s of Object.values(CASES).flatMap((c) => c.sent)) {
      if (s.cmd.startsWith('plugin:')) continue;
      const rust = shellCommands.get(s.cmd);
      if (!rust) {
        problems.push(`${s.cmd}: no #[tauri::command] fn in src-tauri/src`);
        continue;
      }
      if (!registered.has(s.cmd)) problems.push(`${s.cmd}: not in generate_handler!`);
      if (s.headers) {
        if (!rust.raw) problems.push(`${s.cmd}: sent as a raw body, the shell takes arguments`);
        for (const h of Object.keys(s.headers)) if (!rust.body.includes(`"${h}"`)) problems.push(`${s.cmd}: the shell does not read header ${h}`);
      } else {
        const sentKeys = Object.keys(s.args as Record<string, unknown>).map(snake).sort();
        const params = [...rust.params].sort();
        if (sentKeys.join() !== params.join()) problems.push(`${s.cmd}: sends (${sentKeys.join(', ')}), the shell takes (${params.join(', ')})`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('a cancelled dialog sends no command and resolves to null', async () => {
    const sent = shell({ 'plugin:dialog|save': null, 'plugin:dialog|open': null });
    await expect(backend.exportPng('a.png', () => Promise.resolve(bytes))).resolves.toBeNull();
    await expect(backend.exportProject('p1', 'a.iskra')).resolves.toBeNull();
    await expect(backend.importProject()).resolves.toBeNull();
    await expect(backend.chooseHotFolder()).resolves.toBeNull();
    expect(sent.map((s) => s.cmd)).toEqual(['plugin:dialog|save', 'plugin:dialog|save', 'plugin:dialog|open', 'plugin:dialog|open']);
  });

  it('software_rendering that fails reads as false', async () => {
    mocks.mockIPC(() => {
      throw { kind: 'internal', message: 'no' };
    });
    await expect(backend.softwareRendering()).resolves.toBe(false);
  });

  it('asset and thumbnail URLs use the iskra-asset scheme', () => {
    mocks.mockConvertFileSrc('linux');
    const path = (u: string) => decodeURIComponent(u.replace(/^iskra-asset:\/\/localhost\//, '').replace(/\?.*$/, ''));
    expect(path(backend.assetUrl('sha-1', 'full'))).toBe('full/sha-1');
    expect(path(backend.assetUrl('sha-1', 'thumb'))).toBe('thumb/sha-1');
    const thumb = backend.projectThumbnailUrl(x({ id: 'p1', updatedAt: '2025-01-01T00:00:00Z' }))!;
    expect(path(thumb)).toBe('project-thumb/p1');
    expect(thumb).toMatch(/\?v=2025-01-01T00%3A00%3A00Z$/);
    expect(shellSources.get('protocol.rs')).toContain('"iskra-asset"');
  });
});

describe('TauriBackend: every event of the contract', () => {
  const backend = new TauriBackend();

  for (const [key, name] of Object.entries(EVENTS) as [keyof typeof EVENTS, string][]) {
    it(`${name} reaches on("${key}"), and not after unlisten`, async () => {
      shell();
      const seen: unknown[] = [];
      const off = backend.on(key, (p) => seen.push(p));
      await eventPluginAnswered('listen');
      await emit(name, { payloadOf: name });
      expect(seen).toEqual([{ payloadOf: name }]);
      off();
      await eventPluginAnswered('unlisten');
      await emit(name, { payloadOf: name });
      expect(seen).toHaveLength(1);
    });
  }

  it('the shell emits each event under the same name', () => {
    const rust = [...shellSources.values()].join('\n');
    const missing = Object.values(EVENTS).filter((n) => !new RegExp(`:\\s*&str\\s*=\\s*"${n}"`).test(rust));
    expect(missing, 'event names with no `&str` constant in src-tauri/src').toEqual([]);
  });
});
