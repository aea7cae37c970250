/**
 * Text formats shown in the panels: storage sizes (decimal units, as the server's limits are
 * decimal: 500 MB = 500 000 000 bytes), "edited 5 min ago", the autosave clock time, video
 * durations, the autosave indicator texts of D3 exactly as the spec words them, and the file
 * names exports suggest.
 */
import type { AutosaveState } from '../backend/types';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** `45.2 MB`, `500 MB`, `1.5 GB`: one decimal below 100, none above, trailing .0 dropped. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  const text = v >= 100 ? Math.round(v).toString() : v.toFixed(1).replace(/\.0$/, '');
  return `${text} ${UNITS[i]}`;
}

/** Whole percent of used/limit, clamped to 0–100 (a limit ≤ 0 is unlimited: 0 %). */
export function percent(used: number, limit: number): number {
  if (limit <= 0) return 0;
  return Math.max(0, Math.min(100, Math.round((used / limit) * 100)));
}

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", or a date. */
export function timeAgo(iso: string, now: Date = new Date()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((now.getTime() - t) / 1000));
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d === 1) return 'yesterday';
  if (d < 7) return `${d} days ago`;
  return new Date(t).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: d > 300 ? 'numeric' : undefined });
}

/** `12:03`: the local 24-hour clock time of an instant. */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** `0:07`, `1:02:03` for a duration in seconds. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The autosave indicator text of D3. */
export function autosaveText(s: AutosaveState): string {
  switch (s.state) {
    case 'saving':
      return 'Saving…';
    case 'saved':
      return `Saved ${clockTime(s.at)}`;
    case 'offline':
      return 'Offline — saved on this device';
    case 'paused':
      return `Sync paused: ${s.reason}`;
    case 'error':
      return 'Sync error — retrying';
  }
}

/** `3 images`, `1 video`, `no videos`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n === 0 ? 'no' : n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** A file name made from `name` (a project's): characters file systems refuse become "-". */
export function fileNameOf(name: string): string {
  const clean = name.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '-').replace(/^[\s.-]+|[\s.-]+$/g, '');
  return clean || 'Iskra';
}

/** The last part of a path, whichever separator it uses. */
export function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}
