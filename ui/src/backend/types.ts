/**
 * Shapes the UI and the engine exchange beyond the HTTP wire types: what a command takes and
 * what the engine reports (autosave state, rejected operations, account, canvas deltas).
 *
 * Wire types (Element, Viewport, Project, Asset, StorageQuota, …) come from Rust through ts-rs
 * in `../generated/` and are re-exported here so the rest of the UI imports from one place.
 * The Rust side (src-tauri commands) must serialise these shapes with camelCase field names.
 */
import type { Asset } from '../generated/Asset';
import type { Element } from '../generated/Element';
import type { ErrorDetail } from '../generated/ErrorDetail';
import type { Playback } from '../generated/Playback';
import type { Project } from '../generated/Project';
import type { StorageQuota } from '../generated/StorageQuota';
import type { Tier } from '../generated/Tier';
import type { Viewport } from '../generated/Viewport';

export type { Asset } from '../generated/Asset';
export type { AssetType } from '../generated/AssetType';
export type { Element } from '../generated/Element';
export type { ElementKind } from '../generated/ElementKind';
export type { ErrorDetail } from '../generated/ErrorDetail';
export type { Playback } from '../generated/Playback';
export type { Project } from '../generated/Project';
export type { StorageQuota } from '../generated/StorageQuota';
export type { Tier } from '../generated/Tier';
export type { Viewport } from '../generated/Viewport';

export type SortOrder = 'asc' | 'desc';

/** `list_projects` arguments (D2: search by name, sort by last modified or name). */
export interface ProjectQuery {
  query: string;
  sort: 'updated' | 'name';
  order: SortOrder;
}

/**
 * A project opened for editing (`open_project`): its listing, its canvas, the saved selection
 * and whether undo/redo are available.
 */
export interface OpenCanvas {
  project: Project;
  elements: Element[];
  viewport: Viewport;
  selection: string[];
  canUndo: boolean;
  canRedo: boolean;
}

/**
 * What an edit changed. Every canvas command answers with one, and the engine emits one as
 * `canvas-changed` for changes the UI did not ask for (sync from other devices). Applying a
 * delta is idempotent: upserts replace by id, deletes of unknown ids are ignored.
 */
export interface CanvasDelta {
  projectId: string;
  upserted: Element[];
  deleted: string[];
  canUndo: boolean;
  canRedo: boolean;
  /** Selection to show after this edit (new elements of a paste/duplicate, undo's elements). */
  selection?: string[];
}

/** The editable properties of an element (`update_elements` patches a subset). */
export type ElementProps = Pick<Element, 'x' | 'y' | 'width' | 'height' | 'rotation' | 'locked'>;

export interface ElementPatch {
  id: string;
  props: Partial<ElementProps>;
}

export type ZOrderMove = 'front' | 'back' | 'forward' | 'backward';

/**
 * A file to place on the canvas: a path (Tauri's native drag-drop and file dialog give paths)
 * or bytes (clipboard paste, browser drop).
 */
export type FileSource =
  | { kind: 'path'; path: string }
  | { kind: 'bytes'; name: string; mimeType: string; bytes: Uint8Array };

/** Where new media lands: its centre in world coordinates. */
export interface Placement {
  x: number;
  y: number;
}

/** `list_assets` arguments (D5). `type: null` lists both images and videos. */
export interface AssetQuery {
  sort: 'created' | 'size' | 'type';
  order: SortOrder;
  type: 'image' | 'video' | null;
}

/** An asset in the library with what the UI needs besides the wire shape. */
export interface LibraryAsset extends Asset {
  /** Canvas elements (any project) showing this asset: deleting it makes them placeholders. */
  usageCount: number;
  /** Stored on the server too (false: only on this device so far). */
  synced: boolean;
}

/** `storage_quota`: the storage part of the quota, the tier and where to upgrade. */
export interface StorageInfo {
  storage: StorageQuota;
  tier: Tier;
  upgradeUrl: string | null;
}

/** The autosave indicator of D3, as the engine decides it. */
export type AutosaveState =
  | { state: 'saving' }
  | { state: 'saved'; at: string }
  | { state: 'offline' }
  | { state: 'paused'; reason: string }
  | { state: 'error'; message: string };

/** A permanently rejected operation kept for the user (D4). */
export interface RejectedOperation {
  opId: string;
  projectId: string | null;
  projectName: string | null;
  /** What the operation did, for people: "Move 2 elements", "Upload photo.png". */
  summary: string;
  error: ErrorDetail;
  rejectedAt: string;
}

/** `sync_status` and the `sync-status` event. */
export interface SyncStatus {
  autosave: AutosaveState;
  online: boolean;
  /** Operations in the outbox not yet acknowledged by the server. */
  pending: number;
  rejected: RejectedOperation[];
}

/** Signed in (synced) or local-only (D6). */
export type Account =
  | { signedIn: false }
  | { signedIn: true; email: string; tier: Tier; manageUrl: string };

/**
 * `local_projects` (D6): the offer made after the first sign-in to add the projects made on
 * this device while signed out to the account, and which projects stay on this device only.
 */
export interface LocalProjects {
  /** How many projects the unanswered offer is about (0: nothing to offer). */
  count: number;
  /** Their names, most recently modified first. */
  names: string[];
  /** Every project on this device only, offered or kept ("Add to account" in its menu). */
  deviceOnlyIds: string[];
}

/** `set_playback`: a video's play state, not part of undo history. */
export interface PlaybackUpdate {
  elementId: string;
  playback: Playback;
}

/** Unsubscribes an event listener. */
export type Unlisten = () => void;

/** `export_project`: where the `.iskra` bundle went and what it holds (D9). */
export interface BundleExported {
  path: string;
  elements: number;
  assets: number;
}

/**
 * `add_hot_folder` / `remove_hot_folder` (D8): the folder as stored (the full path), whether
 * the list changed (false: it was watched already / was not watched), and the list now.
 */
export interface HotFolderChange {
  folder: string;
  changed: boolean;
  folders: string[];
}
