// hls-ladder's web page logic: a plain ES2020 module, no build step, served as
// /assets/app.js (text/javascript) and run after /assets/vendor/hls.min.js (window.Hls).
//
// - Uploads a file to POST /v1/videos with XMLHttpRequest, to show the bytes sent.
// - Lists GET /v1/videos and follows GET /v1/videos/{id}/events for every unfinished video.
//   EventSource cannot send an Authorization header, so the Server-Sent Events stream is
//   read with fetch() and parsed by SseParser (sse.js), reconnecting with Last-Event-ID.
// - Requests and their error answers go through api.js.
// - Plays a completed video's playback_url with hls.js (/assets/vendor/hls.min.js), or
//   natively where the browser plays HLS itself (Safari).
//
// Server-provided strings (file names, error details) only ever go into textContent.
// For the browser test: window.hls is the current Hls instance, and window.hlsErrors
// records every hls.js error as {type, details, fatal}.

import { ApiProblem, problemFrom, problemFromText, request, withKey } from './api.js';
import { SseParser } from './sse.js';

const API_KEY_STORAGE = 'hlsTranscoderApiKey';
const FINAL_STATUSES = new Set(['completed', 'failed', 'canceled']);
const PAGE_SIZE = 20;
// Each live stream holds an HTTP/1.1 connection, and a browser opens at most 6 to one host:
// follow at most this many at once (processing first), the others wait for a free slot.
const MAX_STREAMS = 4;
const RECONNECT_MS = 1000;
const RECONNECT_MAX_MS = 10000;

const els = {
  apiKeyForm: document.getElementById('api-key-form'),
  apiKey: document.getElementById('api-key'),
  errorBar: document.getElementById('error-bar'),
  error: document.getElementById('error'),
  errorDismiss: document.getElementById('error-dismiss'),
  uploadForm: document.getElementById('upload-form'),
  fileInput: document.getElementById('file-input'),
  uploadButton: document.getElementById('upload-button'),
  uploadStatus: document.getElementById('upload-status'),
  uploadProgress: document.getElementById('upload-progress'),
  uploadPercent: document.getElementById('upload-percent'),
  uploadNote: document.getElementById('upload-note'),
  videos: document.getElementById('videos'),
  videosEmpty: document.getElementById('videos-empty'),
  refresh: document.getElementById('refresh'),
  more: document.getElementById('more'),
  rendition: document.getElementById('rendition'),
  nowPlaying: document.getElementById('now-playing'),
  player: document.getElementById('player'),
  placeholder: document.getElementById('screen-placeholder'),
};

window.hls = null;
window.hlsErrors = [];

/** id -> {id, data (the video resource), el, parts, abort, following, lastEventId, addedAt} */
const entries = new Map();
let nextCursor = null;
let playingId = null;
// Bumped by each reload, so that an older page arriving late is ignored.
let listGeneration = 0;

// ---------------------------------------------------------------------------------------
// Small helpers

/** Makes an element: h('p', {className: 'x', textContent: 'y'}, child, ...). */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

function formatBytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function formatSeconds(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ${s % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function formatBitrate(bps) {
  if (!bps) return '';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mbps` : `${Math.round(bps / 1e3)} kbps`;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/** "14:05" today, "Nov 27, 2025, 14:05" on other days. */
function formatWhen(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return '';
  return when.toDateString() === new Date().toDateString() ? timeFormat.format(when) : dayFormat.format(when);
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

// ---------------------------------------------------------------------------------------
// API key, requests and errors

function apiKey() {
  return els.apiKey.value.trim();
}

function authHeaders(headers = {}) {
  return withKey(apiKey(), headers);
}

/** fetch() with the API key; the parsed JSON body, null for 204, or throws an ApiProblem. */
function api(method, path) {
  return request(method, path, { key: apiKey, onAccepted: keyAccepted });
}

// Whether the error shown is a refused API key, which the next accepted request clears.
let keyErrorShown = false;

function showError(message, { keyProblem = false } = {}) {
  els.error.textContent = message;
  els.errorBar.hidden = false;
  keyErrorShown = keyProblem;
  if (keyProblem) els.apiKey.setAttribute('aria-invalid', 'true');
}

function clearError() {
  els.error.textContent = '';
  els.errorBar.hidden = true;
  keyErrorShown = false;
}

function keyAccepted() {
  els.apiKey.removeAttribute('aria-invalid');
  if (keyErrorShown) clearError();
}

/** "Upload refused (422 not-a-video): <detail>", pointing at the API key for 401/403. */
function showProblem(action, problem) {
  if (!(problem instanceof ApiProblem)) {
    console.error(problem);
    showError(`${action} failed: ${problem && problem.message ? problem.message : problem}`);
    return;
  }
  if (problem.status === 0) {
    showError(`${action} failed: ${problem.detail}.`);
    return;
  }
  const verb = problem.status >= 500 ? 'failed' : 'refused';
  const what = [problem.status, problem.code].filter(Boolean).join(' ');
  let message = `${action} ${verb} (${what}): ${problem.detail}`;
  const keyProblem = problem.status === 401 || problem.status === 403;
  if (keyProblem) {
    message += apiKey()
      ? ' — check the API key in the “API key” field at the top.'
      : ' — enter your API key in the “API key” field at the top.';
  }
  showError(message, { keyProblem });
}

// ---------------------------------------------------------------------------------------
// Server-Sent Events over fetch()

/** Reads one response body; true when an event said the stream is over. */
async function consumeEvents(entry, body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser((event) => handleEvent(entry, event), entry.lastEventId);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false; // ended early: an unfinished event is dropped, as EventSource does
      const over = parser.push(decoder.decode(value, { stream: true }));
      entry.lastEventId = parser.lastEventId;
      if (over) return true;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Applies one event to the video; true when nothing more will come. */
function handleEvent(entry, event) {
  let data;
  try {
    data = JSON.parse(event.data);
  } catch {
    console.warn('ignoring an event whose data is not JSON', event);
    return false;
  }
  switch (event.type) {
    case 'status':
      updateEntry(entry, data);
      return FINAL_STATUSES.has(data.status);
    case 'progress':
      if (!FINAL_STATUSES.has(entry.data.status)) {
        entry.data = { ...entry.data, status: data.status || entry.data.status, progress: data.progress };
        render(entry);
      }
      return false;
    case 'deleted':
      removeEntry(entry);
      return true;
    default:
      return false;
  }
}

/**
 * Follows /v1/videos/{id}/events until the video is final, deleted, or the entry is dropped.
 * A stream that ends otherwise is opened again after 1 s (longer after repeated failures),
 * with Last-Event-ID; 204 means nothing more will come; a 4xx answer is shown and ends it.
 */
async function follow(entry) {
  const { signal } = entry.abort;
  let delay = RECONNECT_MS;
  while (!signal.aborted) {
    const headers = authHeaders({ Accept: 'text/event-stream' });
    if (entry.lastEventId !== null) headers['Last-Event-ID'] = entry.lastEventId;
    try {
      const response = await fetch(`/v1/videos/${encodeURIComponent(entry.id)}/events`, {
        headers,
        signal,
        cache: 'no-store',
      });
      if (response.status === 204) return;
      if (!response.ok) {
        const problem = await problemFrom(response);
        if (response.status < 500) {
          if (response.status === 404 && problem.code === 'video-not-found') {
            removeEntry(entry);
          } else {
            showProblem(`Live updates for ${displayName(entry.data)}`, problem);
          }
          return;
        }
        throw problem; // 5xx: try again
      }
      keyAccepted();
      const type = response.headers.get('Content-Type') || '';
      if (!type.startsWith('text/event-stream')) {
        showError(`Live updates for ${displayName(entry.data)} failed: the service answered ${type || 'no Content-Type'} instead of text/event-stream.`);
        return;
      }
      delay = RECONNECT_MS;
      if (await consumeEvents(entry, response.body)) return;
    } catch (error) {
      if (signal.aborted) return;
      console.warn(`events of ${entry.id}: ${error.message || error}; reconnecting`);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

const streamQueue = [];
let activeStreams = 0;

/** Follows the entry's events if it is unfinished and not followed yet. */
function watch(entry) {
  if (entry.following || FINAL_STATUSES.has(entry.data.status)) return;
  entry.following = true;
  entry.abort = new AbortController();
  streamQueue.push(entry);
  pumpStreams();
}

function pumpStreams() {
  // Processing videos first, then the oldest pending ones: the order the workers take them.
  const rank = (e) => (e.data.status === 'processing' ? 0 : 1);
  streamQueue.sort((a, b) => rank(a) - rank(b) || String(a.data.created_at).localeCompare(String(b.data.created_at)));
  while (activeStreams < MAX_STREAMS && streamQueue.length > 0) {
    const entry = streamQueue.shift();
    if (entry.abort.signal.aborted) continue;
    activeStreams += 1;
    follow(entry)
      .catch((error) => console.error(error))
      .finally(() => {
        activeStreams -= 1;
        entry.following = false;
        pumpStreams();
      });
  }
}

function unwatch(entry) {
  entry.abort?.abort();
  const queued = streamQueue.indexOf(entry);
  if (queued !== -1) streamQueue.splice(queued, 1);
}

// ---------------------------------------------------------------------------------------
// The list of videos

function displayName(video) {
  return video.original_filename || video.id;
}

function createEntry(video) {
  const parts = {
    name: h('span', { className: 'name' }),
    status: h('span', { className: 'status' }),
    meta: h('p', { className: 'meta' }),
    frames: h('progress', { className: 'frames', max: 100, value: 0 }),
    progressText: h('p', { className: 'progress-text' }),
    renditions: h('p', { className: 'renditions-progress' }),
    error: h('p', { className: 'video-error' }),
    play: h('button', { type: 'button', className: 'play primary', textContent: 'Play' }),
    cancel: h('button', { type: 'button', className: 'cancel', textContent: 'Cancel' }),
    retry: h('button', { type: 'button', className: 'retry', textContent: 'Retry' }),
    delete: h('button', { type: 'button', className: 'delete danger', textContent: 'Delete' }),
  };
  const el = h('li', { className: 'video' },
    h('div', { className: 'video-head' }, parts.name, parts.status),
    parts.meta,
    parts.frames,
    parts.progressText,
    parts.renditions,
    parts.error,
    h('div', { className: 'actions' }, parts.play, parts.cancel, parts.retry, parts.delete));
  el.dataset.videoId = video.id;
  const entry = {
    id: video.id, data: video, el, parts, abort: null, following: false, lastEventId: null, addedAt: performance.now(),
  };
  parts.play.addEventListener('click', () => play(entry));
  parts.cancel.addEventListener('click', () => act(entry, parts.cancel, 'POST', 'cancel', 'Cancel'));
  parts.retry.addEventListener('click', () => act(entry, parts.retry, 'POST', 'retry', 'Retry'));
  parts.delete.addEventListener('click', () => remove(entry));
  return entry;
}

function metaLine(video) {
  const source = video.source || {};
  const bits = [formatBytes(video.source_bytes)];
  const width = source.display_width || source.width;
  const height = source.display_height || source.height;
  if (width && height) bits.push(`${width}×${height}`);
  const duration = video.duration_seconds ?? source.duration;
  if (typeof duration === 'number') bits.push(`${duration.toFixed(1)} s`);
  if (Array.isArray(video.renditions) && video.renditions.length > 0) {
    bits.push(video.renditions.map((r) => r.name).join(', '));
  }
  if (video.created_at) bits.push(formatWhen(video.created_at));
  return bits.filter(Boolean).join(' · ');
}

function progressPercent(video) {
  if (video.status === 'completed') return 100;
  const percent = video.progress?.percent;
  return typeof percent === 'number' ? Math.min(100, Math.max(0, percent)) : null;
}

/** "412 / 750 frames · 55% · 61 fps · 2.0x · ETA 6 s" */
function progressLine(video) {
  const p = video.progress;
  if (!p) {
    if (video.status === 'pending') return 'Waiting for a worker…';
    if (video.status === 'processing') return 'Starting…';
    if (video.status === 'canceled') return 'Canceled before a worker started it.';
    return '';
  }
  const bits = [p.frames_expected != null
    ? `${p.frames_done} / ${p.frames_expected} frames`
    : `${p.frames_done} frames`];
  const percent = progressPercent(video);
  if (percent !== null) {
    // Never say 100% before the video is completed.
    const shown = video.status === 'completed' ? 100 : Math.min(99, Math.round(percent));
    bits.push(`${shown}%`);
  }
  if (p.fps > 0) bits.push(`${Math.round(p.fps)} fps`);
  if (p.speed > 0) bits.push(`${p.speed.toFixed(1)}x`);
  if (FINAL_STATUSES.has(video.status)) {
    if (typeof p.elapsed === 'number') bits.push(`took ${formatSeconds(p.elapsed)}`);
  } else if (typeof p.eta === 'number') {
    bits.push(`ETA ${formatSeconds(p.eta)}`);
  }
  return bits.join(' · ');
}

function render(entry) {
  const video = entry.data;
  const { parts } = entry;
  const { status } = video;
  entry.el.dataset.status = status;
  parts.name.textContent = displayName(video);
  parts.name.title = `${displayName(video)} (${video.id})`;
  parts.status.textContent = status;
  parts.meta.textContent = metaLine(video);

  const percent = progressPercent(video);
  if (percent !== null) parts.frames.value = percent;
  else if (status === 'processing' && video.progress) parts.frames.removeAttribute('value'); // indeterminate
  else parts.frames.value = 0;
  parts.frames.setAttribute('aria-label', `Conversion of ${displayName(video)}`);
  parts.progressText.textContent = progressLine(video);

  const renditions = video.progress?.renditions || [];
  parts.renditions.textContent = renditions.map((r) => `${r.name} ${r.frames_done}`).join(' · ');
  parts.renditions.hidden = renditions.length === 0 || status === 'completed';

  const error = video.error;
  if (error) {
    const prefix = status === 'failed' ? '' : 'Last attempt failed, retrying: ';
    parts.error.textContent = `${prefix}${error.code}: ${error.message}`;
  }
  parts.error.hidden = !error;

  parts.play.hidden = !(status === 'completed' && video.playback_url);
  parts.cancel.hidden = !(status === 'pending' || status === 'processing');
  parts.retry.hidden = status !== 'failed';
  for (const button of [parts.play, parts.cancel, parts.retry, parts.delete]) {
    button.setAttribute('aria-label', `${button.textContent} ${displayName(video)}`);
  }
}

function updateEntry(entry, video) {
  entry.data = video;
  render(entry);
  watch(entry);
}

/** Adds a video to the list (at the top for a new upload), or updates it if listed. */
function addVideo(video, { top = false } = {}) {
  const known = entries.get(video.id);
  if (known) {
    updateEntry(known, video);
    return known;
  }
  const entry = createEntry(video);
  entries.set(video.id, entry);
  if (top) els.videos.prepend(entry.el);
  else els.videos.append(entry.el);
  updateEntry(entry, video);
  updateEmpty();
  return entry;
}

function removeEntry(entry) {
  unwatch(entry);
  entry.el.remove();
  entries.delete(entry.id);
  if (playingId === entry.id) stopPlayback({ reset: true });
  updateEmpty();
}

function updateEmpty() {
  els.videosEmpty.hidden = entries.size > 0;
}

/**
 * Loads the first page of videos into the list (again), or with `more` the next page.
 * A reload updates the items in place and drops those no longer listed, except uploads
 * added since the request was sent, so nothing flickers or goes missing meanwhile.
 */
async function loadVideos({ more = false } = {}) {
  let path = `/v1/videos?limit=${PAGE_SIZE}`;
  if (more && nextCursor) path += `&cursor=${encodeURIComponent(nextCursor)}`;
  if (!more) listGeneration += 1;
  const generation = listGeneration;
  const sentAt = performance.now();
  try {
    const page = await api('GET', path);
    if (generation !== listGeneration) return; // a newer reload is under way
    const items = page.items || [];
    if (!more) {
      const listed = new Set(items.map((video) => video.id));
      for (const entry of [...entries.values()]) {
        if (!listed.has(entry.id) && entry.addedAt < sentAt) removeEntry(entry);
      }
    }
    for (const video of items) {
      const entry = addVideo(video);
      if (!more) els.videos.append(entry.el); // the server's order, after newer uploads
    }
    nextCursor = page.next_cursor || null;
  } catch (problem) {
    if (generation !== listGeneration) return;
    showProblem('Loading the videos', problem);
  }
  els.more.hidden = !nextCursor;
  updateEmpty();
}

function reloadVideos() {
  return loadVideos();
}

/** Cancel or Retry: POST /v1/videos/{id}/{action}, answered with the video (202). */
async function act(entry, button, method, action, label) {
  button.disabled = true;
  try {
    const video = await api(method, `/v1/videos/${encodeURIComponent(entry.id)}/${action}`);
    if (video && entries.has(entry.id)) updateEntry(entry, video);
  } catch (problem) {
    showProblem(`${label} of ${displayName(entry.data)}`, problem);
  } finally {
    button.disabled = false;
  }
}

async function remove(entry) {
  entry.parts.delete.disabled = true;
  try {
    await api('DELETE', `/v1/videos/${encodeURIComponent(entry.id)}`);
    removeEntry(entry);
  } catch (problem) {
    if (problem.status === 404) {
      removeEntry(entry); // already gone
    } else {
      showProblem(`Deleting ${displayName(entry.data)}`, problem);
    }
  } finally {
    entry.parts.delete.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------
// Upload

function setUploadProgress(percent) {
  const value = Math.min(100, Math.max(0, percent));
  els.uploadProgress.value = value;
  els.uploadPercent.textContent = `${Math.floor(value)}%`;
}

function upload(event) {
  event.preventDefault();
  const file = els.fileInput.files[0];
  if (!file) return;
  clearError();
  const body = new FormData();
  body.append('file', file, file.name);

  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/v1/videos');
  xhr.setRequestHeader('Accept', 'application/json');
  const key = apiKey();
  if (key) xhr.setRequestHeader('Authorization', `Bearer ${key}`);

  const finish = (note) => {
    els.uploadNote.textContent = note;
    els.fileInput.disabled = false;
    els.uploadButton.disabled = els.fileInput.files.length === 0;
  };
  xhr.upload.addEventListener('progress', (e) => {
    if (e.lengthComputable && e.total > 0) setUploadProgress((e.loaded / e.total) * 100);
  });
  xhr.upload.addEventListener('load', () => {
    setUploadProgress(100);
    els.uploadNote.textContent = 'Sent; the service is checking the video…';
  });
  xhr.addEventListener('load', () => {
    if (xhr.status >= 200 && xhr.status < 300) {
      setUploadProgress(100);
      keyAccepted();
      let video = null;
      try {
        video = JSON.parse(xhr.responseText);
      } catch {
        showError('Upload failed: the service answered 201 without a video resource.');
      }
      if (video) addVideo(video, { top: true });
      els.uploadForm.reset();
      finish(`Uploaded ${file.name}.`);
    } else {
      showProblem('Upload', problemFromText(xhr.status, xhr.statusText,
        xhr.getResponseHeader('Content-Type'), xhr.responseText));
      finish('Not uploaded.');
    }
  });
  xhr.addEventListener('error', () => {
    showError('Upload failed: the connection closed before the service answered. '
      + 'Check that the service is running (a refused upload can also end this way), then try again.');
    finish('Not uploaded.');
  });
  xhr.addEventListener('abort', () => finish('Upload stopped.'));

  setUploadProgress(0);
  els.uploadStatus.hidden = false;
  els.uploadNote.textContent = `Sending ${file.name} (${formatBytes(file.size)})…`;
  els.uploadButton.disabled = true;
  els.fileInput.disabled = true;
  xhr.send(body);
}

// ---------------------------------------------------------------------------------------
// Player

function levelLabel(level, index) {
  const name = level.height ? `${level.height}p` : (level.name || `Level ${index + 1}`);
  return [name, formatBitrate(level.bitrate)].filter(Boolean).join(' · ');
}

function resetRenditions() {
  els.rendition.replaceChildren(h('option', { value: '-1', textContent: 'Auto' }));
  els.rendition.value = '-1';
  els.rendition.disabled = true;
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

/** Marks the list item whose video is in the player. */
function setPlaying(id) {
  entries.get(playingId)?.el.classList.remove('playing');
  playingId = id;
  entries.get(id)?.el.classList.add('playing');
}

function stopPlayback({ reset = false } = {}) {
  if (window.hls) {
    window.hls.destroy();
    window.hls = null;
  }
  els.player.pause();
  els.player.removeAttribute('src');
  els.player.load();
  setPlaying(null);
  if (reset) {
    resetRenditions();
    els.player.hidden = true;
    els.placeholder.hidden = false;
    els.nowPlaying.textContent = 'Press Play on a completed video.';
  }
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

async function play(entry) {
  clearError();
  let video = entry.data;
  try {
    // A fresh copy: with private playback, the link is signed anew.
    video = await api('GET', `/v1/videos/${encodeURIComponent(entry.id)}`);
    if (entries.has(entry.id)) updateEntry(entry, video);
  } catch (problem) {
    console.warn('playing the link already known', problem);
  }
  if (!video.playback_url) {
    showError(`${displayName(video)} has no playback URL yet.`);
    return;
  }
  stopPlayback();
  setPlaying(video.id);
  resetRenditions();
  els.player.hidden = false;
  els.placeholder.hidden = true;
  els.nowPlaying.textContent = `Now playing: ${displayName(video)}`;
  els.player.scrollIntoView({ block: 'nearest' }); // below the list on narrow screens

  const url = video.playback_url;
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls();
    window.hls = hls;
    hls.on(Hls.Events.ERROR, (_event, data) => onHlsError(hls, data));
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      fillRenditions(hls);
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

// ---------------------------------------------------------------------------------------
// Wiring

function init() {
  try {
    els.apiKey.value = localStorage.getItem(API_KEY_STORAGE) || '';
  } catch {
    // Storage disabled: the key lasts as long as the page.
  }
  // The key is saved as typed; the list is loaded again with it once typing pauses.
  let keyTimer = null;
  els.apiKey.addEventListener('input', () => {
    try {
      const key = apiKey();
      if (key) localStorage.setItem(API_KEY_STORAGE, key);
      else localStorage.removeItem(API_KEY_STORAGE);
    } catch {
      // Storage disabled.
    }
    clearTimeout(keyTimer);
    keyTimer = setTimeout(reloadVideos, 600);
  });
  els.apiKeyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(keyTimer);
    reloadVideos();
  });
  els.errorDismiss.addEventListener('click', clearError);
  els.fileInput.addEventListener('change', () => {
    els.uploadButton.disabled = els.fileInput.files.length === 0;
  });
  els.uploadForm.addEventListener('submit', upload);
  els.refresh.addEventListener('click', () => {
    clearError();
    reloadVideos();
  });
  els.more.addEventListener('click', () => loadVideos({ more: true }));
  els.rendition.addEventListener('change', () => {
    if (window.hls) window.hls.currentLevel = Number(els.rendition.value);
    if (window.hls) showPlayingLevel(window.hls);
  });
  resetRenditions();
  els.uploadButton.disabled = els.fileInput.files.length === 0;
  loadVideos();
}

init();
