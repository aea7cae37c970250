/**
 * Entry point: picks the backend (Tauri inside the desktop shell; in a browser the in-memory
 * one, seeded with a demo workspace when the URL has `?demo`), applies the stored theme
 * before the first paint, mounts the app and restores the most recent project.
 */
import '@fontsource-variable/inter';
import './styles/tokens.css';
import './styles/base.css';
import './styles/tooltip.css';
import { mount } from 'svelte';
import App from './App.svelte';
import type { Backend } from './backend/backend';
import { MemoryBackend } from './backend/memory/memoryBackend';
import { TauriBackend, isTauri } from './backend/tauri';
import { applyStoredTheme, applyTheme } from './lib/theme';
import { AppState } from './state/app.svelte';
import { CanvasEngine } from './canvas/engine';

async function boot(): Promise<void> {
  applyStoredTheme();
  const params = new URLSearchParams(location.search);
  const theme = params.get('theme');
  if (theme === 'light' || theme === 'dark') applyTheme(theme);

  let backend: Backend;
  if (isTauri()) {
    backend = new TauriBackend();
  } else {
    // `gentime=slow`: generations stay queued and running for minutes (screenshots).
    const memory = new MemoryBackend(params.get('gentime') === 'slow' ? { generationTiming: { queueMs: 45_000, runMs: 600_000 } } : {});
    backend = memory;
    const mode = params.get('gen');
    if (mode === 'fail' || mode === 'limit' || mode === 'storage') memory.setGenerationMode(mode);
    if (params.has('demo')) {
      const { seedDemo } = await import('./demo/seed');
      await seedDemo(memory, params).catch((e: unknown) => console.error('demo seed failed', e));
    }
  }

  const app = new AppState(backend);
  // Read-only inspection for end-to-end tests and benchmarks (browser scripts, WebDriver):
  // the page can already call every command, so this exposes nothing new.
  (window as unknown as { __iskra: AppState }).__iskra = app;
  mount(App, { target: document.getElementById('app')!, props: { app } });
  // The canvas view mounts once the first project is open; its renderer starts now.
  CanvasEngine.prewarm(backend);
  await app.start();
  if (params.get('view') === 'projects') app.showProjects();
  if (params.has('library')) app.toggleLibrary(true);
  if (params.has('generate')) app.toggleGenerate(true);
  const readyAt = await firstFrame(app);
  document.documentElement.dataset.ready = 'true';
  backend.announceReady(readyAt);
}

/**
 * Resolves once the canvas renderer is attached and has drawn a frame of the open project:
 * the moment the app is interactive (start-up benchmarks read `__iskraReadyAt`, epoch ms).
 */
async function firstFrame(app: AppState): Promise<number> {
  for (let i = 0; i < 600 && !app.canvas.engine && app.view === 'canvas'; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const at = performance.timeOrigin + performance.now();
  (window as unknown as { __iskraReadyAt: number }).__iskraReadyAt = at;
  return at;
}

void boot();
