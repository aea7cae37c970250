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

async function boot(): Promise<void> {
  applyStoredTheme();
  const params = new URLSearchParams(location.search);
  const theme = params.get('theme');
  if (theme === 'light' || theme === 'dark') applyTheme(theme);

  let backend: Backend;
  if (isTauri()) {
    backend = new TauriBackend();
  } else {
    const memory = new MemoryBackend();
    backend = memory;
    if (params.has('demo')) {
      const { seedDemo } = await import('./demo/seed');
      await seedDemo(memory, params).catch((e: unknown) => console.error('demo seed failed', e));
    }
  }

  const app = new AppState(backend);
  // Browser runs (demo, E2E scripts) may inspect the state; the desktop app does not expose it.
  if (backend.kind === 'memory') (window as unknown as { __iskra: AppState }).__iskra = app;
  mount(App, { target: document.getElementById('app')!, props: { app } });
  await app.start();
  if (params.get('view') === 'projects') app.showProjects();
  if (params.has('library')) app.toggleLibrary(true);
  document.documentElement.dataset.ready = 'true';
}

void boot();
