/**
 * The app state handed to every panel through Svelte context (set once in App.svelte), so
 * panels take no props they do not own and tests can mount a panel with any AppState.
 */
import { getContext, setContext } from 'svelte';
import type { AppState } from './app.svelte';

const KEY = Symbol('iskra.app');

export function provideApp(app: AppState): void {
  setContext(KEY, app);
}

export function useApp(): AppState {
  const app = getContext<AppState | undefined>(KEY);
  if (!app) throw new Error('useApp() outside of <App>');
  return app;
}
