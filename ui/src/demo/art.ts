/**
 * Generative artwork for the `?demo` mode: landscapes, nebulae, planets, dunes, cities and
 * Bauhaus compositions drawn with the 2D canvas API from a seeded random generator, so the
 * demo looks like a creator's AI moodboard without shipping a single binary asset.
 */

export type ArtKind = 'dusk' | 'nebula' | 'planet' | 'dunes' | 'city' | 'bauhaus' | 'waves' | 'aurora';

export interface Palette {
  sky: [string, string, string];
  layers: string[];
  accent: string;
}

export const PALETTES: Palette[] = [
  { sky: ['#1b1440', '#6b2d6b', '#f08a5d'], layers: ['#3b1f4a', '#2a163a', '#1a0f28', '#0f0918'], accent: '#ffd28a' },
  { sky: ['#0b1a2e', '#1f4e6b', '#8fd3c7'], layers: ['#16384d', '#0f2a3b', '#0a1d2a', '#05121b'], accent: '#e8fff7' },
  { sky: ['#2b0f1f', '#a33b3b', '#ffc46b'], layers: ['#6e2430', '#4d1826', '#33101c', '#1f0912'], accent: '#fff1c4' },
  { sky: ['#10122b', '#3c2f7a', '#c08bff'], layers: ['#2b2466', '#1f1a4d', '#151236', '#0b0a1f'], accent: '#ffe0ff' },
  { sky: ['#0d2321', '#2f6b4f', '#e6d38a'], layers: ['#234f3c', '#193a2c', '#10271d', '#081711'], accent: '#fff6cf' },
  { sky: ['#f4e9dc', '#f2c6a0', '#e38b6d'], layers: ['#c8654f', '#a84c3d', '#7c3530', '#4e2124'], accent: '#2d1b2e' },
];

/** Mulberry32: a tiny deterministic PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Ctx = OffscreenCanvasRenderingContext2D;

function skyGradient(ctx: Ctx, w: number, h: number, p: Palette): void {
  const g = ctx.createLinearGradient(0, 0, 0, h);
  g.addColorStop(0, p.sky[0]);
  g.addColorStop(0.55, p.sky[1]);
  g.addColorStop(1, p.sky[2]);
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, w, h);
}

function glow(ctx: Ctx, x: number, y: number, r: number, color: string, alpha = 1): void {
  const g = ctx.createRadialGradient(x, y, 0, x, y, r);
  g.addColorStop(0, color);
  g.addColorStop(1, 'transparent');
  ctx.globalAlpha = alpha;
  ctx.fillStyle = g;
  ctx.fillRect(x - r, y - r, r * 2, r * 2);
  ctx.globalAlpha = 1;
}

function stars(ctx: Ctx, w: number, h: number, r: () => number, n: number, maxY = 1): void {
  for (let i = 0; i < n; i++) {
    ctx.globalAlpha = 0.3 + r() * 0.7;
    ctx.fillStyle = '#ffffff';
    const s = r() < 0.92 ? 1 : 2;
    ctx.fillRect(r() * w, r() * h * maxY, s, s);
  }
  ctx.globalAlpha = 1;
}

/** A mountain ridge: a sum of sines with random phases. */
function ridge(ctx: Ctx, w: number, h: number, base: number, amp: number, color: string, r: () => number): void {
  const f = [r() * 0.004 + 0.002, r() * 0.01 + 0.006, r() * 0.03 + 0.02];
  const ph = [r() * 6, r() * 6, r() * 6];
  ctx.beginPath();
  ctx.moveTo(0, h);
  for (let x = 0; x <= w; x += 4) {
    const y = base - amp * (Math.sin(x * f[0]! + ph[0]!) * 0.6 + Math.sin(x * f[1]! + ph[1]!) * 0.3 + Math.sin(x * f[2]! + ph[2]!) * 0.1);
    ctx.lineTo(x, y);
  }
  ctx.lineTo(w, h);
  ctx.closePath();
  ctx.fillStyle = color;
  ctx.fill();
}

function grain(ctx: Ctx, w: number, h: number, r: () => number, amount = 0.05): void {
  const img = ctx.getImageData(0, 0, w, h);
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    const n = (r() - 0.5) * 255 * amount;
    d[i] = d[i]! + n;
    d[i + 1] = d[i + 1]! + n;
    d[i + 2] = d[i + 2]! + n;
  }
  ctx.putImageData(img, 0, 0);
}

const painters: Record<ArtKind, (ctx: Ctx, w: number, h: number, p: Palette, r: () => number) => void> = {
  dusk(ctx, w, h, p, r) {
    skyGradient(ctx, w, h, p);
    stars(ctx, w, h, r, 160, 0.45);
    const sx = w * (0.3 + r() * 0.4);
    glow(ctx, sx, h * 0.52, w * 0.45, p.accent, 0.55);
    ctx.fillStyle = p.accent;
    ctx.beginPath();
    ctx.arc(sx, h * 0.52, w * 0.07, 0, Math.PI * 2);
    ctx.fill();
    p.layers.forEach((c, i) => ridge(ctx, w, h, h * (0.55 + i * 0.11), h * (0.16 - i * 0.02), c, r));
  },
  nebula(ctx, w, h, p, r) {
    ctx.fillStyle = '#05050b';
    ctx.fillRect(0, 0, w, h);
    ctx.globalCompositeOperation = 'lighter';
    for (let i = 0; i < 26; i++) {
      const c = [p.sky[1], p.sky[2], p.accent, p.layers[0]!][i % 4]!;
      glow(ctx, w * (0.2 + r() * 0.6), h * (0.2 + r() * 0.6), w * (0.12 + r() * 0.3), c, 0.22);
    }
    ctx.globalCompositeOperation = 'source-over';
    stars(ctx, w, h, r, 420);
    glow(ctx, w * 0.5, h * 0.5, w * 0.08, '#ffffff', 0.7);
  },
  planet(ctx, w, h, p, r) {
    ctx.fillStyle = '#06060d';
    ctx.fillRect(0, 0, w, h);
    stars(ctx, w, h, r, 300);
    const cx = w * 0.5;
    const cy = h * 0.55;
    const R = Math.min(w, h) * 0.28;
    glow(ctx, cx, cy, R * 1.8, p.sky[2], 0.25);
    const g = ctx.createRadialGradient(cx - R * 0.4, cy - R * 0.4, R * 0.1, cx, cy, R);
    g.addColorStop(0, p.sky[2]);
    g.addColorStop(0.6, p.sky[1]);
    g.addColorStop(1, p.sky[0]);
    ctx.fillStyle = g;
    ctx.beginPath();
    ctx.arc(cx, cy, R, 0, Math.PI * 2);
    ctx.fill();
    ctx.strokeStyle = p.accent;
    for (let i = 0; i < 5; i++) {
      ctx.globalAlpha = 0.25 + r() * 0.3;
      ctx.lineWidth = 2 + r() * 6;
      ctx.beginPath();
      ctx.ellipse(cx, cy, R * (1.45 + i * 0.09), R * (0.32 + i * 0.02), -0.28, 0, Math.PI * 2);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  },
  dunes(ctx, w, h, p, r) {
    skyGradient(ctx, w, h, { ...p, sky: [p.sky[2], p.sky[1], p.sky[0]] });
    glow(ctx, w * 0.7, h * 0.28, w * 0.25, '#ffffff', 0.35);
    ctx.fillStyle = '#fff8ea';
    ctx.beginPath();
    ctx.arc(w * 0.7, h * 0.28, w * 0.05, 0, Math.PI * 2);
    ctx.fill();
    [...p.layers].reverse().forEach((c, i) => ridge(ctx, w, h, h * (0.6 + i * 0.1), h * 0.07, c, r));
  },
  city(ctx, w, h, p, r) {
    skyGradient(ctx, w, h, p);
    glow(ctx, w * 0.5, h * 0.7, w * 0.6, p.sky[2], 0.4);
    for (let layer = 0; layer < 3; layer++) {
      let x = -20;
      while (x < w) {
        const bw = 30 + r() * 70;
        const bh = h * (0.15 + r() * 0.35) * (1 - layer * 0.2);
        const y = h * 0.78 - bh;
        ctx.fillStyle = p.layers[layer + 1]!;
        ctx.fillRect(x, y, bw, bh + h);
        ctx.fillStyle = p.accent;
        for (let wy = y + 8; wy < h * 0.77; wy += 12) {
          for (let wx = x + 5; wx < x + bw - 6; wx += 9) {
            if (r() < 0.22 - layer * 0.05) {
              ctx.globalAlpha = 0.5 + r() * 0.5;
              ctx.fillRect(wx, wy, 4, 6);
            }
          }
        }
        ctx.globalAlpha = 1;
        x += bw + 2;
      }
    }
    const water = ctx.createLinearGradient(0, h * 0.78, 0, h);
    water.addColorStop(0, p.layers[3]!);
    water.addColorStop(1, '#000000');
    ctx.fillStyle = water;
    ctx.fillRect(0, h * 0.78, w, h);
    ctx.fillStyle = p.accent;
    for (let i = 0; i < 140; i++) {
      ctx.globalAlpha = r() * 0.35;
      ctx.fillRect(r() * w, h * 0.79 + r() * h * 0.2, 6 + r() * 30, 1.5);
    }
    ctx.globalAlpha = 1;
  },
  bauhaus(ctx, w, h, p, r) {
    ctx.fillStyle = '#efe6d6';
    ctx.fillRect(0, 0, w, h);
    const colors = ['#e4572e', '#29335c', '#f3a712', '#1b998b', '#2d1b2e'];
    for (let i = 0; i < 9; i++) {
      ctx.fillStyle = colors[Math.floor(r() * colors.length)]!;
      const x = r() * w;
      const y = r() * h;
      const s = w * (0.1 + r() * 0.3);
      const k = r();
      ctx.beginPath();
      if (k < 0.4) ctx.arc(x, y, s / 2, 0, Math.PI * 2);
      else if (k < 0.7) ctx.rect(x - s / 2, y - s / 2, s, s * (0.3 + r()));
      else {
        ctx.moveTo(x, y - s / 2);
        ctx.lineTo(x + s / 2, y + s / 2);
        ctx.lineTo(x - s / 2, y + s / 2);
      }
      ctx.fill();
    }
    ctx.strokeStyle = '#2d1b2e';
    ctx.lineWidth = w * 0.012;
    ctx.beginPath();
    ctx.arc(w * 0.5, h * 0.5, w * 0.32, r() * 3, r() * 3 + 3.5);
    ctx.stroke();
    void p;
  },
  waves(ctx, w, h, p, r) {
    skyGradient(ctx, w, h, p);
    glow(ctx, w * 0.5, h * 0.35, w * 0.4, p.accent, 0.4);
    for (let i = 0; i < 9; i++) {
      const base = h * (0.45 + i * 0.065);
      ctx.beginPath();
      ctx.moveTo(0, h);
      const ph = r() * 6;
      for (let x = 0; x <= w; x += 4) ctx.lineTo(x, base + Math.sin(x * 0.012 + ph) * h * 0.025 + Math.sin(x * 0.031 + ph * 2) * h * 0.008);
      ctx.lineTo(w, h);
      ctx.closePath();
      const g = ctx.createLinearGradient(0, base - h * 0.05, 0, base + h * 0.1);
      g.addColorStop(0, p.layers[Math.min(3, Math.floor(i / 2))]!);
      g.addColorStop(1, p.layers[3]!);
      ctx.fillStyle = g;
      ctx.fill();
      ctx.strokeStyle = p.accent;
      ctx.globalAlpha = 0.18;
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
  },
  aurora(ctx, w, h, p, r) {
    ctx.fillStyle = '#040812';
    ctx.fillRect(0, 0, w, h);
    stars(ctx, w, h, r, 260, 0.8);
    ctx.globalCompositeOperation = 'lighter';
    for (let band = 0; band < 4; band++) {
      const ph = r() * 6;
      const color = [p.sky[2], p.accent, p.sky[1], '#7cffc4'][band]!;
      for (let x = 0; x < w; x += 3) {
        const y = h * (0.3 + band * 0.06) + Math.sin(x * 0.006 + ph) * h * 0.08;
        const g = ctx.createLinearGradient(x, y - h * 0.25, x, y);
        g.addColorStop(0, 'transparent');
        g.addColorStop(1, color);
        ctx.globalAlpha = 0.05;
        ctx.fillStyle = g;
        ctx.fillRect(x, y - h * 0.25, 3, h * 0.25);
      }
    }
    ctx.globalCompositeOperation = 'source-over';
    ctx.globalAlpha = 1;
    ridge(ctx, w, h, h * 0.86, h * 0.06, '#02040a', r);
  },
};

/** Paints one artwork into a new canvas of `w`×`h`. */
export function paint(kind: ArtKind, w: number, h: number, seed: number, palette: Palette): OffscreenCanvas {
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('2D canvas unavailable');
  const r = rng(seed);
  painters[kind](ctx, w, h, palette, r);
  grain(ctx, w, h, r, 0.02);
  return canvas;
}
