/**
 * The words of the free image before sign-in (S6): what the panel says while it is made, once
 * it is on the canvas, and when the server refused it (the day's free image is used: when the
 * next one comes, with the sign-in offer) or it failed.
 */
import type { LocalGenerationError } from '../backend/types';
import { resetsText } from './generation';

export interface FreeMessage {
  title: string;
  detail: string;
}

/** The refusal of a second free image the same day, or another refusal, in words. */
export function freeRefusal(error: LocalGenerationError, now: Date = new Date()): FreeMessage {
  if (error.code !== 'ANONYMOUS_QUOTA_EXCEEDED' || !error.limit) {
    return { title: 'The free image was refused', detail: `${error.message}. Sign in to keep generating.` };
  }
  const { limit } = error;
  const resets = resetsText(limit.resetsAt, now);
  const what = limit.limit === 1 ? 'Today’s free image is used' : `Today’s ${limit.limit} free images are used`;
  const next = resets ? resets.replace(/^resets/, 'Another one comes') : 'Another one comes tomorrow';
  return { title: what, detail: `${next} — or sign in to keep generating on your account.` };
}

/** A free image that did not come. */
export function freeFailure(error: LocalGenerationError | null): FreeMessage {
  return { title: 'The free image could not be made', detail: error?.message ? `${error.message}.`.replace(/\.\.$/, '.') : 'Try again later, or sign in to generate on your account.' };
}
