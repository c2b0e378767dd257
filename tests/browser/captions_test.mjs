// hls.js in Debian's Chromium (via playwright-core from web/node_modules) playing a video
// with subtitle renditions: it must list every track with its language and flags, and, once
// a track is chosen, show its cue at the source's time.
//
//   PAGE_URL=http://127.0.0.1:PORT/ PLAYBACK_URL=http://.../master.m3u8 \
//   CUE_TEXT="Hello there" CUE_AT=1.5 node tests/browser/captions_test.mjs
//
// The page at PAGE_URL only provides hls.js (/assets/vendor/hls.min.js); the test makes its
// own <video>. Prints one JSON line: the tracks as hls.js lists them, the text track's cues,
// and the cue showing at CUE_AT seconds; or the reason on stderr with exit code 1.

import { launch } from './chromium.mjs';

const { PAGE_URL, PLAYBACK_URL, CUE_TEXT } = process.env;
const CUE_AT = Number(process.env.CUE_AT || '1.5');
const browser = await launch('captions_test');
try {
  const page = await browser.newPage();
  await page.goto(PAGE_URL, { waitUntil: 'load' });
  await page.waitForFunction(() => typeof window.Hls === 'function', null, { timeout: 15_000 });
  const result = await page.evaluate(async ({ url, at, text }) => {
    const video = document.createElement('video');
    video.muted = true;
    document.body.append(video);
    const hls = new window.Hls();
    const errors = [];
    hls.on(window.Hls.Events.ERROR, (_event, data) => errors.push(`${data.type} ${data.details}${data.fatal ? ' (fatal)' : ''}`));
    const parsed = new Promise((resolve) => hls.on(window.Hls.Events.MANIFEST_PARSED, resolve));
    hls.loadSource(url);
    hls.attachMedia(video);
    await parsed;
    const tracks = hls.subtitleTracks.map((t) => ({
      name: t.name, lang: t.lang, default: t.default, forced: t.forced, autoselect: t.autoselect,
    }));
    // The viewer picks the first track; the cue is looked for where it should show.
    hls.subtitleDisplay = true;
    hls.subtitleTrack = 0;
    video.currentTime = at;
    await video.play().catch(() => {});
    const deadline = Date.now() + 20_000;
    let showing = null;
    let cues = [];
    while (Date.now() < deadline) {
      const track = [...video.textTracks].find((t) => t.mode === 'showing');
      cues = track && track.cues ? [...track.cues].map((c) => ({ start: c.startTime, end: c.endTime, text: c.text })) : [];
      const active = track && track.activeCues ? [...track.activeCues].map((c) => c.text) : [];
      if (active.includes(text)) {
        showing = { time: video.currentTime, text: active };
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    hls.destroy();
    return { tracks, cues, showing, errors, text_tracks: video.textTracks.length };
  }, { url: PLAYBACK_URL, at: CUE_AT, text: CUE_TEXT });
  if (!result.showing) {
    console.error(`captions_test: "${CUE_TEXT}" never showed at ${CUE_AT} s: ${JSON.stringify(result)}`);
    process.exitCode = 1;
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
