// The web page's real-browser test: drives Debian's Chromium (via playwright-core from
// web/node_modules) through what a person does on the page: upload a video, press Play as
// soon as the page offers it, while the video still converts (progressive publishing), watch
// the per-frame progress reach 100 %, play to the end with hls.js and pick a rendition.
//
//   BASE_URL=http://127.0.0.1:43211 FIXTURE=/abs/clip.mp4 SCREENSHOT=out/page.png \
//     [API_KEY=...] [BAD_FIXTURE=/abs/not_a_video.mp4] [RESUME_CHECKS=1] node tests/browser/page_test.mjs
//
// With RESUME_CHECKS=1 the upload is resumable end to end: the caller cuts the connection
// mid-upload (BASE_URL is then a proxy it controls, slow enough to cut in time), the page
// must go on by itself from the service's offset, and after a reload, from where it stopped.
//
// With BAD_FIXTURE, a last step uploads that file and expects the page to show the service's
// problem+json refusal (its code and detail).
//
// Needs `npm ci --prefix web` and /usr/bin/chromium. Prints one JSON summary line on stdout
// and exits 0, or prints the reason on stderr and exits 1.

import fs from 'node:fs';
import path from 'node:path';

const { BASE_URL, FIXTURE, SCREENSHOT, API_KEY, BAD_FIXTURE } = process.env;
// Whether the test cuts the connection mid-upload and the page is reloaded (see step 3).
const RESUME_CHECKS = process.env.RESUME_CHECKS === '1';
const CHROMIUM = '/usr/bin/chromium';
const UPLOAD_TIMEOUT_MS = 60_000;
const COMPLETION_TIMEOUT_MS = 120_000;
const PLAYBACK_TIMEOUT_MS = 30_000;
const PLAY_THROUGH_TIMEOUT_MS = 90_000;
// How long FIXTURE is, in seconds (the service test's clip: 20 s).
const EXPECTED_SECONDS = Number(process.env.FIXTURE_SECONDS || 20);
const SAMPLE_EVERY_MS = 100;

let playwright;
try {
  playwright = await import(new URL('../../web/node_modules/playwright-core/index.mjs', import.meta.url));
} catch (error) {
  console.error(`page_test: cannot load playwright-core (${error.message}); run \`npm ci --prefix web\` first`);
  process.exit(1);
}

let page = null; // for a screenshot of a failure
const consoleErrors = [];
const pageErrors = [];
let step = 'setup';

function log(message) {
  console.error(`[page_test] ${message}`);
}

function fail(message) {
  throw new Error(`${step}: ${message}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a truthy value; fails with `message()` after `timeoutMs`. */
async function until(probe, timeoutMs, message) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pageErrors.length > 0) fail(`uncaught error in the page: ${pageErrors[0]}`);
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) fail(await message());
    await sleep(SAMPLE_EVERY_MS);
  }
}

function checkEnvironment() {
  step = 'environment';
  if (!BASE_URL) fail('BASE_URL is not set (e.g. http://127.0.0.1:43211)');
  if (!FIXTURE || !path.isAbsolute(FIXTURE) || !fs.existsSync(FIXTURE)) {
    fail(`FIXTURE must be the absolute path of an existing video, got ${JSON.stringify(FIXTURE)}`);
  }
  if (!SCREENSHOT) fail('SCREENSHOT is not set (the PNG to write)');
  if (!fs.existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: apt-get install chromium`);
}

async function run(browser) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.addInitScript(keepHlsLog, HLS_LOG_LINES);
  page.on('pageerror', (error) => pageErrors.push(error.stack || String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const errorText = async () => ((await page.textContent('#error').catch(() => '')) || '').trim();

  // 1. The page loads without errors.
  step = 'step 1 (open the page)';
  const response = await page.goto(`${BASE_URL.replace(/\/$/, '')}/`, { waitUntil: 'load' });
  if (!response || response.status() !== 200) fail(`GET / answered ${response && response.status()}`);
  await page.waitForFunction(() => typeof window.Hls === 'function' && Array.isArray(window.hlsErrors)
    && typeof window.tus === 'object' && window.tus.isSupported, null,
  { timeout: 10_000 }).catch(() => fail('hls.js (/assets/vendor/hls.min.js), tus-js-client (/assets/vendor/tus.min.js) or /assets/app.js did not load'));
  if (pageErrors.length > 0) fail(`uncaught error in the page: ${pageErrors[0]}`);

  // 2. The API key, if the service wants one.
  if (API_KEY) {
    step = 'step 2 (API key)';
    await page.fill('#api-key', API_KEY);
  }

  // 3. Upload (resumable, with tus-js-client), watching the upload progress bar reach 100.
  //    With RESUME_CHECKS, the test cuts the connection mid-upload (the page must go on by
  //    itself from the offset the service kept), and the page is reloaded later on: choosing
  //    the same file again must resume that upload, not start from zero.
  step = 'step 3 (upload)';
  const uploadRequests = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!url.pathname.startsWith('/v1/uploads')) return;
    uploadRequests.push({ method: request.method(), path: url.pathname, offset: request.headers()['upload-offset'] });
  });
  const patchOffsets = () => uploadRequests.filter((r) => r.method === 'PATCH').map((r) => Number(r.offset));
  const uploadValues = new Set();
  const progressValue = async () => {
    const value = await page.$eval('#upload-progress', (p) => p.value);
    uploadValues.add(Math.round(value));
    return value;
  };
  const uploadNote = () => page.textContent('#upload-note');
  await page.setInputFiles('#file-input', FIXTURE);
  await page.click('#upload-button');
  let resumedAfterCut = null;
  let resumedAfterReload = null;
  let reloadedAt = null;
  if (RESUME_CHECKS) {
    // The connection is cut when a third of the file has reached the service; the page must
    // go on from the offset the service kept.
    await until(async () => {
      await progressValue();
      return patchOffsets().some((offset) => offset > 0);
    }, UPLOAD_TIMEOUT_MS, async () => `no PATCH went on from an offset after the cut: ${JSON.stringify(uploadRequests)}; note "${await uploadNote()}"; #error: ${await errorText()}`);
    resumedAfterCut = patchOffsets().find((offset) => offset > 0);
    log(`after the cut, the upload went on at byte ${resumedAfterCut}`);
    // Then the page is reloaded mid-upload.
    await until(async () => (await progressValue()) >= 55, UPLOAD_TIMEOUT_MS,
      async () => `the upload never passed 55 % after the cut (saw ${[...uploadValues]}); #error: ${await errorText()}`);
    reloadedAt = await progressValue();
    const before = uploadRequests.length;
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.tus === 'object' && typeof window.Hls === 'function', null, { timeout: 10_000 })
      .catch(() => fail('tus-js-client or hls.js did not load after the reload'));
    if (API_KEY && (await page.inputValue('#api-key')) !== API_KEY) await page.fill('#api-key', API_KEY);
    await page.setInputFiles('#file-input', FIXTURE);
    await page.click('#upload-button');
    const note = await until(async () => {
      const text = await uploadNote();
      return /Resuming|resumed/.test(text) && text;
    }, 10_000, async () => `the page did not offer to resume after the reload: note "${await uploadNote()}"`);
    log(`after the reload at ${Math.round(reloadedAt)} %: "${note}"`);
    await until(() => uploadRequests.slice(before).some((r) => r.method === 'PATCH'), UPLOAD_TIMEOUT_MS,
      async () => `no PATCH after the reload: ${JSON.stringify(uploadRequests.slice(before))}`);
    // Its first PATCH may find the upload still held by the request the reload broke off
    // (423, tried again) or the offset moved on meanwhile (409, asked again): none from zero.
    const afterReload = uploadRequests.slice(before);
    resumedAfterReload = Math.min(...afterReload.filter((r) => r.method === 'PATCH').map((r) => Number(r.offset)));
    if (afterReload.some((r) => r.method === 'POST')) fail(`the reloaded page created a new upload: ${JSON.stringify(afterReload)}`);
    if (!(resumedAfterReload > 0)) fail(`the reloaded page uploaded from ${resumedAfterReload}, not from where the upload stopped`);
  }
  await until(async () => (await progressValue()) === 100 && /^Uploaded/.test(await uploadNote()), UPLOAD_TIMEOUT_MS,
    async () => `the upload did not finish (progress values ${[...uploadValues]}); note "${await uploadNote()}"; #error: ${await errorText()}`);
  const creations = uploadRequests.filter((r) => r.method === 'POST');
  if (creations.length !== 1) fail(`expected one upload created, saw ${JSON.stringify(creations)}`);
  const lastPatch = uploadRequests.filter((r) => r.method === 'PATCH').pop();
  const videoId = lastPatch && lastPatch.path.split('/').pop();
  if (!videoId) fail('no PATCH to /v1/uploads/{id}');
  log(`uploaded ${path.basename(FIXTURE)} as ${videoId}; PATCH offsets ${JSON.stringify(patchOffsets())}; upload progress values seen: ${[...uploadValues].join(', ')}`);

  // 4. The item follows the conversion live to `completed`; sample its frame progress bar.
  //    Play is offered while the video still converts: press it then (step 5 checks it plays).
  step = 'step 4 (conversion progress)';
  const item = `.video[data-video-id="${videoId}"]`;
  await page.waitForSelector(item, { timeout: 10_000 })
    .catch(() => fail(`no ${item} in #videos after the upload`));
  const samples = [];
  let last = null;
  let pressedPlayWhile = null;
  await until(async () => {
    last = await page.$eval(item, (el) => ({
      status: el.querySelector('.status').textContent,
      value: el.querySelector('.frames').value,
      text: el.querySelector('.progress-text').textContent,
      error: el.querySelector('.video-error').hidden ? '' : el.querySelector('.video-error').textContent,
      playable: !el.querySelector('button.play').hidden,
    }));
    if (samples[samples.length - 1] !== last.value) samples.push(last.value);
    if (last.status === 'failed' || last.status === 'canceled') {
      fail(`the video ended ${last.status}: ${last.error || '(no error shown)'}`);
    }
    if (last.playable && pressedPlayWhile === null) {
      pressedPlayWhile = { status: last.status, percent: last.value };
      await page.click(`${item} button.play`);
      log(`Play pressed while ${last.status} at ${Math.round(last.value)} %`);
    }
    return last.status === 'completed';
  }, COMPLETION_TIMEOUT_MS, async () => `not completed after ${COMPLETION_TIMEOUT_MS / 1000} s: status ${last && last.status}, "${last && last.text}"; #error: ${await errorText()}`);
  if (!pressedPlayWhile || pressedPlayWhile.status !== 'processing') {
    fail(`Play was not offered while the video converted (first offered: ${JSON.stringify(pressedPlayWhile)})`);
  }
  const frameSamples = samples.map((v) => Math.round(v * 10) / 10);
  const intermediate = frameSamples.filter((v) => v > 0 && v < 100);
  log(`frame progress samples: ${JSON.stringify(frameSamples)}; last text "${last.text}"`);
  // The clip takes seconds to convert and the bar is sampled every 100 ms: it must have moved
  // through values between 0 and 100, from the live progress events, not only jumped at the end.
  if (intermediate.length === 0) fail(`the frame progress never showed a value between 0 and 100: ${JSON.stringify(frameSamples)}`);
  if (last.value !== 100) fail(`.frames ends at ${last.value}, not 100`);

  // 5. The playback started during the conversion plays through to the end (faster than
  //    real time, so it catches up with the growing playlists and waits for them), with hls.js.
  step = 'step 5 (playback)';
  await page.waitForFunction(() => window.hls, null, { timeout: 15_000 })
    .catch(async () => fail(`window.hls never appeared after Play; #error: ${await errorText()}`));
  await page.waitForFunction(() => document.querySelectorAll('#rendition option').length > 1, null, { timeout: 15_000 })
    .catch(async () => fail(`#rendition has no levels (manifest not parsed?); hlsErrors ${JSON.stringify(await hlsErrors(page))}; #error: ${await errorText()}`));
  const levels = await page.$$eval('#rendition option', (options) => options.length - 1);
  await page.waitForFunction(() => document.querySelector('#player').currentTime > 1.0, null, { timeout: PLAYBACK_TIMEOUT_MS })
    .catch(async () => fail(`currentTime never passed 1.0 s within ${PLAYBACK_TIMEOUT_MS / 1000} s: ${JSON.stringify(await playerState(page))}; hlsErrors ${JSON.stringify(await hlsErrors(page))}; #error: ${await errorText()}`));
  const before = await page.$eval('#player', (v) => v.currentTime);
  await sleep(500);
  const after = await page.$eval('#player', (v) => v.currentTime);
  const ended = await page.$eval('#player', (v) => v.ended);
  if (!(after > before) && !ended) fail(`playback is stuck at ${before} s: ${JSON.stringify(await playerState(page))}`);
  await page.$eval('#player', (v) => { v.playbackRate = 4; });
  await page.waitForFunction(() => document.querySelector('#player').ended, null, { timeout: PLAY_THROUGH_TIMEOUT_MS })
    .catch(async () => fail(`the playback started during the conversion did not reach the end: ${JSON.stringify(await playerState(page))}; hlsErrors ${JSON.stringify(await hlsErrors(page))}`));
  const endedAt = await page.$eval('#player', (v) => v.currentTime);
  if (endedAt < EXPECTED_SECONDS - 0.5) fail(`playback ended at ${endedAt} s, not at the end (${EXPECTED_SECONDS} s)`);
  log(`played through to ${endedAt.toFixed(2)} s`);
  checkHlsErrors(await hlsErrors(page));

  // 6. Pick a rendition by hand: hls.js plays that level.
  step = 'step 6 (rendition)';
  // From the start again, at normal speed, before the switch: a switch on an ended video
  // would race the seek back with the reload the switch starts.
  await page.$eval('#player', (v) => { v.playbackRate = 1; v.currentTime = 0; return v.play(); });
  await page.waitForFunction(() => { const v = document.querySelector('#player'); return !v.paused && v.currentTime > 0.3 && v.currentTime < 10; }, null, { timeout: PLAYBACK_TIMEOUT_MS })
    .catch(async () => fail(`playing again from the start did not start: ${JSON.stringify(await playerState(page))}`));
  const chosen = await page.$eval('#rendition', (s) => [...s.options].find((o) => o.value !== '-1').value);
  await page.selectOption('#rendition', chosen);
  await until(() => page.evaluate((level) => window.hls.currentLevel === level, Number(chosen)), 20_000,
    async () => `hls.currentLevel is ${await page.evaluate(() => window.hls.currentLevel)}, not the chosen ${chosen}`);
  if (await page.evaluate(() => window.hls.autoLevelEnabled)) fail('hls.js is still choosing levels itself after a rendition was picked');
  const timeAfterSwitch = await page.$eval('#player', (v) => v.currentTime);

  // 6b. Played again now that it is completed: its poster shows before the picture, and
  //     hovering the seek bar under it shows the storyboard's thumbnail for that moment.
  step = 'step 6b (poster and storyboard)';
  await page.click(`${item} button.play`);
  await page.waitForFunction(() => document.querySelector('#player').getAttribute('poster'), null, { timeout: 15_000 })
    .catch(() => fail('the completed video got no poster'));
  const posterUrl = await page.$eval('#player', (v) => v.getAttribute('poster'));
  const posterWidth = await page.evaluate(imageWidth, posterUrl);
  if (!(posterWidth > 0)) fail(`the poster ${posterUrl} does not load as an image`);
  await page.waitForSelector('#scrub:not([hidden])', { timeout: 15_000 })
    .catch(() => fail('no seek bar with previews: the storyboard did not load'));
  await page.waitForFunction(() => Number.isFinite(document.querySelector('#player').duration), null, { timeout: 15_000 })
    .catch(() => fail('the player never knew the duration'));
  const bar = await page.$eval('#scrub', (el) => { const b = el.getBoundingClientRect(); return { x: b.x, y: b.y, w: b.width, h: b.height }; });
  await page.mouse.move(bar.x + bar.w * 0.75, bar.y + bar.h / 2);
  await page.waitForSelector('#scrub-preview:not([hidden])', { timeout: 5_000 })
    .catch(() => fail('hovering the seek bar showed no thumbnail'));
  const preview = await page.$eval('#scrub-preview', (el) => ({
    image: el.style.backgroundImage, position: el.style.backgroundPosition, width: el.offsetWidth, time: el.textContent,
  }));
  const sheet = (/url\("?([^")]+)"?\)/.exec(preview.image) || [])[1];
  if (!sheet || !/sprite_\d{3}\.jpg/.test(sheet)) fail(`the preview shows no sprite sheet: ${JSON.stringify(preview)}`);
  const sheetWidth = await page.evaluate(imageWidth, sheet);
  if (!(sheetWidth > 0)) fail(`the sprite sheet ${sheet} does not load as an image`);
  log(`poster ${posterWidth} px wide; hovering 75 % shows ${JSON.stringify(preview)}`);

  // 6c. The completed video's MP4 download is offered, and it is an MP4.
  step = 'step 6c (download link)';
  await page.waitForSelector('#download:not([hidden])', { timeout: 5_000 })
    .catch(() => fail('the completed video offers no MP4 download'));
  const download = await page.$eval('#download', (a) => ({ href: a.href, text: a.textContent }));
  const fetched = await page.evaluate(async (href) => {
    const response = await fetch(href, { method: 'HEAD' });
    return { status: response.status, type: response.headers.get('content-type') };
  }, download.href);
  if (fetched.status !== 200 || fetched.type !== 'video/mp4') fail(`the download link ${download.href} answers ${JSON.stringify(fetched)}`);
  log(`download offered: ${download.text}`);

  const errors = await hlsErrors(page);
  checkHlsErrors(errors);

  // 7. What a person sees.
  step = 'step 7 (screenshot)';
  fs.mkdirSync(path.dirname(path.resolve(SCREENSHOT)), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  if (pageErrors.length > 0) fail(`uncaught error in the page: ${pageErrors[0]}`);

  // 8. A refused upload: the page shows the problem's code and detail.
  let refusal = null;
  if (BAD_FIXTURE) {
    step = 'step 8 (refused upload)';
    await page.setInputFiles('#file-input', BAD_FIXTURE);
    await page.click('#upload-button');
    refusal = await until(async () => {
      const text = await errorText();
      return /\b4\d\d\b/.test(text) && text;
    }, UPLOAD_TIMEOUT_MS, async () => `no refusal shown in #error after uploading ${BAD_FIXTURE}: "${await errorText()}"`);
    log(`refusal shown: ${refusal}`);
  }

  return {
    refused_upload_error: refusal,
    ok: true,
    video_id: videoId,
    patch_offsets: patchOffsets(),
    resumed_after_cut_at: resumedAfterCut,
    reloaded_at_percent: reloadedAt,
    resumed_after_reload_at: resumedAfterReload,
    frame_progress_samples: frameSamples,
    intermediate_progress_seen: intermediate.length > 0,
    upload_progress_reached_100: true,
    current_time: after, // the playback clock at step 5, past 1.0 s
    played_while: pressedPlayWhile,
    ended_at: endedAt,
    current_time_after_switch: timeAfterSwitch,
    poster_url: posterUrl,
    poster_width: posterWidth,
    preview,
    preview_sheet_width: sheetWidth,
    levels,
    chosen_level: Number(chosen),
    hls_errors: errors,
  };
}

// hls.js's own debug log, kept in the page (the last HLS_LOG_LINES lines) and printed when the
// test fails: what it loaded, buffered and decided, for a failure seen only in CI. The page's
// `new Hls(config)` gets a `debug` logger added, nothing else.
const HLS_LOG_LINES = 400;

function keepHlsLog(lines) {
  window.hlsLog = [];
  const start = performance.now();
  const keep = (level) => (...args) => {
    const seconds = ((performance.now() - start) / 1000).toFixed(2);
    window.hlsLog.push(`${seconds} ${level} ${args.map(String).join(' ')}`.slice(0, 500));
    if (window.hlsLog.length > lines) window.hlsLog.shift();
  };
  const logger = { log: keep('log'), info: keep('info'), warn: keep('warn'), error: keep('error'), debug: () => {} };
  let Hls;
  Object.defineProperty(window, 'Hls', {
    configurable: true,
    get: () => Hls,
    set: (Real) => {
      Hls = class extends Real {
        constructor(config = {}) {
          super({ ...config, debug: logger });
        }
      };
    },
  });
}

function hlsErrors(page) {
  return page.evaluate(() => window.hlsErrors || []).catch(() => []);
}

/** In the page: the natural width of the image at `url` once loaded, 0 when it fails. */
function imageWidth(url) {
  return new Promise((resolve) => {
    const image = new Image();
    image.onload = () => resolve(image.naturalWidth);
    image.onerror = () => resolve(0);
    image.src = url;
  });
}

function playerState(page) {
  return page.evaluate(() => {
    const v = document.querySelector('#player');
    return {
      currentTime: v.currentTime,
      paused: v.paused,
      readyState: v.readyState,
      networkState: v.networkState,
      error: v.error && `${v.error.code} ${v.error.message}`,
      buffered: [...Array(v.buffered.length).keys()].map((i) => [v.buffered.start(i), v.buffered.end(i)]),
    };
  }).catch((error) => ({ unavailable: error.message }));
}

// Fatal hls.js errors always fail. Of the non-fatal ones, three kinds pass:
// - `bufferStalledError`: playback waits for data (at the start on a slow, busy 2-core
//   machine, while it waits for the growing playlists, or while flushing for a manual level
//   switch); hls.js recovers by itself.
// - `aborted` (INTERNAL_ABORTED): hls.js itself cancelled a fragment load it no longer
//   needed, because its rate estimate switched levels or the player seeked; it reports that
//   as an error event. A load that failed is a `fragLoadError` or a timeout, and fails.
// - `bufferSeekOverHole` at the very start (from before START_WINDOW s, over at most
//   MAX_START_HOLE s). In the first segment the audio starts 21.3 ms before the video's first
//   picture (the AAC encoder's priming, 1024 samples at 48 kHz, precedes it so that the audio
//   proper starts with the picture), and the video's first decoding timestamp is two frames
//   earlier than its first picture (B-frames); ffmpeg's own HLS output is the same. hls.js
//   then finds its start position a little before the first buffered picture (we saw
//   "seeking from 0 to 0.121334") and reports skipping to it. Whether it does depends on
//   which buffer is appended first: ffmpeg 5.1's own `-f hls` output (libx264 veryfast,
//   AAC), played in this Chromium and hls.js, reported "seeking from 0 to 0.166666" in 2 of
//   4 loads.
// A hole later on, or a longer one, is a real gap in the published timestamps and fails, as
// does anything else (load retries, demux or parsing errors, codec or append errors).
const TOLERATED_HLS_ERRORS = ['bufferStalledError', 'aborted'];
const START_WINDOW = 0.5;
const MAX_START_HOLE = 0.25;

/** `[from, to]` in seconds of the hole an hls.js `bufferSeekOverHole` reports, from its reason. */
function hole(error) {
  const match = /from ([\d.]+) to ([\d.]+)|hole: ([\d.]+) -> ([\d.]+)/.exec(error.reason || '');
  if (!match) return null;
  return (match[1] !== undefined ? [match[1], match[2]] : [match[3], match[4]]).map(Number);
}

function tolerated(error) {
  if (TOLERATED_HLS_ERRORS.includes(error.details)) return true;
  if (error.details !== 'bufferSeekOverHole') return false;
  const span = hole(error);
  return span !== null && span[0] < START_WINDOW && span[1] - span[0] <= MAX_START_HOLE;
}

function checkHlsErrors(errors) {
  const fatal = errors.filter((e) => e.fatal);
  if (fatal.length > 0) fail(`fatal hls.js errors: ${JSON.stringify(fatal)}`);
  const unexpected = errors.filter((e) => !tolerated(e));
  if (unexpected.length > 0) {
    fail(`hls.js errors other than stalls and a start-up hole of at most ${MAX_START_HOLE} s: ${JSON.stringify(unexpected)}`);
  }
}

let browser;
let exitCode = 0;
try {
  checkEnvironment();
  step = 'launch';
  browser = await playwright.chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
  });
  const summary = await run(browser);
  console.log(JSON.stringify(summary));
} catch (error) {
  exitCode = 1;
  // eslint-disable-next-line no-control-regex
  const message = String(error.message).replace(/\x1b\[[0-9;]*m/g, '');
  console.error(`page_test FAILED: ${message.startsWith(step) ? message : `${step}: ${message}`}`);
  if (pageErrors.length > 0) console.error(`uncaught page errors:\n  ${pageErrors.join('\n  ')}`);
  if (consoleErrors.length > 0) console.error(`console errors:\n  ${consoleErrors.join('\n  ')}`);
  if (page) {
    const hlsLog = await page.evaluate(() => window.hlsLog || []).catch(() => []);
    if (hlsLog.length > 0) console.error(`hls.js log (last ${hlsLog.length} lines, seconds since the page opened):\n  ${hlsLog.join('\n  ')}`);
  }
  if (page && SCREENSHOT) {
    // What the page showed when it failed, next to where the screenshot would have gone.
    const failed = SCREENSHOT.replace(/(\.png)?$/i, '.failed.png');
    try {
      fs.mkdirSync(path.dirname(path.resolve(failed)), { recursive: true });
      await page.screenshot({ path: failed, fullPage: true, timeout: 5_000 });
      console.error(`screenshot of the failure: ${failed}`);
    } catch {
      // The page may be gone.
    }
  }
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.exit(exitCode);
