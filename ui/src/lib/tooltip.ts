/**
 * Svelte action `use:tooltip={{ text, shortcut, side }}`: a small label shown after a short
 * hover delay or at once on keyboard focus, positioned next to the element inside the window.
 * One shared element in <body>; it is decorative (controls carry their own aria-label).
 */
import { shortcutLabel } from './platform';

export interface TooltipParams {
  text: string;
  shortcut?: string;
  side?: 'top' | 'bottom' | 'left' | 'right';
}

/** Hover delay before a tooltip shows; moving between controls shows the next at once. */
const DELAY_MS = 450;
const GAP = 8;

let tip: HTMLDivElement | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let warmUntil = 0;

function element(): HTMLDivElement {
  if (tip) return tip;
  tip = document.createElement('div');
  tip.className = 'iskra-tooltip';
  tip.setAttribute('aria-hidden', 'true');
  document.body.appendChild(tip);
  return tip;
}

function show(anchor: HTMLElement, p: TooltipParams): void {
  const t = element();
  t.textContent = '';
  t.append(p.text);
  if (p.shortcut) {
    const k = document.createElement('span');
    k.className = 'iskra-tooltip-key';
    k.textContent = shortcutLabel(p.shortcut);
    t.append(k);
  }
  t.dataset.visible = 'true';
  const r = anchor.getBoundingClientRect();
  const tr = t.getBoundingClientRect();
  const side = p.side ?? 'bottom';
  let x = r.left + r.width / 2 - tr.width / 2;
  let y = r.bottom + GAP;
  if (side === 'top') y = r.top - tr.height - GAP;
  if (side === 'right') [x, y] = [r.right + GAP, r.top + r.height / 2 - tr.height / 2];
  if (side === 'left') [x, y] = [r.left - tr.width - GAP, r.top + r.height / 2 - tr.height / 2];
  x = Math.max(6, Math.min(window.innerWidth - tr.width - 6, x));
  y = Math.max(6, Math.min(window.innerHeight - tr.height - 6, y));
  t.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
}

function hide(): void {
  if (timer) clearTimeout(timer);
  timer = null;
  if (tip?.dataset.visible === 'true') warmUntil = performance.now() + 300;
  if (tip) tip.dataset.visible = 'false';
}

export function tooltip(node: HTMLElement, params: TooltipParams): { update(p: TooltipParams): void; destroy(): void } {
  let p = params;
  const enter = (): void => {
    if (timer) clearTimeout(timer);
    const delay = performance.now() < warmUntil ? 0 : DELAY_MS;
    timer = setTimeout(() => show(node, p), delay);
  };
  const focus = (): void => {
    if (node.matches(':focus-visible')) show(node, p);
  };
  node.addEventListener('pointerenter', enter);
  node.addEventListener('pointerleave', hide);
  node.addEventListener('pointerdown', hide);
  node.addEventListener('focus', focus);
  node.addEventListener('blur', hide);
  return {
    update(next) {
      p = next;
    },
    destroy() {
      hide();
      node.removeEventListener('pointerenter', enter);
      node.removeEventListener('pointerleave', hide);
      node.removeEventListener('pointerdown', hide);
      node.removeEventListener('focus', focus);
      node.removeEventListener('blur', hide);
    },
  };
}
