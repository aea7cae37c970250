#!/usr/bin/env node
/**
 * Visual check of the built UI: opens `dist/` (served by `vite preview`) in headless Chromium
 * with software WebGL, drives the `?demo` workspace through a few scenes and saves PNGs to
 * screenshots/. Prints console errors of the page so a broken scene is noticed.
 *
 *   npm run build && npx vite preview --port 4173 &   then   node scripts/screenshots.mjs
 *
 * Env: CHROMIUM (default /usr/bin/chromium), BASE (default http://127.0.0.1:4173/),
 * ONLY=name to take one scene. PNGs are shrunk with `pngquant` when it is installed
 * (Debian package `pngquant`), to stay small enough to commit.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const BASE = process.env.BASE ?? 'http://127.0.0.1:4173/';
const OUT = new URL('../screenshots/', import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** name → query string and what to do before the shot. */
const SCENES = {
  canvas: {
    query: '?demo&theme=dark',
    async act(page) {
      // Select two images with a shift-click so the selection chrome shows.
      await page.mouse.click(360, 300);
      await page.keyboard.down('Shift');
      await page.mouse.click(780, 300);
      await page.keyboard.up('Shift');
      await page.mouse.move(990, 560);
    },
  },
  projects: { query: '?demo&theme=dark&view=projects' },
  assets: { query: '?demo&theme=dark&library&storage=high' },
  offline: {
    query: '?demo&theme=dark&offline',
    async act(page) {
      await page.click('button[aria-haspopup="dialog"]');
    },
  },
  light: { query: '?demo&theme=light&library' },
  missing: {
    query: '?demo&theme=dark&library',
    async act(page) {
      // Delete an asset that is on the canvas: its element turns into the placeholder.
      const id = await page.evaluate(() => window.__iskra.canvas.doc.ordered()[6].assetId);
      await page.evaluate((assetId) => window.__iskra.deleteAsset(assetId), id);
      await sleep(600);
    },
  },
  'generation-panel': {
    query: '?demo&theme=dark&generate&gentime=slow',
    async act(page) {
      await makeGenerations(page);
      // Remix the selected image: the panel shows it as the source.
      const p = await imageCentre(page, 2);
      await page.mouse.click(p.x, p.y);
      await page.click('[data-testid="gen-kind"] [data-value="image-to-image"]');
      await page.click('[data-testid="gen-prompt"]', { clickCount: 3 });
      await page.keyboard.type('The same nebula as a risograph print: two inks, coral and teal, visible grain');
      await page.mouse.move(700, 120);
    },
  },
  'generation-placeholder': {
    query: '?demo&theme=dark&generate&gentime=slow',
    async act(page) {
      await makeGenerations(page);
      // Zoom to the placeholders.
      await page.evaluate(() => {
        const a = window.__iskra;
        const ids = a.generations.list.filter((g) => g.status !== 'completed').map((g) => g.elementId);
        a.canvas.doc.setSelection(ids);
        a.canvas.engine.zoomToSelection();
        a.canvas.doc.setSelection([]);
      });
      await sleep(900);
      await page.mouse.move(700, 860);
    },
  },
  stress: { query: '?demo&theme=dark&stress=3000&view=projects', async act(page) {
      await page.evaluate(() => [...document.querySelectorAll('article button.open')].find((b) => b.getAttribute('aria-label')?.includes('Stress'))?.click());
      await sleep(4000);
    } },
};

/** Centre of the `index`-th image on screen (page coordinates). */
function imageCentre(page, index) {
  return page.evaluate((i) => {
    const c = window.__iskra.canvas;
    const e = c.doc.ordered().filter((x) => x.kind === 'image')[i];
    const cam = c.engine.cameraState;
    const host = document.querySelector('.host').getBoundingClientRect();
    return { x: host.left + (e.x + e.width / 2 - cam.x) * cam.scale, y: host.top + (e.y + e.height / 2 - cam.y) * cam.scale };
  }, index);
}

/**
 * Generations of every status through the panel (the demo's server is slow with `gentime=slow`):
 * one done (fast), one running, one queued, one refused by the hourly limit.
 */
async function makeGenerations(page) {
  const submit = async (prompt, count = 1) => {
    await page.click('[data-testid="gen-prompt"]', { clickCount: 3 });
    await page.keyboard.press('Backspace');
    await page.type('[data-testid="gen-prompt"]', prompt);
    await page.click(`[data-testid="gen-count"] [data-value="${count}"]`);
    await page.click('[data-testid="gen-submit"]');
    await sleep(300);
  };
  // Centre the view on world point (x, y) at 40 %: that is where the next placeholder lands.
  const look = (x, y) => page.evaluate(([wx, wy]) => {
    const e = window.__iskra.canvas.engine;
    const s = 0.4;
    e.setCamera({ x: wx - e.viewSize.width / 2 / s, y: wy - e.viewSize.height / 2 / s, scale: s });
  }, [x, y]);
  // In a row under the board, the finished one first.
  const board = await page.evaluate(() => window.__iskra.canvas.doc.contentBounds());
  const x0 = board.x + 380;
  const y0 = board.y + board.height + 340;
  const pan = async (i) => look(x0 + i * 620 + (i > 0 ? 560 : 0), y0);
  await page.evaluate(() => { const t = window.__iskra.backend.generations.timing; t.queueMs = 200; t.runMs = 600; });
  await pan(0);
  await submit('A coral nebula over a quiet desert, long exposure, film grain', 2);
  await sleep(4500);
  await page.evaluate(() => { const t = window.__iskra.backend.generations.timing; t.queueMs = 50; t.runMs = 600000; });
  await pan(1);
  await submit('Neon city at night in the rain, reflections on wet asphalt, cinematic');
  await page.evaluate(() => (window.__iskra.backend.generations.timing.queueMs = 45000));
  await pan(2);
  await submit('Paper-cut aurora over a frozen lake, layered, soft shadows');
  await pan(3);
  await page.evaluate(() => window.__iskra.backend.setGenerationMode('limit'));
  await submit('Bauhaus poster of a lighthouse, primary colours, bold geometric shapes');
  await sleep(900);
  await page.evaluate(() => window.__iskra.backend.setGenerationMode('normal'));
  await page.evaluate(() => window.__iskra.canvas.engine.fitContent());
  await sleep(700);
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  userDataDir: join(tmpdir(), `iskra-shots-${process.pid}`),
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--use-gl=angle',
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
    '--disable-background-networking',
    '--no-first-run',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    '--autoplay-policy=no-user-gesture-required',
  ],
  defaultViewport: { width: 1440, height: 900 },
});

await mkdir(OUT, { recursive: true });
const only = process.env.ONLY;
for (const [name, scene] of Object.entries(SCENES)) {
  if (only && only !== name) continue;
  const page = await browser.newPage();
  page.on('console', (m) => ['error', 'warning'].includes(m.type()) && console.log(`[${name}] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[${name}] pageerror: ${e.message}`));
  const t0 = Date.now();
  await page.goto(BASE + scene.query, { waitUntil: 'load' });
  await page.waitForSelector('html[data-ready="true"]', { timeout: 120_000 });
  await sleep(2500); // textures decode and upload
  if (scene.act) await scene.act(page);
  await sleep(800);
  const file = join(OUT, `${name}.png`);
  await page.screenshot({ path: file });
  try {
    execFileSync('pngquant', ['--quality=50-85', '--speed=3', '--strip', '--force', '--output', file, file]);
  } catch {
    // pngquant missing or unable to reach the quality: keep the full PNG.
  }
  console.log(`${name}: ${Date.now() - t0} ms, ${Math.round((await stat(file)).size / 1024)} KB`);
  await page.close();
}
await browser.close();
