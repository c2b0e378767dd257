// One run of the time-to-play benchmark: uploads FILE to the service at BASE_URL, then times,
// from the upload's 201 answer:
// - playable: the first poll (every 100 ms) of GET /v1/videos/{id} that has a playback_url;
// - first frame: hls.js in Chromium, started then on that URL, presents its first frame
//   (requestVideoFrameCallback);
// - completed: the first poll that sees `completed`.
// Prints one JSON line. Driven by bench/time_to_play.py; needs `npm ci --prefix web`.
//
//   BASE_URL=http://127.0.0.1:8091 FILE=/abs/video.mp4 node bench/time_to_play.mjs

import fs from 'node:fs';

const { BASE_URL, FILE } = process.env;
const POLL_MS = 100;
const TIMEOUT_MS = 30 * 60_000;
const playwright = await import(new URL('../web/node_modules/playwright-core/index.mjs', import.meta.url));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (from) => (performance.now() - from) / 1000;

async function video(id) {
  const response = await fetch(`${BASE_URL}/v1/videos/${id}`);
  if (!response.ok) throw new Error(`GET /v1/videos/${id}: ${response.status}`);
  return response.json();
}

/** Polls the video until `reached(video)`; the video then. */
async function until(id, reached) {
  const deadline = performance.now() + TIMEOUT_MS;
  for (;;) {
    const current = await video(id);
    if (current.status === 'failed' || current.status === 'canceled') {
      throw new Error(`the video ended ${current.status}: ${JSON.stringify(current.error)}`);
    }
    if (reached(current)) return current;
    if (performance.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(current)}`);
    await sleep(POLL_MS);
  }
}

const browser = await playwright.chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
});
try {
  const page = await browser.newPage();
  // The service's page: hls.js is loaded there, from the service itself.
  await page.goto(`${BASE_URL}/`, { waitUntil: 'load' });
  await page.waitForFunction(() => typeof window.Hls === 'function');

  const body = fs.readFileSync(FILE);
  const uploadStarted = performance.now();
  const created = await fetch(`${BASE_URL}/v1/videos`, {
    method: 'POST',
    headers: { 'Content-Type': 'video/mp4' },
    body,
  });
  if (created.status !== 201) throw new Error(`upload answered ${created.status}: ${await created.text()}`);
  const createdAt = performance.now();
  const { id } = await created.json();

  const playable = await until(id, (v) => v.playback_url);
  const playableAfter = seconds(createdAt);
  const playableWhile = playable.status;
  await page.evaluate((url) => new Promise((resolve, reject) => {
    const element = document.createElement('video');
    element.muted = true;
    document.body.append(element);
    const hls = new window.Hls();
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) reject(new Error(`hls.js: ${data.type} ${data.details}`));
    });
    element.requestVideoFrameCallback(() => resolve());
    hls.loadSource(url);
    hls.attachMedia(element);
    element.play().catch(reject);
  }), playable.playback_url);
  const firstFrameAfter = seconds(createdAt);
  // The player stops here, so that it takes no CPU from the rest of the conversion.
  await page.close();
  const done = await until(id, (v) => v.status === 'completed');
  const completedAfter = seconds(createdAt);
  console.log(JSON.stringify({
    id,
    upload_seconds: (createdAt - uploadStarted) / 1000,
    playable_seconds: playableAfter,
    playable_while: playableWhile,
    first_frame_seconds: firstFrameAfter,
    completed_seconds: completedAfter,
    duration_seconds: done.duration_seconds,
  }));
} finally {
  await browser.close();
}
