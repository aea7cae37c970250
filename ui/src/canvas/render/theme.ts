/**
 * Colours the WebGL canvas draws with, read from the same CSS variables as the panels so the
 * canvas follows the light/dark theme (`--canvas-*`, `--accent`). Re-read on theme change.
 */

export interface CanvasTheme {
  background: number;
  dot: number;
  dotAlpha: number;
  accent: number;
  handleFill: number;
  placeholder: number;
  placeholderInk: number;
  loading: number;
  /** Text on the canvas (placeholder status), and the failure colours. */
  text: number;
  danger: number;
  dangerInk: number;
  fontFamily: string;
}

function cssColor(style: CSSStyleDeclaration, name: string, fallback: number): number {
  const raw = style.getPropertyValue(name).trim();
  const hex = /^#([0-9a-f]{6})$/i.exec(raw);
  return hex ? parseInt(hex[1]!, 16) : fallback;
}

export function readCanvasTheme(el: Element = document.documentElement): CanvasTheme {
  const s = getComputedStyle(el);
  return {
    background: cssColor(s, '--canvas-bg', 0x111214),
    dot: cssColor(s, '--canvas-dot', 0x3a3d45),
    dotAlpha: Number.parseFloat(s.getPropertyValue('--canvas-dot-alpha')) || 1,
    accent: cssColor(s, '--accent', 0xff7a3d),
    handleFill: cssColor(s, '--canvas-handle', 0xffffff),
    placeholder: cssColor(s, '--canvas-placeholder', 0x1c1d21),
    placeholderInk: cssColor(s, '--canvas-placeholder-ink', 0x8b8f98),
    loading: cssColor(s, '--canvas-loading', 0x1a1b1f),
    text: cssColor(s, '--text', 0xececef),
    danger: cssColor(s, '--danger', 0xd9363e),
    dangerInk: cssColor(s, '--danger-ink', 0xff7b80),
    fontFamily: s.getPropertyValue('--font-sans').trim() || 'sans-serif',
  };
}
