// The player: a video's playback_url (completed, or still converting and growing) played with hls.js
// (/assets/vendor/hls.min.js, window.Hls), or natively where the browser plays HLS itself
// (Safari), with a rendition picker and, for a source with several audio tracks, an audio
// picker; a completed video shows its poster before it plays, a link to its MP4 download when
// it has one and, under the picture, a seek bar that previews the storyboard's thumbnails on
// hover.
//
// For the browser test: window.hls is the current Hls instance, and window.hlsErrors
// records every hls.js error as {type, details, fatal, reason}.

import { displayName, formatBitrate, formatBytes } from './format.js';
import { els, h, showError } from './page.js';
import { cueAt, parseStoryboard } from './storyboard.js';

window.hls = null;
window.hlsErrors = [];

/** Told the id of the video in the player, or null: set by initPlayer. */
let onPlaying = () => {};

/** Wires the rendition picker; `playing(id)` is told which video plays (null: none). */
export function initPlayer({ playing }) {
  onPlaying = playing;
  els.rendition.addEventListener('change', () => {
    if (window.hls) window.hls.currentLevel = Number(els.rendition.value);
    if (window.hls) showPlayingLevel(window.hls);
  });
  els.audioTrack.addEventListener('change', () => {
    if (window.hls) window.hls.audioTrack = Number(els.audioTrack.value);
  });
  resetRenditions();
  initScrub();
}

/** The storyboard's cues of the video in the player (empty: none, or not loaded yet). */
let storyboard = [];
/** Counts showStills calls: a storyboard arriving for an earlier video is dropped. */
let stillsRequest = 0;

function initScrub() {
  const moment = (event) => {
    const box = els.scrub.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    return { fraction, seconds: fraction * (els.player.duration || 0) };
  };
  els.scrub.addEventListener('mousemove', (event) => {
    const { fraction, seconds } = moment(event);
    const cue = cueAt(storyboard, seconds);
    if (!cue || !Number.isFinite(els.player.duration)) {
      els.scrubPreview.hidden = true;
      return;
    }
    Object.assign(els.scrubPreview.style, {
      width: `${cue.width}px`,
      height: `${cue.height}px`,
      backgroundImage: `url("${cue.url}")`,
      backgroundPosition: `-${cue.x}px -${cue.y}px`,
      left: `clamp(0px, calc(${fraction * 100}% - ${cue.width / 2}px), calc(100% - ${cue.width}px))`,
    });
    els.scrubTime.textContent = `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;
    els.scrubPreview.hidden = false;
  });
  els.scrub.addEventListener('mouseleave', () => { els.scrubPreview.hidden = true; });
  els.scrub.addEventListener('click', (event) => {
    if (Number.isFinite(els.player.duration)) els.player.currentTime = moment(event).seconds;
  });
  els.player.addEventListener('timeupdate', () => {
    const share = els.player.duration ? els.player.currentTime / els.player.duration : 0;
    els.scrubPlayed.style.width = `${Math.min(100, share * 100)}%`;
  });
}

/** Shows `video`'s poster and loads its storyboard, when it has them (completed videos). */
function showStills(video) {
  storyboard = [];
  stillsRequest += 1;
  const request = stillsRequest;
  els.scrub.hidden = true;
  els.scrubPreview.hidden = true;
  if (video.poster_url) els.player.poster = video.poster_url;
  else els.player.removeAttribute('poster');
  if (!video.storyboard_url) return;
  const url = video.storyboard_url;
  fetch(url)
    .then((response) => (response.ok ? response.text() : Promise.reject(new Error(`HTTP ${response.status}`))))
    .then((text) => {
      if (request !== stillsRequest) return; // another video, or none, meanwhile
      storyboard = parseStoryboard(text, storyboardBase(url));
      els.scrub.hidden = storyboard.length === 0;
    })
    .catch(() => { if (request === stillsRequest) els.scrub.hidden = true; }); // the video still plays
}

/** The base a storyboard's relative sheet URLs resolve against: its own URL. */
function storyboardBase(url) {
  return new URL(url, window.location.href).href;
}

/** Plays `video` (one with a playback_url), instead of whatever played. */
export function play(video) {
  stopPlayback();
  onPlaying(video.id);
  resetRenditions();
  els.player.hidden = false;
  els.placeholder.hidden = true;
  els.nowPlaying.textContent = `Now playing: ${displayName(video)}`;
  els.player.scrollIntoView({ block: 'nearest' }); // below the list on narrow screens
  showStills(video);
  showDownload(video);

  const url = video.playback_url;
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls();
    window.hls = hls;
    hls.on(Hls.Events.ERROR, (_event, data) => onHlsError(hls, data));
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      fillRenditions(hls);
      fillAudioTracks(hls);
      startVideo();
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, () => showPlayingLevel(hls));
    hls.loadSource(url);
    hls.attachMedia(els.player);
  } else if (els.player.canPlayType('application/vnd.apple.mpegurl')) {
    els.player.src = url; // Safari plays HLS itself; it picks renditions on its own
    startVideo();
  } else {
    showError('This browser cannot play HLS: it has neither Media Source Extensions nor native HLS.');
  }
}

/** Stops playing; with `reset`, the player goes back to its placeholder. */
export function stopPlayback({ reset = false } = {}) {
  if (window.hls) {
    window.hls.destroy();
    window.hls = null;
  }
  els.player.pause();
  els.player.removeAttribute('src');
  els.player.load();
  onPlaying(null);
  if (reset) {
    resetRenditions();
    els.player.hidden = true;
    els.player.removeAttribute('poster');
    els.scrub.hidden = true;
    els.download.hidden = true;
    storyboard = [];
    stillsRequest += 1;
    els.placeholder.hidden = false;
    els.nowPlaying.textContent = 'Press Play on a video: it plays as soon as its first seconds are converted.';
  }
}

function levelLabel(level, index) {
  const name = level.height ? `${level.height}p` : (level.name || `Level ${index + 1}`);
  return [name, formatBitrate(level.bitrate)].filter(Boolean).join(' · ');
}

function resetRenditions() {
  els.rendition.replaceChildren(h('option', { value: '-1', textContent: 'Auto' }));
  els.rendition.value = '-1';
  els.rendition.disabled = true;
  els.audioTrack.replaceChildren();
  els.audioField.hidden = true;
}

/** The audio renditions (a source with several audio tracks), the playing one selected. */
function fillAudioTracks(hls) {
  const tracks = hls.audioTracks || [];
  els.audioTrack.replaceChildren(...tracks.map((track, index) => h('option', {
    value: String(index),
    textContent: [track.name, track.lang].filter(Boolean).join(' · ') || `Track ${index + 1}`,
  })));
  els.audioTrack.value = String(Math.max(hls.audioTrack, 0));
  els.audioField.hidden = tracks.length < 2;
}

/** The MP4 download link of a completed video that has one. */
function showDownload(video) {
  const download = (video.downloads || [])[0];
  els.download.hidden = !download;
  if (!download) {
    els.download.removeAttribute('href');
    return;
  }
  els.download.href = download.url;
  els.download.textContent = `Download MP4 (${download.rendition}, ${formatBytes(download.bytes)})`;
}

function fillRenditions(hls) {
  const options = hls.levels
    .map((level, index) => ({ level, index }))
    .sort((a, b) => (b.level.bitrate || 0) - (a.level.bitrate || 0))
    .map(({ level, index }) => h('option', { value: String(index), textContent: levelLabel(level, index) }));
  els.rendition.replaceChildren(h('option', { value: '-1', textContent: 'Auto' }), ...options);
  els.rendition.value = '-1';
  els.rendition.disabled = options.length === 0;
}

/** In Auto mode, says which rendition is playing: "Auto (720p)". */
function showPlayingLevel(hls) {
  const auto = els.rendition.options[0];
  const level = hls.levels[hls.currentLevel];
  auto.textContent = hls.autoLevelEnabled && level ? `Auto (${levelLabel(level, hls.currentLevel).split(' · ')[0]})` : 'Auto';
}

function startVideo() {
  els.player.play().catch((error) => {
    // AbortError: another video was loaded meanwhile.
    if (error.name !== 'AbortError') showError(`The browser would not start playback: ${error.message}`);
  });
}

function onHlsError(hls, data) {
  window.hlsErrors.push({ type: data.type, details: data.details, fatal: data.fatal, reason: data.reason });
  if (!data.fatal) return;
  if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !hls.triedMediaRecovery) {
    hls.triedMediaRecovery = true;
    hls.recoverMediaError();
    return;
  }
  let hint = '';
  if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
    const code = data.response && data.response.code;
    hint = code
      ? ` The server answered ${code}: a signed link may have expired (press Play again).`
      : ' The playlist could not be reached: the bucket may not allow this page’s origin (CORS) or be offline.';
  }
  showError(`Playback failed (${data.type} ${data.details}).${hint}`);
  if (window.hls === hls) stopPlayback();
}
