// hls.js in Debian's Chromium (via playwright-core from web/node_modules) playing a video
// with several audio renditions: it must list every track with its language, name and
// default flag, start on the default one, and switch to another while playing; what is
// heard is measured with the Web Audio API (the loudest frequency before and after).
//
//   PAGE_URL=http://127.0.0.1:PORT/ PLAYBACK_URL=http://.../master.m3u8 \
//   SWITCH_TO=0 node tests/browser/audio_tracks_test.mjs
//
// The page at PAGE_URL only provides hls.js (/assets/vendor/hls.min.js); the test makes its
// own <video>. Prints one JSON line: the tracks as hls.js lists them, the track playing at
// first and after the switch, the audio fragments hls.js buffered for each, and the loudest
// frequency heard on each; or the reason on stderr with exit code 1.

import { launch } from './chromium.mjs';

const { PAGE_URL, PLAYBACK_URL } = process.env;
const SWITCH_TO = Number(process.env.SWITCH_TO || '0');
const browser = await launch('audio_tracks_test');
try {
  const page = await browser.newPage();
  await page.goto(PAGE_URL, { waitUntil: 'load' });
  await page.waitForFunction(() => typeof window.Hls === 'function', null, { timeout: 15_000 });
  const result = await page.evaluate(async ({ url, switchTo }) => {
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const video = document.createElement('video');
    document.body.append(video);
    const hls = new window.Hls();
    const errors = [];
    const buffered = {};
    hls.on(window.Hls.Events.ERROR, (_event, data) => errors.push(
      `${data.type} ${data.details}${data.fatal ? ' (fatal)' : ''} at ${video.currentTime.toFixed(2)} s on track ${hls.audioTrack}${data.frag ? ` (${data.frag.type} fragment ${data.frag.sn} of ${data.frag.level})` : ''}`,
    ));
    hls.on(window.Hls.Events.FRAG_BUFFERED, (_event, data) => {
      if (data.frag.type === 'audio') {
        buffered[data.frag.level] = (buffered[data.frag.level] || 0) + 1;
      }
    });
    const parsed = new Promise((resolve) => hls.on(window.Hls.Events.MANIFEST_PARSED, resolve));
    hls.loadSource(url);
    hls.attachMedia(video);
    await parsed;
    const tracks = hls.audioTracks.map((t) => ({
      id: t.id, name: t.name, lang: t.lang, default: t.default, channels: t.attrs && t.attrs.CHANNELS, url: t.url,
    }));
    // What is heard: the video's sound through an analyser, its loudest frequency bin.
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 4096;
    context.createMediaElementSource(video).connect(analyser);
    analyser.connect(context.destination);
    await context.resume().catch(() => {});
    const loudest = async () => {
      const bins = new Float32Array(analyser.frequencyBinCount);
      const peaks = [];
      for (let i = 0; i < 5; i += 1) {
        analyser.getFloatFrequencyData(bins);
        let best = 0;
        for (let bin = 1; bin < bins.length; bin += 1) if (bins[bin] > bins[best]) best = bin;
        if (bins[best] > -100) peaks.push(Math.round((best * context.sampleRate) / analyser.fftSize));
        await sleep(100);
      }
      peaks.sort((a, b) => a - b);
      return peaks.length ? peaks[Math.floor(peaks.length / 2)] : null;
    };
    await video.play().catch((e) => errors.push(`play: ${e.message}`));
    const until = async (condition, ms) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && !condition()) await sleep(50);
      return condition();
    };
    await until(() => video.currentTime > 1.0, 20_000);
    const first = { track: hls.audioTrack, time: video.currentTime, heard: await loudest() };
    const switched = new Promise((resolve) => hls.on(window.Hls.Events.AUDIO_TRACK_SWITCHED, (_e, data) => resolve(data.id)));
    hls.audioTrack = switchTo;
    const switchedTo = await Promise.race([switched, sleep(15_000).then(() => null)]);
    const at = video.currentTime;
    await until(() => (buffered[switchTo] || 0) > 0 && video.currentTime > at + 1.0, 20_000);
    const second = { track: hls.audioTrack, switched_to: switchedTo, time: video.currentTime, heard: await loudest() };
    hls.destroy();
    await context.close();
    return { tracks, first, second, buffered, errors };
  }, { url: PLAYBACK_URL, switchTo: SWITCH_TO });
  if (result.second.switched_to !== SWITCH_TO || result.errors.some((e) => e.includes('fatal'))) {
    console.error(`audio_tracks_test: no switch to track ${SWITCH_TO}: ${JSON.stringify(result)}`);
    process.exitCode = 1;
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
