#!/usr/bin/env node
/**
 * Browser smoke test of the built UI on the in-memory backend: real pointer, wheel, keyboard
 * and drop events in headless Chromium (software WebGL), checked against the app state the
 * demo exposes as `window.__iskra`. Complements the Vitest unit tests, which cannot run
 * PixiJS or the DOM wiring.
 *
 *   npm run build && npx vite preview --port 4173 &   then   node scripts/smoke.mjs
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const BASE = process.env.BASE ?? 'http://127.0.0.1:4173/';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let passed = 0;
let failed = 0;

function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  userDataDir: join(tmpdir(), `iskra-smoke-${process.pid}`),
  args: ['--no-sandbox', '--disable-gpu', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  defaultViewport: { width: 1440, height: 900 },
});
const page = await browser.newPage();
page.on('pageerror', (e) => check('no page errors', false, e.message));
await page.goto(`${BASE}?demo`, { waitUntil: 'load' });
await page.waitForSelector('html[data-ready="true"]', { timeout: 120_000 });
await sleep(1500);

const state = () =>
  page.evaluate(() => {
    const a = window.__iskra;
    const c = a.canvas;
    const sel = [...c.doc.selection];
    const first = sel.length ? c.doc.get(sel[0]) : null;
    return { count: c.elementCount, selected: sel.length, canUndo: c.canUndo, zoom: c.zoom, first, view: a.view, project: a.project?.name };
  });
/** Centre of an element on screen (page coordinates). */
const centreOf = (index) =>
  page.evaluate((i) => {
    const c = window.__iskra.canvas;
    const e = c.doc.ordered().filter((x) => x.kind === 'image')[i];
    const cam = c.engine.cameraState;
    const host = document.querySelector('.host').getBoundingClientRect();
    return { id: e.id, x: host.left + (e.x + e.width / 2 - cam.x) * cam.scale, y: host.top + (e.y + e.height / 2 - cam.y) * cam.scale };
  }, index);

let s = await state();
check('demo canvas loads', s.count === 14, `${s.count} elements`);

const a = await centreOf(0);
await page.mouse.click(a.x, a.y);
s = await state();
check('click selects', s.selected === 1 && s.first.id === a.id);

const x0 = s.first.x;
await page.mouse.move(a.x, a.y);
await page.mouse.down();
await page.mouse.move(a.x + 60, a.y + 40, { steps: 6 });
await page.mouse.up();
await sleep(200);
s = await state();
check('drag moves (one undoable edit)', s.first.x > x0 + 50 && s.canUndo, `x ${x0.toFixed(1)} → ${s.first.x.toFixed(1)}`);

await page.keyboard.down('Control');
await page.keyboard.press('z');
await page.keyboard.up('Control');
await sleep(200);
s = await state();
check('Ctrl+Z undoes the move', Math.abs(s.first.x - x0) < 1e-6);

const b = await centreOf(1);
await page.keyboard.down('Shift');
await page.mouse.click(b.x, b.y);
await page.keyboard.up('Shift');
s = await state();
check('shift-click adds to the selection', s.selected === 2);

await page.keyboard.down('Control');
await page.keyboard.press('d');
await page.keyboard.up('Control');
await sleep(200);
s = await state();
check('Ctrl+D duplicates and selects the copies', s.count === 16 && s.selected === 2);

await page.keyboard.press('Delete');
await sleep(200);
s = await state();
check('Delete removes the selection', s.count === 14 && s.selected === 0);

// Resize with the bottom-right handle of a single selection.
const c0 = await centreOf(2);
await page.mouse.click(c0.x, c0.y);
const handle = await page.evaluate(() => {
  const c = window.__iskra.canvas;
  const id = [...c.doc.selection][0];
  const e = c.doc.get(id);
  const cam = c.engine.cameraState;
  const host = document.querySelector('.host').getBoundingClientRect();
  return { x: host.left + (e.x + e.width - cam.x) * cam.scale, y: host.top + (e.y + e.height - cam.y) * cam.scale, w: e.width, h: e.height };
});
await page.mouse.move(handle.x, handle.y);
await page.mouse.down();
await page.mouse.move(handle.x + 80, handle.y + 10, { steps: 5 });
await page.mouse.up();
await sleep(200);
s = await state();
check('corner handle resizes with the aspect locked', s.first.width > handle.w + 100 && Math.abs(s.first.width / s.first.height - handle.w / handle.h) < 1e-6, `${handle.w.toFixed(0)} → ${s.first.width.toFixed(0)}`);

const z0 = s.zoom;
await page.keyboard.down('Control');
await page.mouse.move(700, 400);
await page.mouse.wheel({ deltaY: -300 });
await page.keyboard.up('Control');
await sleep(300);
s = await state();
check('ctrl+wheel zooms in', s.zoom > z0, `${(z0 * 100).toFixed(0)}% → ${(s.zoom * 100).toFixed(0)}%`);

// Drop an image file onto the canvas.
await page.evaluate(async () => {
  const cv = new OffscreenCanvas(300, 200);
  const ctx = cv.getContext('2d');
  ctx.fillStyle = '#ff7a3d';
  ctx.fillRect(0, 0, 300, 200);
  const blob = await cv.convertToBlob({ type: 'image/png' });
  const dt = new DataTransfer();
  dt.items.add(new File([blob], 'dropped.png', { type: 'image/png' }));
  const host = document.querySelector('.host');
  host.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true, clientX: 700, clientY: 400 }));
  host.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true, clientX: 700, clientY: 400 }));
});
// Import runs decode and thumbnailing: wait for it rather than for a fixed time.
await page.waitForFunction(() => window.__iskra.canvas.elementCount === 15, { timeout: 15_000 }).catch(() => undefined);
s = await state();
check('dropping a file places it', s.count === 15 && s.selected === 1, `${s.count} elements`);

// Lock: a locked element does not move.
await page.keyboard.down('Control');
await page.keyboard.down('Shift');
await page.keyboard.press('l');
await page.keyboard.up('Shift');
await page.keyboard.up('Control');
await sleep(200);
s = await state();
const lockedX = s.first.x;
await page.mouse.move(700, 400);
await page.mouse.down();
await page.mouse.move(760, 430, { steps: 4 });
await page.mouse.up();
await sleep(200);
s = await state();
check('locked elements stay put', s.first.locked && s.first.x === lockedX);

const png = await page.evaluate(async () => (await window.__iskra.canvas.engine.thumbnail())?.length ?? 0);
check('project tile thumbnail renders from the canvas', png > 1000, `${png} bytes`);

// Library: filtering to videos must not make images "missing"; deleting one asset does.
const lib = await page.evaluate(async () => {
  const a = window.__iskra;
  a.toggleLibrary(true);
  a.setAssetQuery({ type: 'video' });
  await new Promise((r) => setTimeout(r, 400));
  const images = a.canvas.doc.ordered().filter((e) => e.kind === 'image' && e.assetId);
  const before = images.filter((e) => a.canvas.engine.available.has(e.assetId)).length;
  await a.deleteAsset(images[0].assetId);
  const after = images.filter((e) => a.canvas.engine.available.has(e.assetId)).length;
  a.setAssetQuery({ type: null });
  return { total: images.length, before, after, cards: document.querySelectorAll('aside .card').length };
});
check('library filter keeps canvas images available', lib.before === lib.total, `${lib.before}/${lib.total}`);
check('deleting an asset makes its elements placeholders', lib.after === lib.total - 1);

// Generation (D7): the panel through its test ids, a placeholder, then the outputs replace it.
await page.evaluate(() => window.__iskra.toggleLibrary(false));
await page.evaluate(() => { const t = window.__iskra.backend.generations.timing; t.queueMs = 150; t.runMs = 600; });
await page.click('[data-testid="gen-open"]');
await page.waitForSelector('[data-testid="gen-prompt"]');
const before = (await state()).count;
await page.type('[data-testid="gen-prompt"]', 'A paper boat on a moonlit pond');
await page.click('[data-testid="gen-count"] [data-value="2"]');
await page.keyboard.down('Control');
await page.keyboard.press('Enter');
await page.keyboard.up('Control');
await page.waitForSelector('[data-testid="gen-recent-item"]', { timeout: 5000 }).catch(() => undefined);
const placed = await page.evaluate(() => window.__iskra.canvas.doc.ordered().filter((e) => e.kind === 'generation').length);
check('Ctrl+Enter generates: a placeholder lands on the canvas', placed === 1);
await page.waitForSelector('[data-testid="gen-recent-item"][data-status="completed"]', { timeout: 20_000 }).catch(() => undefined);
s = await state();
const placeholders = await page.evaluate(() => window.__iskra.canvas.doc.ordered().filter((e) => e.kind === 'generation').length);
check('the outputs replace the placeholder', s.count === before + 2 && placeholders === 0, `${before} → ${s.count} elements`);
await page.evaluate(() => window.__iskra.backend.setGenerationMode('limit'));
await page.click('[data-testid="gen-submit"]');
await page.waitForSelector('[data-testid="gen-limit-message"]', { timeout: 5000 }).catch(() => undefined);
const limitText = await page.$eval('[data-testid="gen-limit-message"]', (el) => el.textContent ?? '').catch(() => '');
check('a throttled request says which limit and when it resets', /Hourly image limit reached: \d+ of \d+ used — resets/.test(limitText), limitText.trim().slice(0, 80));
await page.evaluate(() => window.__iskra.backend.setGenerationMode('normal'));
await page.click('[data-testid="gen-recent-item"][data-status="failed"] [data-testid="gen-retry"]');
await page.waitForFunction(() => !document.querySelector('[data-testid="gen-recent-item"][data-status="failed"]'), { timeout: 20_000 }).catch(() => undefined);
check('retry sends a failed generation again', (await page.$$('[data-testid="gen-recent-item"][data-status="failed"]')).length === 0);

// Projects: create one from the panel, it opens with the next free default name.
await page.click('nav .crumb');
await page.waitForSelector('section.projects');
await sleep(300);
const tiles = await page.$$eval('section.projects article', (l) => l.length);
check('projects panel lists the projects', tiles === 8, `${tiles} tiles`);
await page.evaluate(() => [...document.querySelectorAll('button')].find((b) => b.textContent?.includes('New project'))?.click());
await sleep(500);
s = await state();
check('new project opens with a default name', s.view === 'canvas' && s.project === 'Iskra 02', s.project);

await browser.close();
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
