/**
 * The offer of D6 once signed in: "Add 3 projects from this device to your account?" The
 * engine keeps projects made while signed out unsent until the user answers — "Add to my
 * account" (they sync from then on) or "Keep on this device only". Closing the dialog decides
 * later: the offer comes back at the next sign-in (or the next start signed in). Also which
 * projects stay on this device only, for "Add to account" in their menu in the projects panel.
 */
import type { Backend } from '../backend/backend';
import type { LocalProjects, Project } from '../backend/types';
import { plural } from '../lib/format';
import { toasts } from './toasts.svelte';

/** The offer as the dialog shows it. */
export interface Offer {
  count: number;
  names: string[];
}

export class LocalOffer {
  /** The offer to show now, or null. */
  offer = $state<Offer | null>(null);
  /** Ids of the projects on this device only (offered or kept). */
  deviceOnly = $state<ReadonlySet<string>>(new Set());
  /** The answer being carried out. */
  answering = $state<'add' | 'keep' | null>(null);

  constructor(private readonly backend: Backend) {}

  /** Asks the engine and shows the offer when projects wait for an answer (after signing in). */
  async check(): Promise<void> {
    const local = await this.load();
    this.offer = local && local.count > 0 ? { count: local.count, names: local.names } : null;
  }

  /** Brings the device-only ids up to date (the projects panel). */
  async refresh(): Promise<void> {
    await this.load();
  }

  /** Answers the offer; `keep`: the projects stay on this device only. */
  async answer(keep: boolean): Promise<void> {
    if (!this.offer || this.answering) return;
    this.answering = keep ? 'keep' : 'add';
    try {
      const n = await this.backend.importLocalProjects(keep);
      this.offer = null;
      const what = plural(n, 'project');
      toasts.show(keep ? `Kept ${what} on this device only` : `Added ${what} to your account`, 'success');
      await this.load();
    } catch (e) {
      toasts.error(e);
    } finally {
      this.answering = null;
    }
  }

  /** Closes the offer unanswered: it is made again at the next sign-in. */
  later(): void {
    if (!this.answering) this.offer = null;
  }

  /** Adds one project on this device only to the account. */
  async addToAccount(project: Project): Promise<void> {
    try {
      await this.backend.addProjectToAccount(project.id);
      toasts.show(`“${project.name}” now syncs with your account`, 'success');
      await this.load();
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Signed out: nothing to offer, no "Add to account". */
  reset(): void {
    this.offer = null;
    this.deviceOnly = new Set();
  }

  private async load(): Promise<LocalProjects | null> {
    try {
      const local = await this.backend.localProjects();
      this.deviceOnly = new Set(local.deviceOnlyIds);
      return local;
    } catch (e) {
      toasts.error(e);
      return null;
    }
  }
}
