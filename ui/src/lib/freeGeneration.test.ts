import { describe, expect, it } from 'vitest';
import { freeFailure, freeRefusal } from './freeGeneration';
import type { LocalGenerationError } from '../backend/types';

const quota = (resetsAt: string): LocalGenerationError => ({
  code: 'ANONYMOUS_QUOTA_EXCEEDED',
  message: 'The free image of the day is used',
  limit: { window: 'day', limit: 1, used: 1, remaining: 0, resetsAt, tier: 'anonymous', upgradeUrl: 'iskra://sign-in' },
  storage: null,
  credits: null,
});

describe('free image before sign-in', () => {
  it('says the day’s image is used, when the next one comes, and offers sign-in', () => {
    const now = new Date(2026, 11, 1, 22, 59, 0);
    const midnight = new Date(2026, 11, 2, 0, 0, 0).toISOString();
    const m = freeRefusal(quota(midnight), now);
    expect(m.title).toBe('Today’s free image is used');
    expect(m.detail).toBe('Another one comes tomorrow at 00:00 — or sign in to keep generating on your account.');
    const soon = freeRefusal(quota(new Date(now.getTime() + 30_000).toISOString()), now);
    expect(soon.detail.startsWith('Another one comes in 30 s')).toBe(true);
  });

  it('words other refusals and failures with the server’s message', () => {
    const other = freeRefusal({ code: 'VALIDATION_FAILED', message: 'prompt must not be empty', limit: null, storage: null, credits: null });
    expect(other).toEqual({ title: 'The free image was refused', detail: 'prompt must not be empty. Sign in to keep generating.' });
    expect(freeFailure({ code: 'FAL_FAILED', message: 'The run failed', limit: null, storage: null, credits: null }).detail).toBe('The run failed.');
    expect(freeFailure(null).title).toBe('The free image could not be made');
  });
});
