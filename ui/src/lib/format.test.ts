import { describe, expect, it } from 'vitest';
import { autosaveText, baseName, clockTime, duration, fileNameOf, formatBytes, percent, plural, timeAgo } from './format';

describe('formats', () => {
  it('formats storage sizes in decimal units', () => {
    expect(formatBytes(45_200_000)).toBe('45.2 MB');
    expect(formatBytes(500_000_000)).toBe('500 MB');
    expect(formatBytes(1_500_000_000)).toBe('1.5 GB');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(2_000)).toBe('2 KB');
    expect(formatBytes(-1)).toBe('—');
  });

  it('computes clamped percentages', () => {
    expect(percent(45_200_000, 500_000_000)).toBe(9);
    expect(percent(600, 500)).toBe(100);
    expect(percent(1, -1)).toBe(0);
  });

  it('says how long ago', () => {
    const now = new Date('2025-01-10T12:00:00Z');
    expect(timeAgo('2025-01-10T11:59:50Z', now)).toBe('just now');
    expect(timeAgo('2025-01-10T11:55:00Z', now)).toBe('5 min ago');
    expect(timeAgo('2025-01-10T09:00:00Z', now)).toBe('3 h ago');
    expect(timeAgo('2025-01-09T11:00:00Z', now)).toBe('yesterday');
    expect(timeAgo('2025-01-06T12:00:00Z', now)).toBe('4 days ago');
    expect(timeAgo('nonsense', now)).toBe('');
  });

  it('writes the autosave indicator texts of the spec', () => {
    const at = new Date(2025, 0, 10, 12, 3).toISOString();
    expect(clockTime(at)).toBe('12:03');
    expect(autosaveText({ state: 'saving' })).toBe('Saving…');
    expect(autosaveText({ state: 'saved', at })).toBe('Saved 12:03');
    expect(autosaveText({ state: 'offline' })).toBe('Offline — saved on this device');
    expect(autosaveText({ state: 'paused', reason: 'storage full' })).toBe('Sync paused: storage full');
    expect(autosaveText({ state: 'error', message: 'x' })).toBe('Sync error — retrying');
  });

  it('formats durations and counts', () => {
    expect(duration(7.9)).toBe('0:07');
    expect(duration(3723)).toBe('1:02:03');
    expect(plural(1, 'image')).toBe('1 image');
    expect(plural(0, 'video')).toBe('no videos');
    expect(plural(1200, 'image')).toBe('1,200 images');
  });

  it('makes file names from project names', () => {
    expect(fileNameOf('Moodboard')).toBe('Moodboard');
    expect(fileNameOf('Shoot 2/3: "final"')).toBe('Shoot 2-3- -final');
    expect(fileNameOf('a<b>c|d?')).toBe('a-b-c-d');
    expect(fileNameOf('  ..hidden. ')).toBe('hidden');
    expect(fileNameOf('///')).toBe('Iskra');
    expect(fileNameOf('   ')).toBe('Iskra');
  });

  it('takes the last part of a path', () => {
    expect(baseName('/home/mira/Pictures/board.png')).toBe('board.png');
    expect(baseName('C:\\Users\\mira\\board.png')).toBe('board.png');
    expect(baseName('/home/mira/Inbox/')).toBe('Inbox');
    expect(baseName('board.png')).toBe('board.png');
  });
});
