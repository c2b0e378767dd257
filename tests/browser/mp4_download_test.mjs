// Chromium's own <video> (no hls.js) playing a video's MP4 download: it must load the file's
// metadata from its front (faststart), know its duration and picture size, and play it.
//
//   PAGE_URL=http://127.0.0.1:PORT/ MP4_URL=http://.../download/480p.mp4 \
//   node tests/browser/mp4_download_test.mjs
//
// Prints one JSON line: duration, picture size, how far it played, and whether it has sound
// (Chromium's webkitAudioDecodedByteCount); or the reason on stderr with exit code 1.

import { launch } from './chromium.mjs';

const { PAGE_URL, MP4_URL } = process.env;
const browser = await launch('mp4_download_test');
try {
  const page = await browser.newPage();
  await page.goto(PAGE_URL, { waitUntil: 'load' });
  const result = await page.evaluate(async (url) => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const video = document.createElement('video');
    document.body.append(video);
    const errors = [];
    video.addEventListener('error', () => errors.push(`media error ${video.error && video.error.code}: ${video.error && video.error.message}`));
    const metadata = new Promise((resolve) => video.addEventListener('loadedmetadata', resolve, { once: true }));
    video.src = url;
    await Promise.race([metadata, sleep(15_000)]);
    await video.play().catch((e) => errors.push(`play: ${e.message}`));
    // Generous: on a loaded 2-core machine headless Chromium decodes slowly (seen: 1.15 s in 20 s).
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && video.currentTime < 1.5 && !video.ended) await sleep(50);
    return {
      duration: video.duration,
      width: video.videoWidth,
      height: video.videoHeight,
      played: video.currentTime,
      audio_bytes: video.webkitAudioDecodedByteCount,
      video_bytes: video.webkitVideoDecodedByteCount,
      errors,
    };
  }, MP4_URL);
  if (!(result.played >= 1.5) || result.errors.length > 0) {
    console.error(`mp4_download_test: did not play: ${JSON.stringify(result)}`);
    process.exitCode = 1;
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
