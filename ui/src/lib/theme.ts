/**
 * Light/dark theme: dark by default, the choice persisted in localStorage and applied as
 * `data-theme` on <html> before the first paint (main.ts calls `applyStoredTheme`).
 */

export type Theme = 'dark' | 'light';

const KEY = 'iskra.theme';

export function storedTheme(): Theme {
  try {
    return localStorage.getItem(KEY) === 'light' ? 'light' : 'dark';
  } catch {
    return 'dark';
  }
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // Storage can be unavailable (private mode): the theme still applies for this session.
  }
}

export function applyStoredTheme(): Theme {
  const t = storedTheme();
  document.documentElement.dataset.theme = t;
  return t;
}
