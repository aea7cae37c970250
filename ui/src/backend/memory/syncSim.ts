/**
 * The sync side of `MemoryBackend`: an outbox counter, online/offline, paused uploads and
 * rejected operations, producing the same `SyncStatus` the engine reports (D3/D4).
 *
 * Edits are "durable" at once (memory), then "sent" after `delayMs` when online and signed in;
 * offline they wait in the outbox and flush when the connection comes back. The indicator is
 * `deriveAutosave`, the engine's derivation mirrored and tested on the same table.
 */
import type { AutosaveState, RejectedOperation, SyncStatus } from '../types';
import { deriveAutosave } from './autosave';

export interface SyncSimOptions {
  delayMs: number;
  now: () => Date;
  onChange: (status: SyncStatus) => void;
}

export class SyncSimulator {
  online = true;
  signedIn = false;
  pending = 0;
  pausedReason: string | null = null;
  error: string | null = null;
  rejected: RejectedOperation[] = [];
  private inFlight = false;
  private lastSavedAt: Date;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: SyncSimOptions) {
    this.lastSavedAt = opts.now();
  }

  /** `n` edits were committed locally. */
  recordEdit(n = 1): void {
    if (n <= 0) return;
    if (this.signedIn) this.pending += n;
    this.inFlight = true;
    this.schedule();
    this.changed();
  }

  setOnline(online: boolean): void {
    this.online = online;
    if (online && this.pending > 0) this.inFlight = true;
    this.schedule();
    this.changed();
  }

  setSignedIn(signedIn: boolean): void {
    this.signedIn = signedIn;
    if (!signedIn) this.pending = 0;
    this.changed();
  }

  retry(opId: string): void {
    const before = this.rejected.length;
    this.rejected = this.rejected.filter((r) => r.opId !== opId);
    if (this.rejected.length !== before) this.recordEdit(1);
  }

  discard(opId: string): void {
    this.rejected = this.rejected.filter((r) => r.opId !== opId);
    this.changed();
  }

  /** Sends what is pending now (also what the timer does). */
  flush(): void {
    this.timer = null;
    this.inFlight = false;
    if (this.signedIn && (!this.online || this.pausedReason)) {
      this.changed();
      return;
    }
    this.pending = 0;
    this.lastSavedAt = this.opts.now();
    this.changed();
  }

  autosave(): AutosaveState {
    const saved = this.lastSavedAt.toISOString();
    return deriveAutosave({
      signedIn: this.signedIn,
      online: this.online,
      pending: this.pending,
      pausedReason: this.pausedReason || null,
      error: this.error || null,
      lastSyncAt: saved,
      lastLocalAt: saved,
      now: this.opts.now().toISOString(),
    });
  }

  status(): SyncStatus {
    return {
      autosave: this.autosave(),
      online: this.online,
      pending: this.pending,
      rejected: this.rejected.map((r) => ({ ...r })),
    };
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer || !this.inFlight) return;
    this.timer = setTimeout(() => this.flush(), this.opts.delayMs);
  }

  private changed(): void {
    this.opts.onChange(this.status());
  }
}
