/**
 * What the in-memory "server" generates in the browser demo: artwork painted by `art.ts`
 * (the scene picked from words of the prompt, the palette and details from the seed), and a
 * short recorded clip for image-to-video where the browser can record one.
 */
import type { OutputMaker } from '../backend/memory/generations';
import { type ArtKind, PALETTES, paint } from './art';
import { recordVideo } from './video';

const WORDS: [RegExp, ArtKind][] = [
  [/nebula|galax|cosmic|space|star/i, 'nebula'],
  [/planet|moon|orbit/i, 'planet'],
  [/dune|desert|sand/i, 'dunes'],
  [/city|street|neon|skyline|tower/i, 'city'],
  [/bauhaus|poster|geometr|abstract|shape/i, 'bauhaus'],
  [/wave|sea|ocean|surf/i, 'waves'],
  [/aurora|northern|polar|ice/i, 'aurora'],
  [/dusk|sunset|mountain|dawn|landscape/i, 'dusk'],
];
const ALL: ArtKind[] = ['dusk', 'nebula', 'planet', 'dunes', 'city', 'bauhaus', 'waves', 'aurora'];

function artKind(prompt: string, seed: number): ArtKind {
  return WORDS.find(([re]) => re.test(prompt))?.[1] ?? ALL[seed % ALL.length]!;
}

export const demoOutput: OutputMaker = async ({ kind, prompt, width, height, seed }) => {
  const art = artKind(prompt, seed);
  const palette = seed % PALETTES.length;
  if (kind === 'image-to-video') {
    const clip = await recordVideo(art, palette);
    if (clip) return { bytes: clip, mimeType: 'video/webm' };
  }
  const canvas = paint(art, width, height, seed, PALETTES[palette]!);
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
  return { bytes: new Uint8Array(await blob.arrayBuffer()), mimeType: 'image/jpeg' };
};
