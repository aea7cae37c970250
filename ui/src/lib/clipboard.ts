/**
 * Copying text to the system clipboard from the webview: the async Clipboard API where the
 * page may use it (given a moment: some webviews leave the promise pending instead of
 * refusing), else the selection-and-copy fallback. Resolves to whether it worked.
 */

/** How long the Clipboard API may take before the fallback is tried. */
export const CLIPBOARD_TIMEOUT_MS = 1000;

async function viaClipboardApi(text: string): Promise<boolean> {
  if (typeof navigator === 'undefined' || !navigator.clipboard?.writeText) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CLIPBOARD_TIMEOUT_MS)));
  const wrote = navigator.clipboard.writeText(text).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([wrote, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

function viaSelection(text: string): boolean {
  if (typeof document === 'undefined') return false;
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  try {
    // The fallback of webviews without a usable Clipboard API (deprecated, still the only one).
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

export async function copyText(text: string): Promise<boolean> {
  return (await viaClipboardApi(text)) || viaSelection(text);
}
