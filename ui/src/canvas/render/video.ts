/**
 * Videos playing in place on the canvas: one `<video>` per video element that is visible and
 * large enough (or playing), uploaded to a Pixi texture every frame while it plays.
 *
 * The element's saved `playback` state (`playing`, `currentTime`, `muted`) is restored when a
 * player is created and reported back through `onPlayback` when the user plays, pauses,
 * mutes or the video ends — the current time is part of the canvas state (D1). Players of
 * elements that leave the screen are destroyed, keeping their time.
 */
import { Texture, VideoSource } from 'pixi.js';
import type { Playback } from '../../backend/types';
import { ensureDuration } from '../../lib/videoDuration';

export interface VideoState {
  id: string;
  playing: boolean;
  muted: boolean;
  currentTime: number;
  duration: number;
  ready: boolean;
}

export class VideoPlayer {
  readonly video: HTMLVideoElement;
  readonly texture: Texture;
  private readySeen = false;
  /** The saved state has been applied: from now on the element's state is the player's. */
  private restored = false;

  constructor(
    readonly id: string,
    url: string,
    playback: Playback,
    private readonly changed: () => void,
  ) {
    const v = document.createElement('video');
    v.crossOrigin = 'anonymous';
    v.playsInline = true;
    v.loop = true;
    v.preload = 'auto';
    v.muted = playback.muted;
    v.src = url;
    this.video = v;
    const source = new VideoSource({ resource: v, autoPlay: false, autoLoad: true, updateFPS: 30 });
    this.texture = new Texture({ source });
    const restore = async (): Promise<void> => {
      const d = await ensureDuration(v);
      if (playback.currentTime > 0 && Number.isFinite(playback.currentTime)) v.currentTime = Math.min(playback.currentTime, d || playback.currentTime);
      if (playback.playing) void this.play();
      this.restored = true;
    };
    v.addEventListener('loadedmetadata', () => void restore(), { once: true });
    for (const ev of ['loadeddata', 'seeked', 'play', 'pause', 'volumechange', 'timeupdate']) {
      v.addEventListener(ev, () => {
        if (ev === 'loadeddata') this.readySeen = true;
        this.changed();
      });
    }
  }

  get state(): VideoState {
    const v = this.video;
    return {
      id: this.id,
      playing: !v.paused,
      muted: v.muted,
      currentTime: v.currentTime,
      duration: Number.isFinite(v.duration) ? v.duration : 0,
      ready: this.readySeen,
    };
  }

  /** The state to save, or null while the saved one is still being applied. */
  get playback(): Playback | null {
    if (!this.restored) return null;
    return { playing: !this.video.paused, currentTime: this.video.currentTime, muted: this.video.muted };
  }

  async play(): Promise<void> {
    try {
      await this.video.play();
    } catch {
      // Autoplay with sound can be refused: retry muted rather than not at all.
      this.video.muted = true;
      await this.video.play().catch(() => undefined);
    }
  }

  pause(): void {
    this.video.pause();
  }

  toggle(): Promise<void> | void {
    return this.video.paused ? this.play() : this.pause();
  }

  setMuted(muted: boolean): void {
    this.video.muted = muted;
  }

  seek(t: number): void {
    this.video.currentTime = Math.max(0, t);
  }

  destroy(): void {
    this.video.pause();
    this.texture.destroy(true);
    this.video.removeAttribute('src');
    this.video.load();
  }
}
