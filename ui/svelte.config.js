// Svelte compiler options: runes mode everywhere (Svelte 5), TypeScript preprocessed by Vite.
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

export default {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
};
