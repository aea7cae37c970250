/**
 * The hot folders of the Settings dialog (D8): the watched folders as the engine keeps them,
 * adding one through the OS folder picker, removing one. The engine's watcher follows the list
 * by itself; failures are toasts and leave the list as it was.
 */
import type { Backend } from '../backend/backend';
import { baseName } from '../lib/format';
import { toasts } from './toasts.svelte';

export class HotFolders {
  folders = $state<string[]>([]);
  state = $state<'idle' | 'loading' | 'ready' | 'error'>('idle');
  /** The folder picker is open (or the folder being added is being checked). */
  adding = $state(false);

  constructor(private readonly backend: Backend) {}

  async load(): Promise<void> {
    if (this.state !== 'ready') this.state = 'loading';
    try {
      this.folders = await this.backend.hotFolders();
      this.state = 'ready';
    } catch (e) {
      this.state = 'error';
      toasts.error(e);
    }
  }

  async add(): Promise<void> {
    this.adding = true;
    try {
      const change = await this.backend.chooseHotFolder();
      if (!change) return;
      this.folders = change.folders;
      this.state = 'ready';
      const name = baseName(change.folder);
      if (change.changed) toasts.show(`Watching “${name}”: new images and videos there join your library`, 'success');
      else toasts.show(`“${name}” is watched already`);
    } catch (e) {
      toasts.error(e);
    } finally {
      this.adding = false;
    }
  }

  async remove(folder: string): Promise<void> {
    try {
      const change = await this.backend.removeHotFolder(folder);
      this.folders = change.folders;
      toasts.show(`Stopped watching “${baseName(change.folder)}”`);
    } catch (e) {
      toasts.error(e);
    }
  }
}
