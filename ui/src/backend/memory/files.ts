/**
 * How `MemoryBackend` reaches files outside the page, as a port: in a browser a download, the
 * file picker and a prompt for a folder path (a page cannot watch folders: the demo keeps the
 * list only); in tests a fake that records what was saved and answers the pickers.
 */

/** A file the user picked. */
export interface PickedFile {
  name: string;
  bytes: Uint8Array;
}

export interface MemoryFiles {
  /** Hands bytes to the user as a file named `name` (the browser downloads it). */
  save(name: string, bytes: Uint8Array, mimeType: string): void;
  /** Asks for one file (`accept`: an input's accept list); null when cancelled. */
  pick(accept: string): Promise<PickedFile | null>;
  /** Asks for a folder's path; null when cancelled. */
  pickFolder(): Promise<string | null>;
}

/** The browser's way: an `<a download>` click, an `<input type=file>`, `prompt`. */
export const browserFiles: MemoryFiles = {
  save(name, bytes, mimeType) {
    const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: mimeType }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.click();
    // The download has started by the next task; the URL can go.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  },

  pick(accept) {
    return new Promise((resolve) => {
      const input = document.createElement('input');
      input.type = 'file';
      input.accept = accept;
      input.addEventListener('cancel', () => resolve(null));
      input.addEventListener('change', () => {
        const file = input.files?.[0];
        if (!file) return resolve(null);
        void file.arrayBuffer().then(
          (buf) => resolve({ name: file.name, bytes: new Uint8Array(buf) }),
          () => resolve(null),
        );
      });
      input.click();
    });
  },

  async pickFolder() {
    const path = window.prompt('Folder to watch (the demo keeps the list only)', '~/Pictures/Iskra inbox');
    return path?.trim() || null;
  },
};
