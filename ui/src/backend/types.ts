/**
 * Shapes the UI and the engine exchange beyond the HTTP wire types: what a command takes and
 * what the engine reports (autosave state, rejected operations, account, canvas deltas).
 *
 * Wire types (Element, Viewport, Project, Asset, StorageQuota, …) come from Rust through ts-rs
 * in `../generated/` and are re-exported here so the rest of the UI imports from one place.
 * The Rust side (src-tauri commands) must serialise these shapes with camelCase field names.
 */
import type { Asset } from '../generated/Asset';
import type { BillingStatus } from '../generated/BillingStatus';
import type { Element } from '../generated/Element';
import type { ErrorDetail } from '../generated/ErrorDetail';
import type { GenerationKind } from '../generated/GenerationKind';
import type { GenerationParams } from '../generated/GenerationParams';
import type { GenerationStatus } from '../generated/GenerationStatus';
import type { Playback } from '../generated/Playback';
import type { Project } from '../generated/Project';
import type { StorageQuota } from '../generated/StorageQuota';
import type { Tier } from '../generated/Tier';
import type { Viewport } from '../generated/Viewport';

export type { ApiKeyInfo } from '../generated/ApiKeyInfo';
export type { Asset } from '../generated/Asset';
export type { AssetType } from '../generated/AssetType';
export type { BillingStatus } from '../generated/BillingStatus';
export type { CreditEstimate } from '../generated/CreditEstimate';
export type { Credits } from '../generated/Credits';
export type { Element } from '../generated/Element';
export type { ElementKind } from '../generated/ElementKind';
export type { ErrorDetail } from '../generated/ErrorDetail';
export type { GalleryItem } from '../generated/GalleryItem';
export type { GenerationKind } from '../generated/GenerationKind';
export type { GenerationParams } from '../generated/GenerationParams';
export type { GenerationStatus } from '../generated/GenerationStatus';
export type { KeyUsage } from '../generated/KeyUsage';
export type { ModelInfo } from '../generated/ModelInfo';
export type { NewApiKeyCreated } from '../generated/NewApiKeyCreated';
export type { Page } from '../generated/Page';
export type { Playback } from '../generated/Playback';
export type { Project } from '../generated/Project';
export type { Share } from '../generated/Share';
export type { ShareLink } from '../generated/ShareLink';
export type { StorageQuota } from '../generated/StorageQuota';
export type { Tier } from '../generated/Tier';
export type { UsageReport } from '../generated/UsageReport';
export type { UsageRow } from '../generated/UsageRow';
export type { Viewport } from '../generated/Viewport';

export type SortOrder = 'asc' | 'desc';

/** `take_shared_images`: images of share links opened in Iskra, now in the library, and failures. */
export interface SharedArrivals {
  assetIds: string[];
  errors: string[];
}

/** `gallery` arguments (S10): the user's generated images, newest or most downloaded first. */
export interface GalleryQuery {
  sort: 'created' | 'downloads';
  order: SortOrder;
  /** The previous page's `nextCursor`; null for the first page. */
  cursor: string | null;
  /** Page size; null: the server's default. */
  limit: number | null;
}

/** A scope an API key may hold (S9): generate and edit images, or read jobs and usage. */
export type ApiKeyScope = 'images:generate' | 'images:read';

/** `api_key_usage` arguments (S9); null: the server's default (the 30 days to today, every key). */
export interface UsageQuery {
  /** First day, `YYYY-MM-DD` (UTC). */
  from: string | null;
  /** Last day, inclusive. */
  to: string | null;
  /** One key of the account (revoked ones too). */
  keyId: string | null;
}

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

/**
 * Signed in (synced) or local-only (D6). `billingStatus` is the state of subscription payments
 * (`payment_failed` after a failed charge: the profile menu warns).
 */
export type Account =
  | { signedIn: false }
  | { signedIn: true; email: string; tier: Tier; billingStatus: BillingStatus; manageUrl: string };

// ── Credits and billing (S8) ─────────────────────────────────────────────────────────────────

/** The plans Checkout sells (`open_checkout`). */
export type PaidPlan = Exclude<Tier, 'free'>;

/**
 * `estimate_generation` arguments: the generation as the form stands (null: the model's or the
 * server's default).
 */
export interface EstimateRequest {
  kind: GenerationKind;
  model: string | null;
  numImages: number | null;
  imageSize: string | null;
  durationS: number | null;
}

/** The numbers of a refusal for want of credits (HTTP 402 `INSUFFICIENT_CREDITS`). */
export interface CreditShortfall {
  required: number;
  available: number;
}

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

// ── Generation (D7) ──────────────────────────────────────────────────────────────────────────

/**
 * `generate` arguments: what to make and where its placeholder goes. `model: null` takes the
 * kind's default model; `imageSize`, `numImages`, `seed`, `durationS` null take the model's
 * defaults. `sourceElementId` is the selected image element of image-to-image and
 * image-to-video (null for text-to-image); `at` is the world point of the placeholder's centre.
 */
export interface GenerateRequest {
  kind: GenerationKind;
  model: string | null;
  prompt: string;
  imageSize: string | null;
  numImages: number | null;
  seed: number | null;
  durationS: number | null;
  sourceElementId: string | null;
  at: Placement;
}

/** The rate-limit window a generation ran into (HTTP 429 details of the server). */
export interface GenerationLimit {
  window: 'minute' | 'hour' | 'day';
  limit: number;
  used: number;
  remaining: number;
  /** RFC 3339 instant the window resets. */
  resetsAt: string;
  /** The account's tier (`free`, `pro`, …), null when anonymous. */
  tier: string | null;
  upgradeUrl: string;
}

/**
 * Why a generation failed: the code and message, plus the limit or quota when throttled, or
 * what it needed and what there was when credits were short.
 */
export interface LocalGenerationError {
  code: string;
  message: string;
  limit: GenerationLimit | null;
  storage: StorageQuota | null;
  credits: CreditShortfall | null;
}

/**
 * Where a generation is for this device: `waiting` is in the offline outbox, not yet accepted
 * by the server; the rest are the server's statuses.
 */
export type LocalGenerationStatus = 'waiting' | GenerationStatus;

/**
 * A generation as the engine keeps it (`list_generations`, `generation-changed`): a stable
 * local id, the server's id once accepted, and the placeholder element it drew on the canvas
 * (`elementId`: the element of kind `generation` whose outputs replace it).
 */
export interface LocalGeneration {
  id: string;
  serverId: string | null;
  projectId: string;
  elementId: string;
  kind: GenerationKind;
  prompt: string;
  model: string;
  params: GenerationParams;
  status: LocalGenerationStatus;
  /** Jobs ahead of this one while queued (1: next), else null. */
  queuePosition: number | null;
  error: LocalGenerationError | null;
  /** Asset ids of the outputs once completed. */
  outputs: string[];
  createdAt: string;
}

/**
 * `free_generate` arguments: the one free text-to-image before sign-in (S6). `imageSize` null
 * takes the default size; `at` is the world point of the placeholder's centre.
 */
export interface FreeGenerateRequest {
  prompt: string;
  imageSize: string | null;
  at: Placement;
}

/**
 * How the free image before sign-in ended: on the canvas where its placeholder stood, refused
 * by the server (`ANONYMOUS_QUOTA_EXCEEDED` with its day window once the day's image is used),
 * or failed (the placeholder is gone either way).
 */
export type FreeOutcome =
  | { status: 'completed'; element: Element; assetId: string }
  | { status: 'refused'; error: LocalGenerationError }
  | { status: 'failed'; error: LocalGenerationError };

/** `generate`: the new generation and the canvas delta that adds its placeholder. */
export interface Generated {
  generation: LocalGeneration;
  delta: CanvasDelta;
}
