/**
 * Short generated videos for the demo: an animated painting recorded from a <canvas> with
 * MediaRecorder into WebM. Returns null where recording is unavailable (the demo then simply
 * has no videos).
 */
import { type ArtKind, PALETTES, paint } from './art';

/** Length of a demo video. */
const SECONDS = 3;
const W = 640;
const H = 360;

export async function recordVideo(kind: ArtKind, palette: number): Promise<Uint8Array | null> {
  if (typeof MediaRecorder === 'undefined') return null;
  const mime = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'].find((m) => MediaRecorder.isTypeSupported(m));
  if (!mime) return null;
  const still = paint(kind, W * 2, H, 4242 + palette, PALETTES[palette]!);
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  const stream = canvas.captureStream(24);
  const rec = new MediaRecorder(stream, { mimeType: mime, videoBitsPerSecond: 1_500_000 });
  const chunks: Blob[] = [];
  rec.ondataavailable = (e) => e.data.size > 0 && chunks.push(e.data);
  const done = new Promise<void>((resolve) => (rec.onstop = () => resolve()));
  const start = performance.now();
  let raf = 0;
  const frame = (): void => {
    const t = (performance.now() - start) / 1000;
    // A slow pan across a painting twice the frame's width, with a breathing glow.
    ctx.drawImage(still, -(t / SECONDS) * W, 0);
    ctx.fillStyle = `rgba(255, 255, 255, ${0.05 + 0.05 * Math.sin(t * 3)})`;
    ctx.fillRect(0, 0, W, H);
    raf = requestAnimationFrame(frame);
  };
  frame();
  rec.start(250);
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), (SECONDS + 5) * 1000));
  setTimeout(() => rec.state !== 'inactive' && rec.stop(), SECONDS * 1000);
  const result = await Promise.race([done, timeout]);
  cancelAnimationFrame(raf);
  stream.getTracks().forEach((t) => t.stop());
  if (result === 'timeout' || chunks.length === 0) return null;
  return new Uint8Array(await new Blob(chunks, { type: 'video/webm' }).arrayBuffer());
}
