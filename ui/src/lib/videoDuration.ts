/**
 * WebM files recorded by browsers (MediaRecorder) carry no duration: `<video>.duration` is
 * Infinity until the element has seen the end. Seeking far past the end makes the browser
 * find it; this waits for that and seeks back, so players and probes get a real duration.
 */

export async function ensureDuration(video: HTMLVideoElement): Promise<number> {
  if (Number.isFinite(video.duration)) return video.duration;
  const back = video.currentTime;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      if (!Number.isFinite(video.duration)) return;
      video.removeEventListener('durationchange', done);
      video.removeEventListener('timeupdate', done);
      resolve();
    };
    video.addEventListener('durationchange', done);
    video.addEventListener('timeupdate', done);
    video.currentTime = 1e101;
    setTimeout(resolve, 3000);
  });
  video.currentTime = back;
  return Number.isFinite(video.duration) ? video.duration : 0;
}
