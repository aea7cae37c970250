/**
 * The demo's API keys (S9): two keys of the signed-in account with a month of believable use,
 * so Settings → API keys shows a list and a chart rather than an empty state.
 */
import { utcDay } from '../backend/memory/apiKeys';
import type { MemoryBackend } from '../backend/memory/memoryBackend';

const DAY_MS = 86_400_000;

export async function seedApiKeys(backend: MemoryBackend): Promise<void> {
  const farm = await backend.createApiKey('Render farm', null);
  const site = await backend.createApiKey('Portfolio site', ['images:read']);
  const today = Date.now();
  for (let ago = 29; ago >= 0; ago--) {
    const day = utcDay(new Date(today - ago * DAY_MS));
    // Busy on weekdays, a ramp over the month, quiet the first week.
    const weekday = new Date(today - ago * DAY_MS).getUTCDay() % 6 !== 0;
    const generations = ago > 24 ? 0 : Math.round((weekday ? 6 : 2) + (29 - ago) * 0.35 + ((ago * 7) % 5));
    if (generations > 0) backend.apiKeys.record(farm.id, day, { requests: generations * 3, generations, images: generations * 2, creditsCharged: generations * 4 });
    if (ago % 3 === 0) backend.apiKeys.record(site.id, day, { requests: 4 + (ago % 4) });
  }
  backend.apiKeys.request(farm.key);
}
