/**
 * Shared component types: the icon component type (lucide icons, imported one by one from
 * `@lucide/svelte/icons/<name>` so only the icons used end up in the bundle).
 */
import type { Component } from 'svelte';
import type { LucideProps } from '@lucide/svelte';

export type Icon = Component<LucideProps>;
