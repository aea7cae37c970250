/**
 * The autosave indicator's state (D3), derived exactly as the engine's `sync::autosave::derive`
 * does: signed out everything is saved on this device; signed in the first that holds wins —
 * offline, paused, error, saving (operations pending), saved (at the last sync, else the last
 * local save, else now). Both run the table `src-tauri/engine/fixtures/autosave.json`.
 */
import type { AutosaveState } from '../types';

export interface AutosaveInput {
  signedIn: boolean;
  /** Whether the server answered the last attempt (null: never tried). */
  online: boolean | null;
  pending: number;
  pausedReason: string | null;
  error: string | null;
  lastSyncAt: string | null;
  lastLocalAt: string | null;
  now: string;
}

export function deriveAutosave(i: AutosaveInput): AutosaveState {
  const saved = (): AutosaveState => ({
    state: 'saved',
    at: (i.signedIn ? i.lastSyncAt : null) ?? i.lastLocalAt ?? i.now,
  });
  if (!i.signedIn) return saved();
  if (i.online === false) return { state: 'offline' };
  if (i.pausedReason !== null) return { state: 'paused', reason: i.pausedReason };
  if (i.error !== null) return { state: 'error', message: i.error };
  if (i.pending > 0) return { state: 'saving' };
  return saved();
}
