/**
 * Vite configuration for the Iskra UI: Svelte 5 panels, PixiJS canvas, Vitest unit tests.
 * Served by Tauri from dist/ in the desktop app; `npm run dev` + `?demo` runs it in a browser
 * against the in-memory backend.
 */
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  // Tauri loads files from disk: relative asset URLs work under any origin.
  base: './',
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 1200,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // The machine is shared: two workers at most.
    maxWorkers: 2,
  },
});
