/**
 * Transient notices at the bottom of the window: errors from the engine ("This file type is
 * not supported"), and confirmations with an action ("Deleted 3 elements — Undo"). Announced
 * to screen readers through a polite live region in `Toaster.svelte`.
 */

export interface Toast {
  id: number;
  tone: 'info' | 'error' | 'success';
  message: string;
  action?: { label: string; run: () => void };
}

/** How long a toast stays. */
const TTL_MS = 5000;

class Toasts {
  items = $state<Toast[]>([]);
  private next = 1;

  show(message: string, tone: Toast['tone'] = 'info', action?: Toast['action']): void {
    const t: Toast = { id: this.next++, tone, message };
    if (action) t.action = action;
    this.items = [...this.items.slice(-2), t];
    setTimeout(() => this.dismiss(t.id), tone === 'error' ? TTL_MS * 1.6 : TTL_MS);
  }

  error(e: unknown): void {
    const message = e instanceof Error ? e.message : typeof e === 'string' ? e : 'Something went wrong';
    this.show(message, 'error');
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
